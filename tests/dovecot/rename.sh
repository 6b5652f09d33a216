#!/bin/bash
# SPDX-License-Identifier: MIT
# The real Dovecot as the oracle for two things a row can do to a login (2.3 or 2.4, by
# `dovecot --version`; the same file read by both):
# - rename it, by its user, username and domain columns: Dovecot's `doveadm auth test` prints
#   the user= it ends with. Where that is the name the query bound, the module logs in as
#   usual; where it differs (case included), the module refuses (PAM_SERVICE_ERR) with a line
#   naming that very name, and with allow_rename logs in and names it; where Dovecot fails the
#   login (a rename to an empty name), the module refuses too. A wrong password is a wrong
#   password in both, whatever the row would rename.
# - verify the password in SQL (password_in_query): %w / %{password} bound, Dovecot's
#   `NULL AS password, 'Y' AS nopassword`: the right password logs in, a wrong one is an
#   unknown user, in both.
# Prints TAP, one line per case.
# Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_ADMIN, PGD_TEST_CONNINFO; dovecot, doveadm,
# pamtester, psql.
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=tests/dovecot/oracle.sh
. "$(dirname "$0")/oracle.sh"
oracle_release

# Not in /tmp: each pamtester may get a private /tmp (oracle.sh).
work=$(mktemp -d /var/tmp/pgd-rename.XXXXXX)
chmod 755 "$work"
cleanup() {
	oracle_stop
	psql -q "$PGD_TEST_ADMIN" -c "DROP TABLE IF EXISTS pgd_ren" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL || bail "cannot make the table"
DROP TABLE IF EXISTS pgd_ren;
CREATE TABLE pgd_ren (userid text, domain text, password text);
GRANT SELECT ON pgd_ren TO PUBLIC;
INSERT INTO pgd_ren VALUES ('alice', 'example.org', '{PLAIN}$right');
SQL

if [ "$release" = 2.3 ]; then
	where="FROM pgd_ren WHERE userid = '%n' AND domain = '%d'"
	pwvar="'%w'"
else
	where="FROM pgd_ren WHERE userid = '%{user | username}' AND domain = '%{user | domain}'"
	# quoted: Dovecot 2.4 writes an unquoted %{password} into the SQL text as it is (a syntax
	# error, or worse), where the module binds it either way
	pwvar="'%{password}'"
fi

# write_conf NAME SELECT-LIST: $work/NAME/dovecot.conf, the file the module reads ($modconf)
write_conf() {
	local dir=$work/$1 query="SELECT $2 $where"
	mkdir -p "$dir"
	if [ "$release" = 2.3 ]; then
		printf 'driver = pgsql\nconnect = %s\npassword_query = %s\n' "$PGD_TEST_CONNINFO" \
			"$query" >"$dir/dovecot-sql.conf.ext"
		chmod 600 "$dir/dovecot-sql.conf.ext"
		cat >"$dir/dovecot.conf" <<-CONF
			$(oracle_common "pgd-ren-$$")
			auth_mechanisms = plain
			disable_plaintext_auth = no
			passdb {
			  driver = sql
			  args = $dir/dovecot-sql.conf.ext
			}
			$(oracle_userdb)
		CONF
		modconf=$dir/dovecot-sql.conf.ext
	else
		cat >"$dir/dovecot.conf" <<-CONF
			dovecot_config_version = $version
			dovecot_storage_version = $version
			$(oracle_common "pgd-ren-$$")
			auth_mechanisms = plain
			auth_allow_cleartext = yes
			sql_driver = pgsql
			pgsql ${pg[host]} {
			  parameters {
			    port = ${pg[port]}
			    user = ${pg[user]}
			    password = ${pg[password]}
			    dbname = ${pg[dbname]}
			  }
			}
			passdb sql {
			  query = $query
			}
			$(oracle_userdb)
		CONF
		modconf=$dir/dovecot.conf
	fi
	chmod 644 "$dir/dovecot.conf"
	for args in plain:"" allow:allow_rename sqlpw:password_in_query; do
		mkdir -p "$dir/${args%%:*}"
		printf 'auth required %s conf=%s nodelay %s\n' "$PGD_MODULE" "$modconf" \
			"${args#*:}" >"$dir/${args%%:*}/imap"
	done
}

n=0
dovecot_user() { sed -n 's/^  user=//p' "$work/last.dovecot" | head -1; }
# check NAME DOVECOT-WORD MODULE-WORD [LOG]: one TAP line; LOG a piece of the module's output
check() {
	n=$((n + 1))
	if [ "$2" = "$3" ] && { [ -z "${4:-}" ] || grep -qF -- "$4" "$work/last.module"; }; then
		echo "ok $n - $1: $2${4:+ ($4)}"
	else
		echo "not ok $n - $1: Dovecot $2, module $3${4:+, log lacks: $4}"
		sed 's/^/#   dovecot: /' "$work/last.dovecot" | head -6
		sed 's/^/#   module: /' "$work/last.module" | head -6
	fi
}

# Each variant: the columns besides password; the logins are alice's name in two cases.
variants=(
	"same-user|userid || '@' || domain AS user"
	"same-parts|userid AS username, domain"
	"null-user|NULL AS user"
	"user|'bob@example.org' AS user"
	"username|'bob' AS username"
	"domain|'other.org' AS domain"
	"username-at-then-domain|'bob@y.org' AS username, 'z.org' AS domain"
	"domain-then-user|'z.org' AS domain, 'bob' AS user"
	"case|upper(userid) AS username"
	"empty|'' AS user"
)
for v in "${variants[@]}"; do
	vname=${v%%|*}
	write_conf "$vname" "password, ${v#*|}"
	dir=$work/$vname
	oracle_start "$dir/dovecot.conf"
	for login in alice@example.org ALICE@Example.org; do
		d=$(oracle_verdict "$dir/dovecot.conf" "$login" "$right" "ren$$x$n" -x service=imap)
		duser=$(dovecot_user)
		m=$(pamtester_verdict "$dir/plain" imap "$login" "$right" "")
		if [ "$d" = OK ] && [ "$duser" = alice@example.org ]; then
			check "Dovecot $version $vname $login: no rename" OK "$m"
		elif [ "$d" = OK ]; then
			check "Dovecot $version $vname $login: renamed to $duser, refused" CONFIG "$m" \
				"renamed to $duser by the row's"
			m=$(pamtester_verdict "$dir/allow" imap "$login" "$right" "")
			check "Dovecot $version $vname $login: renamed to $duser, allow_rename" OK "$m" \
				"renamed to $duser by the row (allow_rename)"
		else
			check "Dovecot $version $vname $login: Dovecot fails the login ($d)" CONFIG "$m" \
				"refused"
		fi
		d=$(oracle_verdict "$dir/dovecot.conf" "$login" "$wrong" "ren$$y$n" -x service=imap)
		m=$(pamtester_verdict "$dir/plain" imap "$login" "$wrong" "")
		[ "$m" = MISMATCH ] && grep -qF renamed "$work/last.module" && m="MISMATCH+rename-logged"
		check "Dovecot $version $vname $login: wrong password" "$d" "$m"
	done
	oracle_stop
done

# Password verification by the SQL server, as Dovecot documents it.
write_conf sqlpw "NULL AS password, 'Y' AS nopassword"
sed -i "s/domain = '%d'\$/domain = '%d' AND password = '{PLAIN}' || $pwvar/; s/domain = '%{user | domain}'\$/domain = '%{user | domain}' AND password = '{PLAIN}' || $pwvar/" \
	"$modconf"
oracle_start "$work/sqlpw/dovecot.conf"
for pwname in right wrong; do
	pw=$right
	[ $pwname = wrong ] && pw=$wrong
	d=$(oracle_verdict "$work/sqlpw/dovecot.conf" alice@example.org "$pw" "ren$$z$n" \
		-x service=imap)
	m=$(pamtester_verdict "$work/sqlpw/sqlpw" imap alice@example.org "$pw" "")
	check "Dovecot $version password verified by the SQL server, $pwname password" "$d" "$m"
done
oracle_stop

echo "1..$n"
