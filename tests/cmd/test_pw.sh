#!/bin/bash
# SPDX-License-Identifier: MIT
# `pam-pgsql-dovecot pw`: options, exit statuses, where the password comes from, and the round
# trip: every hash it makes, the real `doveadm pw -t` accepts (skipped when doveadm is missing).
# Prints TAP.   usage: tests/cmd/test_pw.sh path/to/pam-pgsql-dovecot
set -uo pipefail
cmd=${1:?usage: test_pw.sh path/to/pam-pgsql-dovecot}
work=$(mktemp -d /tmp/pgd-cmd-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

# run EXPECTED-STATUS NAME ARGS...: runs the command (stdin from $stdin_text if set), keeps
# stdout in $out and stderr in $err.
stdin_text=
run() {
	local want=$1 name=$2 rc=0
	shift 2
	if [ -n "$stdin_text" ]; then
		printf '%s' "$stdin_text" | "$cmd" "$@" >"$work/out" 2>"$work/err" || rc=$?
	else
		"$cmd" "$@" </dev/null >"$work/out" 2>"$work/err" || rc=$?
	fi
	out=$(cat "$work/out")
	err=$(cat "$work/err")
	if [ "$rc" -eq "$want" ]; then
		ok "$name (exit $rc)"
		return 0
	fi
	not_ok "$name: exit $rc, expected $want" "stdout: $out" "stderr: $err"
	return 1
}
expect_that() { # NAME CONDITION-RESULT (0: ok)
	if [ "$2" = 0 ]; then ok "$1"; else not_ok "$1" "stdout: $out" "stderr: $err"; fi
}
contains() { [[ $1 == *"$2"* ]] && echo 0 || echo 1; }

# --- usage and dispatch
run 0 "--help" --help && expect_that "--help lists pw" "$(contains "$out" "pw ")"
run 2 "no command"
run 2 "unknown command" frobnicate
run 0 "pw --help" pw --help && expect_that "pw --help names -t" "$(contains "$out" "-t HASH")"
run 2 "unknown option" pw -Z
run 2 "unknown long option" pw --frob
run 2 "missing option value" pw -s
run 2 "unknown scheme" pw -s NOPE -p x && expect_that "unknown scheme says so" "$(contains "$err" "unknown scheme")"
run 2 "dropped scheme NTLM" pw -s NTLM -p x
run 2 "rounds not a number" pw -r abc -p x
run 2 "rounds zero" pw -r 0 -p x
run 2 "rounds out of range" pw -s SHA512-CRYPT -r 999 -p x
run 2 "rounds for a scheme without" pw -s SSHA -r 5 -p x
run 2 "-p with --password-file" pw -p x --password-file /dev/null
run 2 "-t with -s" pw -t '{PLAIN}x' -s PLAIN -p x
run 2 "stray argument" pw -p x extra
run 2 "DIGEST-MD5 without -u" pw -s DIGEST-MD5 -p x && expect_that "says it needs the login name" "$(contains "$err" "login name")"
run 2 "missing password file" pw --password-file "$work/none"

# --- listing
run 0 "pw -l" pw -l
count=$(wc -w <<<"$out")
[ "$count" -ge 29 ] && [[ " $out " == *" SHA512-CRYPT "* ]] && [[ " $out " == *" SCRAM-SHA-256 "* ]]
expect_that "-l lists the schemes ($count)" $?
[[ " $out " != *" NTLM "* ]]
expect_that "-l leaves out NTLM" $?

# --- making and verifying
run 0 "default scheme" pw -p secret && expect_that "default is SHA512-CRYPT" "$([[ $out == '{SHA512-CRYPT}$6$'* ]] && echo 0 || echo 1)"
hash=$out
run 0 "-t right password" pw -t "$hash" -p secret && expect_that "prints (verified)" "$(contains "$out" "(verified)")"
run 1 "-t wrong password" pw -t "$hash" -p Secret && expect_that "reason on stderr" "$(contains "$err" "mismatch")"
expect_that "the password is not echoed" "$([[ $err != *Secret* && $out != *Secret* ]] && echo 0 || echo 1)"
run 1 "-t malformed hash" pw -t '{PLAIN-MD5}abc' -p x && expect_that "says malformed" "$(contains "$err" "malformed")"
run 1 "-t unknown scheme" pw -t '{NTLM}00' -p x && expect_that "says unsupported" "$(contains "$err" "unsupported")"
run 1 "-t too costly" pw -t '{SHA512-CRYPT}$6$rounds=999999999$ab$cd' -p x && expect_that "says cap" "$(contains "$err" "cap")"
run 1 "-t yescrypt with t = 4656" pw -t '{SHA512-CRYPT}$y$j9T/szz$2ILFVcigwZKtxbGQrVdlp.$x' -p x &&
	expect_that "says cap" "$(contains "$err" "passes 4655 above cap 16")"
run 1 "-t \$sha1\$ with a sign" pw -t '{CRYPT}$sha1$+100000001$abcdefgh$x' -p x &&
	expect_that "says malformed" "$(contains "$err" "sha1crypt parameters not in the one form libxcrypt writes")"
run 1 "-t an unknown scheme is not echoed" pw -t '{Tr0ub4dor}&3' -p x &&
	expect_that "no part of the name on stderr" "$([[ $err != *Tr0* && $err != *ub4* ]] && echo 0 || echo 1)"
run 1 "-t {PLAIN-TRUNC}0- (every password, in Dovecot) refused" pw -t '{PLAIN-TRUNC}0-' -p x &&
	expect_that "says malformed" "$(contains "$err" "PLAIN-TRUNC length 0")"
run 1 "-t {PLAIN-TRUNC} length that wraps around" pw -t '{PLAIN-TRUNC}18446744073709551619-sec' -p sec &&
	expect_that "says malformed" "$(contains "$err" "overflows")"
run 2 "PLAIN-TRUNC of an empty password is not made" pw -s PLAIN-TRUNC -p ''
run 0 "-V" pw -s SSHA512 -V -p secret && expect_that "-V prints (verified)" "$([[ $out == '{SSHA512}'*' (verified)' ]] && echo 0 || echo 1)"
run 0 "-r rounds" pw -s SHA256-CRYPT -r 7000 -p secret && expect_that "rounds=7000 in the hash" "$(contains "$out" 'rounds=7000$')"
run 0 "lower-case scheme with suffix" pw -s ssha.hex -p secret && expect_that "printed upper case" "$([[ $out == '{SSHA.HEX}'* ]] && echo 0 || echo 1)"
run 0 "DIGEST-MD5 with -u" pw -s DIGEST-MD5 -u bob@example.org -p secret
digest=$out
run 0 "DIGEST-MD5 verified with -u" pw -t "$digest" -u bob@example.org -p secret
run 1 "DIGEST-MD5 other user" pw -t "$digest" -u alice@example.org -p secret
run 1 "DIGEST-MD5 verified without -u" pw -t "$digest" -p secret

# --- where the password comes from
stdin_text=$'secret\n'
run 0 "stdin: one line, newline removed" pw -t "$hash"
stdin_text='secret'
run 0 "stdin: no newline at the end" pw -t "$hash"
stdin_text=$'secret\nsecond line\n'
run 0 "stdin: only the first line" pw -t "$hash"
stdin_text=$'secret\r\n'
run 1 "stdin: a CR stays part of the password" pw -t "$hash"
stdin_text=$'pa ss\t"w\'d\n'
run 0 "stdin: making a hash" pw -s SHA256
stdin_hash=$out
stdin_text=
run 0 "stdin-made hash verifies" pw -t "$stdin_hash" -p $'pa ss\t"w\'d'
printf 'secret\n' >"$work/pw-nl"
printf 'secret' >"$work/pw"
run 0 "--password-file exact bytes" pw -t "$hash" --password-file "$work/pw"
run 1 "--password-file keeps the newline" pw -t "$hash" --password-file "$work/pw-nl"
printf 'a\0b' >"$work/pw-nul"
run 2 "--password-file with a NUL" pw -t "$hash" --password-file "$work/pw-nul"
printf '\xe9t\xe9 \xff' >"$work/pw-latin1"
run 0 "--password-file non-UTF-8" pw -s SSHA256 --password-file "$work/pw-latin1"
latin1_hash=$out

# the terminal: echo off, asked twice when making a hash (needs python3's pty)
if command -v python3 >/dev/null; then
	tty_run() { # tty_run ANSWER1 ANSWER2 ARGS...: prints "status<TAB>output"
		timeout 30 python3 - "$cmd" "$@" <<-'PY'
			import os, pty, sys, time
			cmd, a1, a2, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
			pid, fd = pty.fork()
			if pid == 0:
			    os.execv(cmd, [cmd] + args)
			out = b""
			answers = [a1, a2]
			answered = 0
			while True:
			    try:
			        chunk = os.read(fd, 1024)
			    except OSError:
			        break
			    if not chunk:
			        break
			    out += chunk
			    # answer each prompt once, when it shows (not before: the flush would drop it)
			    while answers and answered < out.count(b"password: ") + out.count(b"verify: "):
			        os.write(fd, answers.pop(0).encode() + b"\n")
			        answered += 1
			_, status = os.waitpid(pid, 0)
			sys.stdout.write("%d\t%s" % (os.WEXITSTATUS(status), out.decode(errors="replace").replace("\r", "").replace("\n", "|")))
		PY
	}
	res=$(tty_run 'tty secret' 'tty secret' pw -s SHA512-CRYPT)
	out=${res#*$'\t'}
	err=
	[ "${res%%$'\t'*}" = 0 ] && [[ $out == *'Enter new password:'*'Retype new password:'*'{SHA512-CRYPT}$6$'* ]] && [[ $out != *'tty secret'* ]]
	expect_that "terminal: asked twice, echo off" $?
	tty_hash=$(grep -o '{SHA512-CRYPT}[^|]*' <<<"$out")
	run 0 "terminal-made hash verifies" pw -t "$tty_hash" -p 'tty secret'
	res=$(tty_run 'one' 'two' pw -s SHA512-CRYPT)
	out=${res#*$'\t'}
	[ "${res%%$'\t'*}" = 2 ] && [[ $out == *'do not match'* ]]
	expect_that "terminal: answers that differ are refused" $?
	res=$(tty_run 'tty secret' '' pw -t "$tty_hash")
	out=${res#*$'\t'}
	[ "${res%%$'\t'*}" = 0 ] && [[ $out == *'Enter password to verify:'*'(verified)'* ]]
	expect_that "terminal: -t asks once" $?
else
	skip_case "terminal input" "python3 missing"
fi

# --- Dovecot 2.4's ARGON2: made as argon2id, verified whichever variant the value is
if "$cmd" pw -l | grep -qw ARGON2; then
	run 0 "pw -s ARGON2" pw -s ARGON2 -p secret && expect_that "pw -s ARGON2 makes {ARGON2}\$argon2id\$" "$(contains "$out" '{ARGON2}$argon2id$')"
	h=$out
	run 0 "pw -t verifies {ARGON2}" pw -t "$h" -p secret
	run 1 "pw -t {ARGON2} with a wrong password" pw -t "$h" -p wrong
	h=$("$cmd" pw -s ARGON2I -p secret)
	run 0 "pw -t verifies an argon2i value under {ARGON2}" pw -t "{ARGON2}${h#\{ARGON2I\}}" -p secret
else
	skip_case "pw -s ARGON2" "built without libsodium"
fi

# --- round trip through the real Dovecot
passwords=('secret' '' 'a' 'pässwörd 日本語' "it's \"quoted\" \$1\$ {x} a:b" $'tab\there' "$(printf 'long%.0s' {1..40})")
if ! command -v doveadm >/dev/null; then
	skip_case "round trip with doveadm pw -t" "doveadm not installed"
else
	# The schemes both know: ARGON2 is Dovecot 2.4's, unknown to 2.3's doveadm.
	doveadm pw -l | tr ' ' '\n' | sort >"$work/theirs"
	"$cmd" pw -l | tr ' ' '\n' | sort | comm -12 - "$work/theirs" >"$work/schemes"
	for scheme in $(cat "$work/schemes"); do
		bad=
		for pw in "${passwords[@]}"; do
			case $scheme in ARGON2*) [ "$pw" = secret ] || continue ;; esac
			[ "$scheme" = PLAIN-TRUNC ] && [ -z "$pw" ] && continue
			h=$("$cmd" pw -s "$scheme" -u bob@example.org -p "$pw" 2>&1) || { bad="make: $h"; break; }
			if ! msg=$(doveadm pw -t "$h" -u bob@example.org -p "$pw" 2>&1); then
				bad="doveadm rejects $h: $msg"
				break
			fi
		done
		if [ -z "$bad" ]; then ok "doveadm pw -t accepts our $scheme"; else not_ok "doveadm pw -t accepts our $scheme" "$bad"; fi
	done
	for enc in hex b64; do
		h=$("$cmd" pw -s "SCRAM-SHA-1.$enc" -p secret) && doveadm pw -t "$h" -p secret >/dev/null 2>&1
		expect_that "doveadm accepts our SCRAM-SHA-1.$enc" $?
	done
	h=$("$cmd" pw -s BLF-CRYPT -r 6 -p secret) && doveadm pw -t "$h" -p secret >/dev/null 2>&1
	expect_that "doveadm accepts our BLF-CRYPT -r 6" $?
	doveadm pw -t "$latin1_hash" -p $'\xe9t\xe9 \xff' >/dev/null 2>&1
	expect_that "doveadm accepts a hash of a non-UTF-8 password file" $?
	# and what doveadm makes, we verify
	for scheme in $(cat "$work/schemes"); do
		h=$(doveadm pw -s "$scheme" -u bob@example.org -p 'from doveadm')
		[ "$scheme" = PLAIN-TRUNC ] && h="{PLAIN-TRUNC}12-from doveadm"
		"$cmd" pw -t "$h" -u bob@example.org -p 'from doveadm' >/dev/null 2>&1
		expect_that "we verify doveadm's $scheme" $?
	done

	# doveadm pw -t's rule for a bare $1$salt$hash[$tail]: MD5-CRYPT of $1$salt$hash. Same
	# verdict and, when verified, the same line as the real doveadm.
	md5=$(doveadm pw -s MD5-CRYPT -p secret)
	md5=${md5#\{MD5-CRYPT\}}
	for v in "$md5" "$md5\$tail" "$md5\$a\$b" "$md5\$" "${md5%\$*}" "${md5%\$*}\$"; do
		for pw in secret Secret; do
			want=$(doveadm pw -t "$v" -p "$pw" 2>/dev/null)
			wrc=$?
			got=$("$cmd" pw -t "$v" -p "$pw" 2>/dev/null)
			grc=$?
			if { [ $wrc = 0 ] && [ $grc = 0 ] && [ "$want" = "$got" ]; } ||
				{ [ $wrc != 0 ] && [ $grc != 0 ]; }; then
				ok "bare $v, password $pw: as doveadm pw -t (exit $wrc)"
			else
				not_ok "bare $v, password $pw: doveadm exit $wrc, we exit $grc" \
					"doveadm: $want" "we: $got"
			fi
		done
	done

	# BLF-CRYPT reads 72 bytes of the password, whatever its length (libxcrypt's 512-byte
	# limit does not apply): what doveadm makes we verify, what we make doveadm verifies, and
	# the 72-byte and 71-byte prefixes get doveadm's verdict.
	text=$(yes 'The quick brown fox jumps over the lazy dog 0123456789.' | head -c 1200 | tr -d '\n')
	for len in 71 72 73 511 512 600 1000; do
		long=${text:0:$len}
		h=$(doveadm pw -s BLF-CRYPT -p "$long")
		mine=$("$cmd" pw -s BLF-CRYPT -p "$long")
		bad=
		"$cmd" pw -t "$h" -p "$long" >/dev/null 2>&1 || bad="we refuse doveadm's $h"
		doveadm pw -t "$mine" -p "$long" >/dev/null 2>&1 || bad="$bad; doveadm refuses our $mine"
		for cut in 72 71; do
			doveadm pw -t "$h" -p "${long:0:$cut}" >/dev/null 2>&1
			wrc=$?
			"$cmd" pw -t "$h" -p "${long:0:$cut}" >/dev/null 2>&1
			grc=$?
			[ $((wrc == 0)) = $((grc == 0)) ] || bad="$bad; first $cut bytes: doveadm $wrc, we $grc"
			doveadm pw -t "{CRYPT}${h#\{BLF-CRYPT\}}" -p "${long:0:$cut}" >/dev/null 2>&1
			wrc=$?
			"$cmd" pw -t "{CRYPT}${h#\{BLF-CRYPT\}}" -p "${long:0:$cut}" >/dev/null 2>&1
			grc=$?
			[ $((wrc == 0)) = $((grc == 0)) ] || bad="$bad; {CRYPT} first $cut bytes: doveadm $wrc, we $grc"
		done
		if [ -z "$bad" ]; then ok "BLF-CRYPT, a $len-byte password: as doveadm"; else not_ok "BLF-CRYPT, a $len-byte password" "$bad"; fi
	done
fi

summary
