#!/bin/bash
# SPDX-License-Identifier: MIT
# The mail copy of a migration, with the users' own database and the real daemons of Debian 12
# and 13:
#  - saslauthd -a pam under pam_wrapper, loading the module (as tests/e2e/saslauthd.sh);
#  - Cyrus IMAP (cyrus-imapd) with a private config dir, checking passwords through saslauthd;
#    an admin row (hash made by `pam-pgsql-dovecot pw`) logs in as alice with AUTHENTICATE
#    PLAIN and authzid alice, a user who is not an admin cannot;
#  - Dovecot IMAP (dovecot-imapd; 2.3 on Debian 12, 2.4 on Debian 13, tests/e2e/dovecot-source.sh)
#    with a private config, base_dir and port, its own passdb sql on the same PostgreSQL table
#    and a master user: the source;
#  - mbsync (isync) copies three users' folders, logged in as user*master on Dovecot and as the
#    Cyrus admin on Cyrus; every message arrives, compared by Message-ID.
# Every daemon runs in the foreground on 127.0.0.1 and a free port above 50000, and is stopped
# by its pid on every exit path; nothing is written to /etc. Prints TAP.
# Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TOOL, PGD_TEST_CONNINFO, PGD_TEST_ADMIN; run as root
# (Cyrus and Dovecot drop to their own users).
set -uo pipefail
PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
check() { # NAME COMMAND...: ok when the command succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

need_env PGD_MODULE PAM_WRAPPER_SO PGD_TOOL PGD_TEST_CONNINFO PGD_TEST_ADMIN
[ "$(id -u)" = 0 ] || bail "runs as root (Cyrus and Dovecot switch to their own users)"
# The source's config is written in the syntax of the Dovecot installed (2.3 or 2.4).
dver=$(dovecot --version 2>/dev/null | cut -d. -f1,2)
case $dver in
2.3 | 2.4) ;;
*)
	echo "ok 1 - the mail copy # SKIP its source is written for Dovecot 2.3 and 2.4; this host has $(dovecot --version 2>/dev/null || echo none)"
	echo "1..1"
	exit 0
	;;
esac
cyrus_bin=/usr/lib/cyrus/bin
# dovecot-imapd conflicts with cyrus-imapd (both provide imap-server): scripts/install-deps.sh
# unpacks its binaries beside the tests instead when Cyrus is installed.
dovecot_lib=/usr/lib/dovecot
[ -x $dovecot_lib/imap ] || dovecot_lib=${PGD_DOVECOT_IMAPD:-/var/cache/pam-pgsql-dovecot-tests/dovecot-imapd}/usr/lib/dovecot
for tool in saslauthd mbsync dovecot $cyrus_bin/master $cyrus_bin/imapd $dovecot_lib/imap \
	$dovecot_lib/imap-login python3; do
	command -v "$tool" >/dev/null ||
		bail "$tool is installed (scripts/install-deps.sh: sasl2-bin, cyrus-imapd, isync, dovecot-imapd)"
done

work=$(mktemp -d /tmp/pgd-copy.XXXXXX)
# the daemons' own users must reach their folders inside
chmod 711 "$work"
# Every daemon's pid is in pids: the master (which takes its workers down), then any worker left.
trap 'e2e_cleanup copy_users' EXIT
trap 'exit 1' INT TERM

# --- the users' table: three users, the Cyrus admin, Dovecot's master user ---
admin_pw="admin $RANDOM pw"
master_pw="master $RANDOM pw"
declare -A pw=([alice]="alice pw $RANDOM" [bob]="bob pw $RANDOM" [carol]="carol pw $RANDOM")
hash() { "$PGD_TOOL" pw -s SHA512-CRYPT -p "$1"; }
{
	echo "DROP TABLE IF EXISTS copy_users;"
	echo "CREATE TABLE copy_users (username text PRIMARY KEY, password text, role text);"
	echo "GRANT SELECT ON copy_users TO PUBLIC;"
	for u in alice bob carol; do
		echo "INSERT INTO copy_users VALUES ('$u', '$(hash "${pw[$u]}")', 'user');"
	done
	echo "INSERT INTO copy_users VALUES ('cyradmin', '$(hash "$admin_pw")', 'admin');"
	echo "INSERT INTO copy_users VALUES ('dmaster', '$(hash "$master_pw")', 'master');"
} | PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" \
	>/dev/null || bail "the users' table loads"

# --- saslauthd through the module ---
mkdir -p "$work/sasl.run" "$work/pam.d"
chmod 755 "$work/sasl.run"
cat >"$work/module.conf" <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
default_pass_scheme = SHA512-CRYPT
password_query = SELECT username AS user, password FROM copy_users WHERE username = '%u' AND role <> 'master'
CONF
chmod 600 "$work/module.conf"
securedir=$(pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security
printf 'auth    required %s conf=%s nodelay\naccount required %s conf=%s\n' \
	"$PGD_MODULE" "$work/module.conf" "$PGD_MODULE" "$work/module.conf" >"$work/pam.d/imap"
printf 'auth required %s/pam_deny.so\naccount required %s/pam_deny.so\n' \
	"$securedir" "$securedir" >"$work/pam.d/other"
start_saslauthd "$work/pam.d" "$work/sasl.run" "$work/saslauthd.log" -n 2 ||
	bail "saslauthd starts"
chmod 755 "$work/sasl.run"
ok "saslauthd -a pam starts under pam_wrapper with the module"

# --- Cyrus: private config dir, the admin, passwords through saslauthd ---
cport=$(free_port)
cy=$work/cyrus
if start_cyrus "$cy" "$cport" 1 "$work/sasl.run/mux" "$work/cyrus.log" "admins: cyradmin" \
	"sasl_mech_list: PLAIN" "altnamespace: no" "syslog_prefix: pgd-copy-cyrus"; then
	ok "Cyrus master starts with a private config on 127.0.0.1:$cport"
else
	sed 's/^/# /' "$work/cyrus.log"
	bail "Cyrus master starts with a private config"
fi

# imap.py HOST PORT ACTION ...: the IMAP client side, in Python's imaplib (secrets from env)
cat >"$work/imap.py" <<'PY'
import imaplib, os, sys, re
port, action = int(sys.argv[1]), sys.argv[2]
def plain(authz, authc, pw):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.authenticate("PLAIN", lambda _: ("%s\0%s\0%s" % (authz, authc, pw)).encode())
    return m
def folders(m):
    out = []
    for line in m.list()[1]:
        name = line.decode().rsplit(' ', 1)[1].strip('"')
        out.append(name)
    return out
def ids(m, folder):
    typ, _ = m.select('"%s"' % folder, readonly=True)
    if typ != "OK":
        return []
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    found = []
    for part in data:
        if isinstance(part, tuple):
            mm = re.search(rb"<([^>]+)>", part[1])
            if mm:
                found.append(mm.group(1).decode())
    return found
if action == "login":            # AUTHZ AUTHC PWENV
    try:
        m = plain(sys.argv[3], sys.argv[4], os.environ[sys.argv[5]])
        typ, data = m.select("INBOX", readonly=True)
        print("OK", typ)
        m.logout()
    except imaplib.IMAP4.error as e:
        print("NO", e)
        sys.exit(1)
elif action == "seed":           # USER*MASTER PWENV USER: folders and messages, printed
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(sys.argv[3], os.environ[sys.argv[4]])
    user = sys.argv[5]
    for folder in ("INBOX", "Work", "Work/Projects", "Archive"):
        if folder != "INBOX":
            m.create(folder)
        for i in range(3):
            mid = "%s-%s-%d@copy.test" % (user, folder.replace("/", "."), i)
            msg = ("From: %s@example.org\r\nTo: %s@example.org\r\nSubject: %s %d\r\n"
                   "Message-ID: <%s>\r\nDate: Mon, 1 Jan 2024 10:00:0%d +0000\r\n\r\n"
                   "body %d of %s\r\n" % (user, user, folder, i, mid, i, i, folder))
            typ, _ = m.append(folder, "", imaplib.Time2Internaldate(1704103200 + i), msg.encode())
            assert typ == "OK", (folder, typ)
            print("%s %s" % (folder, mid))
    m.logout()
elif action == "list-master":    # USER*MASTER PWENV: what the source holds, by Message-ID
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(sys.argv[3], os.environ[sys.argv[4]])
    for f in folders(m):
        for mid in ids(m, f):
            print("%s %s" % (f, mid))
elif action == "list-authz":     # AUTHZ AUTHC PWENV: as AUTHZ, through the admin's login
    m = plain(sys.argv[3], sys.argv[4], os.environ[sys.argv[5]])
    for f in folders(m):
        for mid in ids(m, f):
            # Cyrus shows the user's folders under INBOX/
            name = f[len("INBOX/"):] if f.startswith("INBOX/") else f
            print("%s %s" % (name, mid))
PY

export ADMIN_PW=$admin_pw MASTER_PW=$master_pw ALICE_PW=${pw[alice]} BOB_PW=${pw[bob]} CAROL_PW=${pw[carol]}
cyrus_login() { python3 "$work/imap.py" "$cport" login "$@" >"$work/login.out" 2>&1; }
# Cyrus creates a user's INBOX on the admin's command only: the admin logs in as itself first.
python3 - "$cport" <<'PY' >"$work/create.out" 2>&1 || true
import imaplib, os, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.authenticate("PLAIN", lambda _: ("\0cyradmin\0%s" % os.environ["ADMIN_PW"]).encode())
for u in ("alice", "bob", "carol"):
    print(u, m.create("user/%s" % u))
    # an admin may administer every mailbox but read none: for the copy it grants itself
    # the rights (folders created below inherit them), and takes them back after
    print(u, "acl", m.setacl("user/%s" % u, "cyradmin", "lrswipkxtecdan"))
m.logout()
PY
if grep -q "alice ('OK'" "$work/create.out" && grep -q "carol acl ('OK'" "$work/create.out"; then
	ok "Cyrus: the admin (its row's hash made by pam-pgsql-dovecot pw) logs in and creates the users"
else
	not_ok "Cyrus: the admin logs in and creates the users"
	sed 's/^/# /' "$work/create.out"
fi
check "Cyrus: alice logs in with her own password" cyrus_login "" alice ALICE_PW
check "Cyrus: the admin logs in as alice (AUTHENTICATE PLAIN, authzid alice)" \
	cyrus_login alice cyradmin ADMIN_PW
if cyrus_login alice bob BOB_PW; then
	not_ok "Cyrus: bob (not an admin) cannot log in as alice"
else
	ok "Cyrus: bob (not an admin) cannot log in as alice"
fi
if cyrus_login alice cyradmin BOB_PW; then
	not_ok "Cyrus: the admin with a wrong password cannot log in as alice"
else
	ok "Cyrus: the admin with a wrong password cannot log in as alice"
fi
if grep -q 'auth success: \[user=cyradmin\]' "$work/saslauthd.log"; then
	ok "saslauthd checked the admin's password (the module), not alice's"
else
	not_ok "saslauthd checked the admin's password (the module), not alice's"
	tail -5 "$work/saslauthd.log" | sed 's/^/# /'
fi

# --- Dovecot 2.3 or 2.4: the source, with its own passdb sql and a master user ---
dport=$(free_port)
dv=$work/dovecot
mkdir -p "$dv/run" "$dv/state" "$dv/mail"
chown nobody:nogroup "$dv/mail"
. "$(dirname "$0")/dovecot-source.sh"
dovecot_source_conf "$dver" "$dv" "$dport" "$dovecot_lib" "$PGD_TEST_CONNINFO" ||
	bail "a Dovecot $dver config is written"
setsid dovecot -F -c "$dv/dovecot.conf" >"$work/dovecot.out" 2>&1 </dev/null &
pids+=($!)
if wait_port "$dport" "${pids[-1]}"; then
	ok "Dovecot $dver starts with a private config on 127.0.0.1:$dport"
else
	sed 's/^/# /' "$work/dovecot.out" "$dv/dovecot.log" 2>/dev/null
	bail "Dovecot $dver starts with a private config"
fi
: >"$work/source.ids"
for u in alice bob carol; do
	if ! python3 "$work/imap.py" "$dport" seed "$u*dmaster" MASTER_PW "$u" \
		>"$work/seed.$u" 2>&1; then
		sed 's/^/# /' "$work/seed.$u" | tail -5
		bail "Dovecot: $u's mail is seeded through the master user"
	fi
	sed "s/^/$u /" "$work/seed.$u" >>"$work/source.ids"
done
check "Dovecot: 3 users x 4 folders x 3 messages seeded through the master user" \
	test "$(wc -l <"$work/source.ids")" = 36

# --- mbsync: Dovecot (user*master) to Cyrus (the admin), three users ---
mkdir -p "$work/mbsync"
{
	cat <<RC
IMAPAccount cyrus
Host 127.0.0.1
Port $cport
User cyradmin
PassCmd "printenv ADMIN_PW"
SSLType None
AuthMechs PLAIN

# the admin sees each user's INBOX as user/NAME, and its folders below it
IMAPStore cyrus
Account cyrus
PathDelimiter /

RC
	for u in alice bob carol; do
		mkdir -p "$work/mbsync/$u"
		cat <<RC
IMAPAccount dovecot-$u
Host 127.0.0.1
Port $dport
User $u*dmaster
PassCmd "printenv MASTER_PW"
SSLType None
AuthMechs PLAIN

IMAPStore dovecot-$u
Account dovecot-$u

IMAPStore cyrus-$u
Account cyrus
Path user/$u/
PathDelimiter /

Channel $u-inbox
Far :dovecot-$u:INBOX
Near :cyrus:user/$u
Create Near
Sync Pull
SyncState $work/mbsync/$u/

Channel $u-folders
Far :dovecot-$u:
Near :cyrus-$u:
Patterns * !INBOX
Create Near
Sync Pull
SyncState $work/mbsync/$u/

RC
	done
} >"$work/mbsyncrc"
if mbsync -c "$work/mbsyncrc" -a >"$work/mbsync.log" 2>&1; then
	ok "mbsync copies the three users (Dovecot master user to Cyrus admin)"
else
	not_ok "mbsync copies the three users (Dovecot master user to Cyrus admin)"
	tail -20 "$work/mbsync.log" | sed 's/^/# /'
fi

# The admin takes back the rights it gave itself, on every folder of every user.
python3 - "$cport" <<'PY' >"$work/unacl.out" 2>&1
import imaplib, os, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.authenticate("PLAIN", lambda _: ("\0cyradmin\0%s" % os.environ["ADMIN_PW"]).encode())
bad = 0
for u in ("alice", "bob", "carol"):
    for line in m.list('""', '"user/%s*"' % u)[1]:
        box = line.decode().rsplit(" ", 1)[1].strip('"')
        typ, _ = m.deleteacl('"%s"' % box, "cyradmin")
        bad += typ != "OK"
        acl = m.getacl('"%s"' % box)[1][0].decode()
        bad += " cyradmin " in " %s " % acl
print("left", bad)
m.logout()
PY
check "the admin's read rights are taken back from every copied folder" grep -q "^left 0$" "$work/unacl.out"

# --- every message arrived, by Message-ID, read as each user through the admin's login ---
: >"$work/dest.ids"
for u in alice bob carol; do
	python3 "$work/imap.py" "$cport" list-authz "$u" cyradmin ADMIN_PW 2>&1 | sed "s/^/$u /" \
		>>"$work/dest.ids"
done
sort -o "$work/source.ids" "$work/source.ids"
sort -o "$work/dest.ids" "$work/dest.ids"
if [ -s "$work/dest.ids" ] && diff "$work/source.ids" "$work/dest.ids" >"$work/ids.diff"; then
	ok "Cyrus holds every message of every folder, by Message-ID ($(wc -l <"$work/dest.ids"))"
else
	not_ok "Cyrus holds every message of every folder, by Message-ID"
	head -20 "$work/ids.diff" | sed 's/^/# /'
fi
python3 "$work/imap.py" "$dport" list-master "alice*dmaster" MASTER_PW >"$work/source.after" 2>&1
if [ "$(wc -l <"$work/source.after")" = 12 ]; then
	ok "the source is unchanged after the copy (Sync Pull)"
else
	not_ok "the source is unchanged after the copy (Sync Pull)"
fi
if grep -qF -e "$admin_pw" -e "$master_pw" -e "${pw[alice]}" -e '$6$' "$work"/*.log \
	"$dv/dovecot.log" 2>/dev/null; then
	not_ok "no password or stored hash in the daemons' logs"
else
	ok "no password or stored hash in the daemons' logs"
fi

check "every daemon stopped" stop_daemons
summary
