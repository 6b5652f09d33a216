#!/bin/bash
# SPDX-License-Identifier: MIT
# verify_cache_stale_if_error under load, in one command, as root on Debian: builds
# build-bench/ as bench/run.sh does, starts a throwaway PostgreSQL (tests/pg-cluster.sh) and two
# saslauthd -a pam -r -n OUT_WORKERS at once, the same conf (verify_cache_ttl = 3600) but for
# verify_cache_stale_if_error: absent ("off") or OUT_STALE seconds ("on"). Then, per arm at once:
#   1. warm-up: OUT_WARM s of right logins over OUT_USERS users (every worker caches them all)
#   2. OUT_SECONDS s of right logins over those users; OUT_BEFORE s in, the primary is stopped
#      (tests/pg-cluster.sh halt) for OUT_DOWN s, then started again (resume); while it is
#      down, a second client sends wrong passwords for the same users
# and counts: right logins refused (the outage's cost) and wrong ones accepted (must be 0).
# The target with the option on: 0 cached users refused, 0 wrong accepted.
# Writes bench/results/DATE-outage/ (results.md, the JSON files, commands.txt, machine.txt).
# Knobs: OUT_USERS (20), OUT_WORKERS (5), OUT_CLIENTS (4), OUT_WARM (15), OUT_SECONDS (30),
# OUT_BEFORE (10), OUT_DOWN (10), OUT_STALE (60), BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
# bench/lib.sh, with tests/lib/tap.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
USERS=${OUT_USERS:-20}
WORKERS=${OUT_WORKERS:-5}
CLIENTS=${OUT_CLIENTS:-4}
WARM=${OUT_WARM:-15}
SECONDS_=${OUT_SECONDS:-30}
BEFORE=${OUT_BEFORE:-10}
DOWN=${OUT_DOWN:-10}
STALE=${OUT_STALE:-60}
bench_build "$root/build-bench" -Dbench=true -Dtests=disabled -Dwerror=true
bench_begin outage
halted=0
bench_before_cleanup() { [ "$halted" = 0 ] || tests/pg-cluster.sh resume "$pg"; }

bench_pg_start
pw=outagepw$RANDOM$RANDOM
secrets=("$pw")
hash=$(bench_hash "$pw")
bench_users <<SQL
INSERT INTO users SELECT 'u' || i, 'example.org', '$hash' FROM generate_series(0, $((USERS - 1))) i;
SQL

say "saslauthd -n $WORKERS twice: verify_cache_stale_if_error off and $STALE"
for arm in off on; do
	mkdir -p "$work/pam-$arm" "$work/mux-$arm"
	{
		printf 'driver = pgsql\nconnect = %s\nquery_timeout = 2\n' "$PGD_TEST_CONNINFO"
		printf "password_query = SELECT password FROM users WHERE userid = '%%n' AND domain = '%%d'\n"
		printf 'verify_cache_ttl = 3600\n'
		[ "$arm" = on ] && printf 'verify_cache_stale_if_error = %s\n' "$STALE"
	} >"$work/$arm.conf"
	chmod 600 "$work/$arm.conf"
	printf 'auth required %s conf=%s nodelay\naccount required %s conf=%s\n' "$module" \
		"$work/$arm.conf" "$module" "$work/$arm.conf" >"$work/pam-$arm/imap"
	start_saslauthd "$work/pam-$arm" "$work/mux-$arm" "$work/saslauthd-$arm.log" \
		PAM_WRAPPER_DEBUGLEVEL=2 -r -n "$WORKERS" || { cat "$work/saslauthd-$arm.log" >&2; exit 1; }
done
common=(--user u --realm example.org --service imap --password "$pw" -c "$CLIENTS"
	--workers "$WORKERS" --users "$USERS" --warmup 0 --timeout 10)

# load KIND MIX SECONDS OUT: sasl_load on both arms at once, in the background, labels KIND-ARM;
# their pids appended to lpids (waited for by pid: a bare wait would wait for saslauthd too)
load() {
	local arm
	for arm in off on; do
		run "$bin/sasl_load" --socket "$work/mux-$arm/mux" "${common[@]}" --mix "$2" \
			--seconds "$3" --out "$4" --label "$1-$arm" >"$work/$1-$arm.txt" &
		lpids+=($!)
	done
}

say "Warm-up: $WARM s of right logins on both"
lpids=()
load warm 100,0 "$WARM" "$work"
for p in "${lpids[@]}"; do wait "$p"; done

say "$SECONDS_ s of right logins; the primary down from $BEFORE s to $((BEFORE + DOWN)) s"
lpids=()
load right 100,0 "$SECONDS_" "$out"
sleep "$BEFORE"
run tests/pg-cluster.sh halt "$pg"
halted=1
t_down=$(date +%s.%N)
load wrong 0,0 "$DOWN" "$out"
sleep "$DOWN"
run tests/pg-cluster.sh resume "$pg"
halted=0
t_up=$(date +%s.%N)
# sasl_load exits 1 when an answer was not the expected one: that is what is counted here
for p in "${lpids[@]}"; do wait "$p" || :; done
cat "$work"/right-*.txt "$work"/wrong-*.txt
grep -c "from the verify cache during a database outage" "$work/saslauthd-on.log" \
	>"$work/notice-on.count" || :
stop_saslauthd

machine_txt "primary down: $(python3 -c "print(f'{$t_up - $t_down:.1f}')") s (halt to resume, pg_ctl -m fast stop / start -w)"

python3 - "$out" "$USERS" "$WORKERS" "$DOWN" "$STALE" <<'PY' | tee "$out/results.md"
import json, os, sys
out, users, workers, down, stale = sys.argv[1:6]
def load(label):
    return json.load(open(os.path.join(out, label + ".json")))
print(f"saslauthd -a pam -r -n {workers}, {users} users (SHA512-CRYPT, all cached by a warm-up), "
      f"verify_cache_ttl = 3600; the primary stopped for {down} s during {load('right-on')['seconds']:.0f} s "
      "of right logins, wrong passwords for the same users while it was down.\n")
print("| verify_cache_stale_if_error | right logins | right refused | wrong passwords (outage) | wrong accepted |")
print("|---|---:|---:|---:|---:|")
rows = {}
for arm, name in (("off", "off (0)"), ("on", f"on ({stale})")):
    r, w = load("right-" + arm), load("wrong-" + arm)
    # the right run expects OK: each NO is a refused right login; the wrong run expects NO
    refused, accepted = r["mismatched"], w["mismatched"]
    rows[arm] = (refused, accepted, r["errors"] + w["errors"])
    print(f"| {name} | {r['ok'] + r['no']} | {refused} | {w['ok'] + w['no']} | {accepted} |")
on = rows["on"]
verdict = "**pass**" if on[0] == 0 and on[1] == 0 and on[2] == 0 and rows["off"][1] == 0 else "**FAIL**"
print(f"\nTarget with the option on: 0 cached users refused, 0 wrong accepted: {verdict} "
      f"(errors, no answer within 10 s: off {rows['off'][2]}, on {on[2]}).")
PY
# the counts are the figure; the latency files (about 1.5 MB) are not kept
rm -f "$out"/*.lat
echo "NOTICE lines of the 'on' saslauthd (from the verify cache during a database outage): $(cat "$work/notice-on.count")" | tee -a "$out/results.md"
echo "results: ${out#"$root"/}"
