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
cleanup() { tests/pg-cluster.sh stop "$pgdir"; }
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

# Count every TAP line of every test; a test that failed without saying which case counts once.
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    ok = len(re.findall(r"^ok \d+(?! - .*# SKIP)", out, re.M))
    sk = len(re.findall(r"^ok \d+.*# SKIP", out, re.M))
    bad = len(re.findall(r"^not ok \d+", out, re.M))
    if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
        bad = 1
    if ok + bad + sk == 0 and t["result"] == "OK":
        ok = 1
    passed += ok; failed += bad; skipped += sk
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
counted=$?
[ $status -eq 0 ] && [ $counted -eq 0 ]
