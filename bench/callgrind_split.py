#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A login's instructions, from bench/dovecot.sh's phase 5: callgrind_annotate's listings of
pam_bench soak ({PLAIN}: WORK/self-plain.txt, WORK/incl-plain.txt; SHA512-CRYPT: *-u0.txt; the
login counts in WORK/n-plain, WORK/n-u0). Prints markdown: instructions per login by library
(self), then the module's functions with what they call counted in (inclusive), as a share of a
{PLAIN} and of a SHA512-CRYPT login. Usage: callgrind_split.py WORK MODULE.so"""
import re
import sys

work, mod = sys.argv[1], sys.argv[2]
line = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S+?):(\S+)(?: \[(.*)\])?\s*$")
ours = ("login/", "conf/", "query/", "db/", "hash/", "util/", "pam_pgsql_dovecot.c", "hash.c")


def load(kind, u):
    rows = []
    for text in open(f"{work}/{kind}-{u}.txt"):
        m = line.match(text)
        if m:
            rows.append((int(m.group(1).replace(",", "")), m.group(2), m.group(3), m.group(4) or ""))
    return rows


def lib(obj, file):
    o = (obj or file).rsplit("/", 1)[-1]
    f = file.split("../")[-1]
    if o == mod or f.startswith(ours):
        return "module"
    for k, v in (("libcrypt", "hash (libcrypt)"), ("libpam", "libpam"), ("libpq", "libpq"),
                 ("libssl", "libssl"), ("libcrypto", "libcrypto"), ("libsodium", "libsodium"),
                 ("ld-linux", "loader (ld.so)"), ("libc.so", "libc"), ("vgpreload", "valgrind")):
        if k in o:
            return v
    return o or "?"


n = {u: int(open(f"{work}/n-{u}").read()) for u in ("plain", "u0")}
total = {}
for u, title in (("plain", "{PLAIN}"), ("u0", "{SHA512-CRYPT}")):
    rows = load("self", u)
    total[u] = sum(r[0] for r in rows) / n[u]
    by = {}
    for ir, file, fn, obj in rows:
        k = lib(obj, file)
        by[k] = by.get(k, 0) + ir / n[u]
    print(f"\n### {title}: {total[u]:,.0f} instructions per login (pam_start to pam_end, {n[u]} logins), where they run\n")
    print("| library | instructions per login | share |\n|---|---:|---:|")
    for k, v in sorted(by.items(), key=lambda x: -x[1])[:10]:
        print(f"| {k} | {v:,.0f} | {100 * v / total[u]:.1f}% |")

print("\n### The module's functions ({PLAIN} run): instructions per login, callees counted in\n")
print("| function | file | per login | of a {PLAIN} login | of a SHA512-CRYPT login |")
print("|---|---|---:|---:|---:|")
shown = 0
for ir, file, fn, obj in sorted(load("incl", "plain"), key=lambda r: -r[0]):
    if lib(obj, file) != "module":
        continue
    per = ir / n["plain"]
    print(f"| `{fn}` | {file.split('../')[-1]} | {per:,.0f} | {100 * per / total['plain']:.1f}% | {100 * per / total['u0']:.2f}% |")
    shown += 1
    if shown >= 30:
        break
