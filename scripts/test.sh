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
# Arguments name meson tests to run; then the sanitizer and valgrind runs are left out.
#
# It refuses to run where installing its packages would remove one (a Dovecot host: the suite's
# cyrus-imapd conflicts with dovecot-imapd): install-deps.sh says so in one line, and the run
# ends before building anything. The steps are in scripts/lib/steps.sh.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# scripts/lib/steps.sh, with tests/lib/tap.sh
# shellcheck source=scripts/lib/steps.sh
. scripts/lib/steps.sh
root=$PWD
release=debian$(. /etc/os-release && echo "${VERSION_ID%%.*}")
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
outer=0 # a full run, not inside the trixie root: the roots and the tree check too
[ $# -eq 0 ] && [ "${PGD_IN_ROOT:-}" != 1 ] && outer=1
t0=$SECONDS
times=()
status=0
other=
other_skip=
# What the checkout holds before the run, for tests/tree/clean.sh at the end.
tree_before=$(mktemp /tmp/pgd-tree-before.XXXXXX)
git status --porcelain --untracked-files=all >"$tree_before" 2>/dev/null
trap 'rm -f "$tree_before"' EXIT
scripts/install-deps.sh || exit 1

build=${PGD_BUILD_DIR:-$root/build-test}
meson_setup "$build" -Dwerror=true -Dtests=enabled || exit 1
meson compile -C "$build" || exit 1

pgdir=$(mktemp -d /tmp/pgd-test-pg.XXXXXX)
trap test_cleanup EXIT
test_cluster_start "$pgdir" || exit 1

meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=1
results=("$build/meson-logs/testlog.json")
# The sanitizer and valgrind runs count in the closing line too. Only on a full run: arguments
# name a subset to run. (The fuzzers ran above, as the test 'fuzz': fuzz/run.sh.)
if [ $# -eq 0 ]; then
	sanitizers
	memcheck
fi
times+=("$release suite $((SECONDS - t0)) s")

if [ $outer -eq 1 ] && [ -n "$codename" ]; then
	clean_root "$codename" "$build/clean-root-$codename.tap"
	results+=("$build/clean-root-$codename.tap")
fi
[ $outer -eq 1 ] && [ "$release" = debian12 ] && debian13
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
