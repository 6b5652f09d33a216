#!/bin/bash
# SPDX-License-Identifier: MIT
# pam-pgsql-dovecot check's warnings about the traps, each shown where it applies and absent
# from a clean conf, against the test cluster. Prints TAP.
# Needs: PGD_TOOL, PGD_TEST_CONNINFO, PGD_TEST_ADMIN (tests/pg-cluster.sh, scripts/test.sh).
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
need_env PGD_TOOL PGD_TEST_CONNINFO PGD_TEST_ADMIN
work=$(mktemp -d /tmp/pgd-checkwarn.XXXXXX)
sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -t -A -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" "$@"; }
trap 'sql -c "DROP TABLE IF EXISTS warn_users" >/dev/null 2>&1; rm -rf "$work"' EXIT
hash=$("$PGD_TOOL" pw -s SHA512-CRYPT -p 'warn pw')
sql >/dev/null <<SQL
DROP TABLE IF EXISTS warn_users;
CREATE TABLE warn_users (userid text, domain text, password text, padded char(120),
                         nologin boolean, nopassword boolean);
GRANT SELECT ON warn_users TO PUBLIC;
INSERT INTO warn_users VALUES
  ('on', 'example.org', '$hash', '$hash', NULL, NULL),
  ('off', 'example.org', '$hash', '$hash', false, false);
SQL

conf() { # NAME PASSWORD-QUERY [CONNECT]
	printf 'driver = pgsql\nconnect = %s\ndefault_pass_scheme = SHA512-CRYPT\npassword_query = %s\n' \
		"${3:-$PGD_TEST_CONNINFO}" "$2" >"$work/$1.conf"
	chmod 600 "$work/$1.conf"
}
where="FROM warn_users WHERE userid = '%n' AND domain = '%d'"
conf clean "SELECT userid || '@' || domain AS user, password, CASE WHEN nologin THEN 'Y' END AS nologin $where"
conf bool "SELECT userid || '@' || domain AS user, password, nologin, nopassword $where"
conf padded "SELECT userid || '@' || domain AS user, padded AS password $where"
conf nouser "SELECT password FROM warn_users LIMIT 1"
conf remote "SELECT userid || '@' || domain AS user, password $where" \
	"$(sed 's/host=127.0.0.1/host=127.0.0.1,db.invalid/' <<<"$PGD_TEST_CONNINFO")"
conf remote_timeout "SELECT userid || '@' || domain AS user, password $where" \
	"$(sed 's/host=127.0.0.1/host=127.0.0.1,db.invalid/' <<<"$PGD_TEST_CONNINFO") connect_timeout=3"
cp "$work/clean.conf" "$work/readable.conf"
chmod 644 "$work/readable.conf"

# warns NAME CONF WANTED(grep -E, or "" for none) [USER]
warns() {
	local name=$1 conf=$2 want=$3 out
	out=$("$PGD_TOOL" check -c "$work/$conf.conf" ${4:+"$4"} 2>&1)
	if [ -z "$want" ]; then
		if ! grep -q '^warning:' <<<"$out"; then ok "$name"; else not_ok "$name"; sed 's/^/# /' <<<"$out"; fi
	elif grep -qE "$want" <<<"$out"; then
		ok "$name"
	else
		not_ok "$name"
		sed 's/^/# /' <<<"$out"
	fi
	if grep -qF -e '$6$' -e "$(sed -n 's/.*password=\([^ ]*\).*/\1/p' <<<"$PGD_TEST_CONNINFO")" <<<"$out"; then
		not_ok "$name: a secret in the output"
	fi
}
warns "a clean conf: no warning" clean "" on@example.org
warns "boolean nologin column" bool '^warning: the nologin column is boolean: false still sets it'
warns "boolean nopassword column" bool '^warning: the nopassword column is boolean'
warns "a user whose boolean nologin holds false" bool "^warning: this user's nologin column holds false, which disables" off@example.org
out=$("$PGD_TOOL" check -c "$work/bool.conf" on@example.org 2>&1)
if grep -q 'nologin column is boolean' <<<"$out" && ! grep -q 'holds false' <<<"$out"; then
	ok "a user whose boolean nologin is NULL: the type warning only"
else
	not_ok "a user whose boolean nologin is NULL: the type warning only"
	sed 's/^/# /' <<<"$out"
fi
warns "char(n) password column" padded '^warning: the password column is char\(n\)'
warns "password_query without the login name" nouser '^warning: password_query does not use the login name'
# The login name through a 2.3 modifier, or a 2.4 filter that 2.3 cannot spell: no warning.
conf escaped "SELECT userid || '@' || domain AS user, password FROM warn_users WHERE userid = '%En' AND domain = '%d'"
printf 'dovecot_config_version = 2.4.1\n%s\npassdb sql {\n  query = %s\n}\n' \
	"$(v24_pgsql "$PGD_TEST_CONNINFO")" \
	"SELECT userid || '@' || domain AS user, password FROM warn_users WHERE userid = '%{user | username | substr(0, 2)}' AND domain = '%{user | domain}'" \
	>"$work/filtered.conf"
chmod 600 "$work/filtered.conf"
for c in escaped filtered; do
	out=$("$PGD_TOOL" check -c "$work/$c.conf" on@example.org 2>&1)
	if grep -q 'user: on@example.org' <<<"$out" && ! grep -q 'does not use the login name' <<<"$out"; then
		ok "the login name through a modifier or filter ($c): no warning"
	else
		not_ok "the login name through a modifier or filter ($c): no warning"
		sed 's/^/# /' <<<"$out"
	fi
done
warns "password_query without a user column" nouser "^warning: password_query returns no 'user' column"
warns "a remote host without connect_timeout" remote '^warning: connect names a remote host without connect_timeout'
warns "a remote host with connect_timeout: no warning" remote_timeout ''
warns "a conf file readable by others: named, with the password it holds" readable \
	"^warning: $work/readable.conf is readable by every user and holds the database password: chmod o-r $work/readable.conf\$"
# a 2.3 file whose connect holds no password has no secret for others to read
sed 's/ password=[^ ]*//' "$work/clean.conf" >"$work/nopassword.conf"
chmod 644 "$work/nopassword.conf"
out=$("$PGD_TOOL" check -c "$work/nopassword.conf" 2>&1)
if ! grep -q 'readable by every user' <<<"$out"; then
	ok "a readable conf file without a password: no mode warning"
else
	not_ok "a readable conf file without a password: no mode warning"
	sed 's/^/# /' <<<"$out"
fi
# Dovecot renames the login from username and domain as from user (Dovecot's default query)
conf userdomain "SELECT userid AS username, domain, password $where"
warns "username and domain columns: no 'user' column warning" userdomain "" on@example.org

# A Dovecot 2.4 tree as Debian 13 ships it: dovecot.conf 0644 without a secret, the password in
# the 0600 conf.d/auth-sql.conf.ext it includes, the guide's query (username and domain).
v24=$work/v24
mkdir -p "$v24/conf.d"
printf 'dovecot_config_version = 2.4.1\nprotocols = imap\n!include conf.d/*.conf\n' >"$v24/dovecot.conf"
printf '!include auth-sql.conf.ext\n' >"$v24/conf.d/10-auth.conf"
{
	v24_pgsql "$PGD_TEST_CONNINFO"
	printf 'passdb sql {\n  default_password_scheme = SHA512-CRYPT\n'
	printf "  query = SELECT userid AS username, domain, password FROM warn_users \\\\\n"
	printf "    WHERE userid = '%%{user | username}' AND domain = '%%{user | domain}'\n}\n"
} >"$v24/conf.d/auth-sql.conf.ext"
chmod 644 "$v24/dovecot.conf" "$v24/conf.d/10-auth.conf"
chmod 600 "$v24/conf.d/auth-sql.conf.ext"
out=$("$PGD_TOOL" check -c "$v24/dovecot.conf" on@example.org 2>&1)
rc=$?
if [ "$rc" = 0 ] && ! grep -q '^warning:' <<<"$out"; then
	ok "Dovecot 2.4 tree, password in a 0600 include, 0644 dovecot.conf: no warning"
else
	not_ok "Dovecot 2.4 tree, password in a 0600 include, 0644 dovecot.conf: no warning (exit $rc)"
	sed 's/^/# /' <<<"$out"
fi
chmod 644 "$v24/conf.d/auth-sql.conf.ext"
out=$("$PGD_TOOL" check -c "$v24/dovecot.conf" 2>&1)
if grep -q "^warning: $v24/conf.d/auth-sql.conf.ext is readable by every user and holds the database password" <<<"$out" &&
	! grep -q "warning: $v24/dovecot.conf" <<<"$out"; then
	ok "Dovecot 2.4 tree, password in a 0644 include: the include is named"
else
	not_ok "Dovecot 2.4 tree, password in a 0644 include: the include is named"
	sed 's/^/# /' <<<"$out"
fi
summary
