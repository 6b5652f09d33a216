#!/bin/bash
# SPDX-License-Identifier: MIT
# The two front-door commands on a Dovecot mail host. In a throwaway root of this machine's
# release (debootstrap minbase from this machine's mirror, plus dovecot-core and dovecot-imapd;
# cached under /var/cache/pam-pgsql-dovecot/ with the demo's packages downloaded beside it),
# Dovecot's IMAP runs (its master process, private base_dir, 127.0.0.1 on a free port above
# 50000). Then:
#  - scripts/demo.sh says what it installs before installing it, installs it with the root's
#    policy-rc.d removed (its own keeps PostgreSQL from starting), and logs alice in; afterwards
#    dovecot-imapd is still installed, the same Dovecot master still runs and answers, and no
#    other process runs in the root;
#  - scripts/test.sh refuses in one line naming dovecot-imapd (which the suite's cyrus-imapd
#    would remove), exits non-zero before building anything, and changes no package;
#  - the README's quick start for that Dovecot (2.3 or 2.4), its code blocks run as written:
#    install, build, check, pam.d files, pamtester, saslauthd -a pam -r, testsaslauthd.
# Dovecot is stopped and the root removed on every exit path. Prints TAP.
#
#   tests/deb/dovecot-host.sh SOURCE-ROOT [RELEASE]   RELEASE: this machine's by default
#
# Needs root, debootstrap and zstd. Inside the Debian 13 root of scripts/trixie.sh it is skipped
# (a counted skip): a root there would be bootstrapped anew at every run, without a cache; a full
# scripts/test.sh on Debian 12 runs it for trixie from the outer host instead.
set -uo pipefail
src=$(cd "${1:?usage: dovecot-host.sh SOURCE-ROOT [RELEASE]}" && pwd)
. "$src/scripts/debroot.sh"
# shellcheck source=tests/lib/tap.sh
. "$src/tests/lib/tap.sh"
rel=${2:-$(. /etc/os-release && echo "${VERSION_CODENAME:-}")}
tap_prefix="$rel: "

if [ "${PGD_IN_ROOT:-}" = 1 ]; then
	echo "ok 1 - the front door on a Dovecot host # SKIP inside scripts/trixie.sh's root: a nested root has no cache there; a full scripts/test.sh runs it for trixie from the outer host"
	echo "1..1"
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null || ! command -v zstd >/dev/null ||
	[ -z "$rel" ]; then
	not_ok "root, debootstrap, zstd and a release codename are here (scripts/install-deps.sh)"
	summary
fi

work=$(mktemp -d /var/tmp/pgd-dovecot-host.XXXXXX)
root=$work/root
dv=/tmp/pgd-dv
master=
# shellcheck disable=SC2317 # run by the EXIT trap (debroot_traps)
cleanup() {
	if [ -n "$master" ] && [ "$(readlink "/proc/$master/root" 2>/dev/null)" = "$(cd "$root" 2>/dev/null && pwd -P)" ]; then
		kill -TERM "$master" 2>/dev/null
		for _ in $(seq 1 50); do
			kill -0 "$master" 2>/dev/null || break
			sleep 0.1
		done
	fi
	debroot_remove "$work" "$root"
}
debroot_traps cleanup

# The demo's package list, read from install-deps.sh: the cache key follows it.
demo_list=$(sed -n '/^demo_packages=(/,/^)/p' "$src/scripts/install-deps.sh" | sed '1d;$d' |
	sed 's/#.*//' | tr -s ' \t\n' ' ')
apt_in=(apt-get -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root)
# shellcheck disable=SC2317 # run by debroot_prepare
setup() {
	local dir=$1
	debroot_run "$dir" "${apt_in[@]}" update -qq &&
		debroot_run "$dir" "${apt_in[@]}" install -y -qq --no-install-recommends \
			dovecot-core dovecot-imapd >/dev/null &&
		debroot_run "$dir" "${apt_in[@]}" clean &&
		debroot_run "$dir" bash -c "${apt_in[*]} install -d -y -qq --no-install-recommends $demo_list >/dev/null &&
			mkdir -p /var/cache/pgd-demo-debs && mv /var/cache/apt/archives/*.deb /var/cache/pgd-demo-debs/"
}
key=$(echo "debootstrap --variant=minbase $rel; dovecot-core dovecot-imapd; demo debs: $demo_list; v1" |
	sha256sum | cut -c1-12)
debroot_prepare_case "a $rel root with dovecot-core and dovecot-imapd" \
	"$rel: the front door on a Dovecot host" "$work/prepare.log" \
	"$rel-dovecot-host" "$rel" "$key" "$root" setup

debroot_copy_tree "$src" "$root/src"
debroot_mount "$root"
inroot() { debroot_run "$root" bash -c "$1"; }
installed() { inroot "dpkg-query -W -f='\${Status}' $1 2>/dev/null | grep -q 'install ok installed'"; }
packages() { inroot "dpkg-query -W -f='\${Package} \${Version} \${Status}\n'" | LC_ALL=C sort; }
# The processes running in the root, one "PID PPID COMM" a line.
in_root_procs() {
	local p real
	real=$(cd "$root" && pwd -P)
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$real" ] || continue
		echo "${p#/proc/} $(awk '/^PPid:/ { print $2 }' "$p/status" 2>/dev/null) $(cat "$p/comm" 2>/dev/null)"
	done
}
imap_banner() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
	IFS= read -r -t 5 line <&3
	exec 3<&-
	echo "$line"
}

# Dovecot's IMAP, as on a mail host: the master process of the release's Dovecot, started by
# us (policy-rc.d kept the package from starting it), listening on 127.0.0.1 only.
port=$(free_port) || bail "a free port above 50000"
dver=$(inroot "dovecot --version" | cut -d. -f1,2)
mkdir -p "$root$dv/run" "$root$dv/state"
{
	if [ "$dver" = 2.4 ]; then
		echo "dovecot_config_version = $(inroot "dovecot --version" | cut -d' ' -f1 | cut -d- -f1)"
		echo "dovecot_storage_version = $(inroot "dovecot --version" | cut -d' ' -f1 | cut -d- -f1)"
	fi
	cat <<CONF
instance_name = pgd-dovecot-host-$$
base_dir = $dv/run
state_dir = $dv/state
log_path = $dv/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
service imap-login {
  inet_listener imap {
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
	if [ "$dver" = 2.4 ]; then
		printf 'passdb static {\n  driver = static\n  password = pgd-%s\n}\n' "$RANDOM$RANDOM"
		printf 'userdb static {\n  driver = static\n}\n' 
	else
		printf 'passdb {\n  driver = static\n  args = password=pgd-%s\n}\n' "$RANDOM$RANDOM"
		printf 'userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=%s/home\n}\n' "$dv"
	fi
} >"$root$dv/dovecot.conf"
if inroot "dovecot -c $dv/dovecot.conf" >"$work/dovecot.out" 2>&1; then
	for _ in $(seq 1 50); do
		[ -s "$root$dv/run/master.pid" ] && break
		sleep 0.1
	done
	master=$(cat "$root$dv/run/master.pid" 2>/dev/null)
fi
banner=$(imap_banner "$port")
if [ -n "$master" ] && kill -0 "$master" 2>/dev/null && [[ $banner == '* OK'* ]]; then
	ok "Dovecot $dver's master runs in the root (pid $master) and its IMAP answers on 127.0.0.1:$port"
else
	not_ok "Dovecot $dver's master runs in the root and its IMAP answers"
	sed 's/^/# /' "$work/dovecot.out" "$root$dv/dovecot.log" 2>/dev/null
	summary
fi
others_before=$(in_root_procs | awk -v m="$master" '$1 != m && $2 != m')
[ -z "$others_before" ]
out=$others_before expect "no process runs in the root but Dovecot's"

# scripts/demo.sh, as an admin would run it on this host: the root's own policy-rc.d removed,
# so that only install-deps.sh's keeps PostgreSQL from starting; the demo's packages are in
# apt's cache (downloaded when the root was prepared), installed by the demo itself.
rm -f "$root/usr/sbin/policy-rc.d"
inroot "mv /var/cache/pgd-demo-debs/*.deb /var/cache/apt/archives/ 2>/dev/null; rmdir /var/cache/pgd-demo-debs 2>/dev/null" || :
before=$(packages)
start=$SECONDS
out=$(inroot "cd /src && scripts/demo.sh" 2>&1)
rc=$?
demo_time=$((SECONDS - start))
[ $rc -eq 0 ]
expect "scripts/demo.sh ends with 0 ($demo_time s)"
said=$(grep -n '^install-deps: installing ' <<<"$out" | head -1)
built=$(grep -n '== Building' <<<"$out" | head -1)
[ -n "$said" ] && [ -n "$built" ] && [ "${said%%:*}" -lt "${built%%:*}" ] &&
	[ "$(grep -c '^install-deps: installing ' <<<"$out")" -eq 1 ]
expect "it says in one line what it installs, before installing and building"
after=$(packages)
new=$(LC_ALL=C join -v 2 <(echo "$before") <(echo "$after") | awk '{ print $1 }')
removed=$(LC_ALL=C join -v 1 <(echo "$before") <(echo "$after") | awk '{ print $1 }')
changed=$(LC_ALL=C join <(echo "$before") <(echo "$after") | awk '$2 " " $3 " " $4 " " $5 != $6 " " $7 " " $8 " " $9 { print $1 }')
[ -z "$removed" ] && [ -z "$changed" ]
out="removed: $removed; changed: $changed" expect "no package removed or replaced ($(wc -w <<<"$new") installed)"
grep -q 'successfully authenticated' <<<"$out"
expect "the demo logs alice in with the right password (successfully authenticated)"
grep -q 'Authentication failure' <<<"$out"
expect "and refuses the wrong one (Authentication failure)"
installed dovecot-imapd && installed dovecot-core
expect "dovecot-imapd and dovecot-core are still installed"
now=$(cat "$root$dv/run/master.pid" 2>/dev/null)
banner=$(imap_banner "$port")
[ "$now" = "$master" ] && kill -0 "$master" 2>/dev/null && [[ $banner == '* OK'* ]]
out="master.pid: $now; banner: $banner" expect "the same Dovecot master (pid $master) still runs and answers"
others=$(in_root_procs | awk -v m="$master" '$1 != m && $2 != m')
[ -z "$others" ]
out=$others expect "no process left in the root but Dovecot's (no PostgreSQL started by its package)"
[ ! -e "$root/usr/sbin/policy-rc.d" ]
expect "install-deps.sh removed the policy-rc.d it put there"

# scripts/test.sh on the same host: the suite needs cyrus-imapd, which would remove
# dovecot-imapd. One line says so; nothing is installed, nothing built.
before=$(packages)
out=$(inroot "cd /src && scripts/test.sh" 2>&1)
rc=$?
[ $rc -ne 0 ]
expect "scripts/test.sh exits non-zero (rc $rc)"
[ "$(grep -c . <<<"$out")" -eq 1 ] && grep -q 'would remove .*dovecot-imapd' <<<"$out" &&
	grep -q 'cyrus-imapd' <<<"$out"
expect "in one line, naming dovecot-imapd and cyrus-imapd"
[ "$(packages)" = "$before" ] && installed dovecot-imapd && ! installed cyrus-imapd
expect "no package changed: dovecot-imapd installed, cyrus-imapd not"
[ ! -e "$root/src/build-test" ]
expect "nothing was built (no build-test)"
now=$(cat "$root$dv/run/master.pid" 2>/dev/null)
[ "$now" = "$master" ] && kill -0 "$master" 2>/dev/null && [[ $(imap_banner "$port") == '* OK'* ]]
expect "the same Dovecot master still runs and answers"

# The README's quick start for this release's Dovecot, run as written on the same host: its
# code blocks, in order, read from README.md. Dovecot's SQL passdb is put in place first (the
# quick start assumes it: 2.3's dovecot-sql.conf.ext, or 2.4's conf.d/auth-sql.conf.ext included
# instead of auth-system.conf.ext), on a PostgreSQL started in the root, with alice's password
# "her password" (the one the README's commands type). Debian 13's last block starts saslauthd
# with systemctl, which a root cannot: there saslauthd is started as its unit's ExecStart does.
# quickstart_block N: the Nth code block of the README's quick start for Dovecot $dver.
quickstart_block() {
	awk -v want="$1" -v head="## Quick start: Dovecot $dver" '
		/^## / { inside = (index($0, head) == 1) }
		inside && /^```/ { if (code) { code = 0; next } code = 1; k++; next }
		inside && code && k == want { print }' "$src/README.md"
}
if [ -z "$(quickstart_block 1)" ]; then
	not_ok "the README has a quick start for Dovecot $dver"
	summary
fi
cp "$src/tests/pg-cluster.sh" "$root/tmp/pg-cluster.sh"
pgdir=/tmp/pgd-quickstart-pg
# shellcheck disable=SC2317 # run by the EXIT trap (debroot_traps)
qs_cleanup() {
	[ -f "$root$pgdir/port" ] && debroot_run "$root" /tmp/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1
	cleanup
}
debroot_traps qs_cleanup
if inroot "/tmp/pg-cluster.sh start $pgdir" >"$work/pg.env" 2>"$work/pg.log"; then :; else
	not_ok "PostgreSQL runs in the root for the quick start"
	sed 's/^/# /' "$work/pg.log"
	summary
fi
admin=$(pg_env_value PGD_TEST_ADMIN <"$work/pg.env")
conninfo=$(pg_env_value PGD_TEST_CONNINFO <"$work/pg.env")
# doveadm pw -s SHA512-CRYPT -p 'her password', as Dovecot stored it.
hash=$(inroot "doveadm pw -s SHA512-CRYPT -p 'her password'")
debroot_run "$root" psql -q -v ON_ERROR_STOP=1 "$admin" >"$work/sql.log" 2>&1 <<SQL
CREATE TABLE users (userid text, domain text, password text);
INSERT INTO users VALUES ('alice', 'example.org', '$hash');
GRANT SELECT ON users TO pgd_auth;
SQL
if [ "$dver" = 2.3 ]; then
	{
		quickstart_conf "$conninfo"
		echo "iterate_query = SELECT userid AS username, domain FROM users"
	} >"$root/etc/dovecot/dovecot-sql.conf.ext"
	chmod 600 "$root/etc/dovecot/dovecot-sql.conf.ext"
else
	{
		echo "sql_driver = pgsql"
		echo "pgsql 127.0.0.1 {"
		echo "  parameters {"
		for kv in $conninfo; do
			printf '    %s = %s\n' "${kv%%=*}" "${kv#*=}"
		done
		cat <<CONF
  }
}
passdb sql {
  default_password_scheme = SHA512-CRYPT
  query = SELECT userid AS username, domain, password \\
    FROM users WHERE userid = '%{user | username}' AND domain = '%{user | domain}'
}
userdb sql {
  iterate_query = SELECT userid AS username, domain FROM users
}
CONF
	} >"$root/etc/dovecot/conf.d/auth-sql.conf.ext"
	chmod 600 "$root/etc/dovecot/conf.d/auth-sql.conf.ext"
	sed -i -e 's/^!include auth-system.conf.ext/#!include auth-system.conf.ext/' \
		-e 's/^#!include auth-sql.conf.ext/!include auth-sql.conf.ext/' "$root/etc/dovecot/conf.d/10-auth.conf"
	grep -q '^!include auth-sql.conf.ext' "$root/etc/dovecot/conf.d/10-auth.conf" ||
		echo '!include auth-sql.conf.ext' >>"$root/etc/dovecot/conf.d/10-auth.conf"
fi
start=$SECONDS
out=$(inroot "set -e; cd /src; { $(quickstart_block 1); } <<<'her password'" 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q 'successfully authenticated' <<<"$out"
expect "the $dver quick start's install, build, audit, pam.d lines and pamtester log alice in ($((SECONDS - start)) s)"
grep -q 'nodelay' "$root/etc/pam.d/imap" && grep -q '^account' "$root/etc/pam.d/smtp"
expect "its pam.d files carry nodelay and an account line"
# /etc/default/saslauthd: the quick start's lines replace the file's own.
while IFS= read -r line; do
	k=${line%%=*}
	sed -i "/^$k=/d" "$root/etc/default/saslauthd"
	echo "$line" >>"$root/etc/default/saslauthd"
done < <(quickstart_block 2)
if [ "$dver" = 2.3 ]; then
	out=$(inroot "set -e; $(quickstart_block 3)" 2>&1)
else
	# The unit's ExecStart, with the file's variables, as systemd would run it.
	exec_start=$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/saslauthd.service" | head -1)
	out=$(inroot "set -a; . /etc/default/saslauthd; set +a; mkdir -p /run/saslauthd; $exec_start; sleep 1
		$(quickstart_block 3 | grep '^testsaslauthd')" 2>&1)
fi
grep -q 'OK "Success."' <<<"$out"
expect "saslauthd -a pam -r started as written and testsaslauthd logs alice in"
out=$(inroot "testsaslauthd -s imap -u alice@example.org -p 'not her password'" 2>&1)
grep -q 'NO "authentication failed"' <<<"$out"
expect "and refuses a wrong password"
summary
