#!/bin/bash
# SPDX-License-Identifier: MIT
# The inside of tests/guide/guide.sh: run in the fresh root (chroot), in a network namespace of
# its own, with the checkout in /build/pam-pgsql-dovecot and the guide's blocks in
# /tmp/guide-blocks.sh (tests/guide/extract.py). Prints TAP.
#
# What the test does that the guide does not, and why:
#  - the database: the guide assumes the one Dovecot uses. PostgreSQL of the release runs its
#    stock cluster (pg_ctlcluster, port 5432 of this namespace's loopback); the table of the
#    guide's section 2 holds alice@example.org, bob@example.org and carol@example.net, whose
#    password is "the password", hashed as Dovecot would ({SHA512-CRYPT}).
#  - the mail: once the guide's starting point is written, Dovecot starts and each user files
#    three messages in each of INBOX, Archive, Work and Work/Projects (IMAP, their own login).
#  - no systemd runs in a chroot: /usr/local/sbin/systemctl and systemd-tmpfiles stand in for
#    it. A service with a unit that the guide changes (Debian 13's saslauthd) is started the way
#    its unit and drop-ins say (EnvironmentFile, ExecStartPre, ExecStart, PIDFile); the others
#    through their init script (Debian 12) or their own command.
#  - netbase (/etc/services) is installed first: every Debian host has it, minbase has not.
#  - apt answers yes (APT::Get::Assume-Yes) and Postfix's questions are preseeded (Internet Site);
#    apt and apt-get run in the host's network namespace (to reach the mirror), nothing else.
# Every block runs in order in one shell under `set -e`; the first that fails ends the run.
# Then what a user checks: testsaslauthd, IMAP over STARTTLS, ManageSieve, Postfix SMTP AUTH
# through the chroot socket, right and wrong passwords, and the copy by Message-ID.
#
# PGD_GUIDE_MODE=ansible (a second, fresh root): the guide's starting point, then its Ansible
# blocks (section 10: --check --diff, then for real), then logins through what the role wrote
# (pamtester on its /etc/pam.d/imap, testsaslauthd on the saslauthd it configured).
set -uo pipefail
rel=${PGD_GUIDE_RELEASE:?}
t=/tmp/guide
mkdir -p "$t/out"
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
comment() { sed 's/^/# /'; }

ip link set lo up || { not_ok "the loopback of the namespace is up"; summary; }

# --- stand-ins for systemd, apt's answers -------------------------------------------------
cat >/etc/apt/apt.conf.d/90guide-test <<'APT'
APT::Get::Assume-Yes "true";
DPkg::Lock::Timeout "600";
APT::Sandbox::User "root";
APT
printf '%s\n' 'postfix postfix/main_mailer_type select Internet Site' \
	'postfix postfix/mailname string mail.example.org' | debconf-set-selections
# apt alone reaches the mirror: it runs in the host's network namespace (nsenter), the daemons
# stay in this one.
for a in apt apt-get; do
	printf '#!/bin/sh\nexec nsenter --net=/run/guide-host-net /usr/bin/%s "$@"\n' "$a" >/usr/local/bin/$a
	chmod 755 /usr/local/bin/$a
done
# A link, not a copy: systemctl.py imports tests/lib/systemd_unit.py from beside it.
ln -sf /build/pam-pgsql-dovecot/tests/guide/systemctl.py /usr/local/sbin/systemctl
chmod 755 /usr/local/sbin/systemctl
ln -sf systemctl /usr/local/sbin/systemd-tmpfiles
mkdir -p /etc/tmpfiles.d /etc/systemd/system

# Every Debian host has netbase (priority important); a minbase root has not, and Cyrus's
# cyrus.conf names its ports by service name (listen="imap"), from /etc/services.
if ! apt-get install -qq netbase >"$t/netbase.log" 2>&1; then
	not_ok "netbase (/etc/services) is installed, as on every Debian host"
	comment <"$t/netbase.log"
	summary
fi

# --- the database Dovecot uses --------------------------------------------------------------
pgv=$(ls /usr/lib/postgresql | sort -V | tail -1)
if pg_ctlcluster "$pgv" main start >"$t/pg.log" 2>&1; then
	ok "PostgreSQL $pgv's stock cluster runs (localhost:5432 of the namespace)"
else
	not_ok "PostgreSQL $pgv's stock cluster runs"
	comment <"$t/pg.log"
	summary
fi
hash="{SHA512-CRYPT}$(openssl passwd -6 'the password')"
if runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 >"$t/sql.log" 2>&1 <<SQL; then
CREATE ROLE mailauth LOGIN PASSWORD 'secret';
CREATE DATABASE mail;
\c mail
CREATE TABLE users (userid text NOT NULL, domain text NOT NULL, password text,
                    PRIMARY KEY (userid, domain));
GRANT SELECT ON users TO mailauth;
INSERT INTO users VALUES ('alice', 'example.org', '$hash'), ('bob', 'example.org', '$hash'),
                         ('carol', 'example.net', '$hash');
SQL
	ok "the users' table of the guide's section 2 (alice, bob @example.org, carol @example.net)"
else
	not_ok "the users' table of the guide's section 2"
	comment <"$t/sql.log"
	summary
fi
users="alice@example.org bob@example.org carol@example.net"

# --- PGD_GUIDE_MODE=ansible: a second, fresh root set up by the guide's Ansible blocks -------
if [ "${PGD_GUIDE_MODE:-}" = ansible ]; then
	# The role's apt tasks run python-apt, which cannot reach the mirror from this namespace:
	# what it installs is installed first (through apt's shim), so those tasks find it there.
	# The role's service tasks ask systemd: /run/systemd/system makes Ansible use systemctl,
	# the stand-in above.
	mkdir -p /run/systemd/system
	# On a real host Postfix's postinst starts it (policy-rc.d stops that here): started as it
	# would be, so that the role's "Reload postfix" meets a running Postfix.
	if apt-get install -qq python3-apt sasl2-bin postfix sudo >"$t/pre.log" 2>&1 &&
		systemctl restart postfix >>"$t/pre.log" 2>&1; then
		ok "python3-apt, sasl2-bin, postfix and sudo (become) installed first (the role's apt tasks find them)"
	else
		not_ok "python3-apt, sasl2-bin and postfix installed first"
		tail -5 "$t/pre.log" | comment
		summary
	fi
	{
		echo 'set -e'
		cat /tmp/guide-blocks.sh
		cat <<'SH'
cd /build
for b in "${guide_blocks[@]}"; do
	rest=${b#*:}
	[[ ${rest#*:} == "The starting point" ]] || continue
	echo "GUIDE-BEGIN $b"
	"guide_block_${b%%:*}"
	echo "GUIDE-END ${b%%:*}"
done
for b in "${guide_ansible_blocks[@]}"; do
	echo "GUIDE-BEGIN $b"
	(cd /build && "guide_block_${b%%:*}")
	echo "GUIDE-END ${b%%:*}"
done
echo GUIDE-ALL-DONE
SH
	} >"$t/driver.sh"
	timeout 900 bash "$t/driver.sh" >"$t/driver.log" 2>&1 </dev/null
	if grep -q '^GUIDE-ALL-DONE$' "$t/driver.log"; then
		ok "the guide's starting point, then its Ansible blocks (--check --diff, then for real)"
		grep -E '^localhost +:' "$t/driver.log" | comment
	else
		not_ok "the guide's starting point, then its Ansible blocks"
		grep -B2 -A12 -E 'fatal:|FAILED!' "$t/driver.log" | head -40 | comment
		tail -15 "$t/driver.log" | comment
		summary
	fi
	out=$(printf 'the password\n' | pamtester imap alice@example.org authenticate acct_mgmt 2>&1)
	if grep -q 'successfully' <<<"$out"; then
		ok "pamtester: alice logs in through the /etc/pam.d/imap the role wrote ($(grep -o 'conf=[^ ]*' /etc/pam.d/imap | head -1))"
	else
		not_ok "pamtester: alice logs in through the /etc/pam.d/imap the role wrote"
		{ echo "$out"; cat /etc/pam.d/imap; } | comment
	fi
	out=$(printf 'wrong password\n' | pamtester imap alice@example.org authenticate 2>&1)
	if grep -q 'Authentication failure' <<<"$out"; then
		ok "pamtester: a wrong password is refused there"
	else
		not_ok "pamtester: a wrong password is refused there"
		echo "$out" | comment
	fi
	for s in imap smtp; do
		out=$(testsaslauthd -f /var/spool/postfix/var/run/saslauthd/mux -s $s -u bob@example.org -p 'the password' 2>&1)
		if grep -qF '0: OK "Success."' <<<"$out"; then
			ok "testsaslauthd -s $s through the saslauthd and the socket in Postfix's chroot the role set up"
		else
			not_ok "testsaslauthd -s $s through the saslauthd the role set up"
			{ echo "$out"; cat /etc/default/saslauthd; ls -la /run/saslauthd; } 2>&1 | comment
		fi
	done
	systemctl stop postfix saslauthd >/dev/null 2>&1
	pg_ctlcluster "$pgv" main stop -m fast >/dev/null 2>&1
	summary
fi

# --- hooks between the guide's blocks -------------------------------------------------------
# Before the guide's section 0: Dovecot as the starting point has it, with the users' mail.
cat >"$t/seed.py" <<'PY'
import imaplib, sys
user, port = sys.argv[1], int(sys.argv[2])
m = imaplib.IMAP4("127.0.0.1", port)
m.login(user, "the password")
typ, data = m.list()
sep = data[0].decode().split('"')[1] if data and data[0] else "/"
for folder in ("INBOX", "Archive", "Work", "Work/Projects"):
    name = folder.replace("/", sep)
    if folder != "INBOX":
        assert m.create(name)[0] == "OK", name
    for i in range(3):
        mid = "%s-%s-%d@guide.test" % (user.replace("@", "."), folder.replace("/", "."), i)
        msg = ("From: %s\r\nTo: %s\r\nSubject: %s %d\r\nMessage-ID: <%s>\r\n"
               "Date: Mon, 1 Jan 2024 10:00:0%d +0000\r\n\r\nbody %d\r\n"
               % (user, user, folder, i, mid, i, i))
        assert m.append(name, "", imaplib.Time2Internaldate(1704103200 + i), msg.encode())[0] == "OK"
        print("%s %s %s" % (user, folder, mid))
m.logout()
PY
hook_seed() {
	systemctl start dovecot
	local u
	for u in $users; do
		python3 "$t/seed.py" "$u" 143
	done >"$t/source.ids"
	echo "seeded $(wc -l <"$t/source.ids") messages"
}

# The driver: the guide's blocks in order, the hook before section 0's first block.
{
	echo 'set -e'
	echo "users='$users'"
	declare -f hook_seed
	echo "t=$t"
	cat /tmp/guide-blocks.sh
	cat <<'SH'
cd /build
seeded=
for b in "${guide_blocks[@]}"; do
	num=${b%%:*}
	rest=${b#*:}
	if [ -z "$seeded" ] && [[ ${rest#*:} == 0.* ]]; then
		echo "GUIDE-BEGIN seed:0:the users' mail in Dovecot (the test's, before section 0)"
		hook_seed
		echo "GUIDE-END seed"
		seeded=1
	fi
	echo "GUIDE-BEGIN $b"
	"guide_block_$num"
	echo "GUIDE-END $num"
done
echo GUIDE-ALL-DONE
SH
} >"$t/driver.sh"
start=$SECONDS
# 15 minutes at most: a block that waits for ever (a client no server answers) fails.
timeout 900 bash "$t/driver.sh" >"$t/driver.log" 2>&1 </dev/null
echo "# the guide's blocks: $((SECONDS - start)) s"
# One TAP line per block: ok when it ran to its end.
python3 - "$t/driver.log" <<'PY' >"$t/blocks.tap"
import sys
log = open(sys.argv[1], errors="replace").read().splitlines()
cur, body = None, []
for line in log:
    if line.startswith("GUIDE-BEGIN "):
        cur, body = line[len("GUIDE-BEGIN "):], []
    elif line.startswith("GUIDE-END ") and cur:
        num, ln, section = cur.split(":", 2)
        print("ok - guide block at line %s (%s)" % (ln, section) if num != "seed" else "ok - " + section)
        cur = None
    elif cur:
        body.append(line)
if cur:
    num, ln, section = cur.split(":", 2)
    print("not ok - guide block at line %s (%s) fails" % (ln, section))
    for l in body[-40:]:
        print("# " + l)
PY
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <"$t/blocks.tap"
diagnose() { # what is listening and running, for a failed run
	echo "listening:"
	ss -ltnxp 2>&1 | grep -v '^u_' | head -30
	echo "processes:"
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = / ] && tr '\0' ' ' <"$p/cmdline" 2>/dev/null && echo
	done | grep . | tail -30
	for f in /var/log/*.log /var/log/postgresql/*.log; do
		[ -s "$f" ] && { echo "$f:"; tail -5 "$f"; }
	done
}
if ! grep -q '^GUIDE-ALL-DONE$' "$t/driver.log"; then
	[ $failed -eq 1 ] || { not_ok "the guide's blocks ran"; tail -30 "$t/driver.log" | comment; }
	diagnose 2>&1 | comment
	summary
fi
ok "every block of the guide for Debian $rel ran ($(grep -c '^GUIDE-END [0-9]' "$t/driver.log"))"

# --- what a user checks ---------------------------------------------------------------------
sasl() { # EXPECTED ARGS...: testsaslauthd's answer
	local want=$1 out
	shift
	out=$(testsaslauthd "$@" 2>&1)
	if grep -qF "$want" <<<"$out"; then return 0; fi
	echo "$out" | comment
	return 1
}
for s in imap sieve smtp; do
	if sasl '0: OK "Success."' -s $s -u alice@example.org -p 'the password'; then
		ok "testsaslauthd -s $s: the right password is OK"
	else not_ok "testsaslauthd -s $s: the right password is OK"; fi
	if sasl '0: NO' -s $s -u alice@example.org -p 'wrong password'; then
		ok "testsaslauthd -s $s: a wrong password is NO"
	else not_ok "testsaslauthd -s $s: a wrong password is NO"; fi
done
if sasl '0: OK "Success."' -s imap -u carol -r example.net -p 'the password'; then
	ok "testsaslauthd: the realm apart (-r) is joined: carol + example.net is OK"
else not_ok "testsaslauthd: the realm apart (-r) is joined"; fi
mux=/var/spool/postfix/var/run/saslauthd/mux
if [ -S $mux ] && [ "$(readlink -f /run/saslauthd)" = "$(dirname $mux)" ] &&
	sasl '0: OK' -f $mux -s smtp -u bob@example.org -p 'the password'; then
	ok "saslauthd's socket is in Postfix's chroot and /run/saslauthd links to it"
else
	not_ok "saslauthd's socket is in Postfix's chroot and /run/saslauthd links to it"
	ls -la /run/saslauthd /var/spool/postfix/var/run/saslauthd 2>&1 | comment
fi

python3 /build/pam-pgsql-dovecot/tests/guide/clients.py "$users" "$t/source.ids" >"$t/clients.tap" 2>&1
while IFS= read -r line; do
	case $line in
	"ok - "*"# SKIP"*) n=$((n + 1)); echo "ok $n - ${line#ok - }" ;;
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <"$t/clients.tap"

# The module's log lines carry no password or hash (saslauthd logs to syslog: none runs here,
# so the check is on what the daemons wrote themselves).
if grep -rqF -e 'the password' -e '$6$' /var/log 2>/dev/null; then
	not_ok "no password or hash in /var/log"
else
	ok "no password or hash in /var/log"
fi

# Stop what the guide started, by its own stand-in (the host's cleanup ends the rest).
systemctl stop postfix cyrus-imapd saslauthd dovecot >/dev/null 2>&1
pg_ctlcluster "$pgv" main stop -m fast >/dev/null 2>&1
summary
