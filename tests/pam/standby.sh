#!/bin/bash
# SPDX-License-Identifier: MIT
# update_connect against a real primary and a streaming standby (pg_basebackup): lookups on the
# standby (connect with target_session_attrs=prefer-standby), every write on the primary
# (update_connect with target_session_attrs=read-write): the audit statement, rehash and
# chauthtok land there and replicate; with the primary stopped logins still work, the writes
# fail and are logged, and the answer does not change. Both servers log every statement
# (log_statement = all), which is how the test sees where each one ran. pamtester under
# pam_wrapper. Prints TAP. Starts its own clusters (ports above 50000 on 127.0.0.1) and stops
# what it started. Needs: PGD_MODULE, PAM_WRAPPER_SO.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/../pg-cluster.sh
if [ -n "${PGHOST:-}" ]; then
	echo "1..0 # SKIP needs PostgreSQL's own binaries, not an external server"
	exit 0
fi
work=$(mktemp -d /tmp/pgd-standby.XXXXXX)
chmod 711 "$work"
standby_started=
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
	[ -n "$standby_started" ] && as_pg "$bin/pg_ctl" -D "$work/standby" -m immediate -w stop \
		>/dev/null 2>&1
	"$cluster" stop "$work/primary"
	rm -rf "$work"
}
trap cleanup EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
out=
expect() { # NAME: ok when the previous command succeeded; else shows pamtester's last output
	if [ "$?" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1"
		sed 's/^/# /' <<<"$out"
	fi
}
free_port() {
	local p
	while :; do
		p=$((50000 + RANDOM % 15000))
		! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }
	done
}

env_lines=$("$cluster" start "$work/primary") || { echo "Bail out! no primary"; exit 1; }
eval "$env_lines"
p1=$(cat "$work/primary/port")
password=$(sed -n 's/.*password=\([^ ]*\).*/\1/p' <<<"$PGD_TEST_CONNINFO")
strong='{SHA512-CRYPT}$6$SuTxbpG2nK2JiDHH$mGRTeNfTVw3IxcoPmMgQpeh5o99f6pLfTjVbQALl2vfjbsJJPJvpkC.oFaouAA7WBZv5w9RO56ab/xMdDTpS./'
weak=$(doveadm pw -s MD5-CRYPT -p 'weak pw' 2>/dev/null) ||
	{ echo "Bail out! doveadm pw failed"; exit 1; }
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL || exit 1
CREATE TABLE users (userid text PRIMARY KEY, domain text, password text);
CREATE TABLE logins (userid text, at timestamptz DEFAULT now());
GRANT SELECT, UPDATE ON users TO PUBLIC;
GRANT INSERT ON logins TO PUBLIC;
INSERT INTO users VALUES ('alice', 'example.org', '$strong'),
  ('weak', 'example.org', '$weak'), ('weak2', 'example.org', '$weak');
ALTER SYSTEM SET log_statement = 'all';
ALTER SYSTEM SET log_line_prefix = '%m [%p] %u ';
ALTER SYSTEM SET log_connections = on;
SELECT pg_reload_conf();
SQL

# A streaming standby of it (it inherits log_statement from postgresql.auto.conf).
p2=$(free_port)
install -d -o postgres -m 700 "$work/standby"
as_pg "$bin/pg_basebackup" -h "$work/primary" -p "$p1" -U postgres -D "$work/standby" -R \
	-X stream >"$work/basebackup.log" 2>&1 ||
	{ echo "Bail out! pg_basebackup failed: $(tail -1 "$work/basebackup.log")"; exit 1; }
as_pg "$bin/pg_ctl" -D "$work/standby" -l "$work/standby/server.log" -w -t 30 \
	-o "-c listen_addresses=127.0.0.1 -c port=$p2 -c unix_socket_directories=$work/primary" \
	start >/dev/null || { echo "Bail out! standby did not start"; exit 1; }
standby_started=1
plog=$work/primary/server.log
slog=$work/standby/server.log
standby_sql() { psql -XAtq -h "$work/primary" -p "$p2" -U postgres -d mail -c "$1"; }
primary_sql() { psql -XAtq "$PGD_TEST_ADMIN" -c "$1"; }
# Waits (5 s at most) until the standby's answer to SQL equals the primary's.
replicated() {
	local want
	want=$(primary_sql "$1")
	for _ in $(seq 50); do
		[ "$(standby_sql "$1")" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

mkdir "$work/pam.d"
role="user=pgd_auth password=$password dbname=mail"
hosts="host=127.0.0.1,127.0.0.1 port=$p1,$p2"
service() { # NAME EXTRA-CONF-LINES
	{
		printf 'driver = pgsql\nconnect = %s target_session_attrs=prefer-standby %s\n' \
			"$hosts" "$role"
		printf "password_query = SELECT password FROM users WHERE userid = '%%n' AND domain = '%%d'\n"
		printf "password_update_query = UPDATE users SET password = %%{hash} WHERE userid = '%%n'\n"
		printf "auth_success_query = INSERT INTO logins (userid) VALUES ('%%n')\n"
		printf 'query_timeout = 3\nrehash = yes\n%b' "$2"
	} >"$work/$1.conf"
	chmod 600 "$work/$1.conf"
	for t in auth account password; do
		printf '%s required %s conf=%s nodelay\n' "$t" "$PGD_MODULE" "$work/$1.conf"
	done >"$work/pam.d/$1"
}
service split "update_connect = $hosts target_session_attrs=read-write $role\n"
service together ""

# pamtester USER SERVICE OPERATIONS... with the answers on stdin; prints what it printed.
pt() {
	local user=$1 svc=$2
	shift 2
	env LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$work/pam.d" \
		PAM_WRAPPER_DEBUGLEVEL=2 pamtester -v "$svc" "$user@example.org" "$@" 2>&1
}
pw='correct horse battery'
mark() { wc -l <"$1"; }
since() { tail -n +"$(($2 + 1))" "$1"; } # LOG LINE-COUNT: what it logged since

# 1. Lookups on the standby, the audit statement on the primary.
pm=$(mark "$plog") sm=$(mark "$slog")
out=$(printf '%s\n' "$pw" | pt alice split authenticate)
grep -q "successfully authenticated" <<<"$out"
expect "split: a login succeeds"
since "$slog" "$sm" | grep -q "pgd_auth .*SELECT password FROM users"
expect "split: the lookup ran on the standby"
! since "$plog" "$pm" | grep -q "pgd_auth .*SELECT password FROM users"
expect "split: no lookup on the primary"
since "$plog" "$pm" | grep -q "pgd_auth .*INSERT INTO logins"
expect "split: the audit statement ran on the primary"
replicated "SELECT count(*) FROM logins WHERE userid = 'alice'" &&
	[ "$(standby_sql "SELECT count(*) FROM logins WHERE userid = 'alice'")" = 1 ]
expect "split: the audit row replicated to the standby"

# 2. Rehash: a weak hash replaced on the primary, replicated.
out=$(printf 'weak pw\n' | pt weak split authenticate)
grep -q "successfully authenticated" <<<"$out" && ! grep -q "failed" <<<"$out"
expect "split: rehash login succeeds, nothing failed"
[[ $(primary_sql "SELECT password FROM users WHERE userid = 'weak'") == '{SHA512-CRYPT}$6$'* ]]
expect "split: rehash landed on the primary"
replicated "SELECT password FROM users WHERE userid = 'weak'"
expect "split: the new hash replicated to the standby"

# The same conf without update_connect: the write meets the read-only standby.
out=$(printf 'weak pw\n' | pt weak2 together authenticate)
grep -q "successfully authenticated" <<<"$out" && grep -q "rehash failed.*read-only" <<<"$out"
expect "without update_connect: the rehash fails on the standby, the login stands"

# 3. chauthtok on the primary; the new password works once replicated.
pm=$(mark "$plog")
out=$(printf '%s\n' "$pw" 'new pass 1' 'new pass 1' | pt alice split chauthtok)
grep -q "authentication token altered successfully" <<<"$out"
expect "split: chauthtok succeeds"
since "$plog" "$pm" | grep -q "pgd_auth .*UPDATE users SET password"
expect "split: the password update ran on the primary"
replicated "SELECT password FROM users WHERE userid = 'alice'"
expect "split: the new password replicated"
out=$(printf '%s\n' 'new pass 1' "$pw" | pt alice split authenticate authenticate)
grep -q "successfully authenticated" <<<"$out" && grep -q "Authentication failure" <<<"$out"
expect "split: the new password logs in, the old one no more"

# One process serving one transaction (pamtester, like su or sshd's per-connection process)
# keeps no connection: each statement's connection is closed after it, on either server.
pm=$(mark "$plog") sm=$(mark "$slog")
out=$(printf 'new pass 1\n%.0s' 1 2 3 4 5 | pt alice split authenticate authenticate \
	authenticate authenticate authenticate)
sc=$(since "$slog" "$sm" | grep -c "connection authorized: user=pgd_auth")
held=$(($(primary_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'pgd_auth'") +
	$(standby_sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'pgd_auth'")))
[ "$(grep -c "successfully authenticated" <<<"$out")" = 5 ] && [ "$sc" -ge 1 ] && [ "$held" = 0 ]
expect "split: 5 logins in one transaction, lookups on the standby ($sc connections), $held held after"

# load_balance_hosts (libpq >= 16): the host order is shuffled per connection; prefer-standby
# still lands every lookup on the standby.
libpq=$(pkg-config --modversion libpq 2>/dev/null || echo 0)
if [ "${libpq%%.*}" -ge 16 ]; then
	service lb "update_connect = $hosts target_session_attrs=read-write $role\n"
	sed -i "s/target_session_attrs=prefer-standby/load_balance_hosts=random target_session_attrs=prefer-standby/" \
		"$work/lb.conf"
	sm=$(mark "$slog")
	good=0
	for _ in 1 2 3 4 5 6; do
		out=$(printf 'new pass 1\n' | pt alice lb authenticate)
		grep -q "successfully authenticated" <<<"$out" && good=$((good + 1))
	done
	[ "$good" = 6 ] &&
		[ "$(since "$slog" "$sm" | grep -c "pgd_auth .*SELECT password FROM users")" -ge 6 ]
	expect "load_balance_hosts=random (libpq $libpq): 6 logins, every lookup on the standby"
else
	n=$((n + 1))
	echo "ok $n - load_balance_hosts # SKIP libpq $libpq has none (16 or later has)"
fi

# 4. The primary stopped: logins on the standby, the writes fail and are logged.
"$cluster" halt "$work/primary"
out=$(printf '%s\n' 'new pass 1' 'wrong' | pt alice split authenticate authenticate)
grep -q "successfully authenticated" <<<"$out" && grep -q "Authentication failure" <<<"$out"
expect "primary stopped: the right password logs in, a wrong one is refused"
grep -q "auth_success_query failed (the login's answer stands)" <<<"$out"
expect "primary stopped: the failed audit write is logged"
out=$(printf 'weak pw\n' | pt weak2 split authenticate)
grep -q "successfully authenticated" <<<"$out" && grep -q "rehash failed" <<<"$out"
expect "primary stopped: the rehash fails and is logged, the login stands"
"$cluster" resume "$work/primary"

echo "1..$n"
exit $failed
