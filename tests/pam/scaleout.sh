#!/bin/bash
# SPDX-License-Identifier: MIT
# PostgreSQL's own scale-out tools in front of the module, each really started: a primary and a
# streaming standby (pg_basebackup) behind a multi-host conninfo, PgBouncer in transaction
# mode, and TLS with sslmode=verify-full and certificates made here. pamtester under
# pam_wrapper. Prints TAP. Starts its own clusters (ports above 50000 on 127.0.0.1) and stops
# everything it started. Needs: PGD_MODULE, PAM_WRAPPER_SO.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# replicas.sh, with tests/lib/tap.sh
# shellcheck source=tests/pam/replicas.sh
. "$here/replicas.sh"
bouncer_pid=
# shellcheck disable=SC2317 # run at exit (replicas.sh)
replicas_cleanup() {
	[ -n "$bouncer_pid" ] && kill "$bouncer_pid" 2>/dev/null && wait "$bouncer_pid" 2>/dev/null
}
replicas_begin scaleout
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<'SQL' || exit 1
CREATE TABLE users (userid text, domain text, password text);
GRANT SELECT ON users TO PUBLIC;
INSERT INTO users VALUES ('alice', 'example.org',
  '{SHA512-CRYPT}$6$SuTxbpG2nK2JiDHH$mGRTeNfTVw3IxcoPmMgQpeh5o99f6pLfTjVbQALl2vfjbsJJPJvpkC.oFaouAA7WBZv5w9RO56ab/xMdDTpS./');
-- pam_loop's users: uN@example.org, password pw-N
CREATE TABLE loop_users (userid text, domain text, password text);
GRANT SELECT ON loop_users TO PUBLIC;
INSERT INTO loop_users SELECT 'u' || i, 'example.org', '{PLAIN}pw-' || i FROM generate_series(1, 50) i;
SQL
replicas_standby

# TLS on the primary: a CA, a server certificate for 127.0.0.1, and a CA that signed nothing.
mkdir "$work/tls"
(
	cd "$work/tls" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pgd-test-ca \
		-keyout ca.key -out ca.crt
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pgd-other-ca \
		-keyout other.key -out other.crt
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr
	printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext.cnf -out server.crt
) >/dev/null 2>&1 || { echo "Bail out! openssl failed"; exit 1; }
cp "$work/tls/server.crt" "$work/tls/server.key" "$work/primary/data/"
chown postgres: "$work/primary/data/server.crt" "$work/primary/data/server.key"
chmod 600 "$work/primary/data/server.key"
psql -q "$PGD_TEST_ADMIN" -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5

# PgBouncer in transaction mode in front of the primary (it refuses to run as root).
p3=$(free_port)
mkdir "$work/bouncer"
cat >"$work/bouncer/pgbouncer.ini" <<INI
[databases]
mail = host=127.0.0.1 port=$p1 dbname=mail user=pgd_auth password=$password
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $p3
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $work/bouncer/userlist.txt
admin_users = pgd_auth
pool_mode = transaction
max_client_conn = 20
default_pool_size = 2
logfile = $work/bouncer/pgbouncer.log
INI
# PgBouncer 1.21 and later keep a client's prepared statements when max_prepared_statements > 0
# (200 by default from 1.22): 0 makes them lose them as 1.18 (Debian 12) does.
bouncer_version=$(/usr/sbin/pgbouncer --version | awk 'NR == 1 { print $2 }')
if [ "$(printf '1.21\n%s\n' "$bouncer_version" | sort -V | head -1)" = 1.21 ]; then
	printf 'max_prepared_statements = 0\n' >>"$work/bouncer/pgbouncer.ini"
fi
printf '"pgd_auth" "%s"\n' "$password" >"$work/bouncer/userlist.txt"
chown -R postgres: "$work/bouncer"
chmod 600 "$work/bouncer/userlist.txt"
runuser -u postgres -- /usr/sbin/pgbouncer "$work/bouncer/pgbouncer.ini" >/dev/null 2>&1 &
bouncer_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p3") 2>/dev/null && break; sleep 0.1; done

query="SELECT password FROM users WHERE userid = '%n' AND domain = '%d'"
service() { # NAME CONNINFO
	printf 'driver = pgsql\nconnect = %s\nquery_timeout = 3\npassword_query = %s\n' "$2" \
		"$query" >"$work/$1.conf"
	chmod 600 "$work/$1.conf"
	printf 'auth required %s conf=%s nodelay\n' "$PGD_MODULE" "$work/$1.conf" >"$work/pam.d/$1"
}
service multihost "host=127.0.0.1,127.0.0.1 port=$p1,$p2 target_session_attrs=any $role"
service bouncer "host=127.0.0.1 port=$p3 $role"
# Two query texts whose parameters come in opposite orders: run by the other's name, a lookup
# would find no row.
service_loop() { # NAME QUERY
	printf 'driver = pgsql\nconnect = host=127.0.0.1 port=%s %s\nquery_timeout = 10\n' "$p3" \
		"$role" >"$work/$1.conf"
	printf 'prepare = auto\npassword_query = %s\n' "$2" >>"$work/$1.conf"
	chmod 600 "$work/$1.conf"
	printf 'auth required %s conf=%s nodelay\n' "$PGD_MODULE" "$work/$1.conf" >"$work/pam.d/$1"
}
service_loop loopa "SELECT password FROM loop_users WHERE userid = '%n' AND domain = '%d'"
service_loop loopb "SELECT password FROM loop_users WHERE domain = '%d' AND userid = '%n'"
service tls "host=127.0.0.1 port=$p1 sslmode=verify-full sslrootcert=$work/tls/ca.crt $role"
service tlsother "host=127.0.0.1 port=$p1 sslmode=verify-full sslrootcert=$work/tls/other.crt $role"

# check NAME EXPECTED SERVICE [PASSWORD...]: one pamtester process, one authenticate per password
check() {
	local name=$1 expected=$2 svc=$3 out ops=()
	shift 3
	for _ in "$@"; do ops+=(authenticate); done
	out=$(printf '%s\n' "$@" | pt alice "$svc" "${ops[@]}")
	if [ "$(grep -c -- "$expected" <<<"$out")" -ge 1 ]; then
		ok "$name"
	else
		not_ok "$name"
		diag "$out"
	fi
}
pw='correct horse battery'

check "multi-host: both up" "successfully authenticated" multihost "$pw"
standby_stop
check "multi-host: standby stopped" "successfully authenticated" multihost "$pw"
standby_start
"$cluster" halt "$work/primary"
check "multi-host: primary stopped, the standby answers" "successfully authenticated" \
	multihost "$pw"
check "multi-host: primary stopped, a wrong password is still wrong" "Authentication failure" \
	multihost "wrong"
"$cluster" resume "$work/primary"

check "PgBouncer (transaction mode): three logins in one process" "successfully authenticated" \
	bouncer "$pw" "$pw" "$pw"
check "PgBouncer: a wrong password" "Authentication failure" bouncer "wrong"
# PgBouncer's own view: the logins went through it, in transaction mode.
stats=$(PGPASSWORD=$password psql -At -F ' ' -h 127.0.0.1 -p "$p3" -U pgd_auth pgbouncer \
	-c "SHOW STATS" -c "SHOW CONFIG" 2>&1)
if awk '$1 == "mail" && $2 >= 4 { xact = 1 } $1 == "pool_mode" && $2 == "transaction" { mode = 1 }
	END { exit !(xact && mode) }' <<<"$stats"; then
	ok "PgBouncer served the queries, in transaction mode"
else
	not_ok "PgBouncer served the queries, in transaction mode"
	diag "$stats"
fi

# prepare = auto behind PgBouncer in transaction mode with 2 server connections: six processes
# of 300 transactions each (two query texts), every answer checked; the server refuses the
# statements a server connection does not hold (26000) or holds already (42P05), and the
# module sends those queries again unprepared.
lost_before=$(grep -cE 'prepared statement "pgd_[0-9a-f]+" (does not exist|already exists)' "$plog")
pids=()
for i in 1 2 3 4 5 6; do
	svc=loopa
	[ $((i % 2)) -eq 0 ] && svc=loopb
	"$PGD_PAM_LOOP" "$work/pam.d" "$svc" 50 300 >"$work/loop$i.out" 2>&1 &
	pids+=($!)
done
loops_ok=1
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || loops_ok=
done
lost=$(($(grep -cE 'prepared statement "pgd_[0-9a-f]+" (does not exist|already exists)' \
	"$plog") - lost_before))
if [ -n "$loops_ok" ] && [ "$(cat "$work"/loop?.out | grep -c '^answers 300 wrong 0$')" -eq 6 ]; then
	ok "PgBouncer $bouncer_version, prepare = auto: 1800 answers in 6 processes, none wrong"
else
	not_ok "PgBouncer $bouncer_version, prepare = auto: 1800 answers in 6 processes, none wrong"
	diag "$(cat "$work"/loop?.out)"
fi
if [ "$lost" -ge 1 ]; then
	ok "PgBouncer lost prepared statements under the module ($lost times), which fell back"
else
	not_ok "PgBouncer lost prepared statements under the module ($lost times), which fell back"
fi

check "TLS verify-full with the server's CA" "successfully authenticated" tls "$pw"
check "TLS verify-full with another CA: PAM_AUTHINFO_UNAVAIL" \
	"cannot retrieve authentication info" tlsother "$pw"
check "TLS verify-full with another CA: logged" "certificate verify failed" tlsother "$pw"

summary
