#!/bin/bash
# SPDX-License-Identifier: MIT
# pam-pgsql-dovecot check, as an admin runs it before switching: against the test cluster and
# its fixtures (tests/pam/fixtures.sql). Prints TAP.
# Needs: PGD_TOOL, PGD_TEST_CONNINFO.
set -uo pipefail
work=$(mktemp -d /tmp/pgd-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

conf() { # NAME: writes $work/NAME.conf from stdin, mode 0600
	cat >"$work/$1.conf"
	chmod 600 "$work/$1.conf"
}
conf good <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
default_pass_scheme = SHA512-CRYPT
password_query = SELECT userid || '@' || domain AS user, password, \\
  CASE WHEN active THEN NULL ELSE 'Y' END AS nologin \\
  FROM users WHERE userid = '%n' AND domain = '%d'
CONF
conf rehash <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
default_pass_scheme = SHA512-CRYPT
password_query = SELECT userid || '@' || domain AS user, password \\
  FROM users WHERE userid = '%n' AND domain = '%d'
password_update_query = UPDATE users SET password = %{hash} WHERE userid = '%n' AND domain = '%d'
rehash = yes
CONF
# carol's row names alice: Dovecot renames that login
conf rename <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
password_query = SELECT password, CASE WHEN userid = 'carol' THEN 'alice@example.org' \\
  ELSE userid || '@' || domain END AS user FROM users WHERE userid = '%n' AND domain = '%d'
CONF
{ cat "$work/rename.conf"; echo "allow_rename = yes"; } | conf renameok
conf sqlpw <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
password_in_query = yes
password_query = SELECT NULL AS password, 'Y' AS nopassword FROM users \\
  WHERE userid = '%n' AND domain = '%d' AND password = md5('%w')
CONF
conf fields <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
password_query = SELECT password, 'y' AS fail, 'ab:cd' AS check_client_cert_fp, \\
  '192.0.2.0/24' AS allow_real_nets FROM users WHERE userid = '%n' AND domain = '%d'
CONF
conf down <<CONF
driver = pgsql
connect = host=127.0.0.1 port=1 dbname=mail user=x password=never-printed connect_timeout=2
password_query = SELECT password FROM users WHERE userid = '%n'
CONF
conf bad <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
pasword_query = SELECT 1
CONF
password=$(sed -n 's/.*password=\([^ ]*\).*/\1/p' <<<"$PGD_TEST_CONNINFO")

# check NAME STATUS EXPECTED [args...]: exit status and a piece of the output
check() {
	local name=$1 status=$2 expected=$3 out rc
	shift 3
	out=$("$PGD_TOOL" check "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$status" ] && grep -qF -- "$expected" <<<"$out" &&
		! grep -qF -- '$6$' <<<"$out" && ! grep -qF -- "$password" <<<"$out" &&
		! grep -qF -- "never-printed" <<<"$out"; then
		ok "$name"
	else
		not_ok "$name (exit $rc)"
		sed 's/^/# /' <<<"$out"
	fi
}

check "conf and database" 0 "database: connected" -c "$work/good.conf"
check "a user: scheme and cost" 0 "cost: sha512crypt rounds 5000 (cap 1000000)" -c "$work/good.conf" \
	alice@example.org
check "a user: columns" 0 "columns: user, password, nologin" -c "$work/good.conf" \
	ALICE@example.org
check "a user: the canonical name" 0 "user: alice@example.org" -c "$work/good.conf" \
	ALICE@Example.ORG
check "nologin user" 1 "nologin: set" -c "$work/good.conf" bob@example.org
check "a row with fail: refused" 1 "fail: set (logins refused)" -c "$work/fields.conf" alice@example.org
check "a row with check_client_cert_fp: refused" 1 "check_client_cert_fp: set (logins refused" \
	-c "$work/fields.conf" alice@example.org
check "a row with allow_real_nets: shown" 1 "allow_real_nets: 192.0.2.0/24" -c "$work/fields.conf" \
	alice@example.org
check "a row field refusal: the account line says which" 1 \
	"account: refused without a remote address (PAM_PERM_DENIED): allow_real_nets: remote address not known" \
	-c "$work/fields.conf" alice@example.org
check "unknown user" 1 "PAM_USER_UNKNOWN" -c "$work/good.conf" nobody@example.org
check "malformed stored value" 1 "the module would refuse the stored value" \
	-c "$work/good.conf" malformed@example.org
check "stored value above the cap" 1 "hash cost above cap" -c "$work/good.conf" \
	costly@example.org
check "NULL stored value" 1 "stored password is NULL" -c "$work/good.conf" nullpw@example.org
check "a bare \$1\$ value read with the default scheme" 0 "no {SCHEME} prefix" \
	-c "$work/good.conf" bare@example.org
check "rehash: a weaker value is replaced" 0 \
	"rehash: replaced by SHA512-CRYPT at the next login (weaker than update_scheme)" \
	-c "$work/rehash.conf" md5crypt@example.org
check "rehash: SHA512-CRYPT at update_rounds is kept" 0 \
	"rehash: kept (update_scheme's algorithm at its cost or above)" \
	-c "$work/rehash.conf" alice@example.org
check "rehash: bcrypt is not ranked below SHA512-CRYPT" 0 \
	"rehash: kept (an algorithm not ranked below update_scheme's)" \
	-c "$work/rehash.conf" blf@example.org
check "a renamed login: both names" 1 "renamed to: alice@example.org" -c "$work/rename.conf" \
	carol@example.org
check "a renamed login: refused, and why" 1 \
	"rename: by the user column; logins refused (PAM_SERVICE_ERR)" -c "$work/rename.conf" \
	carol@example.org
check "a renamed login: allow_rename" 0 "rename: by the user column; allowed (allow_rename = yes)" \
	-c "$work/renameok.conf" carol@example.org
check "a row naming the login itself is no rename" 0 "account: ok" -c "$work/rename.conf" \
	alice@example.org
check "password_in_query: the conf loads" 0 "database: connected" -c "$work/sqlpw.conf"
check "password_in_query: no lookup without a password" 1 \
	"the query uses the password (%w, %{password}), which only authenticate has" \
	-c "$work/sqlpw.conf" alice@example.org
check "a refused login name" 1 "refused before any query" -c "$work/good.conf" "a'b@example.org"
check "database down" 1 "database: cannot connect" -c "$work/down.conf"
check "unknown key" 1 "line 3: unknown key 'pasword_query'" -c "$work/bad.conf"
check "missing conf" 1 "No such file" -c "$work/missing.conf"
chmod 666 "$work/good.conf"
check "world-writable conf" 1 "writable" -c "$work/good.conf"
chmod 600 "$work/good.conf"
check "usage error" 2 "usage:" -c "$work/good.conf" a b
check "--help" 0 "never the stored hash" --help

summary
