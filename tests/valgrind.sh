#!/bin/bash
# SPDX-License-Identifier: MIT
# meson test --wrapper for the PAM tests (suite memcheck): runs the test under valgrind memcheck
# (through tests/valgrind_exec.c, since the tests re-exec themselves), then fails it on any
# memory error, on any byte definitely lost, or on a file descriptor left open at exit that was
# not inherited (valgrind 3.19 reports those without failing). Needs PGD_VALGRIND_SHIM, the
# path of the built valgrind_exec library. Logs stay in $PGD_VALGRIND_LOGS (default /tmp).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${PGD_VALGRIND_SHIM:?path of libpgd_valgrind_exec.so}"
logs=$(mktemp -d "${PGD_VALGRIND_LOGS:-/tmp}/pgd-valgrind.XXXXXX")
export PGD_VALGRIND_ARGS="--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --track-fds=yes --num-callers=30
	--suppressions=$here/valgrind.supp --log-file=$logs/memcheck.%p.log"
PGD_VALGRIND_ARGS=$(tr '\n\t' '  ' <<<"$PGD_VALGRIND_ARGS")
# Only the test gets pam_wrapper (and the shim): this script's own helpers would each make a
# copy of the service folder.
preload="${LD_PRELOAD:-} $PGD_VALGRIND_SHIM"
unset LD_PRELOAD
LD_PRELOAD=$preload "$@"
rc=$?
bad=0
shopt -s nullglob
files=("$logs"/memcheck.*.log)
# Under valgrind pam_wrapper sets itself up more than once per process and removes only its
# last copy of the service folder (/tmp/pam.X, with the owner's pid in it): remove the others.
for f in "${files[@]}"; do
	pid=${f##*/memcheck.}
	pid=${pid%.log}
	for d in /tmp/pam.?; do
		if [ -f "$d/pid" ] && [ "$(cat "$d/pid")" = "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			rm -rf "$d"
		fi
	done
done
if [ ${#files[@]} -eq 0 ]; then
	echo "valgrind.sh: valgrind did not run (no log in $logs)" >&2
	bad=1
fi
for f in "${files[@]}"; do
	if grep -q 'ERROR SUMMARY: [1-9]' "$f" || grep -q 'definitely lost: [1-9]' "$f"; then
		echo "valgrind.sh: memory errors or leaks, see $f" >&2
		bad=1
	fi
	# An "Open ... descriptor/socket" block not followed by "<inherited from parent>".
	if awk '/Open (file descriptor|AF_[A-Z0-9]+ socket) [0-9]+/ { open = $0; next }
		open != "" { if ($0 !~ /inherited from parent/) { print open; found = 1 } open = "" }
		END { exit found ? 0 : 1 }' "$f" >&2; then
		echo "valgrind.sh: file descriptor left open at exit, see $f" >&2
		bad=1
	fi
done
if [ $rc -ne 0 ] || [ $bad -ne 0 ]; then
	[ $rc -ne 0 ] || rc=1
	cat "${files[@]}" >&2
	exit $rc
fi
rm -rf "$logs"
exit 0
