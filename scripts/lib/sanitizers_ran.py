#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Proof that the sanitizers ran, for scripts/test.sh (TAP on stdout).

    sanitizers_ran.py ASAN-BUILD PAM-WRAPPER-SO [SWITCH...]

The ASan build's module is instrumented (it calls the ASan and UBSan runtimes), pam_wrapper's
DEEPBIND switch was found in its library and set (SWITCH...), and the PAM tests ran cases under it
(ASAN-BUILD/meson-logs/sanitize.json). A build or a switch that silently turned the sanitizers off
would pass every test of that run.
"""
import json
import re
import subprocess
import sys

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
