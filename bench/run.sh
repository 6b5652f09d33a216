#!/bin/bash
# SPDX-License-Identifier: MIT
# The benchmark in one command: installs what it needs, builds with -Dbench=true in
# build-bench/, starts a throwaway PostgreSQL (tests/pg-cluster.sh, 127.0.0.1 and a unix socket,
# port above 50000), runs every measurement, writes bench/results/DATE/ (results.md, latency.svg,
# the raw samples) and prints the results table. Stops everything it started, by pid.
#
# Knobs (environment): BENCH_N alternated iterations per configuration (2000), BENCH_LIMIT
# seconds per configuration at most (50), BENCH_SOAK_N (100000) and BENCH_SOAK_SECONDS (150),
# BENCH_SASL_SECONDS (10), BENCH_CACHE_OFF_LINE ('connection_cache = no'), BENCH_TIMEOUT_LINE
# ('query_timeout = 2'), BENCH_OUT (results folder), BENCH_SKIP_VALGRIND=1.
set -euo pipefail
cd "$(dirname "$0")/.."
# bench/lib.sh, with tests/lib/tap.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

N=${BENCH_N:-2000}
LIMIT=${BENCH_LIMIT:-50}
SOAK_N=${BENCH_SOAK_N:-100000}
SOAK_SECONDS=${BENCH_SOAK_SECONDS:-150}
SASL_SECONDS=${BENCH_SASL_SECONDS:-10}
CACHE_OFF_LINE=${BENCH_CACHE_OFF_LINE:-connection_cache = no}
TIMEOUT_LINE=${BENCH_TIMEOUT_LINE:-query_timeout = 2}

scripts/install-deps.sh gnuplot-nox

say "Building (build-bench, -Dbench=true)"
bench_build "$root/build-bench" -Dbench=true -Dtests=disabled -Dwerror=true
bench_begin bench ""
sasl_pid=
bench_before_cleanup() {
	local p
	[ -f "$work/frozen.pids" ] || return 0
	while read -r p; do kill -CONT "$p" 2>/dev/null || true; done <"$work/frozen.pids"
}

bench_pg_start "log_connections = on"
bindir=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
"$bindir/postgres" --version >"$out/postgres-version.txt"

pw_sha=benchpw$RANDOM$RANDOM
pw_plain=plainpw$RANDOM$RANDOM
secrets=("$pw_sha" "$pw_plain")
hash=$(bench_hash "$pw_sha")
bench_users <<SQL
INSERT INTO users VALUES ('bench', 'example.org', '$hash'), ('plain', 'example.org', '{PLAIN}$pw_plain');
SQL
unix_ci="host=$pg port=$port user=pgd_auth dbname=mail"
tcp_ci=$PGD_TEST_CONNINFO
log=$pg/server.log

permit=$(pkg-config --variable=libdir pam)/security/pam_permit.so
common=(--module "$module" --server-log "$log" --out "$out" --raw "$bin/bench_raw"
	--cache-off-line "$CACHE_OFF_LINE" --permit-module "$permit")
for cfg in sha512-unix sha512-tcp plain-unix plain-tcp; do
	case $cfg in sha512-*) user=bench@example.org pw=$pw_sha stored=$hash ;;
	*) user=plain@example.org pw=$pw_plain stored="{PLAIN}$pw_plain" ;; esac
	case $cfg in *-unix) ci=$unix_ci ;; *) ci=$tcp_ci ;; esac
	say "Alternated arms: $cfg ($N iterations, at most $LIMIT s)"
	run "$bin/pam_bench" compare "${common[@]}" --label "$cfg" --connect "$ci" --user "$user" \
		--password "$pw" --stored "$stored" -n "$N" --time-limit "$LIMIT"
done

say "Soak: $SOAK_N logins in one process (at most $SOAK_SECONDS s), {PLAIN}, unix socket"
run "$bin/pam_bench" soak --module "$module" --server-log "$log" --out "$out" --label soak \
	--connect "$unix_ci" --user plain@example.org --password "$pw_plain" -n "$SOAK_N" \
	--time-limit "$SOAK_SECONDS"

if [ -z "${BENCH_SKIP_VALGRIND:-}" ]; then
	say "valgrind: 200 logins, leak check"
	run valgrind --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --keep-debuginfo=yes \
		--log-file="$out/valgrind.log" \
		"$bin/pam_bench" soak --module "$module" --server-log "$log" --out "$work" \
		--label valgrind --connect "$unix_ci" --user bench@example.org --password "$pw_sha" \
		-n 200 --time-limit 60 >/dev/null || true
	sed -i -e "s|$work|\$WORK|g; s|$root/||g" -e "s|$pw_sha|PASSWORD|g; s|$pw_plain|PASSWORD|g" \
		"$out/valgrind.log"
fi

say "saslauthd -a pam -r under pam_wrapper, {SHA512-CRYPT}, unix socket"
mkdir -p "$work/sasl-pam.d" "$work/sasl-conf"
printf 'driver = pgsql\nconnect = %s\npassword_query = SELECT password FROM users WHERE userid = %s AND domain = %s\n' \
	"$unix_ci" "'%n'" "'%d'" >"$work/sasl-conf/imap.conf"
chmod 600 "$work/sasl-conf/imap.conf"
printf 'auth required %s conf=%s\naccount required %s conf=%s\n' "$module" \
	"$work/sasl-conf/imap.conf" "$module" "$work/sasl-conf/imap.conf" >"$work/sasl-pam.d/imap"
cores=$(nproc)
# CPU (clock ticks) used so far by the given pids and their children's pids.
cpu_ticks() {
	local p t=0
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
	done
	echo "$t"
}
for wc in "$cores:$((2 * cores))" "5:10"; do
	workers=${wc%%:*} clients=${wc##*:}
	mux=$work/sasl-$workers
	# The service folder is written before saslauthd starts: pam_wrapper copies it at start.
	start_saslauthd "$work/sasl-pam.d" "$mux" "$work/saslauthd-$workers.log" \
		PAM_WRAPPER_DEBUGLEVEL=0 -r -n "$workers" ||
		{ cat "$work/saslauthd-$workers.log" >&2; exit 1; }
	sasl_pid=$daemon_pid
	label=saslauthd-n$workers-c$clients
	# The CPU that saslauthd and the server spend per login: a figure the machine's other load
	# does not change, unlike logins/s.
	run "$bin/sasl_load" --socket "$mux/mux" --user bench --realm example.org --service imap \
		--password "$pw_sha" -c "$clients" --workers "$workers" --seconds 2 --warmup 0 \
		--out "$work" --label warm >/dev/null
	# After the warm-up: every worker is forked and holds its connection.
	pm=$(head -1 "$pg/data/postmaster.pid")
	sasl_pids="$sasl_pid $(ps -o pid= --ppid "$sasl_pid" | tr '\n' ' ')"
	pg_pids="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
	s0=$(cpu_ticks $sasl_pids) p0=$(cpu_ticks $pg_pids)
	run "$bin/sasl_load" --socket "$mux/mux" --user bench --realm example.org --service imap \
		--password "$pw_sha" -c "$clients" --workers "$workers" --seconds "$SASL_SECONDS" \
		--warmup 0 --out "$out" --label "$label"
	echo "$(($(cpu_ticks $sasl_pids) - s0)) $(($(cpu_ticks $pg_pids) - p0)) $(getconf CLK_TCK)" \
		>"$out/$label.cpu"
	if [ "$workers" = "$cores" ]; then
		say "saslauthd -n $workers with the database frozen (SIGSTOP), then thawed"
		pg_pids="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
		printf '%s\n' $pg_pids >"$work/frozen.pids"
		kill -STOP $pg_pids
		run "$bin/sasl_load" --socket "$mux/mux" --user bench --realm example.org \
			--service imap --password "$pw_sha" -c "$workers" --workers "$workers" \
			--seconds 8 --warmup 0 --timeout 30 --expect-no --out "$out" \
			--label "sasl-frozen-n$workers" || true
		kill -CONT $pg_pids
		rm -f "$work/frozen.pids"
		run "$bin/sasl_load" --socket "$mux/mux" --user bench --realm example.org \
			--service imap --password "$pw_sha" -c "$clients" --workers "$workers" \
			--seconds 3 --warmup 1.5 --out "$out" --label "sasl-thawed-n$workers" || true
	fi
	stop_saslauthd
done

for cfg in unix tcp; do
	case $cfg in unix) ci=$unix_ci ;; *) ci=$tcp_ci ;; esac
	say "Frozen and restarted server ($cfg)"
	run "$bin/frozen" --module "$module" --connect "$ci" --user plain@example.org \
		--password "$pw_plain" --pgdir "$pg" --pids-file "$work/frozen.pids" \
		--halt-cmd "$root/tests/pg-cluster.sh halt $pg" \
		--resume-cmd "$root/tests/pg-cluster.sh resume $pg" \
		--timeout-line "$TIMEOUT_LINE" --out "$out" --label "frozen-$cfg"
done

say "Connections the server saw (log_connections)"
grep -c "connection authorized: user=pgd_auth" "$log" >"$out/server-connections.txt" || true

machine_txt "kernel: $(uname -srm)" "os: $(. /etc/os-release && echo "$PRETTY_NAME")" \
	"postgresql: $(cat "$out/postgres-version.txt")" \
	"libpam: $(dpkg-query -W -f='${Version}' libpam0g)" \
	"saslauthd: $(dpkg-query -W -f='${Version}' sasl2-bin)"
rm -f "$out/postgres-version.txt"

python3 bench/report.py "$out" "$cores"
(cd "$out" && gnuplot latency.gp)
rm -f "$out"/*.cdf "$out/soak-module.lat"
echo
cat "$out/results.md"
echo
echo "results: ${out#$root/}"
