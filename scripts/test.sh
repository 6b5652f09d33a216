#!/bin/bash
# SPDX-License-Identifier: MIT
# Installs what the tests need, builds with warnings as errors, starts a throwaway PostgreSQL
# (or uses the one named by PGHOST & co.), runs every test and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/install-deps.sh || exit 1

build=${PGD_BUILD_DIR:-$root/build-test}
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" -Dwerror=true -Dtests=enabled >/dev/null || exit 1
else
	meson setup "$build" -Dwerror=true -Dtests=enabled >/dev/null || exit 1
fi
meson compile -C "$build" || exit 1

pgdir=$(mktemp -d /tmp/pgd-test-pg.XXXXXX)
cleanup() {
	tests/pg-cluster.sh stop "$pgdir"
	# pam_wrapper copies the service folder to /tmp/pam.? and removes it at exit, but not when
	# a sanitizer or valgrind ends the process first: remove the copies naming our module only.
	for p in /tmp/pam.?; do
		if [ -f "$p/imap" ] && grep -qF "$build" "$p/imap"; then
			rm -rf "$p"
		fi
	done
}
trap cleanup EXIT
env_file=$(mktemp)
tests/pg-cluster.sh start "$pgdir" >"$env_file" || exit 1
set -a
. "$env_file"
set +a
rm -f "$env_file"
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" -f tests/pam/fixtures.sql >/dev/null || exit 1

meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
status=$?
results=("$build/meson-logs/testlog.json")

# --- Sanitizers and valgrind (only on a full run: arguments name a subset to run) ----------
# The unit and PAM tests again in an ASan + UBSan build, the threaded test in a TSan build,
# then the PAM tests under valgrind
# memcheck (tests/valgrind.sh: no error, no byte definitely lost, no fd left open). Their
# results count in the line below. The fuzzers ran above, as the test 'fuzz' (fuzz/run.sh).
if [ $# -eq 0 ]; then
	asan=$build-asan
	sanlogs=$asan/sanitizer-logs
	if [ -d "$asan" ]; then
		meson setup --reconfigure "$asan" -Dwerror=true -Dtests=enabled \
			-Db_sanitize=address,undefined >/dev/null || exit 1
	else
		meson setup "$asan" -Dwerror=true -Dtests=enabled \
			-Db_sanitize=address,undefined >/dev/null || exit 1
	fi
	meson compile -C "$asan" >/dev/null || exit 1
	rm -rf "$sanlogs"
	mkdir -p "$sanlogs"
	# pam_wrapper dlopen()s libpam with RTLD_DEEPBIND, which ASan refuses; pam_wrapper reads
	# this (misnamed) variable to drop it. Reports go to files: the PAM tests capture stderr.
	UID_WRAPPER_DISABLE_DEEPBIND=1 \
		ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:log_path=$sanlogs/asan \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$sanlogs/ubsan \
		meson test -C "$asan" --suite unit --suite memcheck --num-processes 2 \
		--timeout-multiplier 4 --logbase sanitize --print-errorlogs || status=1
	results+=("$asan/meson-logs/sanitize.json")
	# The threaded test (suite threads) again under ThreadSanitizer.
	tsan=$build-tsan
	if [ -d "$tsan" ]; then
		meson setup --reconfigure "$tsan" -Dwerror=true -Dtests=enabled \
			-Db_sanitize=thread >/dev/null || exit 1
	else
		meson setup "$tsan" -Dwerror=true -Dtests=enabled -Db_sanitize=thread >/dev/null || exit 1
	fi
	meson compile -C "$tsan" >/dev/null || exit 1
	UID_WRAPPER_DISABLE_DEEPBIND=1 TSAN_OPTIONS=halt_on_error=1:log_path=$sanlogs/tsan \
		meson test -C "$tsan" --suite threads --timeout-multiplier 4 --logbase tsan \
		--print-errorlogs || status=1
	results+=("$tsan/meson-logs/tsan.json")
	if compgen -G "$sanlogs/*" >/dev/null; then
		echo "Sanitizer reports:" >&2
		cat "$sanlogs"/* >&2
		echo "not ok 1 - sanitizer reports in $sanlogs" >"$sanlogs/../sanitizer-reports.tap"
		results+=("$sanlogs/../sanitizer-reports.tap")
		status=1
	fi

	rm -f "$build"/meson-logs/valgrind*
	PGD_VALGRIND_SHIM=$build/tests/libpgd_valgrind_exec.so \
		meson test -C "$build" --suite memcheck --wrapper "$root/tests/valgrind.sh" \
		--timeout-multiplier 10 --logbase valgrind --print-errorlogs || status=1
	results+=("$build"/meson-logs/valgrind*.json)
fi

# Count every TAP line of every test of every run; a test that failed without saying which
# case counts once. A .tap file counts as one more test.
python3 - "${results[@]}" <<'PY'
import json, re, sys
passed = failed = skipped = 0
def count(out, result):
    ok = len(re.findall(r"^ok \d+(?! - .*# SKIP)", out, re.M))
    sk = len(re.findall(r"^ok \d+.*# SKIP", out, re.M))
    bad = len(re.findall(r"^not ok \d+", out, re.M))
    if result not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
        bad = 1
    if ok + bad + sk == 0 and result == "OK":
        ok = 1
    return ok, bad, sk
for path in sys.argv[1:]:
    p = f = s = 0
    if path.endswith(".tap"):
        out = open(path).read()
        p, f, s = count(out, "OK" if "not ok" not in out else "FAIL")
    else:
        for line in open(path):
            t = json.loads(line)
            a, b, c = count(t.get("stdout") or "", t["result"])
            p += a; f += b; s += c
    print(f"#   {path}: {p} ok, {f} not ok, {s} skipped")
    passed += p; failed += f; skipped += s
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
counted=$?
[ $status -eq 0 ] && [ $counted -eq 0 ]
