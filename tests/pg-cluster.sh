#!/bin/bash
# SPDX-License-Identifier: MIT
# A throwaway PostgreSQL for the tests, or an external one named by the usual PG* variables.
#
#   tests/pg-cluster.sh start DIR   prints shell assignments to eval:
#                                   PGD_TEST_ADMIN     conninfo with rights to create tables
#                                   PGD_TEST_CONNINFO  conninfo the module uses (password auth)
#                                   PGD_TEST_EXTERNAL  1 when the server is not ours
#   tests/pg-cluster.sh stop DIR    stops what start started (nothing for an external server)
#   tests/pg-cluster.sh halt DIR    stops our server but keeps its data (restart with resume)
#   tests/pg-cluster.sh resume DIR
#
# Our own cluster lives in DIR, listens on 127.0.0.1 and a unix socket in DIR only, on a free
# port above 50000, and runs as the 'postgres' system user (initdb refuses root).
set -euo pipefail

cmd=${1:?usage: pg-cluster.sh start|stop|halt|resume DIR}
dir=${2:?usage: pg-cluster.sh start|stop|halt|resume DIR}
role=pgd_auth
role_password=pgd-test-$RANDOM$RANDOM

# The server binaries of the newest PostgreSQL installed (Debian 12: 15, Debian 13: 17), found
# by version (sort -V), never assumed.
pgbin() {
	local v
	v=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null |
		sed 's|^/usr/lib/postgresql/\([^/]*\)/bin/initdb$|\1|' | sort -V | tail -1)
	if [ -z "$v" ]; then
		echo "pg-cluster: no PostgreSQL server in /usr/lib/postgresql/*/bin (scripts/install-deps.sh)" >&2
		exit 1
	fi
	echo "/usr/lib/postgresql/$v/bin"
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start_own() {
	local bin port try
	bin=$(pgbin)
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
	if ! as_pg test -w "$dir"; then
		echo "pg-cluster: user postgres cannot write $dir (is a folder above it private?)" >&2
		exit 1
	fi
	as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 ||
		{ echo "pg-cluster: initdb failed, see $dir/initdb.log" >&2; exit 1; }
	for try in $(seq 1 20); do
		port=$((50000 + RANDOM % 15000))
		if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
			-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" \
			start >/dev/null 2>&1; then
			echo "$port" >"$dir/port"
			break
		fi
		port=
	done
	[ -n "$port" ] || { echo "pg-cluster: could not start PostgreSQL, see $dir/server.log" >&2; exit 1; }
	# Password (SCRAM) over TCP for the module, as a real deployment; trust on the socket for us.
	cat >"$dir/data/pg_hba.conf" <<-HBA
		local all postgres trust
		local replication postgres trust
		local all $role scram-sha-256
		host all $role 127.0.0.1/32 scram-sha-256
		host all postgres 127.0.0.1/32 trust
	HBA
	as_pg "$bin/pg_ctl" -D "$dir/data" reload >/dev/null
	as_pg psql -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<-SQL >/dev/null
		CREATE ROLE $role LOGIN PASSWORD '$role_password';
		CREATE DATABASE mail OWNER $role;
	SQL
	echo "PGD_TEST_ADMIN='host=$dir port=$port user=postgres dbname=mail'"
	echo "PGD_TEST_CONNINFO='host=127.0.0.1 port=$port user=$role password=$role_password dbname=mail'"
	echo "PGD_TEST_EXTERNAL=0"
	echo "PGD_TEST_PGDIR='$dir'"
}

# An external server (a CI service container): PGHOST/PGPORT/PGUSER/PGPASSWORD name a superuser.
start_external() {
	local db=pgd_test_$$_$RANDOM
	mkdir -p "$dir"
	echo "$db" >"$dir/external-db"
	psql -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null
	local base="host=$PGHOST port=${PGPORT:-5432} user=${PGUSER:-postgres}"
	[ -n "${PGPASSWORD:-}" ] && base="$base password=$PGPASSWORD"
	echo "PGD_TEST_ADMIN='$base dbname=$db'"
	echo "PGD_TEST_CONNINFO='$base dbname=$db'"
	echo "PGD_TEST_EXTERNAL=1"
	echo "PGD_TEST_PGDIR='$dir'"
}

case $cmd in
start)
	if [ -n "${PGHOST:-}" ]; then start_external; else start_own; fi
	;;
stop)
	if [ -f "$dir/external-db" ]; then
		psql -q -d postgres -c "DROP DATABASE IF EXISTS $(cat "$dir/external-db")" >/dev/null || true
	elif [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$(pgbin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
halt)
	as_pg "$(pgbin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	;;
resume)
	port=$(cat "$dir/port")
	as_pg "$(pgbin)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" \
		start >/dev/null
	;;
*)
	echo "usage: pg-cluster.sh start|stop|halt|resume DIR" >&2
	exit 2
	;;
esac
