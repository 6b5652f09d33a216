#!/bin/bash
# SPDX-License-Identifier: MIT
# A wrong-password flood against saslauthd -a pam -r -n 5, in one command, as root on Debian:
# builds build-bench/ as bench/run.sh does, starts a throwaway PostgreSQL (tests/pg-cluster.sh,
# unix socket), and for each flood rate (FLOOD_RATES, wrong passwords a second) runs two arms in
# turn, A B then B A, each on a fresh saslauthd under pam_wrapper:
#   default  the /etc/pam.d/imap lines of pam.d.example without `nodelay`: libpam sleeps the
#            module's 2 s failure delay inside the saslauthd worker after each wrong password
#   shipped  the same lines as pam.d.example ships them (with `nodelay`)
# bench/sasl_load sends right-password logins at FLOOD_RIGHT_RATE a second and wrong passwords
# at the rate, both open loop (each request at its time, answered or not), for FLOOD_WARM +
# FLOOD_SECONDS seconds; the figures cover the requests sent after the warm-up. Writes
# bench/results/DATE-flood/ (results.md, commands.txt, machine.txt, JSON and latency files).
# Then, when Cyrus IMAP is installed (cyrus-imapd; FLOOD_CYRUS=0 skips it), the same two arms
# through a real Cyrus imapd (private config, 127.0.0.1, failedloginpause: 3s as
# examples/cyrus/imapd.conf writes it) in front of saslauthd: bench/imap_flood.py sends IMAP
# LOGINs, right ones at FLOOD_CYRUS_RIGHT_RATE and wrong ones at FLOOD_CYRUS_RATES a second,
# and times connect-to-tagged-answer: what a mail client, and a guesser, wait for.
# Loopback only: unix sockets and 127.0.0.1 ports above 50000. Stops everything it started.
# Knobs: FLOOD_RATES ("0 1 5 20"), FLOOD_RIGHT_RATE (10), FLOOD_SECONDS (12), FLOOD_WARM (2),
# FLOOD_CONNECT_TIMEOUT (5 s that connect() waits for room in saslauthd's listen backlog),
# FLOOD_TIMEOUT (20 s for the answer), FLOOD_CYRUS (1 when installed), FLOOD_CYRUS_RATES
# ("0 1 20"), FLOOD_CYRUS_RIGHT_RATE (5), FLOOD_BUILD (build-bench), BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
# bench/lib.sh, with tests/lib/tap.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
RATES=${FLOOD_RATES:-0 1 5 20}
RIGHT=${FLOOD_RIGHT_RATE:-10}
SECONDS_=${FLOOD_SECONDS:-12}
WARM=${FLOOD_WARM:-2}
CTIMEOUT=${FLOOD_CONNECT_TIMEOUT:-5}
TIMEOUT=${FLOOD_TIMEOUT:-20}
bench_build "$root/${FLOOD_BUILD:-build-bench}" -Dbench=true -Dwerror=true
bench_begin flood

bench_pg_start
pw=benchpw$RANDOM$RANDOM
secrets=("$pw")
hash=$(bench_hash "$pw")
bench_users <<SQL
INSERT INTO users VALUES ('bench', 'example.org', '$hash');
SQL
printf 'driver = pgsql\nconnect = host=%s port=%s user=pgd_auth dbname=mail\n' "$pg" "$port" \
	>"$work/module.conf"
printf "password_query = SELECT password FROM users WHERE userid = '%%n' AND domain = '%%d'\n" \
	>>"$work/module.conf"
chmod 600 "$work/module.conf"

# The /etc/pam.d/imap stack as pam.d.example ships it, pointed at this module and conf.
shipped=$(sed -n '\|^# /etc/pam.d/imap$|,/^$/p' pam.d.example | grep -E '^(auth|account)[[:space:]]' |
	sed -e "s|pam_pgsql_dovecot\.so|$module|" -e "s|conf=[^ ]*|conf=$work/module.conf|")
[ "$(grep -c . <<<"$shipped")" = 2 ] || { echo "no imap stack in pam.d.example" >&2; exit 1; }
for arm in default shipped; do
	mkdir -p "$work/pam-$arm"
	case $arm in
	shipped) printf '%s\n' "$shipped" ;;
	default) sed -E 's/[[:space:]]+nodelay\b//' <<<"$shipped" ;;
	esac >"$work/pam-$arm/imap"
	cp "$work/pam-$arm/imap" "$out/pam.d-imap-$arm"
	sed -i -e "s|$work|\$WORK|g; s|$root/||g" "$out/pam.d-imap-$arm"
done
if ! grep -q nodelay "$work/pam-shipped/imap"; then
	echo "note: pam.d.example's imap stack has no nodelay: both arms are the module's default" >&2
fi

load=()
# Two saslauthd of the arm at once: the flooded one, and a control that gets the same right
# logins at the same moments and no flood (the machine's load is the same for both).
one_arm() {
	local rate=$1 arm=$2 label=flood-$2-$1 mux=$work/mux-$2-$1 side
	for side in "" -control; do
		start_saslauthd "$work/pam-$arm" "$mux$side" "$work/saslauthd-$arm-$rate$side.log" \
			PAM_WRAPPER_DEBUGLEVEL=0 -r -n 5 ||
			{ cat "$work/saslauthd-$arm-$rate$side.log" >&2; exit 1; }
		# Every worker forked and connected before the clock starts.
		"$bin/sasl_load" --socket "$mux$side/mux" --user bench --realm example.org \
			--service imap --password "$pw" -c 5 --workers 5 --seconds 1 --warmup 0 \
			--out "$work" --label warm >/dev/null
	done
	run "$bin/sasl_load" --socket "$mux/mux" --control-socket "$mux-control/mux" --user bench \
		--realm example.org --service imap --password "$pw" --workers 5 --rate "$RIGHT" \
		--flood "$rate" --seconds "$SECONDS_" --warmup "$WARM" --connect-timeout "$CTIMEOUT" \
		--timeout "$TIMEOUT" --out "$out" --label "$label" ||
		echo "$label: a wrong answer (see $label.json)" >&2
	load+=("$label $(cut -d' ' -f1-3 /proc/loadavg)")
	stop_saslauthd
}
say "saslauthd -a pam -r -n 5; right logins $RIGHT/s; wrong passwords at $RATES a second"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
i=0
for rate in $RATES; do
	if [ $((i % 2)) = 0 ]; then arms="default shipped"; else arms="shipped default"; fi
	for arm in $arms; do one_arm "$rate" "$arm"; done
	i=$((i + 1))
done

cyrus_bin=/usr/lib/cyrus/bin
CYRUS=${FLOOD_CYRUS:-$([ -x $cyrus_bin/master ] && echo 1 || echo 0)}
if [ "$CYRUS" = 1 ]; then
	say "Cyrus imapd (failedloginpause 3s) -> saslauthd -n 5: IMAP LOGIN, right ${FLOOD_CYRUS_RIGHT_RATE:-5}/s, wrong at ${FLOOD_CYRUS_RATES:-0 1 20} a second"
	# Cyrus logs in a bare name; the module finds it in example.org.
	sed "s/AND domain = '%d'/AND domain = 'example.org'/" "$work/module.conf" >"$work/cyrus-module.conf"
	chmod 600 "$work/cyrus-module.conf"
	for arm in default shipped; do
		mkdir -p "$work/cyrus-pam-$arm"
		sed "s|conf=$work/module.conf|conf=$work/cyrus-module.conf|" "$work/pam-$arm/imap" \
			>"$work/cyrus-pam-$arm/imap"
	done
	cyrus_arm() {
		local rate=$1 arm=$2 label=cyrus-$2-$1 cy=$work/cyrus-$2-$1 cport
		start_saslauthd "$work/cyrus-pam-$arm" "$cy.sasl" "$cy.sasl.log" PAM_WRAPPER_DEBUGLEVEL=0 \
			-r -n 5 || { cat "$cy.sasl.log" >&2; exit 1; }
		chmod 755 "$cy.sasl"
		cport=$(free_port)
		start_cyrus "$cy" "$cport" 5 "$cy.sasl/mux" "$cy.log" "sasl_mech_list: PLAIN LOGIN" \
			"failedloginpause: 3s" "syslog_prefix: pgd-flood-cyrus" ||
			{ cat "$cy.log" >&2; exit 1; }
		IMAP_PW=$pw python3 bench/imap_flood.py --port "$cport" --user bench --rate 5 --flood 0 \
			--seconds 1 --warmup 0 --out "$work" --label warm >/dev/null || :
		IMAP_PW=$pw run python3 bench/imap_flood.py --port "$cport" --user bench \
			--rate "${FLOOD_CYRUS_RIGHT_RATE:-5}" --flood "$rate" --seconds "$SECONDS_" \
			--warmup "$WARM" --timeout 30 --out "$out" --label "$label" ||
			echo "$label: a wrong answer (see $label.json)" >&2
		load+=("$label $(cut -d' ' -f1-3 /proc/loadavg)")
		stop_saslauthd
	}
	i=0
	for rate in ${FLOOD_CYRUS_RATES:-0 1 20}; do
		if [ $((i % 2)) = 0 ]; then arms="default shipped"; else arms="shipped default"; fi
		for arm in $arms; do cyrus_arm "$rate" "$arm"; done
		i=$((i + 1))
	done
fi
printf '%s\n' "${load[@]}" >"$out/load.txt"

machine_txt "libpam: $(dpkg-query -W -f='${Version}' libpam0g)" \
	"saslauthd: $(dpkg-query -W -f='${Version}' sasl2-bin)"

python3 - "$out" "$RIGHT" "$SECONDS_" "${FLOOD_CYRUS_RIGHT_RATE:-5}" <<'PY' | tee "$out/results.md"
import json, os, sys
out, right_rate, secs, cyrus_right = sys.argv[1:5]
load = dict(l.split(" ", 1) for l in open(os.path.join(out, "load.txt")).read().splitlines())
runs = {}
for f in os.listdir(out):
    if f.endswith(".json") and f.split("-")[0] in ("flood", "cyrus"):
        j = json.load(open(os.path.join(out, f)))
        kind, arm, rate = j["label"].split("-")
        runs[(kind, arm, float(rate))] = j


def table(kind, refused=True):
    cols = ["wrong/s", "pam.d", "right: sent", "OK", "refused", "errors", "p50 ms", "p99 ms",
            "wrong: sent", "NO", "refused", "unanswered", "time to NO p50 ms", "p99 ms",
            "load (1/5/15 min)"]
    control = refused
    if not refused:
        cols = [c for i, c in enumerate(cols) if i not in (4, 10)]
    if control:
        cols.insert(8, "control p50 / p99 ms")
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---" if c in ("pam.d", "load (1/5/15 min)") else "---:" for c in cols) + "|")
    for rate in sorted({r for k, _, r in runs if k == kind}):
        for arm in ("default", "shipped"):
            j = runs.get((kind, arm, rate))
            if not j:
                continue
            r, w = j["right"], j["wrong"]
            cells = [f"{rate:g}", arm, r["sent"], r["ok"], r["refused"], r["errors"],
                     f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}"]
            if w["sent"]:
                cells += [w["sent"], w["no"], w["refused"], w["errors"], f"{w['p50_ms']:.1f}",
                          f"{w['p99_ms']:.1f}"]
            else:
                cells += ["–"] * 6
            cells.append(load.get(j["label"], ""))
            if control:
                c = j.get("control", {})
                cells.insert(8, f"{c.get('p50_ms', 0):.1f} / {c.get('p99_ms', 0):.1f}")
            if not refused:
                cells = [c for i, c in enumerate(cells) if i not in (4, 10)]
            print("| " + " | ".join(str(c) for c in cells) + " |")


print(f"**saslauthd -a pam -r -n 5** (bench/sasl_load on its unix socket): right-password logins"
      f" {right_rate}/s and wrong passwords at the rate, both open loop, {secs} s measured per"
      f" run, each run on a fresh saslauthd. default: pam.d.example's imap lines without"
      f" nodelay (the module's 2 s delay); shipped: as pam.d.example ships them (nodelay). Each"
      f" run has a second saslauthd of the same arm (control) that gets the same right logins at"
      f" the same moments and no flood.\n")
table("flood")
base = runs.get(("flood", "shipped", 0.0))
top = max((r for k, a, r in runs if k == "flood" and a == "shipped"), default=None)
if top is not None:
    j = runs[("flood", "shipped", top)]
    t, c = j["right"], j["control"]
    ok = t["p99_ms"] <= 2 * c["p99_ms"] and t["refused"] == 0 and t["errors"] == 0 \
        and t["no"] == 0
    print(f"\nTarget, shipped pam.d at {top:g} wrong/s: right logins' p99 ≤ 2 × their p99 without"
          f" the flood, taken at the same moments on the control saslauthd ({c['p99_ms']:.1f} ms),"
          f" and none refused: {t['p99_ms']:.1f} ms ({t['p99_ms'] / c['p99_ms']:.2f} ×),"
          f" {t['refused']} refused, {t['errors']} errors, {t['no']} NO:"
          f" {'**pass**' if ok else '**FAIL**'}")
    if base:
        print(f"(Against the separate run with no flood: {base['right']['p99_ms']:.1f} ms, at another"
              f" moment of the machine's load.)")
if any(k == "cyrus" for k, _, _ in runs):
    print(f"\n**Through Cyrus imapd** (failedloginpause: 3s) in front of the same saslauthd"
          f" (bench/imap_flood.py, IMAP LOGIN on 127.0.0.1): right logins {cyrus_right}/s, wrong"
          f" ones at the rate; times are connect to the tagged OK/NO, what a mail client and a"
          f" guesser wait for.\n")
    table("cyrus", refused=False)
bad = sum(j["right"]["mismatched"] + j["wrong"]["mismatched"] for j in runs.values())
print(f"\nWrong answers (a wrong password answered OK, a right one NO): {bad}")
PY
echo "results: ${out#"$root"/}"
