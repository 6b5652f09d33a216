#!/bin/bash
# SPDX-License-Identifier: MIT
# Installs what the tests need, builds with warnings as errors, starts a throwaway PostgreSQL
# (or uses the one named by PGHOST & co.), runs every test and ends with "N passed, N failed".
#
# A full run (no arguments) on Debian 12 then runs the same suite on Debian 13 in a trixie root
# (scripts/trixie.sh; PGD_SKIP_TRIXIE=1 skips it, saying so), builds and installs the package in
# a clean root of each release (tests/deb/clean-root.sh; PGD_SKIP_CLEAN_ROOT=1 skips it), and
# last checks that the checkout is as clean as before (tests/tree/clean.sh). It prints one line
# per release ("debian12: N passed, N failed", "debian13: ...") before the closing line, which
# counts them all. Inside the trixie root (PGD_IN_ROOT=1) only that release's suite runs.
#
# It refuses to run where installing its packages would remove one (a Dovecot host: the suite's
# cyrus-imapd conflicts with dovecot-imapd): install-deps.sh says so in one line, and the run
# ends before building anything.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
release=debian$(. /etc/os-release && echo "${VERSION_ID%%.*}")
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
full=0
[ $# -eq 0 ] && full=1
t0=$SECONDS
times=()
# What the checkout holds before the run, for tests/tree/clean.sh at the end.
tree_before=$(mktemp /tmp/pgd-tree-before.XXXXXX)
git status --porcelain --untracked-files=all >"$tree_before" 2>/dev/null
trap 'rm -f "$tree_before"' EXIT
scripts/install-deps.sh || { rm -f "$tree_before"; exit 1; }

build=${PGD_BUILD_DIR:-$root/build-test}
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" -Dwerror=true -Dtests=enabled >/dev/null || exit 1
else
	meson setup "$build" -Dwerror=true -Dtests=enabled >/dev/null || exit 1
fi
meson compile -C "$build" || exit 1

pgdir=$(mktemp -d /tmp/pgd-test-pg.XXXXXX)
cleanup() {
	rm -f "$tree_before"
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
	# pam_wrapper dlopen()s libpam with RTLD_DEEPBIND, which ASan refuses. Each release's
	# pam_wrapper reads its own variable to drop it (Debian 12's 1.1.4:
	# UID_WRAPPER_DISABLE_DEEPBIND, Debian 13's 1.1.7: PAM_WRAPPER_DISABLE_DEEPBIND): set the
	# one(s) that the installed library really holds. Reports go to files: the PAM tests capture
	# stderr.
	pw_so=$(dirname "$(pkg-config --variable=modules pam_wrapper)")/libpam_wrapper.so
	mapfile -t deepbind < <(grep -a -o -E '[A-Z_]+_DISABLE_DEEPBIND' "$pw_so" 2>/dev/null | sort -u)
	deepbind_env=()
	for v in "${deepbind[@]}"; do deepbind_env+=("$v=1"); done
	sanitize_start=$SECONDS
	env "${deepbind_env[@]}" \
		ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:log_path=$sanlogs/asan \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$sanlogs/ubsan \
		meson test -C "$asan" --suite unit --suite memcheck --num-processes 2 \
		--timeout-multiplier 4 --logbase sanitize --print-errorlogs || status=1
	results+=("$asan/meson-logs/sanitize.json")
	times+=("sanitizers $((SECONDS - sanitize_start)) s")
	# Proof that the sanitizers ran: the module is instrumented, pam_wrapper's switch was found
	# and set, and the PAM tests ran cases under it (a build or a switch that silently turned
	# the sanitizers off would pass everything above).
	python3 - "$asan" "$pw_so" "${deepbind[@]}" >"$asan/sanitizers-ran.tap" <<'PY'
import json, re, subprocess, sys
asan, pw_so, switches = sys.argv[1], sys.argv[2], sys.argv[3:]
n = 0
def check(name, cond, detail=""):
    global n
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {name}")
    if not cond and detail:
        print(f"# {detail}")
nm = subprocess.run(["nm", "-D", "--undefined-only", f"{asan}/pam_pgsql_dovecot.so"],
                    capture_output=True, text=True).stdout
check("the ASan build's module calls the ASan and UBSan runtimes",
      "__asan_" in nm and "__ubsan_" in nm)
check(f"pam_wrapper's DEEPBIND switch found in {pw_so} and set: {' '.join(switches) or 'none'}",
      len(switches) > 0)
cases = {}
for line in open(f"{asan}/meson-logs/sanitize.json"):
    t = json.loads(line)
    name = t["name"].rsplit(" / ", 1)[-1]  # "project:suite / name"
    cases[name] = (t["result"], len(re.findall(r"^ok \d+", t.get("stdout") or "", re.M)))
for name in ("pam", "hostile"):
    result, oks = cases.get(name, ("missing", 0))
    check(f"{name} ran under ASan + UBSan through pam_wrapper: {oks} cases passed ({result})",
          result == "OK" and oks > 0)
print(f"1..{n}")
PY
	cat "$asan/sanitizers-ran.tap"
	results+=("$asan/sanitizers-ran.tap")
	# The threaded test (suite threads) again under ThreadSanitizer.
	tsan=$build-tsan
	if [ -d "$tsan" ]; then
		meson setup --reconfigure "$tsan" -Dwerror=true -Dtests=enabled \
			-Db_sanitize=thread >/dev/null || exit 1
	else
		meson setup "$tsan" -Dwerror=true -Dtests=enabled -Db_sanitize=thread >/dev/null || exit 1
	fi
	meson compile -C "$tsan" >/dev/null || exit 1
	env "${deepbind_env[@]}" TSAN_OPTIONS=halt_on_error=1:log_path=$sanlogs/tsan \
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
	valgrind_start=$SECONDS
	# Not the threaded test (suite threads): valgrind runs one thread at a time, and on a busy
	# machine it ran past 15 minutes there; it runs under ASan + UBSan and TSan above.
	PGD_VALGRIND_SHIM=$build/tests/libpgd_valgrind_exec.so \
		meson test -C "$build" --suite memcheck --no-suite threads \
		--wrapper "$root/tests/valgrind.sh" \
		--timeout-multiplier 10 --logbase valgrind --print-errorlogs || status=1
	results+=("$build"/meson-logs/valgrind*.json)
	times+=("valgrind $((SECONDS - valgrind_start)) s")
fi

# Count every TAP line of every test of every run; a test that failed without saying which
# case counts once. A .tap file counts as one more test. Prints "P F S" last.
count() {
	python3 - "$@" <<'PY'
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
    try:
        if path.endswith(".tap"):
            out = open(path).read()
            p, f, s = count(out, "OK" if "not ok" not in out else "FAIL")
        else:
            for line in open(path):
                t = json.loads(line)
                a, b, c = count(t.get("stdout") or "", t["result"])
                p += a; f += b; s += c
    except OSError:
        f = 1
    print(f"#   {path}: {p} ok, {f} not ok, {s} skipped")
    passed += p; failed += f; skipped += s
print(passed, failed, skipped)
PY
}
# line LABEL "P F S": the closing-line format, with LABEL: before it when given.
line() {
	local p f s
	read -r p f s <<<"$2"
	echo "${1:+$1: }$p passed, $f failed$([ "$s" -gt 0 ] && echo ", $s skipped")"
}
add() {
	local a b c x y z
	read -r a b c <<<"$1"
	read -r x y z <<<"$2"
	echo "$((a + x)) $((b + y)) $((c + z))"
}
times+=("$release suite $((SECONDS - t0)) s")

# The package as an admin gets it, in a clean root of this release (built from debian/control's
# Build-Depends alone, installed with apt, a login through the root's own /etc/pam.d/imap).
clean_root() {
	local rel=$1 tap=$2 start=$SECONDS
	if [ "${PGD_SKIP_CLEAN_ROOT:-}" = 1 ]; then
		echo "SKIP $rel clean root: PGD_SKIP_CLEAN_ROOT=1"
		echo "ok 1 - the package in a clean $rel root # SKIP PGD_SKIP_CLEAN_ROOT=1" >"$tap"
		return
	fi
	tests/deb/clean-root.sh "$rel" "$root" >"$tap" 2>"$tap.log"
	sed 's/^/# /' "$tap"
	times+=("$rel clean root $((SECONDS - start)) s")
}
# scripts/demo.sh and scripts/test.sh on a Dovecot host of release REL, in a throwaway root.
dovecot_host() {
	local rel=$1 tap=$2 start=$SECONDS
	if [ "${PGD_SKIP_CLEAN_ROOT:-}" = 1 ]; then
		echo "SKIP $rel Dovecot host: PGD_SKIP_CLEAN_ROOT=1"
		echo "ok 1 - the front door on a $rel Dovecot host # SKIP PGD_SKIP_CLEAN_ROOT=1" >"$tap"
		return
	fi
	tests/deb/dovecot-host.sh "$root" "$rel" >"$tap" 2>"$tap.log"
	sed 's/^/# /' "$tap"
	times+=("$rel Dovecot host $((SECONDS - start)) s")
}
outer=0
[ $full -eq 1 ] && [ "${PGD_IN_ROOT:-}" != 1 ] && outer=1
if [ $outer -eq 1 ] && [ -n "$codename" ]; then
	clean_root "$codename" "$build/clean-root-$codename.tap"
	results+=("$build/clean-root-$codename.tap")
fi

# Debian 13, in its own root, from a Debian 12 host.
other=
other_skip=
if [ $outer -eq 1 ] && [ "$release" = debian12 ]; then
	if [ "${PGD_SKIP_TRIXIE:-}" = 1 ]; then
		other_skip="PGD_SKIP_TRIXIE=1"
		echo "SKIP debian13: $other_skip (the Debian 13 suite did not run)"
	else
		start=$SECONDS
		scripts/trixie.sh "$build/trixie"
		rc=$?
		times+=("debian13 suite (in its root) $((SECONDS - start)) s")
		if [ $rc -ne 77 ]; then
			other=$(cat "$build/trixie/count" 2>/dev/null || echo "0 1 0")
			[ $rc -eq 0 ] || status=1
			clean_root trixie "$build/clean-root-trixie.tap"
			other=$(add "$other" "$(count "$build/clean-root-trixie.tap" | tail -1)")
			# The front door on a Dovecot 2.4 host (tests/deb/dovecot-host.sh skips itself
			# inside the trixie root, where it would need a nested root without a cache).
			dovecot_host trixie "$build/dovecot-host-trixie.tap"
			other=$(add "$other" "$(count "$build/dovecot-host-trixie.tap" | tail -1)")
		else
			other_skip="the Debian 13 root could not be made from this machine's mirror"
		fi
	fi
fi

# Last: the checkout is as clean as it was (nothing made, nothing changed, no binary tracked).
if [ $outer -eq 1 ] && git rev-parse --git-dir >/dev/null 2>&1; then
	tests/tree/clean.sh "$root" "$tree_before" >"$build/clean-tree.tap"
	cat "$build/clean-tree.tap"
	results+=("$build/clean-tree.tap")
fi

counts=$(count "${results[@]}")
sed '$d' <<<"$counts"
mine=$(tail -1 <<<"$counts")
total=$mine
for t in "${times[@]}"; do echo "# time: $t"; done
echo "# time: total $((SECONDS - t0)) s"
line "$release" "$mine"
if [ -n "$other" ]; then
	line debian13 "$other"
	total=$(add "$mine" "$other")
elif [ -n "$other_skip" ]; then
	echo "debian13: SKIP, not run ($other_skip)"
fi
line "" "$total"
read -r _ failed _ <<<"$total"
[ $status -eq 0 ] && [ "$failed" -eq 0 ]
