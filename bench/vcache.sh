#!/bin/bash
# SPDX-License-Identifier: MIT
# The verified-login cache (verify_cache_ttl) in one command, as root on Debian: builds
# build-bench/ as bench/run.sh does, starts a throwaway PostgreSQL (tests/pg-cluster.sh), and
# runs, writing bench/results/DATE-vcache/ (results.md, the JSON and latency files):
#   1. pam_bench vcache: raw crypt_rn, login with the cache off, repeat / first login with it on,
#      wrong password with it on and off, alternated in one process ({SHA512-CRYPT}, unix socket)
#   2. saslauthd -a pam -r -n 5 twice at once (cache on and cache off, same conf otherwise),
#      loaded in turn (off, on, off, on, ... VC_SLICES slices of VC_SLICE seconds each) with the
#      mix: 1,000 users, 90% repeat logins, 5% new users, 5% wrong passwords
#   3. pam_bench soak --distinct 5000 with a 1,000-entry cache: RSS over VC_SOAK_N logins
# Knobs: VC_N (2000 iterations), VC_LIMIT (60 s), VC_SLICE (10 s), VC_SLICES (4 per arm),
# VC_WARM (60 s of the mix on each saslauthd first, not measured),
# VC_SOAK_N (100000), VC_SOAK_SECONDS (200), BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
# bench/lib.sh, with tests/lib/tap.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
N=${VC_N:-2000}
LIMIT=${VC_LIMIT:-60}
SLICE=${VC_SLICE:-10}
SLICES=${VC_SLICES:-4}
WARM=${VC_WARM:-60}
SOAK_N=${VC_SOAK_N:-100000}
SOAK_SECONDS=${VC_SOAK_SECONDS:-200}
bench_build "$root/build-bench" -Dbench=true -Dtests=disabled -Dwerror=true
bench_begin vcache

bench_pg_start "log_connections = on"
pw=benchpw$RANDOM$RANDOM
secrets=("$pw")
hash=$(bench_hash "$pw")
# One stored hash for every user: the MAC covers the user, so each is a login of its own.
bench_users <<SQL
INSERT INTO users VALUES ('bench', 'example.org', '$hash'), ('wrong', 'example.org', '$hash');
INSERT INTO users SELECT 'first' || i, 'example.org', '$hash' FROM generate_series(0, 20000) i;
INSERT INTO users SELECT 'u' || i, 'example.org', '$hash' FROM generate_series(0, 999) i;
INSERT INTO users SELECT 'new' || i, 'example.org', '$hash' FROM generate_series(0, 200000) i;
INSERT INTO users SELECT 's' || i, 'example.org', '{PLAIN}$pw' FROM generate_series(0, 4999) i;
ANALYZE users;
SQL
ci="host=$pg port=$port user=pgd_auth dbname=mail"

say "pam_bench vcache: alternated arms ($N iterations, at most $LIMIT s)"
run "$bin/pam_bench" vcache --module "$module" --server-log "$pg/server.log" --out "$out" \
	--label vcache-sha512-unix --connect "$ci" --user bench@example.org --password "$pw" \
	--stored "$hash" -n "$N" --time-limit "$LIMIT" | tee "$out/vcache.txt"

say "saslauthd -n 5, cache on and off at once, loaded in turn: 90/5/5 over 1,000 users"
for arm in on off; do
	mkdir -p "$work/pam-$arm" "$work/mux-$arm"
	{
		printf 'driver = pgsql\nconnect = %s\n' "$ci"
		printf "password_query = SELECT password FROM users WHERE userid = '%%n' AND domain = '%%d'\n"
		[ "$arm" = on ] && printf 'verify_cache_ttl = 3600\nverify_cache_size = 10000\n'
	} >"$work/$arm.conf"
	chmod 600 "$work/$arm.conf"
	# nodelay: saslauthd would sleep libpam's failure delay after each wrong password, in both
	# arms alike; the figure is about the work, not the sleep.
	printf 'auth required %s conf=%s nodelay\naccount required %s conf=%s\n' "$module" \
		"$work/$arm.conf" "$module" "$work/$arm.conf" >"$work/pam-$arm/imap"
	start_saslauthd "$work/pam-$arm" "$work/mux-$arm" "$work/saslauthd-$arm.log" \
		PAM_WRAPPER_DEBUGLEVEL=0 -r -n 5 || { cat "$work/saslauthd-$arm.log" >&2; exit 1; }
done
mix=(--user u --realm example.org --service imap --password "$pw" -c 10 --workers 5
	--users 1000 --mix 90,5 --warmup 0)
# Unmeasured first: each of the 5 workers of the cache-on saslauthd has its own cache, which
# the mix fills as it goes (the off one gets the same load, so both start warm).
for arm in off on; do
	run "$bin/sasl_load" --socket "$work/mux-$arm/mux" "${mix[@]}" --seconds "$WARM" \
		--out "$work" --label "sasl-warm-$arm" | tail -1
done
for i in $(seq 1 "$SLICES"); do
	for arm in off on; do
		run "$bin/sasl_load" --socket "$work/mux-$arm/mux" "${mix[@]}" --seconds "$SLICE" \
			--out "$out" --label "sasl-mix-$arm-$i" | tail -2
	done
done
stop_saslauthd

say "Soak: $SOAK_N logins of 5,000 users at random, 1,000-entry cache ({PLAIN}, unix socket)"
run "$bin/pam_bench" soak --module "$module" --server-log "$pg/server.log" --out "$out" \
	--label vcache-soak --connect "$ci" --user s@example.org --password "$pw" \
	--distinct 5000 --extra-line "verify_cache_ttl = 3600
verify_cache_size = 1000" -n "$SOAK_N" --time-limit "$SOAK_SECONDS" | tee "$out/soak.txt"

machine_txt

python3 - "$out" <<'PY' | tee "$out/results.md"
import glob, json, os, sys
out = sys.argv[1]
runs = {}
for p in glob.glob(os.path.join(out, "*.json")):
    j = json.load(open(p))
    runs[j["label"]] = j
v = runs["vcache-sha512-unix"]
def f(x, d=3):
    return "n/a" if x is None else f"{x:.{d}f}"
def verdict(ok):
    return "**pass**" if ok else "**FAIL**"
rows = []
r = v["repeat_cached_over_crypt"]
rows.append(("Repeat login, cache on: ≤ 0.3 × raw crypt_rn", f"{f(r)} × by the clock, {f(v.get('cpu_repeat_cached_over_crypt'))} × in CPU time of the login process (login with the cache off: {f(v['nocache_over_crypt'])} ×; first login with it on: {f(v['first_cached_over_crypt'])} ×)", verdict(r <= 0.3)))
w = v["wrong_cached_over_wrong_nocache"]
rows.append(("Wrong password, cache on: ≥ 0.95 × its cost with the cache off", f"{f(w)} × by the clock, {f(v.get('cpu_wrong_cached_over_wrong_nocache'))} × in CPU time ({f(v['wrong_cached_over_crypt'])} × crypt_rn)", verdict(w >= 0.95)))
on = [j for k, j in runs.items() if k.startswith("sasl-mix-on-")]
off = [j for k, j in runs.items() if k.startswith("sasl-mix-off-")]
if on and off:
    a_on = sum(j["ok"] + j["no"] for j in on) / sum(j["seconds"] for j in on)
    a_off = sum(j["ok"] + j["no"] for j in off) / sum(j["seconds"] for j in off)
    mism = sum(j["mismatched"] for j in on + off)
    rows.append(("saslauthd -n 5, 90/5/5 over 1,000 users: ≥ 4 × the answers/s of the cache off", f"{f(a_on / a_off, 2)} × ({a_on:.0f} against {a_off:.0f} answers/s, {len(on)} slices each, alternated; wrong answers: {mism})", verdict(a_on / a_off >= 4 and mism == 0)))
s = runs.get("vcache-soak")
if s:
    g = s["rss_growth_kib"]
    rows.append(("RSS over 100,000 logins of 5,000 distinct users, 1,000-entry cache: < 1 MiB growth", f"{g} KiB from login {s['rss_warm_at']} to {s['logins']} ({s['rss_warm_kib']} → {s['rss_end_kib']} KiB); {s['db_connections']} connection(s)", verdict(g < 1024 and s["logins"] >= 100000)))
print("| target | measured | verdict |\n|---|---|---|")
for t, m, vv in rows:
    print(f"| {t} | {m} | {vv} |")
print(f"\n{v['iterations']} alternated iterations:\n\n| arm | p50 ms | p99 ms | CPU p50 ms |\n|---|---:|---:|---:|")
for k, a in v["arms"].items():
    print(f"| {a['title']} | {a['p50_us'] / 1e3:.3f} | {a['p99_us'] / 1e3:.3f} | {a.get('cpu_p50_us', 0) / 1e3:.3f} |")
for k in sorted(runs):
    if k.startswith("sasl-mix-"):
        j = runs[k]
        print(f"\n{k}: {(j['ok'] + j['no']) / j['seconds']:.0f} answers/s ({j['ok']} OK, {j['no']} NO, {j['mismatched']} wrong answers), p50 OK {j['p50_us'] / 1e3:.2f} ms", end="")
print()
PY
rm -f "$out/vcache-soak-module.lat"
echo "results: ${out#$root/}"
