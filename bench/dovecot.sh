#!/bin/bash
# SPDX-License-Identifier: MIT
# Side by side with what admins keep instead, in one command, as root on Debian: the module in a
# real saslauthd against Dovecot's own auth service, on the same dovecot-sql.conf.ext, the same
# PostgreSQL (tests/pg-cluster.sh, unix socket, peer authentication), the same rows and the same
# client (bench/auth_load: 10 threads; Dovecot's auth-client protocol on one connection per
# thread as Postfix keeps it, saslauthd's mux one connection per request). Every answer is
# checked. Writes bench/results/DATE-dovecot/ (results.md, the JSON files, commands.txt,
# machine.txt, and the profiles).
#
# Daemons (all started here, stopped by pid on every exit path):
#   sasl-prod  saslauthd -a pam -r -n 5 (daemonized, no -d or -V: as Debian starts it) with a real
#              /etc/pam.d/pgd-bench-XXXXXX service file (this and the next are the files this
#              writes outside its temporary folder, removed by the exit trap): what production
#              runs, the module's lines as they are
#   sasl-pin   the same with pin_modules=yes on the lines (/etc/pam.d/pgd-bench-XXXXXX-pin), as
#              the README's saslauthd lines have it: the PAM modules libpam loads at every
#              pam_start (the service's and /etc/pam.d/other's) stay loaded after pam_end
#   sasl-wrap  the same saslauthd, the module's lines as they are, under pam_wrapper (the service
#              file in a folder), as bench/run.sh, vcache.sh, flood.sh and outage.sh measure it
#   dovecot    /usr/sbin/dovecot -F -c CONF with a private base_dir, state_dir and log, no
#              protocols (no login listener): its master, auth, config, log, anvil and stats;
#              passdb sql on the same conf file, auth_mechanisms = plain, auth_cache_size = 0
#   dovecot-cache       the same with auth_cache_size = 10M, auth_cache_ttl = 1 hour
#   dovecot-cache-worker  the same with auth_cache_verify_password_with_worker = yes
# Rows: u0..u999, each with its own `doveadm pw -s SHA512-CRYPT` hash of one password;
# new0..new199999 (users seen once); c0..c99 (the password-change check); nl0 (nologin).
#
# Phases:
#   1. uncached: sasl-prod, sasl-pin, sasl-wrap, dovecot in turn (A B C D, then D C B A, ...),
#      DC_SLICES rounds of DC_SLICE seconds; right passwords of u0..u999 at random
#   2. the 90/5/5 mix with each side's cache (the pam.d lines gain verify_cache_ttl = 3600,
#      verify_cache_size = 10000: sasl-prod, sasl-pin; dovecot-cache): DC_WARM
#      seconds on each first (unmeasured: each saslauthd worker fills a cache of its own),
#      then DC_SLICES rounds alternated; every slice's new users are new ones (--new-from)
#   3. checks: log c0..c99 in three times, change their 100 passwords in one UPDATE, try the old
#      ones at once (accepted = stale) then the new ones; nl0 (nologin) with its right password
#   4. profiles (DC_PROFILE=0 skips): perf record -g on the saslauthd workers, the PostgreSQL
#      server and Dovecot's processes under the uncached load; bench/perf_split.py sorts the
#      samples into hash / libpam / saslauthd / module / libpq / server / Dovecot / kernel
#   5. counted costs: valgrind's callgrind on bench/pam_bench soak ({PLAIN}, then SHA512-CRYPT):
#      instructions per login by library and the module's functions (bench/callgrind_split.py);
#      pgbench: PostgreSQL's CPU per statement by protocol (simple, extended, prepared)
# CPU per answer: utime + stime (children's included) of each daemon's process tree and of the
# postmaster's, read from /proc/PID/stat by auth_load at the start and the end of each measured
# slice, less what the same tree costs idle (a slice with no load in each round, per second).
# Knobs: DC_SLICE (10 s), DC_SLICES (3), DC_WARM (45 s), DC_CLIENTS (10), DC_WORKERS (5),
# DC_PROFILE (1), DC_PROFILE_SECONDS (10), DC_CALLGRIND_N (2000 {PLAIN} logins, a tenth of that
# SHA512-CRYPT), DC_PGBENCH_SECONDS (5), DC_PGBENCH_RATE (400 statements a second for the paced
# rows), DC_PHASES ("1 2 3 4 5", or with commas: the phases to run), DC_BUILD (build-bench),
# BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh
SLICE=${DC_SLICE:-10}
SLICES=${DC_SLICES:-3}
WARM=${DC_WARM:-45}
CLIENTS=${DC_CLIENTS:-10}
WORKERS=${DC_WORKERS:-5}
PROFILE=${DC_PROFILE:-1}
PROFILE_SECONDS=${DC_PROFILE_SECONDS:-10}
PHASES=${DC_PHASES:-1 2 3 4 5}
CG_N=${DC_CALLGRIND_N:-2000}
phase() { [[ " ${PHASES//,/ } " == *" $1 "* ]]; }
say() { printf '\n== %s\n' "$*" >&2; }

build=${DC_BUILD:-$root/build-bench}
case $build in /*) ;; *) build=$root/$build ;; esac
meson_build "$build" -Dbench=true -Dwerror=true
module=$build/pam_pgsql_dovecot.so
bin=$build/bench
out=${BENCH_OUT:-$root/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-dovecot}
mkdir -p "$out"
out=$(cd "$out" && pwd)

unset PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGSERVICEFILE PGPASSFILE \
	PGOPTIONS PGSSLMODE
work=$(mktemp -d /tmp/pgd-dovecot.XXXXXX)
chmod 711 "$work"
pg=$work/pg
# libpam lowercases the service name before it opens /etc/pam.d/NAME
svc=pgd-bench-$(printf %s "${work##*.}" | tr '[:upper:]' '[:lower:]')
svc_pin=$svc-pin
pamd=/etc/pam.d/$svc
pamd_pin=/etc/pam.d/$svc_pin
pids=()
for f in "$pamd" "$pamd_pin"; do
	[ ! -e "$f" ] || { echo "$f exists already" >&2; exit 1; }
done
cleanup() {
	local rc=$? f
	if [ "$rc" != 0 ]; then
		for f in "$work"/sasl-*.log "$work"/dovecot*/dovecot.log; do
			[ -f "$f" ] && { echo "== tail of $f" >&2; tail -5 "$f" >&2; }
		done
	fi
	[ -z "${DC_HOLD:-}" ] || sleep "$DC_HOLD"
	rm -f "$pamd" "$pamd_pin"
	stop_daemons || :
	sleep 0.5
	for f in /tmp/pam.?; do
		if [ -f "$f/$svc" ] && grep -qF -- "$work" "$f/$svc"; then rm -rf -- "$f"; fi
	done
	tests/pg-cluster.sh stop "$pg" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
: >"$out/commands.txt"
run() {
	printf '%s ' "$@" | sed -e "s|$work|\$WORK|g; s|$root/||g; s|$pw|PASSWORD|g" >>"$out/commands.txt"
	echo >>"$out/commands.txt"
	"$@"
}

say "Starting a throwaway PostgreSQL"
pg_start "$pg"
runuser -u postgres -- sh -c "sed -i '1i local mail pgd_auth peer map=bench' '$pg/data/pg_hba.conf'
	printf 'bench root pgd_auth\nbench dovecot pgd_auth\n' >>'$pg/data/pg_ident.conf'"
psql -qX "$PGD_TEST_ADMIN" -c "SELECT pg_reload_conf()" >/dev/null
postmaster=$(head -1 "$pg/data/postmaster.pid")
pw=benchpw$RANDOM$RANDOM
pw2=changed$RANDOM$RANDOM

say "1,000 users, each with its own doveadm pw -s SHA512-CRYPT hash"
# shellcheck disable=SC2016 # $1 is the inner shell's
seq 0 999 | xargs -P 4 -I{} sh -c 'printf "u{}\t%s\n" "$(doveadm pw -s SHA512-CRYPT -p "$1")"' \
	_ "$pw" >"$work/users.tsv"
hash=$(doveadm pw -s SHA512-CRYPT -p "$pw")
hash2=$(doveadm pw -s SHA512-CRYPT -p "$pw2")
[ "$(grep -c $'\t{SHA512-CRYPT}\\$6\\$' "$work/users.tsv")" = 1000 ] ||
	{ echo "doveadm pw did not give 1000 SHA512-CRYPT hashes" >&2; exit 1; }
psql -qX -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL
CREATE TABLE users (userid text, domain text, password text, active boolean NOT NULL DEFAULT true,
                    PRIMARY KEY (userid, domain));
GRANT SELECT ON users TO PUBLIC;
CREATE TEMP TABLE u (userid text, password text);
\copy u FROM '$work/users.tsv'
INSERT INTO users SELECT userid, 'example.org', password FROM u;
INSERT INTO users SELECT 'new' || i, 'example.org', '$hash' FROM generate_series(0, 199999) i;
INSERT INTO users SELECT 'c' || i, 'example.org', '$hash' FROM generate_series(0, 99) i;
INSERT INTO users VALUES ('nl0', 'example.org', '$hash', false);
ANALYZE users;
SQL

# The one conf file both read: Dovecot 2.3's dovecot-sql.conf.ext, Dovecot's own query.
# Dovecot 2.3 reads it as passdb sql's args; 2.4 (Debian 13) has no dovecot-sql.conf.ext: there
# it is a dovecot.conf of its own (sql_driver, the pgsql block, passdb sql), which each Dovecot's
# dovecot.conf includes first and the module reads whole. 2.4 names its server by a pgsql block
# whose name is the host, so there both sides go over TCP (127.0.0.1, SCRAM) to the same server.
dovecot_version=$(dovecot --version | cut -d' ' -f1)
dovecot_config_version=${dovecot_version%%-*} # 2.4.1-4 (Debian's) is 2.4.1 to it
case $dovecot_version in
2.3.*)
	conf=$work/dovecot-sql.conf.ext
	users_conf "host=$pg port=$port user=pgd_auth dbname=mail" users >"$conf"
	;;
*)
	# 2.4 wants dovecot_config_version first in the file it is given, so the shared part
	# (dovecot-sql.conf) is included after it by the module's file and by each Dovecot's.
	conf=$work/dovecot-module.conf
	pgpw=$(sed -n 's/.*password=\([^ ]*\).*/\1/p' <<<"$PGD_TEST_CONNINFO")
	printf 'dovecot_config_version = %s\ndovecot_storage_version = %s\n!include %s\n' \
		"$dovecot_config_version" "$dovecot_config_version" "$work/dovecot-sql.conf" >"$conf"
	cat >"$work/dovecot-sql.conf" <<-CONF
		sql_driver = pgsql
		pgsql 127.0.0.1 {
		  parameters {
		    port = $port
		    dbname = mail
		    user = pgd_auth
		    password = "$pgpw"
		  }
		}
		passdb sql {
		  default_password_scheme = SHA512-CRYPT
		  query = SELECT userid AS username, domain, password, \\
		    CASE WHEN active THEN NULL ELSE 'Y' END AS nologin \\
		    FROM users WHERE userid = '%{user | username}' AND domain = '%{user | domain}'
		}
	CONF
	;;
esac
for f in "$conf" "$work/dovecot-sql.conf"; do
	[ -f "$f" ] || continue
	chgrp dovecot "$f"
	chmod 640 "$f"
done

# The module's pam.d lines; $1: extra options (the verify cache) on both lines.
pam_lines() {
	printf 'auth required %s conf=%s nodelay %s\naccount required %s conf=%s %s\n' \
		"$module" "$conf" "$1" "$module" "$conf" "$1"
}
# Both /etc/pam.d files: $svc's lines as they are, $svc_pin's with pin_modules=yes; $1 as above.
write_pamd() {
	pam_lines "$1" >"$pamd"
	pam_lines "pin_modules=yes $1" >"$pamd_pin"
}
cache_opts="verify_cache_ttl=3600 verify_cache_size=10000"

sasl=$(PATH=$PATH:/usr/sbin:/sbin command -v saslauthd)
PAM_WRAPPER_SO=$(dirname "$(pkg-config --variable=modules pam_wrapper)")/libpam_wrapper.so
# saslauthd as Debian's init script starts it (no -d: it detaches and logs nothing per
# success), in a session of its own; $1 the arm, then VAR=VALUE words for its environment. Sets
# sasl_pid to the pid it writes (its master).
start_sasl() {
	local arm=$1 run=$work/mux-$1
	shift
	mkdir -p "$run"
	env "$@" setsid "$sasl" -a pam -m "$run" -r -n "$WORKERS" >"$work/sasl-$arm.log" 2>&1 </dev/null
	for _ in $(seq 1 100); do
		[ -S "$run/mux" ] && [ -s "$run/saslauthd.pid" ] && break
		sleep 0.1
	done
	sasl_pid=$(head -1 "$run/saslauthd.pid" 2>/dev/null) || :
	[ -S "$run/mux" ] && [ -n "$sasl_pid" ] && kill -0 "$sasl_pid" 2>/dev/null ||
		{ echo "saslauthd ($arm) did not start" >&2; cat "$work/sasl-$arm.log" >&2; exit 1; }
	pids+=("$sasl_pid")
}
say "saslauthd -a pam -r -n $WORKERS three times: /etc/pam.d/$svc, /etc/pam.d/$svc_pin (pin_modules=yes), and pam_wrapper"
write_pamd ""
mkdir -p "$work/pam-wrap"
start_sasl prod
sasl_prod=$sasl_pid
start_sasl pin
sasl_pin=$sasl_pid
pam_lines "" >"$work/pam-wrap/$svc"
start_sasl wrap LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$work/pam-wrap" \
	PAM_WRAPPER_DEBUGLEVEL=0
sasl_wrap=$sasl_pid

# A Dovecot of our own: $1 name, $2 extra settings. Sets dc_pid.
start_dovecot() {
	local d=$work/$1
	mkdir -p "$d"
	case $dovecot_version in
	2.3.*)
		cat >"$d/dovecot.conf" <<-CONF
			passdb {
			  driver = sql
			  args = $conf
			}
			userdb {
			  driver = static
			  args = uid=nobody gid=nogroup home=/nonexistent
			}
			disable_plaintext_auth = no
		CONF
		;;
	*)
		cat >"$d/dovecot.conf" <<-CONF
			dovecot_config_version = $dovecot_config_version
			dovecot_storage_version = $dovecot_config_version
			!include $work/dovecot-sql.conf
			userdb static {
			  fields {
			    uid = 65534
			    gid = 65534
			    home = /nonexistent
			  }
			}
			auth_allow_cleartext = yes
		CONF
		;;
	esac
	cat >>"$d/dovecot.conf" <<-CONF
		base_dir = $d/run
		state_dir = $d/state
		instance_name = $svc-$1
		log_path = $d/dovecot.log
		protocols =
		ssl = no
		auth_mechanisms = plain
		# The module's lines carry nodelay: neither side sleeps after a wrong password.
		auth_failure_delay = 0
		$2
	CONF
	setsid /usr/sbin/dovecot -F -c "$d/dovecot.conf" >"$d/stdout.log" 2>&1 </dev/null &
	dc_pid=$!
	pids+=("$dc_pid")
	for _ in $(seq 1 100); do [ -S "$d/run/auth-client" ] && return 0; sleep 0.1; done
	cat "$d/stdout.log" "$d/dovecot.log" >&2
	return 1
}
say "Dovecot $dovecot_version: three auth services"
start_dovecot dovecot "auth_cache_size = 0"
dc_none=$dc_pid
start_dovecot dovecot-cache "auth_cache_size = 10M
auth_cache_ttl = 1 hour
auth_cache_negative_ttl = 1 hour"
dc_cache=$dc_pid
start_dovecot dovecot-cache-worker "auth_cache_size = 10M
auth_cache_ttl = 1 hour
auth_cache_negative_ttl = 1 hour
auth_cache_verify_password_with_worker = yes"
dc_cw=$dc_pid

# The statement's server cost by protocol (phase 5): the same SELECT as Dovecot's query, sent by
# pgbench as Dovecot 2.3 sends it (simple: the values in the text), as the module sends it with
# prepare = no (extended: PQsendQueryParams, an unnamed statement parsed and planned at every
# login), and prepared once per connection (PQprepare + PQsendQueryPrepared: prepare = auto). CPU of the postmaster's process
# tree per statement, the three alternated round by round. Prints a markdown table.
run_pgbench() {
	pgbench=$(dirname "$(find /usr/lib/postgresql -path '*/bin/pgbench' | sort -V | tail -1)")/pgbench
	psql -qX -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<-SQL
	CREATE TABLE pgb (userid text, domain text, password text, active boolean NOT NULL DEFAULT true,
	                  PRIMARY KEY (userid, domain));
	INSERT INTO pgb SELECT i::text, 'example.org', '$hash' FROM generate_series(0, 999) i;
	GRANT SELECT ON pgb TO PUBLIC;
	ANALYZE pgb;
	SQL
	cat >"$work/q.sql" <<-'SQL'
	\set n random(0, 999)
	SELECT userid || '@' || domain AS "user", password, CASE WHEN active THEN NULL ELSE 'Y' END AS nologin FROM pgb WHERE userid = :n::text AND domain = 'example.org';
	SQL
	tree_ticks() { # utime+stime+cutime+cstime of the postmaster and its children, in clock ticks
		local p s=0
		for p in $postmaster $(pgrep -P "$postmaster"); do
			s=$((s + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
		done
		echo "$s"
	}
	hz=$(getconf CLK_TCK)
	: >"$work/pgbench.tsv"
	for _ in 1 2 3; do
		# back to back, then paced at the logins' rate (-R): a backend woken for each
		# statement pays more per statement than one kept busy
		for rate in 0 "${DC_PGBENCH_RATE:-400}"; do
			local paced=()
			[ "$rate" = 0 ] || paced=(-R "$rate")
			for mode in simple extended prepared; do
				t0=$(tree_ticks)
				txs=$("$pgbench" -n -M "$mode" -c 5 -j 1 "${paced[@]}" \
					-T "${DC_PGBENCH_SECONDS:-5}" -f "$work/q.sql" \
					"host=$pg port=$port user=postgres dbname=mail" 2>/dev/null |
					sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
				t1=$(tree_ticks)
				printf '%s\t%s\t%s\t%s\n' "$mode" "$rate" "$txs" "$((t1 - t0))" >>"$work/pgbench.tsv"
			done
		done
	done
	python3 - "$work/pgbench.tsv" "$hz" <<-'PY'
		import sys
		hz = float(sys.argv[2])
		agg = {}
		for l in open(sys.argv[1]):
		    m, rate, n, t = l.split()
		    a = agg.setdefault((m, rate), [0, 0])
		    a[0] += int(n)
		    a[1] += int(t)
		rates = sorted({r for _, r in agg}, key=int)
		print("\n## The statement's server cost (pgbench, 5 connections, 3 alternated rounds): PostgreSQL CPU per statement\n")
		print("| protocol | " + " | ".join("back to back µs" if r == "0" else f"paced at {r}/s µs" for r in rates) + " |")
		print("|---|" + "---:|" * len(rates))
		for m, label in (("simple", "simple (Dovecot 2.3: the values escaped into the text)"), ("extended", "extended, unnamed statement (the module with prepare = no: PQsendQueryParams)"), ("prepared", "prepared once per connection (the module's default, prepare = auto: PQprepare, PQsendQueryPrepared)")):
		    cells = []
		    for r in rates:
		        n, t = agg.get((m, r), (0, 0))
		        cells.append(f"{t * 1e6 / hz / n:.1f} ({n} statements)" if n else "n/a")
		    print(f"| {label} | " + " | ".join(cells) + " |")
	PY
}
# One measured slice: $1 arm, $2 label, then auth_load options.
socket_of() {
	case $1 in
	sasl-prod) echo "--proto sasl --socket $work/mux-prod/mux" ;;
	sasl-pin) echo "--proto sasl --socket $work/mux-pin/mux" ;;
	sasl-wrap) echo "--proto sasl --socket $work/mux-wrap/mux" ;;
	dovecot*) echo "--proto dovecot --socket $work/$1/run/auth-client --defer-fail" ;;
	esac
}
service_of() { if [ "$1" = sasl-pin ]; then echo "$svc_pin"; else echo "$svc"; fi; }
pid_of() {
	case $1 in
	sasl-prod) echo "$sasl_prod" ;; sasl-pin) echo "$sasl_pin" ;; sasl-wrap) echo "$sasl_wrap" ;;
	dovecot) echo "$dc_none" ;; dovecot-cache) echo "$dc_cache" ;;
	dovecot-cache-worker) echo "$dc_cw" ;;
	esac
}
# The CPU time of one raw SHA512-CRYPT (libcrypt's crypt, as the module and Dovecot call it)
# of a stored hash, measured between rounds: what a login cannot cost less than. $1: label.
crypt_cpu() {
	PW=$pw HASH=${hash#\{SHA512-CRYPT\}} python3 -W ignore - "$out/crypt-$1.json" <<-'PY'
		import ctypes, json, os, sys, time
		# libcrypt itself (Python 3.13 has no crypt module)
		lib = ctypes.CDLL("libcrypt.so.1")
		lib.crypt.restype = ctypes.c_char_p
		lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
		pw, stored = os.environ["PW"].encode(), os.environ["HASH"].encode()
		n = 100
		t = time.process_time()
		for _ in range(n):
		    ok = lib.crypt(pw, stored) == stored
		ms = (time.process_time() - t) * 1e3 / n
		json.dump({"cpu_ms_per_hash": ms, "hashes": n, "matched": ok}, open(sys.argv[1], "w"))
	PY
}
# A slice with no load: what each tree costs idle (PostgreSQL's background processes, Dovecot's
# stats and anvil, ...), per second; the report takes it off each arm's CPU.
idle() {
	run "$bin/auth_load" --proto sasl --socket /nonexistent -c 0 --seconds "$SLICE" --warmup 0 \
		--cpu "sasl-prod=$sasl_prod" --cpu "sasl-pin=$sasl_pin" --cpu "sasl-wrap=$sasl_wrap" \
		--cpu "dovecot=$dc_none" --cpu "dovecot-cache=$dc_cache" --cpu "postgres=$postmaster" \
		--out "$out" --label "$1"
}
new_from=0
failed=()
slice() {
	local arm=$1 label=$2
	shift 2
	# shellcheck disable=SC2046
	# A slice with a wrong answer or a transport error is kept (its JSON counts them) and named
	# at the end, where the run then fails: the other slices still measure.
	run "$bin/auth_load" $(socket_of "$arm") --service "$(service_of "$arm")" --user u --realm example.org \
		--password "$pw" -c "$CLIENTS" --users 1000 --new-from "$new_from" \
		--cpu "daemon=$(pid_of "$arm")" --cpu "postgres=$postmaster" --out "$out" \
		--label "$label" "$@" || failed+=("$label")
	new_from=$((new_from + 5000))
}

phase 1 && {
say "Phase 1, uncached: right passwords of 1,000 users, $SLICES rounds of $SLICE s"
arms=(sasl-prod sasl-pin sasl-wrap dovecot)
for arm in "${arms[@]}"; do # a short warm-up: connections, pages
	slice "$arm" "warm-$arm" --mix 100,0 --seconds 2 --warmup 0 --out "$work"
done
for i in $(seq 1 "$SLICES"); do
	order=("${arms[@]}")
	[ $((i % 2)) = 0 ] && order=(dovecot sasl-wrap sasl-pin sasl-prod)
	for arm in "${order[@]}"; do
		slice "$arm" "uncached-$arm-$i" --mix 100,0 --seconds "$SLICE" --warmup 1
	done
	idle "idle-uncached-$i"
	crypt_cpu "$i"
done
}

phase 2 && {
say "Phase 2, the 90/5/5 mix with each side's cache: $WARM s of warm-up each, $SLICES rounds"
write_pamd "$cache_opts"
# Not sasl-wrap: pam_wrapper reads its copy of the service folder, made when saslauthd started,
# so the cache lines would not reach it (its "mix" slices measured the uncached module).
mixarms=(sasl-prod sasl-pin dovecot-cache)
for arm in "${mixarms[@]}"; do
	slice "$arm" "mixwarm-$arm" --mix 90,5 --seconds "$WARM" --warmup 0 --out "$work"
done
for i in $(seq 1 "$SLICES"); do
	order=("${mixarms[@]}")
	[ $((i % 2)) = 0 ] && order=(dovecot-cache sasl-pin sasl-prod)
	for arm in "${order[@]}"; do
		slice "$arm" "mix-$arm-$i" --mix 90,5 --seconds "$SLICE" --warmup 1
	done
	idle "idle-mix-$i"
done
}

phase 3 && {
say "Phase 3: password change and nologin"
check() { # $1 arm; reads "USER PASSWORD" lines
	# shellcheck disable=SC2046
	"$bin/auth_load" $(socket_of "$1") --service "$(service_of "$1")" --realm example.org --check
}
users_with() { for i in $(seq 0 99); do echo "c$i $1"; done; }
: >"$out/checks.txt"
for arm in sasl-prod sasl-pin dovecot-cache dovecot-cache-worker; do
	psql -qX "$PGD_TEST_ADMIN" -c "UPDATE users SET password = '$hash' WHERE userid LIKE 'c%'" \
		>/dev/null
	warm_ok=0
	for _ in 1 2 3; do
		warm_ok=$((warm_ok + $(users_with "$pw" | check "$arm" | grep -c ' OK$' || :)))
	done
	psql -qX "$PGD_TEST_ADMIN" -c "UPDATE users SET password = '$hash2' WHERE userid LIKE 'c%'" \
		>/dev/null
	old_ok=$(users_with "$pw" | check "$arm" | grep -c ' OK' || :)
	new_ok=$(users_with "$pw2" | check "$arm" | grep -c ' OK' || :)
	old_again=$(users_with "$pw" | check "$arm" | grep -c ' OK' || :)
	nologin=$(echo "nl0 $pw" | check "$arm" | cut -d' ' -f2-)
	printf '%s warm_ok=%s old_accepted=%s new_accepted=%s old_accepted_after=%s nologin=%s\n' \
		"$arm" "$warm_ok" "$old_ok" "$new_ok" "$old_again" "${nologin// /+}" |
		tee -a "$out/checks.txt"
done
}

if phase 4 && [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
	say "Phase 4: perf record -g under the uncached load, $PROFILE_SECONDS s per arm"
	write_pamd ""
	for arm in sasl-prod sasl-pin sasl-wrap dovecot; do
		slice "$arm" "prof-$arm" --mix 100,0 --seconds $((PROFILE_SECONDS + 4)) --warmup 1 \
			--out "$work" >/dev/null &
		lp=$!
		sleep 2
		tree=$(pgrep -d, -P "$(pid_of "$arm")" || :),$(pid_of "$arm"),$(pgrep -d, -P "$postmaster"),$postmaster
		perf record -q -g -F 499 -p "$tree" -o "$work/perf-$arm.data" -- sleep "$PROFILE_SECONDS" \
			2>"$work/perf-$arm.err" || cat "$work/perf-$arm.err" >&2
		wait "$lp" || :
		perf report -i "$work/perf-$arm.data" --no-children --sort comm,dso --stdio 2>/dev/null |
			grep -v '^$' | head -40 >"$out/perf-$arm-dso.txt" || :
		perf script -i "$work/perf-$arm.data" 2>/dev/null |
			python3 bench/perf_split.py --module "$(basename "$module")" >"$out/perf-$arm.md" || :
	done
fi

if phase 5 && command -v valgrind >/dev/null; then
	say "Phase 5: a login's instructions (callgrind on pam_bench soak) and the statement's server cost by protocol (pgbench)"
	# Counted, not timed: the machine's load does not move these. Collected only inside
	# pam_start_confdir, pam_authenticate, pam_acct_mgmt and pam_end (the bench's loop left
	# out); {PLAIN} shows what the module, libpam and libpq add without a hash; u0's
	# SHA512-CRYPT hash beside it.
	psql -qX "$PGD_TEST_ADMIN" -c "INSERT INTO users VALUES ('plain', 'example.org', '{PLAIN}$pw')" \
		>/dev/null
	ci="host=$pg port=$port user=pgd_auth dbname=mail"
	for u in plain u0; do
		n=$([ "$u" = plain ] && echo "$CG_N" || echo $((CG_N / 10)))
		run valgrind --tool=callgrind --callgrind-out-file="$work/callgrind-$u.out" \
			--toggle-collect='pam_start*' --toggle-collect=pam_authenticate \
			--toggle-collect=pam_acct_mgmt --toggle-collect=pam_end \
			"$bin/pam_bench" soak --module "$module" --server-log "$pg/server.log" --out "$work" \
			--label "cg-$u" --connect "$ci" --user "$u@example.org" --password "$pw" -n "$n" \
			--time-limit 900 >"$work/cg-$u.log" 2>&1 || { tail -20 "$work/cg-$u.log" >&2; exit 1; }
		echo "$n" >"$work/n-$u"
		callgrind_annotate --inclusive=yes --threshold=100 "$work/callgrind-$u.out" \
			>"$work/incl-$u.txt" 2>/dev/null
		callgrind_annotate --inclusive=no --threshold=100 "$work/callgrind-$u.out" \
			>"$work/self-$u.txt" 2>/dev/null
	done
	python3 bench/callgrind_split.py "$work" "$(basename "$module")" >"$out/module-cost.md"
	run_pgbench >>"$out/module-cost.md"
fi

{
	echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "kernel: $(uname -r)"
	echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "dovecot: $(dovecot --version)"
	echo "saslauthd: $(dpkg-query -W -f '${Version}' sasl2-bin 2>/dev/null)"
	echo "libpam: $(dpkg-query -W -f '${Version}' libpam0g 2>/dev/null)"
	echo "postgresql: $(psql -XAtq "$PGD_TEST_ADMIN" -c 'SHOW server_version')"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "slices: DC_SLICE=$SLICE DC_SLICES=$SLICES DC_WARM=$WARM clients=$CLIENTS workers=$WORKERS"
} >"$out/machine.txt"
python3 bench/dovecot_report.py "$out" | tee "$out/results.md"
echo "results: ${out#"$root"/}"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "slices with wrong answers or errors: ${failed[*]}" | tee -a "$out/results.md" >&2
	exit 1
fi
