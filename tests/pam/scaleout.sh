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

check "TLS verify-full with the server's CA" "successfully authenticated" tls "$pw"
check "TLS verify-full with another CA: PAM_AUTHINFO_UNAVAIL" \
	"cannot retrieve authentication info" tlsother "$pw"
check "TLS verify-full with another CA: logged" "certificate verify failed" tlsother "$pw"

summary
