#!/bin/bash
# SPDX-License-Identifier: MIT
# `pam-pgsql-dovecot check` on hostile rows: every byte it prints from a row is escaped (no
# terminal escape, bell or carriage return gets through), short and encoded stored values are
# read without a crash and their cost from the decoded value, an unknown scheme name is not
# echoed. The rows are literals of the password_query itself, so no table is needed.
# Prints TAP.   usage: tests/cmd/test_check.sh path/to/pam-pgsql-dovecot
# Needs PGD_TEST_CONNINFO (scripts/test.sh sets it); skipped without.
set -uo pipefail
cmd=${1:?usage: test_check.sh path/to/pam-pgsql-dovecot}
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
[ -n "${PGD_TEST_CONNINFO:-}" ] ||
	skip_all "PGD_TEST_CONNINFO is not set (run through scripts/test.sh)"
work=$(mktemp -d /tmp/pgd-check-cmd.XXXXXX)
trap 'rm -rf "$work"' EXIT

# conf NAME DEFAULT_SCHEME SELECT-LIST: a conf whose password_query returns one literal row
conf() {
	cat >"$work/$1.conf" <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
default_pass_scheme = $2
password_query = SELECT $3 WHERE '%u' <> ''
CONF
	chmod 600 "$work/$1.conf"
}

# run NAME STATUS: runs check with conf NAME for user alice@example.org into $out
run() {
	local rc=0
	out=$("$cmd" check -c "$work/$1.conf" alice@example.org 2>&1) || rc=$?
	if [ "$rc" != "$2" ]; then
		not_ok "$1: exit $rc, expected $2" "$(printf %q "$out")"
		return 1
	fi
	return 0
}
# has NAME TEXT: $out contains TEXT
has() {
	if [[ $out == *"$2"* ]]; then ok "$1"; else not_ok "$1: no \"$2\"" "$(printf %q "$out")"; fi
}
# clean NAME: $out holds no control byte but the newline
clean() {
	if LC_ALL=C grep -q '[[:cntrl:]]' <<<"$out" || [[ $out == *$'\r'* ]]; then
		not_ok "$1: a control byte got through" "$(printf %q "$out")"
	else
		ok "$1"
	fi
}

esc="chr(27) || '[2J' || chr(27) || ']0;pwned' || chr(7)"
conf escapes SHA512-CRYPT "'alice' || $esc || chr(13) || 'fake line' AS user, \
'{PLAIN}x' AS password, '10.0.0.0/8,' || $esc AS allow_nets"
# exit 1: allow_nets refuses a check, which has no remote address
run escapes 1
clean "user and allow_nets columns: escaped"
has "user column shown escaped" 'alice\x1b[2J\x1b]0;pwned\x07\x0dfake line'
has "allow_nets column shown escaped" '10.0.0.0/8,\x1b[2J'


conf columns SHA512-CRYPT "'{PLAIN}x' AS password, 1 AS \"col$(printf '\033')[31m\""
run columns 0 || true
clean "column names: escaped"

conf short SHA512-CRYPT "'{SHA512-CRYPT}' AS password"
run short 1 && has "{SHA512-CRYPT} with nothing after it: refused, no crash" "empty hash"
conf short6 SHA512-CRYPT "'{SHA512-CRYPT}\$6' AS password"
run short6 1 && has "{SHA512-CRYPT}\$6: refused, no crash" "malformed stored hash"
conf shortblf SHA512-CRYPT "'{BLF-CRYPT}\$2y\$0' AS password"
run shortblf 1 && has "{BLF-CRYPT}\$2y\$0: refused, no crash" "not a bcrypt hash"

b64=$("$cmd" pw -s SHA512-CRYPT.b64 -r 1500 -p secret)
conf b64 SHA512-CRYPT "'$b64' AS password"
run b64 0 && has "a .b64 value: cost read from the decoded value" \
	"cost: sha512crypt rounds 1500 (cap 1000000)"
hex=$("$cmd" pw -s BLF-CRYPT.hex -r 6 -p secret)
conf hex SHA512-CRYPT "'$hex' AS password"
run hex 0 && has "a .hex value: cost read from the decoded value" "cost: bcrypt cost 6 (cap 14)"
conf yescrypt SHA512-CRYPT "'{CRYPT}\$y\$j9T\$2ILFVcigwZKtxbGQrVdlp.\$x' AS password"
run yescrypt 0 && has "yescrypt: memory and passes" \
	"cost: yescrypt memory 16384 KiB (cap 262144), passes 1 (cap 16)"
conf hostile SHA512-CRYPT "'\$y\$j9T/szz\$2ILFVcigwZKtxbGQrVdlp.\$x' AS password"
start=$(date +%s)
run hostile 1 && has "yescrypt with t = 4656: refused" "passes 4655 above cap 16"
took=$(($(date +%s) - start))
if [ "$took" -le 5 ]; then ok "... in ${took} s"; else not_ok "hostile yescrypt took ${took} s"; fi

conf unknown PLAIN "'{Tr0ub4dor}&3' AS password"
run unknown 1 && has "unknown scheme: said" "unknown scheme (a name of 9 bytes)"
if [[ $out == *Tr0* || $out == *ub4* || $out == *dor* ]]; then
	not_ok "unknown scheme: part of its name printed" "$(printf %q "$out")"
else
	ok "unknown scheme: no part of its name printed"
fi

# What saslauthd does not pass (%c, %m): check states it as the service's pam.d line does.
# iRedMail's per-protocol, per-transport column, glued into a quoted name.
cat >"$work/glued.conf" <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
password_query = SELECT password FROM (SELECT '{PLAIN}x' AS password, 1 AS enableimaptls, \
  1 AS enablepop3) t WHERE '%u' <> '' AND t."enable%Ls%Lc" = 1
CONF
chmod 600 "$work/glued.conf"
# glued ARGS... : check with the glued conf, its status in rc, its output in out
glued() {
	rc=0
	out=$("$cmd" check -c "$work/glued.conf" "$@" alice@example.org 2>&1) || rc=$?
}
glued
[ "$rc" = 1 ] && has "%c with secured unset: said, naming the key and the option" \
	"warning: password_query uses %c (%{secured}), which saslauthd does not pass: secured is not set"
[ "$rc" = 1 ] || not_ok "%c with secured unset: exit $rc, expected 1" "$(printf %q "$out")"
glued --secured tls
if [ "$rc" = 0 ] && [[ $out == *"password: verifiable"* ]]; then
	ok "--secured tls: the imap tls column is read"
else
	not_ok "--secured tls: exit $rc" "$(printf %q "$out")"
fi
glued -s pop --secured no
if [ "$rc" = 0 ]; then ok "-s pop --secured no: pop is pop3, enablepop3 is read"; else
	not_ok "-s pop --secured no: exit $rc" "$(printf %q "$out")"; fi
glued --secured no
[ "$rc" = 1 ] && has "--secured no: enableimap, a column this table lacks" "enableimap"
glued --secured yes
[ "$rc" = 1 ] && has "--secured yes: refused, naming the words" "secured 'yes' is not no, tls or secured"
glued -s cyrus --secured tls
[ "$rc" = 1 ] && has "-s cyrus: not a protocol, not written into the SQL" "protocol written into"

summary
