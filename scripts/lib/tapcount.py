#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Counts the TAP lines of test runs for scripts/test.sh.

    tapcount.py RESULT...

Each RESULT is a meson testlog (.json: one test a line, its stdout holding TAP) or a .tap file
(which counts as one more test). A test that failed without saying which case counts once; a
test that passed without a TAP line counts as one case passed. Prints "#   PATH: P ok, F not ok,
S skipped" per RESULT, then "P F S" for them all on the last line. A RESULT that cannot be read
counts as one failure.
"""
import json
import re
import sys


def count(out, result):
    ok = len(re.findall(r"^ok \d+(?! - .*# SKIP)", out, re.M))
    sk = len(re.findall(r"^ok \d+.*# SKIP", out, re.M))
    bad = len(re.findall(r"^not ok \d+", out, re.M))
    if result not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
        bad = 1
    if ok + bad + sk == 0 and result == "OK":
        ok = 1
    return ok, bad, sk


passed = failed = skipped = 0
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
                p += a
                f += b
                s += c
    except OSError:
        f = 1
    print(f"#   {path}: {p} ok, {f} not ok, {s} skipped")
    passed += p
    failed += f
    skipped += s
print(passed, failed, skipped)
