#!/bin/bash
# SPDX-License-Identifier: MIT
# No raw byte of a row, a file, a server or the command line reaches the terminal through the
# admin command: check, audit and pw meet control bytes, an escape sequence, newline, carriage
# return, DEL, bytes 0x80-0xff (a C1 control and a right-to-left override among them) and a
# backslash in rows, a conf's path, key and value, a user name, server messages and their
# arguments; every line they print (stdout and stderr) must hold printable ASCII only
# (0x20-0x7e: no table of theirs uses a tab), and where they quote the bytes, the \xNN form.
# Not covered: what `pw` makes (without -t or -V) is printed byte for byte, since it is what an
# admin stores (for PLAIN, the password itself).
# Prints TAP. Needs: PGD_TOOL, PGD_TEST_CONNINFO (tests/pg-cluster.sh, scripts/test.sh).
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
need_env PGD_TOOL PGD_TEST_CONNINFO
work=$(mktemp -d /tmp/pgd-rawbytes-cmd.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Every kind of hostile byte, valid UTF-8 (a UTF8 server takes it), and its \xNN form.
H=$'a\x01b\x1b[31mc\nd\re\x7ff\xc3\xa9g\xc2\x9bh\xe2\x80\xaei\\j'
E='a\x01b\x1b[31mc\x0ad\x0de\x7ff\xc3\xa9g\xc2\x9bh\xe2\x80\xaei\x5cj'
# The same, for one line of a file or a folder name: no newline, no carriage return.
L=$'a\x01b\x1b[31mc\x7ff\xc3\xa9g\xc2\x9bh\xe2\x80\xaei\\j'
LE='a\x01b\x1b[31mc\x7ff\xc3\xa9g\xc2\x9bh\xe2\x80\xaei\x5cj'
# H as an SQL expression, so that the conf file itself holds none of it.
HSQL="'a' || chr(1) || 'b' || chr(27) || '[31mc' || chr(10) || 'd' || chr(13) || 'e' || \
chr(127) || 'f' || chr(233) || 'g' || chr(155) || 'h' || chr(8238) || 'i' || chr(92) || 'j'"

dir="$work/$L"
mkdir "$dir"

conf() { # FILE PASSWORD-QUERY [MORE-LINES]
	printf 'driver = pgsql\nconnect = %s\ndefault_pass_scheme = SHA512-CRYPT\npassword_query = %s\n%s' \
		"$PGD_TEST_CONNINFO" "$2" "${3:-}" >"$1"
	chmod 600 "$1"
}

# run NAME STATUS COMMAND...: both outputs of COMMAND into $out; not_ok unless it exits STATUS
# and every line is printable ASCII
run() {
	local name=$1 want=$2 rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" != "$want" ]; then
		not_ok "$name: exit $rc, expected $want"
		printf '%s\n' "$out" | cat -v | sed 's/^/# /'
		return 1
	fi
	if LC_ALL=C grep -q '[^ -~]' <<<"$out"; then
		not_ok "$name: a raw byte got through"
		printf '%s\n' "$out" | cat -v | sed 's/^/# /'
		return 1
	fi
	ok "$name: printable ASCII only"
}
# shows NAME TEXT: $out holds TEXT
shows() {
	if [[ $out == *"$2"* ]]; then
		ok "$1"
	else
		not_ok "$1: no \"$2\""
		printf '%s\n' "$out" | cat -v | sed 's/^/# /'
	fi
}

# --- check ---
conf "$dir/ok.conf" "SELECT 'x' AS user, '{PLAIN}x' AS password WHERE '%u' <> ''"
run "check: the conf's path" 0 "$PGD_TOOL" check -c "$dir/ok.conf" &&
	shows "check: the conf's path, escaped" "conf: $work/$LE/ok.conf: ok"
run "check: a missing conf's path" 1 "$PGD_TOOL" check -c "$dir/missing.conf"
conf "$work/key.conf" "SELECT 'x' AS password WHERE '%u' <> ''" "unknown_${L}_key = 1"$'\n'
run "check: a conf key" 1 "$PGD_TOOL" check -c "$work/key.conf"
conf "$work/value.conf" "SELECT 'x' AS password WHERE '%u' <> ''" "update_scheme = SHA${L}"$'\n'
run "check: a conf value" 1 "$PGD_TOOL" check -c "$work/value.conf"
run "check: a user name" 1 "$PGD_TOOL" check -c "$dir/ok.conf" "$H@example.org"

conf "$work/row.conf" "SELECT $HSQL AS user, '{PLAIN}x' AS password, \
'10.0.0.0/8,' || $HSQL AS allow_nets, 'Y' AS nologin, $HSQL AS reason WHERE '%u' <> ''"
run "check: a row's user, allow_nets and reason" 1 "$PGD_TOOL" check -c "$work/row.conf" \
	alice@example.org &&
	shows "check: the user column, escaped" "canonical name (user column): $E" &&
	shows "check: allow_nets, escaped" "allow_nets: 10.0.0.0/8,$E"
conf "$work/stored.conf" "SELECT '{SHA512' || $HSQL || '}x' AS password WHERE '%u' <> ''"
run "check: a row's stored value" 1 "$PGD_TOOL" check -c "$work/stored.conf" alice@example.org
conf "$work/crypt.conf" "SELECT '{SHA512-CRYPT}\$6\$' || $HSQL AS password WHERE '%u' <> ''"
run "check: a row's crypt value" 1 "$PGD_TOOL" check -c "$work/crypt.conf" alice@example.org
conf "$work/server.conf" "SELECT ($HSQL)::int AS password WHERE '%u' <> ''"
run "check: a server message quoting a row" 1 "$PGD_TOOL" check -c "$work/server.conf" \
	alice@example.org

# --- audit ---
conf "$dir/nolist.conf" "SELECT '{PLAIN}x' AS password WHERE '%u' <> ''"
run "audit: the conf's path" 2 "$PGD_TOOL" audit -c "$dir/nolist.conf" &&
	shows "audit: the conf's path, escaped" "$work/$LE/nolist.conf sets no iterate_query"
list="SELECT $HSQL || '@example.org' AS user UNION ALL SELECT 'ok' || $HSQL || '@example.org'"
run "audit: listed names, text" 1 "$PGD_TOOL" audit -c "$dir/nolist.conf" --users-query "$list" &&
	shows "audit: listed names, escaped" "$E@example.org"
run "audit: listed names, JSON" 1 "$PGD_TOOL" audit -c "$dir/nolist.conf" --json \
	--users-query "$list"
if python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
names = [x for c in j["examples"].values() for x in c]
sys.exit(0 if sys.argv[1] + "@example.org" in names else 1)' "$E" <<<"$out"; then
	ok "audit: JSON is valid and its names are escaped"
else
	not_ok "audit: JSON is valid and its names are escaped"
fi
run "audit: a server message quoting a row" 2 "$PGD_TOOL" audit -c "$dir/nolist.conf" \
	--users-query "SELECT ($HSQL)::int AS user"
run "audit: a list query with hostile bytes" 2 "$PGD_TOOL" audit -c "$dir/nolist.conf" \
	--users-query "SELECT 1 %{$L}"
run "audit: a service with hostile bytes" 0 "$PGD_TOOL" audit -c "$dir/nolist.conf" -s "$H" \
	--users-query "SELECT 'x@example.org' AS user"

# --- options and commands ---
run "an unknown command" 2 "$PGD_TOOL" "$H" &&
	shows "an unknown command, escaped" "unknown command '$E'"
for sub in pw check audit; do
	run "$sub: an unknown option byte" 2 "$PGD_TOOL" "$sub" $'-\x1b' &&
		shows "$sub: an unknown option byte, escaped" 'unknown option -\x1b'
	run "$sub: an unknown long option" 2 "$PGD_TOOL" "$sub" "--$H" &&
		shows "$sub: an unknown long option, escaped" "unknown option --$E"
done

# --- pw ---
run "pw: -r" 2 "$PGD_TOOL" pw -r "$H" -p x &&
	shows "pw: -r, escaped" "not '$E'"
run "pw: -s" 2 "$PGD_TOOL" pw -s "$H" -p x
run "pw: an operand" 2 "$PGD_TOOL" pw -p x "$H" &&
	shows "pw: an operand, escaped" "unexpected argument '$E'"
run "pw: -t, not verified" 1 "$PGD_TOOL" pw -t "{SHA512$H}x" -p x
run "pw: -t, verified" 0 "$PGD_TOOL" pw -t "{PLAIN}$H" -p "$H" &&
	shows "pw: -t, verified, escaped" "{PLAIN}$E (verified)"
run "pw: --password-file, missing" 2 "$PGD_TOOL" pw --password-file "$dir/$H" &&
	shows "pw: --password-file, escaped" "$work/$LE/$E: "
printf 'x\0y' >"$dir/nul"
run "pw: --password-file with a NUL" 2 "$PGD_TOOL" pw --password-file "$dir/nul" &&
	shows "pw: --password-file with a NUL, escaped" "$work/$LE/nul holds a NUL byte"

summary
