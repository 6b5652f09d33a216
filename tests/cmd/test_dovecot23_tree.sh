#!/bin/bash
# SPDX-License-Identifier: MIT
# dovecot_conf: Debian 12's own /etc/dovecot tree (dovecot.conf and conf.d, copied and edited as
# an admin would: auth-sql.conf.ext in, auth-system.conf.ext out, auth_username_format and
# auth_default_realm set, auth-deny / auth-master / override_fields tried in turn), read through
# `pam-pgsql-dovecot check -d`, with `doveconf -n` as the oracle of what Dovecot reads from the
# same files. The auth settings come from the tree; every passdb that would change a login and
# that the module does not apply is refused with its file and line.
# Prints TAP. Needs PGD_TOOL, PGD_TEST_CONNINFO, doveconf (Dovecot 2.3), /etc/dovecot; root (the
# conf files must be root's, as the module requires).
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
need_env PGD_TOOL PGD_TEST_CONNINFO
if ! command -v doveconf >/dev/null || ! command -v dovecot >/dev/null; then
	skip_all "dovecot not installed"
fi
if [ ! -f /etc/dovecot/dovecot.conf ] || [ ! -d /etc/dovecot/conf.d ]; then
	skip_all "no /etc/dovecot tree"
fi
case $(dovecot --version) in
2.3.*) ;;
*) skip_all "not Dovecot 2.3" ;;
esac
[ "$(id -u)" = 0 ] || skip_all "the conf files must be owned by root"

work=$(mktemp -d /tmp/pgd-dc23.XXXXXX)
trap 'rm -rf "$work"' EXIT
d=$work/dovecot
mkdir -p "$d"
cp -r /etc/dovecot/dovecot.conf /etc/dovecot/conf.d "$d/"
chmod -R go-w "$d"
sql=$d/dovecot-sql.conf.ext
cat >"$sql" <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
password_query = SELECT userid || '@' || domain AS user, password FROM users \\
  WHERE userid = '%n' AND domain = '%d'
CONF
chmod 600 "$sql"
auth=$d/conf.d/10-auth.conf

# check_out NAME STATUS TEXT USER: `check -d` exits STATUS and says TEXT
check_out() {
	local name=$1 status=$2 text=$3 out rc=0
	out=$("$PGD_TOOL" check -c "$sql" -d "$d/dovecot.conf" "$4" 2>&1) || rc=$?
	if [ "$rc" = "$status" ] && [[ $out == *"$text"* ]]; then
		ok "$name"
	else
		not_ok "$name (exit $rc)" "$(printf %q "$out")"
	fi
}
# oracle_value KEY VALUE: doveconf -h KEY of the tree is VALUE (doveconf -n omits defaults)
oracle_value() {
	local got
	got=$(doveconf -c "$d/dovecot.conf" -h "$1" 2>&1)
	if [ "$got" = "$2" ]; then ok "doveconf: $1 = $2"; else not_ok "doveconf: $1 = $2" "got $got"; fi
}
# oracle NAME TEXT: doveconf -n of the tree holds TEXT
oracle() {
	local out
	out=$(doveconf -n -c "$d/dovecot.conf" 2>&1)
	if [[ $out == *"$2"* ]]; then ok "doveconf: $1"; else not_ok "doveconf: $1" "$(printf %q "$out")"; fi
}

# 1. As installed: the pam passdb of auth-system.conf.ext, which Dovecot consults.
line=$(grep -n '^passdb {' "$d/conf.d/auth-system.conf.ext" | head -1 | cut -d: -f1)
oracle "the stock tree has a pam passdb" $'passdb {\n  driver = pam\n}'
check_out "the stock tree: the pam passdb refused with its file and line" 1 \
	"$d/conf.d/auth-system.conf.ext line $line: passdb {} (driver pam) is not supported" alice

# 2. The users' sql passdb alone, and the auth settings of 10-auth.conf.
sed -i 's/^!include auth-system.conf.ext/#&/; s/^#\(!include auth-sql.conf.ext\)/\1/' "$auth"
sed -i "s|args = /etc/dovecot/dovecot-sql.conf.ext|args = $sql|" "$d/conf.d/auth-sql.conf.ext"
sed -i 's/^#auth_default_realm =.*/auth_default_realm = example.org/' "$auth"
sed -i 's/^#auth_username_format =.*/auth_username_format = %Lu/' "$auth"
oracle_value auth_username_format %Lu
oracle_value auth_default_realm example.org
oracle "one passdb, of driver sql" $'passdb {\n  args = '"$sql"$'\n  driver = sql\n}'
check_out "the realm and the format come from the tree: Alice is alice@example.org" 0 \
	"user: alice@example.org" Alice
sed -i 's/^auth_username_format = %Lu/auth_username_format = %Ln/' "$auth"
oracle_value auth_username_format %Ln
check_out "a changed auth_username_format is followed: Alice@Example.org is alice" 1 \
	"user: alice" Alice@Example.org
sed -i 's/^auth_username_format = %Ln/auth_username_format = %Lu/' "$auth"

# 3. A sql passdb that reads another file than the module's.
sed -i "s|args = $sql|args = /etc/dovecot/dovecot-sql.conf.ext|" "$d/conf.d/auth-sql.conf.ext"
line=$(grep -n '^passdb {' "$d/conf.d/auth-sql.conf.ext" | head -1 | cut -d: -f1)
check_out "a sql passdb reading another dovecot-sql.conf.ext is refused" 1 \
	"auth-sql.conf.ext line $line: passdb sql reads args = /etc/dovecot/dovecot-sql.conf.ext" alice
sed -i "s|args = /etc/dovecot/dovecot-sql.conf.ext|args = $sql|" "$d/conf.d/auth-sql.conf.ext"

# 4. auth-deny.conf.ext: Dovecot refuses the users it lists; the module cannot.
sed -i 's/^#\(!include auth-deny.conf.ext\)/\1/' "$auth"
line=$(grep -n 'deny = yes' "$d/conf.d/auth-deny.conf.ext" | head -1 | cut -d: -f1)
oracle "auth-deny.conf.ext is read" "deny = yes"
check_out "auth-deny.conf.ext is refused with its line" 1 \
	"auth-deny.conf.ext line $line: passdb {}: deny = yes is not supported" alice
sed -i 's/^!include auth-deny.conf.ext/#&/' "$auth"

# 5. auth-master.conf.ext: master logins only, read past.
sed -i 's/^#\(!include auth-master.conf.ext\)/\1/' "$auth"
oracle "auth-master.conf.ext is read" "master = yes"
check_out "auth-master.conf.ext (a master passdb) is read past" 0 "user: alice@example.org" alice
sed -i 's/^!include auth-master.conf.ext/#&/' "$auth"

# 6. override_fields in the users' passdb.
sed -i "s|^\(  args = $sql\)|\1\n  override_fields = allow_nets=192.0.2.0/24|" "$d/conf.d/auth-sql.conf.ext"
line=$(grep -n 'override_fields' "$d/conf.d/auth-sql.conf.ext" | head -1 | cut -d: -f1)
oracle "override_fields is read" "override_fields = allow_nets=192.0.2.0/24"
check_out "override_fields in the sql passdb is refused with its line" 1 \
	"auth-sql.conf.ext line $line: passdb {}: override_fields = allow_nets=192.0.2.0/24 is not supported" alice

summary
