#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sorts the samples of `perf script` (perf record -g) into where the time goes, as a markdown
table on stdout: bench/dovecot.sh's profile of the uncached path.

Each sample is charged to an owner: walking its call chain from the leaf, the first frame in a
library that is not the C library, the loader or the kernel (libc's malloc or a system call is
charged to whoever called it). Owners: hash (libcrypt), libpam, saslauthd, module (--module, the
.so name), libpq (and the TLS, GSSAPI and LDAP libraries it loads), server (the postgres binary),
Dovecot (its binaries and libdovecot*), loader (ld.so: dlopen, symbol lookup), and "libc or
kernel only" when no other frame is known (frame pointers end in a library built without them).
The samples are also split by process (comm). Then the module's functions: for each, the share
of the daemon's samples with it on the stack (inclusive) and at the leaf or charged to it (self).
"""
import argparse
import collections
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--module", default="pam_pgsql_dovecot.so")
args = ap.parse_args()

head = re.compile(r"^(\S.*?)\s+(\d+)(?:/\d+)?\s+(?:\[\d+\]\s+)?[\d.]+:\s+(\d+)?\s*\S*:?")
frame = re.compile(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)$")


def owner(dso, comm):
    d = dso.rsplit("/", 1)[-1]
    if d.startswith("libcrypt.so"):
        return "hash (libcrypt)"
    if d.startswith("libpam.so") or d.startswith("libpam_misc") or re.match(r"pam_\w+\.so", d) and d != args.module:
        return "libpam"
    if d == args.module:
        return "module"
    if d == "saslauthd":
        return "saslauthd"
    if d.startswith("libpq") or re.match(r"lib(ssl|crypto|gssapi|krb5|k5crypto|ldap|lber|sasl2|gnutls|com_err|keyutils|resolv|nettle|hogweed|gmp|idn2|unistring|p11-kit|tasn1|ffi|brotli|zstd|lz4|z)\b", d):
        return "libpq and its libraries"
    if d == "postgres":
        return "server (postgres)"
    if d.startswith("libdovecot") or "/dovecot/" in dso or d in ("auth", "dovecot", "anvil", "log", "config", "stats"):
        return "Dovecot"
    if d.startswith("ld-linux") or d.startswith("ld-"):
        return "loader (ld.so)"
    return None


def libc_or_kernel(dso):
    d = dso.rsplit("/", 1)[-1]
    return d.startswith("libc.so") or d.startswith("libc-") or d.startswith("libm.so") or dso.startswith("[") or d.startswith("libpthread")


samples = []  # (comm, [(sym, dso)...] leaf first)
cur = None
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.strip():
        if cur:
            samples.append(cur)
        cur = None
        continue
    if not line.startswith((" ", "\t")):
        m = re.match(r"^(.+?)\s+(\d+)", line)
        cur = (m.group(1).strip() if m else "?", [])
        continue
    m = frame.match(line)
    if m and cur is not None:
        sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
        cur[1].append((sym, m.group(2)))
if cur:
    samples.append(cur)

total = len(samples)
if total == 0:
    print("(no samples)")
    sys.exit(0)
by_owner = collections.Counter()
by_comm_owner = collections.defaultdict(collections.Counter)
kernel_part = collections.Counter()
chains = collections.defaultdict(collections.Counter)
mod_incl = collections.Counter()
mod_self = collections.Counter()
comm_total = collections.Counter()
for comm, frames in samples:
    o = None
    for sym, dso in frames:
        o = owner(dso, comm)
        if o:
            break
    if o is None:
        o = "libc or kernel only"
    by_owner[o] += 1
    if o in ("loader (ld.so)", "libc or kernel only"):
        # Where this time comes from: the chain from the leaf to the first frame of another
        # owner, kernel frames left out.
        path = []
        for sym, dso in frames:
            if dso.startswith("["):
                continue
            path.append(f"{sym} ({dso.rsplit('/', 1)[-1]})")
            if owner(dso, comm) not in (None, "loader (ld.so)"):
                break
        chains[o][" < ".join(path[-4:])] += 1
    by_comm_owner[comm][o] += 1
    comm_total[comm] += 1
    if frames and frames[0][1].startswith("["):
        kernel_part[o] += 1
    seen = set()
    first = True
    for sym, dso in frames:
        if dso.rsplit("/", 1)[-1] == args.module:
            if first:
                mod_self[sym] += 1
                first = False
            if sym not in seen:
                mod_incl[sym] += 1
                seen.add(sym)
        elif not libc_or_kernel(dso):
            first = False

print(f"{total} samples (perf record -g -F 499 on the daemon's processes and PostgreSQL's).\n")
print("| owner | share of all samples | of which in the kernel |")
print("|---|---:|---:|")
for o, n in by_owner.most_common():
    print(f"| {o} | {100 * n / total:.1f}% | {100 * kernel_part[o] / total:.1f}% |")
print("\nBy process:\n")
print("| process | share | its top owners |")
print("|---|---:|---|")
for comm, n in comm_total.most_common(8):
    tops = ", ".join(f"{o} {100 * k / total:.1f}%" for o, k in by_comm_owner[comm].most_common(5))
    print(f"| {comm} | {100 * n / total:.1f}% | {tops} |")
for o, c in chains.items():
    print(f"\nWhere the {o} samples come from (leaf < caller, the last 4 frames before another owner):\n")
    print("| share | chain |\n|---:|---|")
    for ch, n in c.most_common(8):
        print(f"| {100 * n / total:.1f}% | {ch or '(no user frame)'} |")
if mod_incl:
    print(f"\nThe module's functions ({args.module}), share of all samples:\n")
    print("| function | on the stack (inclusive) | self (module code, libc and kernel charged to it) |")
    print("|---|---:|---:|")
    for sym, n in mod_incl.most_common(25):
        print(f"| `{sym}` | {100 * n / total:.2f}% | {100 * mod_self[sym] / total:.2f}% |")
