#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""results.md of bench/dovecot.sh from the JSON files of auth_load, checks.txt, crypt-*.json and
machine.txt in the results folder (argument 1). Every ratio is over slices of the same run, the
arms alternated slice by slice; CPU per answer is the CPU time of a daemon's process tree (and
the postmaster's) in the measured window over the answers in that window."""
import glob
import json
import os
import re
import sys

out = sys.argv[1]
runs = {}
for p in glob.glob(os.path.join(out, "*.json")):
    j = json.load(open(p))
    if "label" in j:
        runs[j["label"]] = j
crypt = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "crypt-*.json")))]
machine = open(os.path.join(out, "machine.txt")).read() if os.path.exists(
    os.path.join(out, "machine.txt")) else ""


excluded = []


def slices(prefix, arm):
    """The arm's slices; one with a wrong answer or an error is left out of the figures and
    listed (pam_wrapper's copies of its service folder, /tmp/pam.X, share 62 names with every
    other pam_wrapper user of the machine: when they run out, pam_start fails)."""
    keep = []
    for k, j in sorted(runs.items()):
        if re.fullmatch(rf"{prefix}-{arm}-\d+", k):
            if j["wrong_answers"] or j["errors"]:
                excluded.append(f"{k} ({j['ok']} OK, {j['fail']} FAIL, {j['wrong_answers']} wrong, {j['errors']} errors)")
            else:
                keep.append(j)
    return keep


# What each tree costs idle, ms per second, from the slices with no load (idle-*).
idle_rate = {}
idles = [j for k, j in runs.items() if k.startswith("idle-")]
for j in idles:
    for name, ms in j["cpu_ms"].items():
        idle_rate[name] = idle_rate.get(name, 0) + ms / j["seconds"] / len(idles)
arm_of = {}  # label -> the arm's tree name in idle_rate


def arm_name(label):
    for a in ("sasl-prod", "sasl-pin", "sasl-wrap", "dovecot-cache-worker", "dovecot-cache", "dovecot"):
        if f"-{a}-" in label:
            return a
    return None


def agg(js):
    """answers/s, daemon and postgres CPU ms per answer (less their idle cost), wrong, errors, loads."""
    if not js:
        return None
    ans = sum(j["ok"] + j["fail"] for j in js)
    sec = sum(j["seconds"] for j in js)
    d = sum(j["cpu_ms"].get("daemon", 0) - idle_rate.get(arm_name(j["label"]), 0) * j["seconds"] for j in js)
    pg = sum(j["cpu_ms"].get("postgres", 0) - idle_rate.get("postgres", 0) * j["seconds"] for j in js)
    return {
        "rate": ans / sec if sec else 0,
        "answers": ans,
        "daemon": d / ans if ans else 0,
        "pg": pg / ans if ans else 0,
        "total": (d + pg) / ans if ans else 0,
        "wrong": sum(j["wrong_answers"] for j in js),
        "errors": sum(j["errors"] for j in js),
        "p50": sorted(j["p50_us"] for j in js)[len(js) // 2] / 1e3,
        "loads": [float(j["load_end"].split()[0]) for j in js],
        "n": len(js),
    }


def per_round(prefix, a, b, key):
    """The ratio a/b of key in each round (slice i of a against slice i of b)."""
    ra = {int(k.rsplit("-", 1)[1]): j for k, j in runs.items() if re.fullmatch(rf"{prefix}-{a}-\d+", k)}
    rb = {int(k.rsplit("-", 1)[1]): j for k, j in runs.items() if re.fullmatch(rf"{prefix}-{b}-\d+", k)}
    res = []
    for i in sorted(set(ra) & set(rb)):
        if any(j["wrong_answers"] or j["errors"] for j in (ra[i], rb[i])):
            continue
        x, y = agg([ra[i]]), agg([rb[i]])
        if x and y and y[key]:
            res.append(x[key] / y[key])
    return res


def rng(v):
    return f"{min(v):.2f}-{max(v):.2f}" if v else "n/a"


def verdict(ok):
    return "**pass**" if ok else "**FAIL**"


crypt_ms = None
if crypt:
    cs = sorted(c["cpu_ms_per_hash"] for c in crypt)
    crypt_ms = cs[len(cs) // 2]

print("# Dovecot's auth service against saslauthd with the module\n")
print("```\n" + machine.strip() + "\n```\n")
un = {arm: agg(slices("uncached", arm)) for arm in ("sasl-prod", "sasl-pin", "sasl-wrap", "dovecot")}
mix = {arm: agg(slices("mix", arm)) for arm in ("sasl-prod", "sasl-pin", "sasl-wrap", "dovecot-cache")}
rows = []
p, w, d = un["sasl-prod"], un["sasl-wrap"], un["dovecot"]
md = mix["dovecot-cache"]
checks = {}
cp = os.path.join(out, "checks.txt")
if os.path.exists(cp):
    for line in open(cp):
        f = line.split()
        if f:
            checks[f[0]] = dict(x.split("=", 1) for x in f[1:])
# Each target for the module's lines as they are (sasl-prod) and with pin_modules = yes, as the
# README's saslauthd lines have it (sasl-pin).
lines = {"sasl-prod": "the module's lines as they are", "sasl-pin": "with pin_modules = yes (the README's saslauthd lines)"}
for arm, how in lines.items():
    a = un.get(arm)
    if a and d:
        r = a["total"] / d["total"]
        rows.append((f"Uncached, no pam_wrapper, {how}: CPU per answer (daemon + PostgreSQL) ≤ 1.0 × Dovecot's",
                     f"{r:.2f} × ({a['total']:.3f} against {d['total']:.3f} ms; per round {rng(per_round('uncached', arm, 'dovecot', 'total'))})",
                     verdict(r <= 1.0)))
        r = a["pg"] / d["pg"] if d["pg"] else float("inf")
        rows.append((f"Uncached, {how}: PostgreSQL CPU per login ≤ 1.0 × Dovecot's",
                     f"{r:.2f} × ({a['pg']:.3f} against {d['pg']:.3f} ms; per round {rng(per_round('uncached', arm, 'dovecot', 'pg'))})",
                     verdict(r <= 1.0)))
for arm, how in lines.items():
    a = mix.get(arm)
    if a and md:
        r = a["rate"] / md["rate"]
        stale = checks.get(arm, {}).get("old_accepted", "?")
        rows.append((f"90/5/5 mix, both caches on, {how}: ≥ 4 × Dovecot's answers/s, 0 stale answers on our side",
                     f"{r:.2f} × ({a['rate']:.0f} against {md['rate']:.0f} answers/s; per round {rng(per_round('mix', arm, 'dovecot-cache', 'rate'))}); stale: {stale} of 100 old passwords accepted",
                     verdict(r >= 4 and stale == "0" and a["wrong"] == 0)))
if excluded:
    print("Slices left out of the figures (a wrong answer or an error in them): " + "; ".join(excluded) + ".\n")
print("| target | measured | verdict |\n|---|---|---|")
for t, m, v in rows:
    print(f"| {t} | {m} | {v} |")

print("\n## Uncached: right passwords of 1,000 users, 10 clients\n")
if idle_rate:
    print("CPU per answer is each tree's CPU in the measured window less what it costs idle (" +
          ", ".join(f"{k} {v:.1f} ms/s" for k, v in sorted(idle_rate.items())) +
          f", from {len(idles)} slices with no load), over the answers in the window.\n")
print("| arm | answers/s | p50 ms | CPU/answer: daemon ms | PostgreSQL ms | total ms | beyond one crypt ms | wrong answers | errors | slices | load (1 min) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
names = {"sasl-prod": "saslauthd + module, /etc/pam.d",
         "sasl-pin": "saslauthd + module, /etc/pam.d, pin_modules = yes",
         "sasl-wrap": "saslauthd + module, pam_wrapper",
         "dovecot": "Dovecot auth, no cache", "dovecot-cache": "Dovecot auth, auth_cache"}
for arm, a in un.items():
    if a:
        beyond = f"{a['total'] - crypt_ms:.3f}" if crypt_ms else "n/a"
        print(f"| {names[arm]} | {a['rate']:.0f} | {a['p50']:.2f} | {a['daemon']:.3f} | {a['pg']:.3f} | {a['total']:.3f} | {beyond} | {a['wrong']} | {a['errors']} | {a['n']} | {rng(a['loads'])} |")
if crypt_ms:
    print(f"\nOne raw SHA512-CRYPT (5000 rounds, libcrypt `crypt`, CPU time, median of {len(crypt)} measurements between the rounds): {crypt_ms:.3f} ms.")
if p and d:
    print(f"\nRatios, module (/etc/pam.d) over Dovecot: answers/s {p['rate'] / d['rate']:.2f} × (per round {rng(per_round('uncached', 'sasl-prod', 'dovecot', 'rate'))}), "
          f"CPU per answer {p['total'] / d['total']:.2f} × (daemon {p['daemon'] / d['daemon']:.2f} ×, PostgreSQL {p['pg'] / d['pg'] if d['pg'] else float('nan'):.2f} ×).")
q = un.get("sasl-pin")
if p and q:
    print(f"pin_modules = yes (the modules libpam loads for the service and /etc/pam.d/other kept loaded, instead of loaded and unloaded at every transaction): CPU per answer {q['total'] / p['total']:.2f} × "
          f"(per round {rng(per_round('uncached', 'sasl-pin', 'sasl-prod', 'total'))}; daemon {q['daemon'] - p['daemon']:+.3f} ms per answer); against Dovecot {q['total'] / d['total']:.2f} ×.")
if p and w:
    print(f"pam_wrapper over /etc/pam.d (the same saslauthd and module): CPU per answer {w['total'] / p['total']:.2f} × "
          f"(per round {rng(per_round('uncached', 'sasl-wrap', 'sasl-prod', 'total'))}; daemon {w['daemon'] - p['daemon']:+.3f} ms per answer), answers/s {w['rate'] / p['rate']:.2f} ×.")

print("\n## The 90/5/5 mix with each side's cache\n")
print("| arm | answers/s | p50 ms | CPU/answer: daemon ms | PostgreSQL ms | total ms | wrong answers | errors | slices | load (1 min) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for arm, a in mix.items():
    if a:
        n = {"sasl-prod": "saslauthd + module, /etc/pam.d, verify_cache_ttl = 3600",
             "sasl-pin": "the same with pin_modules = yes",
             "sasl-wrap": "the same under pam_wrapper",
             "dovecot-cache": "Dovecot, auth_cache_size = 10M, ttl 1 hour"}[arm]
        print(f"| {n} | {a['rate']:.0f} | {a['p50']:.2f} | {a['daemon']:.3f} | {a['pg']:.3f} | {a['total']:.3f} | {a['wrong']} | {a['errors']} | {a['n']} | {rng(a['loads'])} |")
for arm in ("sasl-prod", "sasl-pin", "sasl-wrap"):
    a = mix.get(arm)
    if a and md:
        print(f"\n{names[arm]} over Dovecot: answers/s {a['rate'] / md['rate']:.2f} × (per round {rng(per_round('mix', arm, 'dovecot-cache', 'rate'))}), CPU per answer {a['total'] / md['total']:.2f} ×.", end="")
print()

if checks:
    print("\n## Password change (100 users, one UPDATE, old passwords tried at once) and nologin\n")
    print("| arm | right logins before (3 × 100) | old password accepted after the change | new password accepted | old accepted on a second try | nologin user, right password |")
    print("|---|---:|---:|---:|---:|---|")
    cn = {"sasl-prod": "saslauthd + module, verify_cache_ttl = 3600",
          "sasl-pin": "saslauthd + module, verify_cache_ttl = 3600, pin_modules = yes",
          "dovecot-cache": "Dovecot, auth_cache",
          "dovecot-cache-worker": "Dovecot, auth_cache + auth_cache_verify_password_with_worker"}
    for arm, c in checks.items():
        print(f"| {cn.get(arm, arm)} | {c.get('warm_ok')} | {c.get('old_accepted')} | {c.get('new_accepted')} | {c.get('old_accepted_after')} | {c.get('nologin', '').replace('+', ' ')} |")

for arm in ("sasl-prod", "sasl-pin", "sasl-wrap", "dovecot"):
    pp = os.path.join(out, f"perf-{arm}.md")
    if os.path.exists(pp) and os.path.getsize(pp) > 0:
        print(f"\n## Profile, uncached: {names[arm]}\n")
        print(open(pp).read().rstrip())

mc = os.path.join(out, "module-cost.md")
if os.path.exists(mc) and os.path.getsize(mc) > 0:
    print("\n## Counted: a login's instructions (callgrind) and the statement's server cost (pgbench)")
    print(open(mc).read().rstrip())
