#!/bin/bash
# SPDX-License-Identifier: MIT
# Shows the module logging a Dovecot-era user in: builds it, starts a throwaway PostgreSQL,
# stores a user with the {SHA512-CRYPT} hash Dovecot wrote, and runs pamtester (under
# pam_wrapper: nothing in /etc is touched) with the right and a wrong password. Cleans up after.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh
scripts/install-deps.sh --demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Building"
build=$root/build-demo
[ -d "$build" ] || meson setup "$build" -Dtests=disabled >/dev/null
meson compile -C "$build" >/dev/null
echo "$build/pam_pgsql_dovecot.so"

work=$(mktemp -d /tmp/pgd-demo.XXXXXX)
chmod 711 "$work" # the postgres user runs the cluster in $work/pg
cleanup() {
	tests/pg-cluster.sh stop "$work/pg" || true
	rm -rf "$work"
}
trap cleanup EXIT

say "Starting a throwaway PostgreSQL on 127.0.0.1"
pg_start "$work/pg"
# The users table as Dovecot left it; the hash is what `doveadm pw -s SHA512-CRYPT` made for
# the password "correct horse battery".
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" <<'SQL'
CREATE TABLE users (userid text, domain text, password text);
GRANT SELECT ON users TO PUBLIC;
INSERT INTO users VALUES ('alice', 'example.org',
  '{SHA512-CRYPT}$6$SuTxbpG2nK2JiDHH$mGRTeNfTVw3IxcoPmMgQpeh5o99f6pLfTjVbQALl2vfjbsJJPJvpkC.oFaouAA7WBZv5w9RO56ab/xMdDTpS./');
SQL
psql "$PGD_TEST_ADMIN" -c 'SELECT userid, domain, left(password, 30) || '"'...'"' AS password FROM users'

say "The conf: Dovecot's dovecot-sql.conf.ext, unchanged"
mkdir "$work/pam.d"
quickstart_conf "$PGD_TEST_CONNINFO" >"$work/dovecot-sql.conf.ext"
chmod 600 "$work/dovecot-sql.conf.ext"
sed 's/password=[^ ]*/password=.../' "$work/dovecot-sql.conf.ext"
printf 'auth    required %s conf=%s\naccount required %s conf=%s\n' \
	"$build/pam_pgsql_dovecot.so" "$work/dovecot-sql.conf.ext" \
	"$build/pam_pgsql_dovecot.so" "$work/dovecot-sql.conf.ext" >"$work/pam.d/imap"
echo "--- pam.d/imap:"
cat "$work/pam.d/imap"

PAM_WRAPPER_SO=$(dirname "$(pkg-config --variable=modules pam_wrapper)")/libpam_wrapper.so
pamtester_run() {
	printf '%s\n' "$2" | pamwrap "$work/pam.d" pamtester -v imap "$1" authenticate acct_mgmt 2>&1 |
		grep -v -e 'pwrap_init\|copy_confdir\|pwrap_load_lib\|no default config other' -e '^$' |
		sed 's/PWRAP_[A-Z]*\[[^]]*\] - SYSLOG([0-9]*): /\n  syslog: /'
}

say "pamtester imap alice@example.org, right password"
pamtester_run alice@example.org 'correct horse battery' || true

say "pamtester imap alice@example.org, wrong password (2 s failure delay)"
pamtester_run alice@example.org 'wrong password' || true

say "Done; stopping PostgreSQL and removing $work"
