#!/bin/bash
# SPDX-License-Identifier: MIT
# What the caller cannot steer and cannot hang: pamtester under pam_wrapper, run with every PG*
# variable pointing at a decoy server (as a user could in su or sudo), then against a server
# frozen with SIGSTOP. Prints TAP. Needs our own cluster (PGD_TEST_EXTERNAL=0): it starts a
# second one as the decoy and stops the first one's processes for a moment.
# Needs: PGD_MODULE, PGD_TEST_ADMIN, PGD_TEST_CONNINFO, PGD_TEST_PGDIR, PAM_WRAPPER_SO.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../lib/tap.sh"
[ "${PGD_TEST_EXTERNAL:-0}" = 1 ] && skip_all "needs the test's own PostgreSQL"
work=$(mktemp -d /tmp/pgd-dbenv.XXXXXX)
chmod 711 "$work"
frozen=()
cleanup() {
	[ ${#frozen[@]} -gt 0 ] && kill -CONT "${frozen[@]}" 2>/dev/null
	"$here/../pg-cluster.sh" stop "$work/decoy"
	rm -rf "$work"
}
trap cleanup EXIT

port=$(cat "$PGD_TEST_PGDIR/port")
password=$(sed -n 's/.*password=\([^ ]*\).*/\1/p' <<<"$PGD_TEST_CONNINFO")

# The decoy: another server where alice has another password, reachable as the same role.
decoy_env=$("$here/../pg-cluster.sh" start "$work/decoy") || { echo "Bail out! no decoy"; exit 1; }
decoy_admin=$(pg_env_value PGD_TEST_ADMIN <<<"$decoy_env")
decoy_port=$(cat "$work/decoy/port")
psql -q -v ON_ERROR_STOP=1 "$decoy_admin" >/dev/null <<SQL || exit 1
ALTER ROLE pgd_auth PASSWORD '$password';
CREATE TABLE users (userid text, domain text, password text);
GRANT SELECT ON users TO PUBLIC;
INSERT INTO users VALUES ('alice', 'example.org', '{PLAIN}decoy pw');
SQL
# ... and a decoy schema in the real database, for PGOPTIONS=-csearch_path=decoy.
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL || exit 1
DROP SCHEMA IF EXISTS decoy CASCADE;
CREATE SCHEMA decoy;
GRANT USAGE ON SCHEMA decoy TO PUBLIC;
CREATE TABLE decoy.users (userid text, domain text, password text);
GRANT SELECT ON decoy.users TO PUBLIC;
INSERT INTO decoy.users VALUES ('alice', 'example.org', '{PLAIN}decoy pw');
SQL
# ... and an account that expired an hour ago by the server's clock, for PGTZ.
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL || exit 1
DROP TABLE IF EXISTS dbenv_accounts;
CREATE TABLE dbenv_accounts (userid text, password text, expires timestamp);
GRANT SELECT ON dbenv_accounts TO PUBLIC;
INSERT INTO dbenv_accounts VALUES ('expired', '{PLAIN}expired pw',
	now()::timestamp - interval '1 hour');
SQL

# The conf names a socket folder and no port, as many dovecot-sql.conf.ext files do: the
# default port (5432) leads to the real server, PGPORT would lead to the decoy.
mkdir "$work/sock" "$work/pam.d"
ln -s "$PGD_TEST_PGDIR/.s.PGSQL.$port" "$work/sock/.s.PGSQL.5432"
ln -s "$work/decoy/.s.PGSQL.$decoy_port" "$work/sock/.s.PGSQL.$decoy_port"
conninfo="host=$work/sock user=pgd_auth password=$password dbname=mail"
query="SELECT password FROM users WHERE userid = '%n' AND domain = '%d'"
printf 'driver = pgsql\nconnect = %s\npassword_query = %s\n' "$conninfo" "$query" >"$work/env.conf"
printf 'driver = pgsql\nconnect = %s\nquery_timeout = 2\npassword_query = %s\n' \
	"$PGD_TEST_CONNINFO" "$query" >"$work/frozen.conf"
expired_query="SELECT password, expires < now()::timestamp AS account_expired FROM dbenv_accounts"
printf 'driver = pgsql\nconnect = %s\npassword_query = %s WHERE userid = %s\n' \
	"$conninfo" "$expired_query" "'%u'" >"$work/acct.conf"
chmod 600 "$work"/*.conf
for s in env frozen; do
	printf 'auth required %s conf=%s nodelay\n' "$PGD_MODULE" "$work/$s.conf" >"$work/pam.d/$s"
done
printf 'auth required %s conf=%s nodelay\naccount required %s conf=%s\n' \
	"$PGD_MODULE" "$work/acct.conf" "$PGD_MODULE" "$work/acct.conf" >"$work/pam.d/acct"
printf '[decoy]\nhost=%s\nport=%s\n' "$work/decoy" "$decoy_port" >"$work/pg_service.conf"

hostile=(PGPORT="$decoy_port" PGHOST=/nonexistent PGHOSTADDR=127.0.0.2
	PGOPTIONS="-c search_path=decoy" PGSSLMODE=require PGTARGETSESSIONATTRS=standby
	PGSERVICEFILE="$work/pg_service.conf" PGSYSCONFDIR="$work"
	PGPASSFILE=/dev/null PGCONNECT_TIMEOUT=1 PGUSER=postgres PGDATABASE=postgres
	PGAPPNAME=decoy PGCLIENTENCODING=LATIN1 PGGSSENCMODE=require
	PGREQUIREPEER=nobody PGCHANNELBINDING=require PGREQUIRESSL=1 PGSSLROOTCERT=/nonexistent
	PGKRBSRVNAME=decoy PGSSLCRLDIR=/nonexistent PGSSLMINPROTOCOLVERSION=TLSv1.3
	# libpq 16 and 17's keywords (libpq 15 reads none of these)
	PGREQUIREAUTH=gss PGSSLCERTMODE=require PGLOADBALANCEHOSTS=random PGGSSDELEGATION=1
	PGSSLNEGOTIATION=direct HOME="$work")

# pamtester SERVICE USER PASSWORD [VAR=VALUE...]: its output; the operations are $ops
# (authenticate when unset); the status is pamtester's
pt() {
	local service=$1 user=$2 pass=$3
	shift 3
	# shellcheck disable=SC2086 # ops is a list of words
	printf '%s\n' "$pass" |
		pamwrap "$work/pam.d" "$@" pamtester -v "$service" "$user" ${ops:-authenticate} 2>&1
}

# Every variable the linked libpq names (its PG* strings, the PGRES_ result codes aside) is one
# the module answers for: a keyword's fallback, which the complete conninfo overrides (and the
# hostile list below sets); one it refuses; or one read only where the module never goes. A
# libpq that learns a new one fails here until SECURITY.md and the module say what becomes of it.
libpq_so=$(ldconfig -p | awk '/libpq\.so\.5 .*x86-64/ {print $NF; exit}')
handled=" PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGCHANNELBINDING
	PGCONNECT_TIMEOUT PGCLIENTENCODING PGOPTIONS PGAPPNAME PGSSLMODE PGSSLCOMPRESSION PGSSLCERT
	PGSSLKEY PGSSLROOTCERT PGSSLCRL PGSSLCRLDIR PGSSLSNI PGREQUIREPEER PGSSLMINPROTOCOLVERSION
	PGSSLMAXPROTOCOLVERSION PGGSSENCMODE PGKRBSRVNAME PGGSSLIB PGTARGETSESSIONATTRS
	PGREQUIREAUTH PGSSLCERTMODE PGLOADBALANCEHOSTS PGGSSDELEGATION PGSSLNEGOTIATION
	PGSERVICE PGLOCALEDIR PGTZ PGDATESTYLE PGGEQO
	PGREQUIRESSL PGSERVICEFILE PGSYSCONFDIR "
handled=$(tr -s '\t\n' '  ' <<<"$handled")
unknown=$(strings -n 4 "$libpq_so" | grep -xE 'PG[A-Z_]+' | grep -v '^PGRES_' | sort -u |
	while read -r v; do [[ $handled == *" $v "* ]] || echo "$v"; done | tr '\n' ' ')
[ -n "$libpq_so" ] && [ -z "$unknown" ] &&
	ok "every PG* variable $libpq_so names is overridden, refused or never reached" ||
	not_ok "every PG* variable ${libpq_so:-libpq} names is overridden, refused or never reached (new: ${unknown:-libpq not found})"

# The environment is potent: libpq itself, given the same conninfo, goes where it says.
got=$(env PGPORT="$decoy_port" psql -Atc \
	"SELECT password FROM users WHERE userid = 'alice' AND domain = 'example.org'" "$conninfo" 2>&1)
[ "$got" = "{PLAIN}decoy pw" ] && ok "PGPORT leads psql to the decoy" ||
	not_ok "PGPORT leads psql to the decoy (got: $got)"
got=$(env PGOPTIONS="-c search_path=decoy" psql -Atc \
	"SELECT password FROM users WHERE userid = 'alice' AND domain = 'example.org'" "$conninfo" 2>&1)
[ "$got" = "{PLAIN}decoy pw" ] && ok "PGOPTIONS leads psql to the decoy table" ||
	not_ok "PGOPTIONS leads psql to the decoy table (got: $got)"

# The module is not steered by it.
out=$(pt env alice@example.org 'correct horse battery')
grep -q "successfully authenticated" <<<"$out" && ok "real password logs in with PG* set" ||
	{ not_ok "real password logs in with PG* set"; sed 's/^/# /' <<<"$out"; }
out=$(pt env alice@example.org 'correct horse battery' "${hostile[@]}")
grep -q "successfully authenticated" <<<"$out" && ok "hostile PG* variables change nothing" ||
	{ not_ok "hostile PG* variables change nothing"; sed 's/^/# /' <<<"$out"; }
out=$(pt env alice@example.org 'decoy pw' "${hostile[@]}")
grep -q "Authentication failure" <<<"$out" && ok "the decoy's password is refused" ||
	{ not_ok "the decoy's password is refused"; sed 's/^/# /' <<<"$out"; }
out=$(pt env alice@example.org 'correct horse battery' "${hostile[@]}")
grep -q "PGPORT\|decoy" <<<"$out" && not_ok "the caller's environment is not in the log" ||
	ok "the caller's environment is not in the log"

# PGSERVICE: libpq reads it whatever the conninfo says (and then a service file): refused.
out=$(pt env alice@example.org 'correct horse battery' "${hostile[@]}" PGSERVICE=decoy)
grep -q "cannot retrieve authentication info" <<<"$out" && grep -q "PGSERVICE is set" <<<"$out" &&
	ok "PGSERVICE set: refused (PAM_AUTHINFO_UNAVAIL), and said why" ||
	{ not_ok "PGSERVICE set: refused (PAM_AUTHINFO_UNAVAIL), and said why"; sed 's/^/# /' <<<"$out"; }

# The variables libpq reads whatever the conninfo says are as potent: PGTZ turns an expired
# account into a live one, PGLOCALEDIR makes a planted catalogue libpq's printf formats.
expired_check="SELECT expires < now()::timestamp FROM dbenv_accounts"
got=$(psql -Atc "$expired_check" "$conninfo" 2>&1)
got_tz=$(env PGTZ=Etc/GMT+12 psql -Atc "$expired_check" "$conninfo" 2>&1)
[ "$got" = t ] && [ "$got_tz" = f ] && ok "PGTZ makes psql see an expired account as live" ||
	not_ok "PGTZ makes psql see an expired account as live (got: $got, then $got_tz)"
domain=$(strings -n 6 "$(ldconfig -p | awk '/libpq\.so\.5 .*x86-64/ {print $NF; exit}')" |
	grep -m1 -x 'libpq5-[0-9]*')
if command -v msgfmt >/dev/null && [ -n "$domain" ]; then
	mkdir -p "$work/locale/de/LC_MESSAGES"
	printf '%s\n' 'msgid ""' 'msgstr "Content-Type: text/plain; charset=UTF-8\n"' '' \
		'msgid "connection to server on socket \"%s\" failed: "' 'msgstr "PLANTED <%p %p> "' |
		msgfmt -o "$work/locale/de/LC_MESSAGES/$domain.mo" -
	# A German locale for gettext to look up "de" catalogues under (glibc 2.41 ignores
	# LANGUAGE in C.UTF-8): C.utf8's files under that name, through LOCPATH.
	mkdir -p "$work/locpath"
	cp -r /usr/lib/locale/C.utf8 "$work/locpath/de_DE.UTF-8"
	got=$(env LOCPATH="$work/locpath" LC_ALL=de_DE.UTF-8 PGLOCALEDIR="$work/locale" \
		psql -Atc "SELECT 1" "host=$work/nowhere dbname=mail" 2>&1)
	grep -q "PLANTED <0x" <<<"$got" && ok "PGLOCALEDIR makes psql run a planted format (%p)" ||
		not_ok "PGLOCALEDIR makes psql run a planted format (%p) (got: $got)"
else
	ok "# SKIP no msgfmt: PGLOCALEDIR's planted catalogue not tried"
	mkdir -p "$work/locale"
fi

# ... so each of them is refused: PAM_AUTHINFO_UNAVAIL, one line naming it, no password.
ops="authenticate acct_mgmt"
out=$(pt acct expired 'expired pw')
grep -q "User account has expired" <<<"$out" && ok "the expired account is refused" ||
	{ not_ok "the expired account is refused"; sed 's/^/# /' <<<"$out"; }
for v in PGTZ=Etc/GMT+12 PGLOCALEDIR="$work/locale" PGDATESTYLE=German PGGEQO=off \
	PGDATESTYLE=bogus PGTZ=; do
	name=${v%%=*}
	out=$(pt acct expired 'expired pw' LOCPATH="$work/locpath" LC_ALL=de_DE.UTF-8 "$v")
	rc=$?
	[ "$rc" -ne 0 ] && grep -q "cannot retrieve authentication info" <<<"$out" &&
		[ "$(grep -c "SYSLOG(.*is set in the environment" <<<"$out")" = 1 ] &&
		grep -q "SYSLOG(.*cannot connect: $name is set in the environment" <<<"$out" &&
		! grep -q "PLANTED\|expired pw" <<<"$out" &&
		ok "$v: refused (PAM_AUTHINFO_UNAVAIL), one line names $name, no password" ||
		{ not_ok "$v: refused (PAM_AUTHINFO_UNAVAIL), one line names $name, no password"; sed 's/^/# /' <<<"$out"; }
done
unset ops

# A frozen server: every process of the real cluster stopped with SIGSTOP.
pm=$(head -1 "$PGD_TEST_PGDIR/data/postmaster.pid")
mapfile -t frozen < <(echo "$pm"; pgrep -P "$pm")
kill -STOP "${frozen[@]}"
start=$(date +%s%N)
out=$(pt frozen alice@example.org 'correct horse battery')
elapsed=$((($(date +%s%N) - start) / 1000000))
kill -CONT "${frozen[@]}"
frozen=()
grep -q "cannot retrieve authentication info" <<<"$out" &&
	ok "frozen server: PAM_AUTHINFO_UNAVAIL" ||
	{ not_ok "frozen server: PAM_AUTHINFO_UNAVAIL"; sed 's/^/# /' <<<"$out"; }
# query_timeout = 2; libpq counts connect_timeout in whole seconds: 2 + 1, and process start-up
[ "$elapsed" -le 4000 ] && ok "frozen server: answered in ${elapsed} ms (query_timeout 2 s)" ||
	not_ok "frozen server: answered in ${elapsed} ms (query_timeout 2 s)"
out=$(pt frozen alice@example.org 'correct horse battery')
grep -q "successfully authenticated" <<<"$out" && ok "thawed server: logins work again" ||
	{ not_ok "thawed server: logins work again"; sed 's/^/# /' <<<"$out"; }

psql -q "$PGD_TEST_ADMIN" -c "DROP SCHEMA decoy CASCADE" -c "DROP TABLE dbenv_accounts" >/dev/null
summary
