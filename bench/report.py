#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turns the JSON and latency files of one bench/run.sh run into results.md (the targets of
issue 5 with measured value and verdict, then every figure) and latency.gp (gnuplot: latency
distribution of each configuration, written to latency.svg).

    report.py RESULTS_DIR CORES
"""
import glob
import json
import math
import os
import re
import sys

out = sys.argv[1]
cores = int(sys.argv[2])
runs = {}
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    with open(path) as f:
        j = json.load(f)
    runs[j["label"]] = j


def fmt(v, digits=2):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}f}"


def verdict(ok):
    return "**pass**" if ok else "**FAIL**"


CMP = "`bench/run.sh` → `pam_bench compare --label {}`"
targets = []  # (target, measured, verdict, command)


def arm(label, name):
    return runs.get(label, {}).get("arms", {}).get(name)


for label, transport in (("sha512-unix", "unix socket"), ("sha512-tcp", "TCP + SCRAM")):
    r = runs.get(label)
    if not r:
        continue
    ov = r["overhead_in_crypts"]
    measured = (f"{fmt(ov, 3)} × crypt (login/crypt {fmt(r['login_over_crypt'], 3)} − "
                f"permit/crypt {fmt(r['permit_over_crypt'], 3)} − 1). Paired per iteration: "
                f"{fmt(r.get('overhead_paired_in_crypts'), 3)}; the raw query round trip alone "
                f"is {fmt(r.get('query_over_crypt'), 3)}; beyond it "
                f"{fmt(r.get('overhead_beyond_query_in_crypts'), 3)}. In CPU time of the "
                f"login process (no waiting): {fmt(r.get('cpu_overhead_in_crypts'), 3)}")
    if transport == "unix socket":
        targets.append(("SHA512-CRYPT, one process, unix socket: overhead above pam_permit "
                        "≤ 0.15 × raw crypt_r", measured, verdict(ov is not None and ov <= 0.15),
                        CMP.format(label)))
        cov = r.get("cpu_overhead_in_crypts")
        targets.append(("The same in CPU time of the login process (what the module computes, "
                        "not what it waits for; the machine's load does not change it)",
                        f"{fmt(cov, 3)} × crypt (median(login CPU/crypt CPU) − "
                        f"median(permit CPU/crypt CPU) − 1)",
                        verdict(cov is not None and cov <= 0.15), CMP.format(label)))
    else:
        targets.append(("SHA512-CRYPT over TCP + SCRAM: the same figure (reported)", measured,
                        "report", CMP.format(label)))

for label, transport in (("plain-unix", "unix socket"), ("plain-tcp", "TCP + SCRAM")):
    r = runs.get(label)
    if not r:
        continue
    ratio = r["login_rate_over_query_rate"]
    on, q = arm(label, "module"), arm(label, "query")
    measured = (f"{fmt(ratio, 3)} × (module p50 {fmt(on['p50_us'] / 1e3, 3)} ms, "
                f"query p50 {fmt(q['p50_us'] / 1e3, 3)} ms)")
    targets.append((f"{{PLAIN}}, {transport}: logins/s ≥ 0.5 × raw warm libpq query loop",
                    measured, verdict(ratio is not None and ratio >= 0.5), CMP.format(label)))

for label in ("sha512-unix", "plain-unix"):
    r = runs.get(label)
    if not r:
        continue
    c = r["cache_on_over_off"]
    note = "" if r["cache_off_supported"] else " (the module refused the cache key: no cache)"
    on, off = arm(label, "module"), arm(label, "module-nocache")
    measured = (f"{fmt(c, 2)}× ({fmt(on['per_s'], 0)} vs {fmt(off['per_s'], 0)} logins/s; "
                f"db connections {on['db_connections']} vs {off['db_connections']}){note}")
    name = "SHA512-CRYPT" if label.startswith("sha512") else "{PLAIN}"
    targets.append((f"Caching on vs off, unix socket, {name}: ≥ 5× logins/s", measured,
                    verdict(c is not None and c >= 5), CMP.format(label)))

s = runs.get("soak")
if s:
    n10 = s["db_connections_first_10000"]
    if n10 >= 0:
        measured, v = f"{n10} (server log, log_connections)", verdict(n10 == 1)
    else:
        measured = (f"{s['db_connections']} connections in {s['logins']:,} logins (time limit "
                    f"hit before 10,000)")
        v = "**FAIL**" if s["db_connections"] > 1 else "not shown"
    targets.append(("10,000 logins in one process open exactly 1 database connection",
                    measured, v, "`pam_bench soak --label soak`"))
    g = s["rss_growth_kib"]
    full = s["logins"] >= 100000
    measured = (f"{g} KiB from login {s['rss_warm_at']:,} to {s['logins']:,} "
                f"(RSS {s['rss_warm_kib']} → {s['rss_end_kib']} KiB)")
    targets.append(("RSS flat: < 1 MiB growth over 100,000 logins",
                    measured + ("" if full else " — time limit hit before 100,000"),
                    verdict(full and g < 1024) if full else
                    ("**FAIL**" if g >= 1024 else "not shown"), "`pam_bench soak --label soak`"))

vg = os.path.join(out, "valgrind.log")
if os.path.exists(vg):
    text = open(vg).read()
    def lost(kind):
        m = re.search(kind + r" lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
        return int(m.group(1).replace(",", "")) if m else 0
    d, i = lost("definitely"), lost("indirectly")
    errs = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    nerr = int(errs.group(1)) if errs else -1
    targets.append(("valgrind reports no leak (SHA512-CRYPT logins in one process)",
                    f"definitely lost {d} B, indirectly lost {i} B; {nerr} errors",
                    verdict(d == 0 and i == 0 and nerr == 0),
                    "`valgrind --leak-check=full pam_bench soak -n 200`"))

crypt = arm("sha512-unix", "crypt")
for label in sorted(k for k in runs if k.startswith("saslauthd")):
    r = runs[label]
    if not crypt:
        continue
    need = 0.75 * cores / (crypt["p50_us"] / 1e6)
    cpu = ""
    cpath = os.path.join(out, label + ".cpu")
    if os.path.exists(cpath) and r["ok"] > 0:
        st, pt, hz = (int(x) for x in open(cpath).read().split())
        sms, pms = st / hz * 1e3 / r["ok"], pt / hz * 1e3 / r["ok"]
        r["cpu_sasl_ms"], r["cpu_pg_ms"] = sms, pms
        ccpu = crypt.get("cpu_p50_us") or crypt["p50_us"]
        cpu = (f"; CPU per login: saslauthd {fmt(sms, 2)} ms (= {fmt(sms / (ccpu / 1e3), 2)}"
               f" × the CPU time of one crypt_rn), server {fmt(pms, 2)} ms, so {cores} cores "
               f"allow at most "
               f"~{fmt(cores / ((sms + pms) / 1e3), 0)} logins/s")
    targets.append((f"saslauthd -n {r['workers']}, {r['clients']} clients, {cores} cores: "
                    f"logins/s ≥ 0.75 × cores / crypt time",
                    f"{fmt(r['per_s'], 0)} logins/s vs {fmt(need, 0)} "
                    f"(crypt p50 {fmt(crypt['p50_us'] / 1e3, 3)} ms); "
                    f"{r['ok']} OK, {r['no']} NO, {r['errors']} errors{cpu}",
                    verdict(r["per_s"] >= need and r["no"] == 0 and r["errors"] == 0),
                    f"`sasl_load -c {r['clients']}` → `saslauthd -a pam -r -n {r['workers']}`"))

for label in sorted(k for k in runs if k.startswith("sasl-frozen")):
    r = runs[label]
    t = runs.get(label.replace("frozen", "thawed"))
    after = (f"; thawed: {t['ok']} OK, {t['no']} NO, {t['errors']} errors in {fmt(t['seconds'], 0)} s"
             if t else "")
    ok = r["errors"] == 0 and r["ok"] == 0 and r["no"] > 0 and t is not None and \
        t["errors"] == 0 and t["no"] == 0 and t["ok"] > 0
    targets.append((f"Database frozen, through saslauthd -n {r['workers']}: every request "
                    f"answered, no worker stuck",
                    f"{r['no']} NO, {r['errors']} unanswered in {fmt(r['seconds'], 0)} s; "
                    f"answers after p50 {fmt(r['no_p50_us'] / 1e6, 2)} s, slowest "
                    f"{fmt(r['no_max_us'] / 1e6, 2)} s (the conf sets no query_timeout: the "
                    f"module's default; the back-off answers the rest at once){after}",
                    verdict(ok), f"`sasl_load --expect-no` → `saslauthd -n {r['workers']}`"))

for label in ("frozen-unix", "frozen-tcp"):
    r = runs.get(label)
    if not r:
        continue
    tr = "unix socket" if label.endswith("unix") else "TCP"
    qt = f"query_timeout {fmt(r['query_timeout_s'], 0)} s" + (
        "" if r["query_timeout_supported"] else " (key refused: module default assumed)")
    ok = (not r["stuck"] and r["frozen_unavail_within_bound"] == r["frozen_logins"])
    targets.append((f"Database frozen (SIGSTOP), {tr}: every login PAM_AUTHINFO_UNAVAIL "
                    f"within query_timeout + 1 s",
                    f"{r['frozen_unavail_within_bound']}/{r['frozen_logins']} within "
                    f"{fmt(r['bound_s'], 0)} s, slowest {fmt(r['frozen_max_s'], 3)} s "
                    f"[{r['frozen_codes']}]{' — a login got stuck' if r['stuck'] else ''}; "
                    f"{qt}; libpam then sleeps ~{fmt(r['libpam_fail_delay_mean_s'], 1)} s; "
                    f"after SIGCONT the first login succeeds after "
                    f"{fmt(r.get('after_thaw_s'), 3)} s",
                    verdict(ok), f"`frozen --label {label}`"))
    rec = r["recovery_s"]
    targets.append((f"Server restarted, {tr}: logins succeed within 2 s of it accepting "
                    f"connections",
                    f"{fmt(rec, 3)} s ({r['recovery_attempts']} attempts); while down "
                    f"{r['down_unavail']}/{r['down_logins']} AUTHINFO_UNAVAIL, slowest "
                    f"{fmt(r['down_max_s'], 3)} s",
                    verdict(rec is not None and 0 <= rec <= 2), f"`frozen --label {label}`"))
    targets.append((f"No file descriptor leaked ({tr}, freeze + restart)",
                    f"{r['fds_before']} before, {r['fds_after']} after",
                    verdict(r["fds_before"] == r["fds_after"]), f"`frozen --label {label}`"))

md = []
md.append("# Benchmark results\n")
machine = open(os.path.join(out, "machine.txt")).read().strip().splitlines()
md.append("Machine: " + "; ".join(machine) + "\n")
md.append("Command: `bench/run.sh` (every command it ran, secrets masked: `commands.txt`). "
          "Chart: `latency.svg`. What each figure means: `bench/README.md`.\n")
md.append("## Targets (issue 5)\n")
md.append("| target | measured | verdict | command |")
md.append("|---|---|---|---|")
for t in targets:
    md.append("| " + " | ".join(t) + " |")

md.append("\n## One process, alternated arms\n")
md.append("Each configuration alternates its arms iteration by iteration (A B C D E, "
          "E D C B A, ...) in one process; ratios are medians of per-iteration ratios.\n")
md.append("| configuration | iterations | login/crypt | permit/crypt | overhead (crypts) | "
          "paired overhead | query/crypt | overhead − query (crypts) | CPU-time overhead | "
          "login rate / query rate | cache on / off | peak RSS KiB |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for label in ("sha512-unix", "sha512-tcp", "plain-unix", "plain-tcp"):
    r = runs.get(label)
    if r:
        md.append(f"| {label} | {r['iterations']} | {fmt(r['login_over_crypt'], 3)} | "
                  f"{fmt(r['permit_over_crypt'], 3)} | {fmt(r['overhead_in_crypts'], 3)} | "
                  f"{fmt(r.get('overhead_paired_in_crypts'), 3)} | "
                  f"{fmt(r.get('query_over_crypt'), 3)} | "
                  f"{fmt(r.get('overhead_beyond_query_in_crypts'), 3)} | "
                  f"{fmt(r.get('cpu_overhead_in_crypts'), 3)} | "
                  f"{fmt(r['login_rate_over_query_rate'], 3)} | "
                  f"{fmt(r['cache_on_over_off'], 2)} | {r['peak_rss_kib']} |")
md.append("")
md.append("| configuration | arm | n | logins/s | p50 ms | p99 ms | db connections opened |")
md.append("|---|---|---:|---:|---:|---:|---:|")
for label in ("sha512-unix", "sha512-tcp", "plain-unix", "plain-tcp"):
    r = runs.get(label)
    if not r:
        continue
    for name, a in r["arms"].items():
        conns = a["db_connections"] if name.startswith("module") else ""
        md.append(f"| {label} | {a['title']} | {a['n']} | {fmt(a['per_s'], 0)} | "
                  f"{fmt(a['p50_us'] / 1e3, 3)} | {fmt(a['p99_us'] / 1e3, 3)} | {conns} |")

if s:
    md.append("\n## Long run (one process, {PLAIN}, unix socket, cache on)\n")
    md.append(f"{s['logins']:,} logins in {fmt(s['seconds'], 1)} s ({fmt(s['per_s'], 0)} "
              f"logins/s, p50 {fmt(s['p50_us'] / 1e3, 3)} ms, p99 {fmt(s['p99_us'] / 1e3, 3)} "
              f"ms); database connections: {s['db_connections_first_10000']} during the first "
              f"10,000 logins, {s['db_connections']} in all; RSS {s['rss_warm_kib']} KiB "
              f"after {s['rss_warm_at']:,} logins, {s['rss_end_kib']} KiB at the end, peak "
              f"{s['peak_rss_kib']} KiB; descriptors {s['fds_warm']} → {s['fds_end']}. "
              f"RSS every 1,000 logins: `soak-rss.dat`.")

sasl = [runs[k] for k in sorted(runs) if k.startswith("saslauthd")]
if sasl:
    md.append("\n## Through saslauthd (SHA512-CRYPT, unix socket, pam_wrapper)\n")
    md.append("| workers | clients | logins/s | p50 ms | p99 ms | OK | NO | errors | "
              "saslauthd CPU ms/login | server CPU ms/login |")
    md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in sasl:
        md.append(f"| {r['workers']} | {r['clients']} | {fmt(r['per_s'], 0)} | "
                  f"{fmt(r['p50_us'] / 1e3, 3)} | {fmt(r['p99_us'] / 1e3, 3)} | {r['ok']} | "
                  f"{r['no']} | {r['errors']} | {fmt(r.get('cpu_sasl_ms'), 2)} | "
                  f"{fmt(r.get('cpu_pg_ms'), 2)} |")
with open(os.path.join(out, "results.md"), "w") as f:
    f.write("\n".join(md) + "\n")

# Latency distribution: one CDF file per series, two panels.
def cdf(src, dst):
    vals = sorted(float(x) for x in open(src) if x.strip())
    if not vals:
        return False
    n = len(vals)
    step = max(1, n // 400)
    with open(dst, "w") as f:
        for k in list(range(0, n, step)) + [n - 1]:
            f.write(f"{vals[k] / 1e3:.4f} {100.0 * (k + 1) / n:.3f}\n")
    return True


def series(items):
    plots = []
    for src, title, style in items:
        p = os.path.join(out, src)
        if os.path.exists(p) and cdf(p, p.replace(".lat", ".cdf")):
            plots.append(f"'{src.replace('.lat', '.cdf')}' using 1:2 with lines {style} "
                         f"title '{title}'")
    return ", \\\n     ".join(plots)


left = [("sha512-unix-module.lat", "module, unix, cache on", "lw 2 lc 1"),
        ("sha512-unix-module-nocache.lat", "module, unix, cache off", "lw 2 lc 1 dt 2"),
        ("sha512-tcp-module.lat", "module, TCP+SCRAM, cache on", "lw 2 lc 2"),
        ("sha512-tcp-module-nocache.lat", "module, TCP+SCRAM, cache off", "lw 2 lc 2 dt 2"),
        ("sha512-unix-crypt.lat", "raw crypt_rn", "lw 2 lc 3"),
        ("sha512-unix-permit.lat", "pam_permit floor", "lw 2 lc 8")]
for r in sasl:
    left.append((f"{r['label']}.lat",
                 f"saslauthd -n {r['workers']}, {r['clients']} clients", "lw 2 lc 4"
                 if r["workers"] == cores else "lw 2 lc 7"))
right = [("plain-unix-module.lat", "module, unix, cache on", "lw 2 lc 1"),
         ("plain-unix-module-nocache.lat", "module, unix, cache off", "lw 2 lc 1 dt 2"),
         ("plain-tcp-module.lat", "module, TCP+SCRAM, cache on", "lw 2 lc 2"),
         ("plain-tcp-module-nocache.lat", "module, TCP+SCRAM, cache off", "lw 2 lc 2 dt 2"),
         ("plain-unix-query.lat", "raw libpq query, unix", "lw 2 lc 3"),
         ("plain-tcp-query.lat", "raw libpq query, TCP", "lw 2 lc 3 dt 2"),
         ("plain-unix-permit.lat", "pam_permit floor", "lw 2 lc 8")]
gp = f"""set terminal svg size 1400,680 dynamic font 'sans,11' background rgb 'white'
set output 'latency.svg'
set termoption noenhanced
set multiplot layout 1,2 title "Latency distribution per login ({os.path.basename(out)}, {cores} cores)"
set logscale x
set xlabel 'latency (ms, log scale)'
set ylabel 'percent of logins at or below'
set yrange [0:100]
set grid
set key below maxrows 4 font ',10'
set title '{{SHA512-CRYPT}} (5000 rounds)'
plot {series(left)}
set title '{{PLAIN}} (no hashing cost)'
plot {series(right)}
unset multiplot
"""
with open(os.path.join(out, "latency.gp"), "w") as f:
    f.write(gp)
