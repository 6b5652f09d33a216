#!/bin/bash
# SPDX-License-Identifier: MIT
# Dovecot's variable modifiers (2.3: %M %X %H %N %3n %.1n ...) and filters (2.4: md5, substr,
# regexp, default, hex ...) against the real Dovecot installed here, the values compared byte
# for byte. Dovecot runs one SQL passdb per template, chained (each one finds no row, so the
# next one runs), with auth_debug on: it logs every expanded query, or the error when an
# expansion fails. The module binds the same query (tests/dovecot/expand.c, pgd_expand_test)
# and prints the bound value. For every user name (ASCII, mixed case, non-ASCII, no '@', an
# empty user or domain part, two '@', a quote, a long one, a number) and template, both must
# give the same bytes, or both fail. One TAP line per template x user.
# Needs: PGD_EXPAND_TEST, PGD_TEST_CONNINFO, root; dovecot, doveadm.
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=tests/dovecot/oracle.sh
. "$(dirname "$0")/oracle.sh"
oracle_release
need_env PGD_EXPAND_TEST PGD_TEST_CONNINFO

work=$(mktemp -d /var/tmp/pgd-filters.XXXXXX)
chmod 755 "$work"
cleanup() {
	oracle_stop
	[ -n "${PGD_KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

long=$(printf 'a%.0s' $(seq 120))@$(printf 'b%.0s' $(seq 60)).example.org
users=(
	'Alice@Example.org' 'bob' 'x@' '@example.org' "j$(printf '\xc3\xb6')rg@m$(printf '\xc3\xbc')ller.de"
	"o'hara@x.y" 'a@b@c' '12345' "$long" 'Mixed.Case@Sub.Domain.Example'
)

# Every template sits in '...' (one bound value); no '#' (a comment in either conf).
t23=(
	'%u' '%n' '%d' '%Lu' '%Uu' '%Eu' '%Xu' '%Xn' '%Rn' '%Hu' '%256Hu' '%4.256Hu' '%Nu' '%16Nu'
	'%2.16Nu' '%Mu' '%Mn' '%LMu' '%MUu' '%Dd' '%Tu' '%3n' '%.1n' '%1.2n' '%-1.2n' '%-3n'
	'%05n' '%0.3n' '%.-2u' '%-2.-1u' '%2.u' '%-4.u' '%200u' '%M{user}' '%3{username}'
	'%LRDd' '%2n' '%n@%Ld' '%{user}/%.1Ln/%Ln'
)
t24=(
	'%{user}' '%{user | md5}' '%{user | sha1}' '%{user | sha256}' '%{user | sha512}'
	'%{user | lower | md5}' '%{user | md5 | hexlify}' '%{user | md5 | substr(0, 4)}'
	'%{user | md5 | upper}' '%{user | substr(0, 3)}' '%{user | substr(-3)}'
	'%{user | substr(1, -1)}' '%{user | substr(2)}' '%{user | substr(0, 3) | default("short")}'
	'%{user | domain | default("nodomain")}' '%{user | username | default}'
	"%{user | regexp('^([^@]*)@(.*)\$', '\\\\2/\\\\1')}" "%{user | regexp('[aeiou]+', 'V')}"
	"%{user | regexp('^(.)(.*)', '\\\\1')}" "%{user | regexp('(x)|(b)', '<\\\\2>')}"
	'%{user | username | upper | reverse}' '%{user | domain | ldap_dn}' '%{user | hex}'
	'%{user | hex | default("nan")}' '%{user | hex(4)}' '%{user | hex(-6) | default(0)}'
	'%{user | hexlify}' '%{user | hexlify(8)}' '%{user | domain | username}'
	'%{protocol | upper}' '%{user | username | lower}@%{user | domain | md5 | substr(0, 2)}'
	'%{user | reverse | substr(0, 4) | reverse}' '%{user|md5|substr(0,2)|hex|default("x")}'
)
if [ "$release" = 2.3 ]; then templates=("${t23[@]}"); else templates=("${t24[@]}"); fi

query() { printf "SELECT 'T%s' AS password WHERE '%s' IS NULL" "$1" "$2"; }

conf=$work/dovecot.conf
{
	if [ "$release" = 2.4 ]; then
		echo "dovecot_config_version = $version"
		echo "dovecot_storage_version = $version"
	fi
	oracle_common filters
	echo "auth_username_format ="
	echo "auth_username_chars ="
	if [ "$release" = 2.3 ]; then
		echo "disable_plaintext_auth = no"
		for i in "${!templates[@]}"; do
			{
				echo "driver = pgsql"
				echo "connect = $PGD_TEST_CONNINFO"
				echo "password_query = $(query "$i" "${templates[$i]}")"
			} >"$work/sql$i.conf.ext"
			printf 'passdb {\n  driver = sql\n  args = %s\n}\n' "$work/sql$i.conf.ext"
		done
	else
		cat <<-CONF
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
		CONF
		for i in "${!templates[@]}"; do
			printf 'passdb t%s {\n  driver = sql\n  passdb_sql_query = %s\n}\n' "$i" \
				"$(query "$i" "${templates[$i]}")"
		done
	fi
	oracle_userdb
} >"$conf"
chmod 644 "$conf"
oracle_start "$conf"

# What Dovecot logged for session sid, one line per template: hex of the value, or ERR.
dovecot_values() {
	python3 - "$work/dovecot.log" "$1" "${#templates[@]}" <<-'PY'
		import re, sys
		log, sid, count = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
		out, seen = ["MISSING"] * count, 0
		for line in open(log, "rb"):
		    if b"<" + sid + b">" not in line:
		        continue
		    m = re.search(rb"query: SELECT 'T(\d+)' AS password WHERE '(.*)' IS NULL$", line.rstrip(b"\n"))
		    if m:
		        # PostgreSQL's reading of the literal; a lone quote is broken SQL (the query
		        # fails: Dovecot's lookup fails)
		        v, ok = m.group(2).split(b"''"), True
		        ok = all(b"'" not in part for part in v)
		        v = b"'".join(v)
		        out[int(m.group(1))] = ("ERR" if not ok else v.hex() if v else "-")
		        seen = int(m.group(1)) + 1
		    elif b"rror" in line and b"expand" in line.lower() or b"Failed to expand" in line:
		        out[seen] = "ERR"
		        seen += 1
		print("\n".join(out))
	PY
}

for u in "${!users[@]}"; do
	user=${users[$u]}
	sid=pgdf$$x$u
	doveadm -c "$conf" auth test -x no-penalty -x service=imap -x "session=$sid" "$user" \
		'pw' >/dev/null 2>&1
	for _ in $(seq 100); do
		grep -F "<$sid>" "$work/dovecot.log" | grep -q "Auth request finished\|Finished passdb\|auth(.*): Info\|unknown user" &&
			break
		sleep 0.05
	done
	sleep 0.2
	mapfile -t dv < <(dovecot_values "$sid")
	shown=$(printf '%q' "$user")
	for i in "${!templates[@]}"; do
		q=$(query "$i" "${templates[$i]}")
		mv=$("$PGD_EXPAND_TEST" "$release" "$user" imap "$q")
		[[ $mv == ERR* ]] && mv_word=ERR || mv_word=$mv
		if [ "${dv[$i]}" = "$mv_word" ]; then
			ok "$release ${templates[$i]} user ${shown:0:40}: $mv_word"
		elif [ "${dv[$i]}" = ERR ] && [[ $mv != ERR* ]] && ! python3 -c \
			'import sys; bytes.fromhex(sys.argv[1].replace("-", "")).decode()' "$mv" 2>/dev/null; then
			# Dovecot 2.4's SQL escaping refuses a value that is not UTF-8 ("invalid
			# multibyte character"); the module binds it and PostgreSQL refuses it: both fail
			ok "$release ${templates[$i]} user ${shown:0:40}: not UTF-8, refused by both"
		else
			not_ok "$release ${templates[$i]} user ${shown:0:40}" "dovecot: ${dv[$i]}" \
				"module:  $mv" "$(grep -F "<$sid>" "$work/dovecot.log" | grep -F "'T$i'" | head -2)"
		fi
	done
done
summary
