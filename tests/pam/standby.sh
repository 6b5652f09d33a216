#!/bin/bash
# SPDX-License-Identifier: MIT
# update_connect against a real primary and a streaming standby (pg_basebackup): lookups on the
# standby (connect with target_session_attrs=prefer-standby), every write on the primary
# (update_connect with target_session_attrs=read-write): the audit statement, rehash and
# chauthtok land there and replicate; with the primary stopped logins still work, the writes
# fail and are logged, and the answer does not change. Both servers log every statement
# (log_statement = all) and every connection (log_connections = on), which is how the test sees
# where each one ran. pamtester under pam_wrapper, one process per transaction; then a
# long-lived caller, saslauthd -n 1 under pam_wrapper (driven by testsaslauthd), whose many
# transactions reuse one lookup connection on the standby and one write connection on the
# primary, the write one opened anew once after the primary restarted. Prints TAP. Starts its
# own clusters and saslauthd (ports above 50000 on 127.0.0.1, its socket in a temporary folder)
# and stops what it started. Needs: PGD_MODULE, PAM_WRAPPER_SO; pamtester, sasl2-bin.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# replicas.sh, with tests/lib/tap.sh
# shellcheck source=tests/pam/replicas.sh
. "$here/replicas.sh"
replicas_begin standby
out=
# shellcheck disable=SC2016 # a stored hash, literally
strong='{SHA512-CRYPT}$6$SuTxbpG2nK2JiDHH$mGRTeNfTVw3IxcoPmMgQpeh5o99f6pLfTjVbQALl2vfjbsJJPJvpkC.oFaouAA7WBZv5w9RO56ab/xMdDTpS./'
weak=$(doveadm pw -s MD5-CRYPT -p 'weak pw' 2>/dev/null) ||
	{ echo "Bail out! doveadm pw failed"; exit 1; }
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL || exit 1
CREATE TABLE users (userid text PRIMARY KEY, domain text, password text);
CREATE TABLE logins (userid text, at timestamptz DEFAULT now());
GRANT SELECT, UPDATE ON users TO PUBLIC;
GRANT INSERT ON logins TO PUBLIC;
INSERT INTO users VALUES ('alice', 'example.org', '$strong'),
  ('weak', 'example.org', '$weak'), ('weak2', 'example.org', '$weak'),
  ('weak3', 'example.org', '$weak');
ALTER SYSTEM SET log_statement = 'all';
ALTER SYSTEM SET log_line_prefix = '%m [%p] %u ';
ALTER SYSTEM SET log_connections = on;
SELECT pg_reload_conf();
SQL

# A streaming standby of it (it inherits log_statement from postgresql.auto.conf).
replicas_standby
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

# rehashed USER: the primary holds a SHA512-CRYPT hash for USER
rehashed() {
	# shellcheck disable=SC2016 # the scheme's prefix, literally
	[[ $(primary_sql "SELECT password FROM users WHERE userid = '$1'") == '{SHA512-CRYPT}$6$'* ]]
}

hosts="host=127.0.0.1,127.0.0.1 port=$p1,$p2"
service() { # NAME EXTRA-CONF-LINES [CONNECT-EXTRA]
	{
		printf 'driver = pgsql\nconnect = %s target_session_attrs=prefer-standby %s%s\n' \
			"$hosts" "$role" "${3:+ $3}"
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
rehashed weak
expect "split: rehash landed on the primary"
replicated "SELECT password FROM users WHERE userid = 'weak'"
expect "split: the new hash replicated to the standby"

# The same conf without update_connect: the write meets the read-only standby.
out=$(printf 'weak pw\n' | pt weak2 together authenticate)
grep -q "successfully authenticated" <<<"$out" && grep -q "rehash failed.*read_only_sql_transaction" <<<"$out"
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
	skip_case "load_balance_hosts" "libpq $libpq has none (16 or later has)"
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

# 5. A long-lived caller: saslauthd -n 1 serves every request in its one process, one PAM
# transaction (pam_start .. pam_end) per request, as its workers do. The module keeps two
# connections there, each one reused by every login: the lookups' on the standby and the writes'
# on the primary (named by application_name in the servers' logs and pg_stat_activity). When
# the primary goes away and comes back, the write connection is opened anew once; the lookup
# connection stays the same backend all along.
PATH=$PATH:/usr/sbin:/sbin
if ! command -v saslauthd >/dev/null || ! command -v testsaslauthd >/dev/null; then
	bail "saslauthd and testsaslauthd are installed (Debian's sasl2-bin; scripts/install-deps.sh)"
fi
sasl_pid=
# shellcheck disable=SC2317 # run at exit (replicas.sh)
replicas_cleanup() {
	[ -n "$sasl_pid" ] && kill "$sasl_pid" 2>/dev/null && wait "$sasl_pid" 2>/dev/null
}
service worker "update_connect = $hosts target_session_attrs=read-write application_name=pgd-write $role\n" \
	application_name=pgd-lookup
mkdir "$work/sasl"
# setsid: saslauthd signals its whole process group when it stops; it is no group leader here
# (a background job), so setsid does not fork and $! is saslauthd itself.
env LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$work/pam.d" \
	PAM_WRAPPER_DEBUGLEVEL=2 setsid saslauthd -a pam -d -m "$work/sasl" -n 1 \
	>"$work/saslauthd.log" 2>&1 </dev/null &
sasl_pid=$!
for _ in $(seq 100); do
	[ -S "$work/sasl/mux" ] || ! kill -0 "$sasl_pid" 2>/dev/null && break
	sleep 0.1
done
[ -S "$work/sasl/mux" ]
out=$(cat "$work/saslauthd.log")
expect "saslauthd -a pam -n 1 listens under pam_wrapper"
# sasl USER PASSWORD: one request; prints OK or NO (anything else: what testsaslauthd said).
sasl() {
	local r
	r=$(timeout 20 testsaslauthd -f "$work/sasl/mux" -s worker -u "$1@example.org" -p "$2" 2>&1)
	case $r in
	"0: OK "*) echo OK ;;
	"0: NO "*) echo NO ;;
	*) echo "$r" ;;
	esac
}
# conns LOG MARK APPLICATION: pgd_auth connections of that application the server authorized
conns() { since "$1" "$2" | grep -c "connection authorized: user=pgd_auth .*application_name=$3"; }
# backend SQL-FUNCTION APPLICATION: the pids of the pgd_auth backends of that application now
backend() {
	"$1" "SELECT string_agg(pid::text, ' ' ORDER BY pid) FROM pg_stat_activity WHERE usename = 'pgd_auth' AND application_name = '$2'"
}
# ran_in LOG MARK PATTERN: the distinct pids of the pgd_auth statements matching it since MARK
ran_in() {
	since "$1" "$2" | sed -nE "s/.* \[([0-9]+)\] pgd_auth LOG: +(statement|execute [^:]*): .*$3.*/\1/p" |
		sort -u | paste -sd ' '
}
audit_rows() { primary_sql "SELECT count(*) FROM logins"; }

# Its first transaction closes what it opened (a process keeps connections only once it has
# ended one); from then on, 31 requests: 25 logins, 5 wrong passwords, 1 rehash.
out=$(sasl alice 'new pass 1')
[ "$out" = OK ]
expect "saslauthd: the first login"
pm=$(mark "$plog") sm=$(mark "$slog") rows=$(audit_rows)
answers='' want=''
for i in $(seq 25); do
	answers+=$(sasl alice 'new pass 1') want+=OK
	[ $((i % 5)) = 0 ] && answers+=$(sasl alice "wrong $i") want+=NO
done
answers+=$(sasl weak3 'weak pw') want+=OK
out=$answers
[ "$answers" = "$want" ]
expect "saslauthd: 31 requests in one process, every answer right"
out=$(pgrep -P "$sasl_pid")
[ -z "$out" ]
expect "saslauthd -n 1 forked no worker: one process served them all"
lookup=$(backend standby_sql pgd-lookup) write=$(backend primary_sql pgd-write)
out="standby log since: $(since "$slog" "$sm" | grep -c 'connection authorized: user=pgd_auth') \
pgd_auth connections; lookup backends now: $lookup"
[ "$(conns "$slog" "$sm" pgd-lookup)" = 1 ] && [ "$(conns "$slog" "$sm" pgd-write)" = 0 ] &&
	[ -n "$lookup" ] && [ "$(ran_in "$slog" "$sm" 'SELECT password FROM users')" = "$lookup" ]
expect "saslauthd: one lookup connection on the standby for all 31, every lookup in its backend"
out="primary log since: $(since "$plog" "$pm" | grep 'connection authorized: user=pgd_auth')
write backends now: $write"
[ "$(conns "$plog" "$pm" pgd-write)" = 1 ] && [ -n "$write" ] &&
	[ "$(ran_in "$plog" "$pm" 'INSERT INTO logins')" = "$write" ] &&
	[ "$(ran_in "$plog" "$pm" 'UPDATE users SET password')" = "$write" ] &&
	[ "$(ran_in "$plog" "$pm" 'SELECT password FROM users')" = "$write" ]
# (the one SELECT on the primary is the rehash's own, reading the row again in its transaction)
expect "saslauthd: one write connection on the primary, every audit row and the rehash in it"
out="audit rows: $rows, then $(audit_rows); weak3: $(primary_sql "SELECT password FROM users WHERE userid = 'weak3'")"
[ "$(audit_rows)" = $((rows + 26)) ] &&
	rehashed weak3
expect "saslauthd: 26 audit rows and the rehash on the primary"

# The primary stopped: the same lookup connection serves; the writes fail and are logged.
"$cluster" halt "$work/primary"
sm=$(mark "$slog") lm=$(mark "$work/saslauthd.log")
answers=
for _ in 1 2 3 4 5; do answers+=$(sasl alice 'new pass 1'); done
answers+=$(sasl alice 'wrong')
out=$answers
[ "$answers" = OKOKOKOKOKNO ]
expect "saslauthd, primary stopped: the logins still answered right"
out=$(since "$work/saslauthd.log" "$lm")
grep -q "auth_success_query failed (the login's answer stands)" <<<"$out"
expect "saslauthd, primary stopped: the failed audit write is logged"
out="lookup backends: $lookup, now $(backend standby_sql pgd-lookup)"
[ "$(conns "$slog" "$sm" pgd-lookup)" = 0 ] && [ "$(backend standby_sql pgd-lookup)" = "$lookup" ]
expect "saslauthd, primary stopped: no new lookup connection, the same backend"

# The primary back: once the back-off (at most 1 s) has passed, the write slot reconnects, once.
"$cluster" resume "$work/primary"
sleep 1.5
pm=$(mark "$plog") rows=$(audit_rows)
answers=
for _ in 1 2 3 4 5; do answers+=$(sasl alice 'new pass 1'); done
write2=$(backend primary_sql pgd-write)
out="$answers; audit rows $rows, then $(audit_rows); write backends before $write, now $write2
$(since "$plog" "$pm" | grep 'pgd_auth')"
[ "$answers" = OKOKOKOKOK ] && [ "$(audit_rows)" = $((rows + 5)) ] &&
	[ "$(conns "$plog" "$pm" pgd-write)" = 1 ] && [ -n "$write2" ] && [ "$write2" != "$write" ] &&
	[ "$(ran_in "$plog" "$pm" 'INSERT INTO logins')" = "$write2" ]
expect "saslauthd, primary back: one new write connection, all 5 audit rows in it"
out="lookup backends: $lookup, now $(backend standby_sql pgd-lookup)"
[ "$(conns "$slog" "$sm" pgd-lookup)" = 0 ] && [ "$(backend standby_sql pgd-lookup)" = "$lookup" ]
expect "saslauthd, primary back: the lookup connection is still the first one"

summary
