#!/bin/bash
# SPDX-License-Identifier: MIT
# The real Dovecot as the oracle. Starts the Dovecot installed here (2.3 or 2.4, by
# `dovecot --version`) with a private base_dir, no login listeners and its own SQL passdb on the
# test cluster; fills a table with rows made by that release's own `doveadm pw` (every scheme)
# plus unprefixed, weak, malformed, NULL, nologin, nopassword, allow_nets, allow_real_nets, fail
# and check_client_fp rows; then for every
# case (configs x users x right/wrong password, with and without a remote address, and an
# unknown user) asks `doveadm auth test` and the module (pamtester through libpam and
# pam_wrapper, the real .so, reading the very file Dovecot reads) and compares the verdicts:
#   OK        Dovecot: auth succeeded            module: PAM_SUCCESS
#   MISMATCH  Dovecot: "Password mismatch"       module: PAM_AUTH_ERR (failure line)
#   UNKNOWN   Dovecot: "unknown user"            module: PAM_USER_UNKNOWN
#   REFUSED   Dovecot: an Error on the stored value (unknown scheme, invalid data, weak scheme,
#             no password)                       module: PAM_AUTH_ERR with "cannot verify"
#   NOLOGIN   Dovecot: succeeded with nologin (its login process refuses it)
#                                                module: PAM_AUTH_ERR with "nologin"
#   NETS      Dovecot: "allow_nets check failed" module: PAM_AUTH_ERR with "allow_nets"
#             (or allow_real_nets: the same check, against the same address behind PAM)
#   FAILED    Dovecot: auth failed (the row's fail field) module: PAM_AUTH_ERR "the row sets fail"
#   FP_STRICTER Dovecot 2.3 and 2.4.1: succeeded (they do not know check_client_fp; 2.4.2 does and
#             refuses a login without that client certificate)
#                                                module: PAM_AUTH_ERR "the row sets check_client_fp"
#   STRICTER  Dovecot: "Password mismatch" for a stored value no password can match (an empty
#             value, an unprefixed one that is no crypt string under a crypt scheme)
#                                                module: PAM_AUTH_ERR with "cannot verify"
#   NETS_ORDER Dovecot: "allow_nets check failed" for a wrong password (it checks the network
#             first)                             module: PAM_AUTH_ERR, password checked first
# Prints TAP, one line per case, and the count per verdict.
# Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_ADMIN, PGD_TEST_CONNINFO; dovecot, doveadm,
# pamtester, psql.
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

# shellcheck source=tests/dovecot/oracle.sh
. "$(dirname "$0")/oracle.sh"
oracle_release

# Not in /tmp: each pamtester below may get a private /tmp (see module_verdict).
work=$(mktemp -d /var/tmp/pgd-diff.XXXXXX)
chmod 755 "$work"
cleanup() {
	oracle_stop
	psql -q "$PGD_TEST_ADMIN" -c "DROP TABLE IF EXISTS pgd_diff" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# pg[], right, wrong: oracle.sh

# --- rows ---------------------------------------------------------------------------------
rows=$work/rows.tsv
: >"$rows"
null='\N'
row() { # row USERID PASSWORD(or \N) NOLOGIN NOPASSWORD ALLOW_NETS [FAIL ALLOW_REAL_NETS FP]
	printf '%s\texample.org\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" \
		"${6-$null}" "${7-$null}" "${8-$null}" >>"$rows"
}
strip() { printf '%s' "${1#\{*\}}"; }
schemes=$(doveadm pw -l)
for scheme in $schemes; do
	case $scheme in
	PLAIN-TRUNC) h="{PLAIN-TRUNC}10-$right" ;;
	*) h=$(doveadm pw -s "$scheme" -u "s-${scheme,,}@example.org" -p "$right") || continue ;;
	esac
	row "s-${scheme,,}" "$h" '\N' '\N' '\N'
done
sha512=$(doveadm pw -s SHA512-CRYPT -p "$right")
md5crypt=$(doveadm pw -s MD5-CRYPT -p "$right")
des=$(doveadm pw -s DES-CRYPT -p "$right")
row u-plain "$right" '\N' '\N' '\N'
row u-sha512 "$(strip "$sha512")" '\N' '\N' '\N'
row u-md5crypt "$(strip "$md5crypt")" '\N' '\N' '\N'
row u-des "$(strip "$des")" '\N' '\N' '\N'
if [[ " $schemes " == *" ARGON2ID "* ]]; then
	row u-argon2id "$(strip "$(doveadm pw -s ARGON2ID -p "$right")")" '\N' '\N' '\N'
fi
row crypt-des "{CRYPT}$(strip "$des")" '\N' '\N' '\N'
row crypt-md5 "{CRYPT}$(strip "$md5crypt")" '\N' '\N' '\N'
row sha512-md5 "{SHA512-CRYPT}$(strip "$md5crypt")" '\N' '\N' '\N'
row bad-short '{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee' '\N' '\N' '\N'
row bad-b64 '{SSHA}!!!not base64!!!' '\N' '\N' '\N'
row bad-scheme '{FOO-HASH}abcdef' '\N' '\N' '\N'
row bad-crypt '{SHA512-CRYPT}$6$junk' '\N' '\N' '\N'
row null-pw '\N' '\N' '\N' '\N'
row empty-pw '' '\N' '\N' '\N'
row nologin "$sha512" Y '\N' '\N'
row nopw-null '\N' '\N' Y '\N'
row nopw-set "$sha512" '\N' Y '\N'
row nets-match "$sha512" '\N' '\N' '192.0.2.0/24'
row nets-other "$sha512" '\N' '\N' '198.51.100.0/24'
row nets-local "$sha512" '\N' '\N' 'local'
row nets-both "$sha512" '\N' '\N' '198.51.100.0/24, local'
row nets-empty "$sha512" '\N' '\N' ''
row fail-set "$sha512" '\N' '\N' '\N' y
row fail-empty "$sha512" '\N' '\N' '\N' ''
row realnets-match "$sha512" '\N' '\N' '\N' '\N' '192.0.2.0/24'
row realnets-other "$sha512" '\N' '\N' '\N' '\N' '198.51.100.0/24'
row realnets-local "$sha512" '\N' '\N' '\N' '\N' 'local'
row fp-set "$sha512" '\N' '\N' '\N' '\N' '\N' 'ab:cd:ef'
# a plaintext password that looks like a scheme prefix: its "right" password is the whole value
row brace-pw "{PLAIN}$right" '\N' '\N' '\N'
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL || exit 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS pgd_diff;
CREATE TABLE pgd_diff (userid text, domain text, password text, nologin text,
  nopassword text, allow_nets text, fail text, allow_real_nets text, check_client_fp text);
GRANT SELECT ON pgd_diff TO PUBLIC;
\\copy pgd_diff FROM '$rows'
SQL
users=$(cut -f1 "$rows")
# PGD_DIFF_USERS="a b" runs only those users (to look at one case by hand).
[ -n "${PGD_DIFF_USERS:-}" ] && users=$PGD_DIFF_USERS

# --- configurations -----------------------------------------------------------------------
query23="SELECT userid AS username, domain, password, nologin, nopassword, allow_nets, fail, allow_real_nets, check_client_fp FROM pgd_diff WHERE userid = '%n' AND domain = '%d'"
query24="SELECT userid AS username, domain, password, nologin, nopassword, allow_nets, fail, allow_real_nets, check_client_fp FROM pgd_diff WHERE userid = '%{user | username}' AND domain = '%{user | domain}'"
common="$(oracle_common "pgd-diff-$$")
auth_mechanisms = plain"
# write_conf NAME DEFAULT_SCHEME(or -) WEAK(yes/no): the file Dovecot runs with and the
# module reads (conf= names it: dovecot-sql.conf.ext for 2.3, dovecot.conf itself for 2.4).
write_conf() {
	local name=$1 scheme=$2 weak=$3 dir=$work/$1 query23=$query23 query24=$query24
	mkdir -p "$dir"
	# Dovecot's password_noscheme: the value read with the default scheme, braces or not.
	if [ "$name" = noscheme ]; then
		query23=${query23/, password,/, password AS password_noscheme,}
		query24=${query24/, password,/, password AS password_noscheme,}
	fi
	if [ $release = 2.3 ]; then
		{
			echo "driver = pgsql"
			echo "connect = $PGD_TEST_CONNINFO"
			[ "$scheme" = - ] || echo "default_pass_scheme = $scheme"
			echo "password_query = $query23"
		} >"$dir/dovecot-sql.conf.ext"
		cat >"$dir/dovecot.conf" <<-CONF
			$common
			disable_plaintext_auth = no
			passdb {
			  driver = sql
			  args = $dir/dovecot-sql.conf.ext
			}
			$(oracle_userdb)
		CONF
		chmod 600 "$dir/dovecot-sql.conf.ext"
		modconf=$dir/dovecot-sql.conf.ext
	else
		cat >"$dir/dovecot.conf" <<-CONF
			dovecot_config_version = $version
			dovecot_storage_version = $version
			$common
			auth_allow_cleartext = yes
			auth_allow_weak_schemes = $weak
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
			  $([ "$scheme" = - ] || echo "default_password_scheme = $scheme")
			  query = $query24
			}
			$(oracle_userdb)
		CONF
		modconf=$dir/dovecot.conf
	fi
	chmod 644 "$dir/dovecot.conf"
	mkdir -p "$dir/pam.d"
	printf 'auth required %s conf=%s nodelay allow_nopassword\n' "$PGD_MODULE" "$modconf" \
		>"$dir/pam.d/imap"
}


# dovecot_verdict CONF USER PASSWORD RIP SESSION: one word; what it saw in $work/last.dovecot
dovecot_verdict() {
	local args=(-x service=imap)
	[ -n "$4" ] && args+=(-x "rip=$4")
	oracle_verdict "$1" "$2" "$3" "pgd$$x$5" "${args[@]}"
}

# module_verdict DIR USER PASSWORD RIP: one word (a /tmp of its own: oracle.sh)
module_verdict() {
	pamtester_verdict "$1/pam.d" imap "$2" "$3" "$4"
}

if [ $release = 2.3 ]; then
	configs=("sha512:SHA512-CRYPT:no" "default:-:no" "noscheme:PLAIN:no")
else
	configs=("sha512:SHA512-CRYPT:no" "default:-:no" "weak:SHA512-CRYPT:yes" "noscheme:PLAIN:no")
fi
n=0
failed=0
declare -A count
for cfg in "${configs[@]}"; do
	IFS=: read -r cname cscheme cweak <<<"$cfg"
	write_conf "$cname" "$cscheme" "$cweak"
	dir=$work/$cname
	oracle_start "$dir/dovecot.conf"
	cusers=$users
	# password_noscheme: a few rows are enough (the rest is the other configs' reading)
	[ "$cname" = noscheme ] && [ -z "${PGD_DIFF_USERS:-}" ] &&
		cusers="brace-pw u-plain s-plain s-sha512-crypt null-pw nologin"
	for user in $cusers nobody; do
		for pwname in right wrong; do
			[ "$user" = nobody ] && [ $pwname = wrong ] && continue
			pw=$right
			[ $pwname = wrong ] && pw=$wrong
			[ "$user" = s-plain-trunc ] && [ $pwname = right ] && pw=${right:0:10}
			[ "$user" = brace-pw ] && [ $pwname = right ] && pw="{PLAIN}$right"
			for rip in '' 192.0.2.7; do
				d=$(dovecot_verdict "$dir/dovecot.conf" "$user@example.org" "$pw" "$rip" $n)
				m=$(module_verdict "$dir" "$user@example.org" "$pw" "$rip")
				if [ "$m" = OTHER ]; then
					# pam_wrapper copies the service folder to /tmp/pam.X (one
					# letter): a process of another suite may collide with it. Once more.
					echo "# $user: no PAM answer, asked again: $(grep -m1 PWRAP_ERROR "$work/last.module")"
					m=$(module_verdict "$dir" "$user@example.org" "$pw" "$rip")
				fi
				n=$((n + 1))
				name="Dovecot $version $cname $user $pwname ${rip:-no-rip}"
				if [ "$d" = "$m" ] && [ "$d" != OTHER ]; then
					echo "ok $n - $name: $d"
					count[$d]=$((${count[$d]:-0} + 1))
				elif [ "$d" = MISMATCH ] && [ "$m" = REFUSED ]; then
					# The same PAM code; the module also logs at LOG_ERR that no
					# password can match the stored value (tests/README.md says which).
					echo "ok $n - $name: MISMATCH, module stricter (logs the stored value as unusable)"
					count[STRICTER]=$((${count[STRICTER]:-0} + 1))
				elif [ "$d" = OK ] && [ "$m" = FP ]; then
					# Dovecot 2.4.2 refuses a login without that client certificate,
					# which no PAM login has; this Dovecot does not know the field.
					echo "ok $n - $name: OK, module refuses check_client_fp (Dovecot 2.4.2's meaning)"
					count[FP_STRICTER]=$((${count[FP_STRICTER]:-0} + 1))
				elif [ "$d" = NETS ] && [ "$m" = MISMATCH ] && [ $pwname = wrong ]; then
					# Dovecot refuses the network before it looks at the password;
					# the module checks the password first. The same PAM code.
					echo "ok $n - $name: NETS, module refuses the wrong password first"
					count[NETS_ORDER]=$((${count[NETS_ORDER]:-0} + 1))
				else
					echo "not ok $n - $name: Dovecot $d, module $m"
					sed 's/^/#   dovecot: /' "$work/last.dovecot" | head -8
					sed 's/^/#   module: /' "$work/last.module" | head -8
					failed=$((failed + 1))
				fi
			done
		done
	done
	oracle_stop
done
echo "1..$n"
summary="# Dovecot $version: $n cases, $failed disagree;"
for v in OK MISMATCH UNKNOWN REFUSED NOLOGIN NETS FAILED STRICTER NETS_ORDER FP_STRICTER; do
	summary+=" $v ${count[$v]:-0}"
done
echo "$summary"
[ "$failed" -eq 0 ]
