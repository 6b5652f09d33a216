# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2034 # module, bin, out, pg, ...: for the scripts that source this
# shellcheck disable=SC2120 # bench_pg_start and machine_txt: their arguments are optional
# What bench/run.sh, flood.sh, vcache.sh and outage.sh share: the build, the results folder, a
# throwaway PostgreSQL with the users table, saslauthd stopped and cleaned up, the commands
# logged with their secrets masked. Sourced from the source root, under `set -euo pipefail`:
#   cd "$(dirname "$0")/.." && . bench/lib.sh
# It sources tests/lib/tap.sh (meson_build, pg_start, start_saslauthd, stop_daemons, ...) and
# sets root (the source root) and PAM_WRAPPER_SO.
#
#   say TEXT...               a heading on stderr
#   bench_build DIR OPTION... meson_build DIR OPTION...; module and bin (its bench/) set
#   bench_begin NAME [SUFFIX] out: $BENCH_OUT or bench/results/DATE-NAME (DATE and SUFFIX when
#                             given), made and absolute, with an empty commands.txt; load_start;
#                             the caller's PG* variables unset; work: a private folder
#                             /tmp/pgd-NAME.* (mode 711: the postgres user runs the cluster in
#                             it) and pg, the cluster's folder in it; bench_cleanup at exit
#   bench_cleanup             bench_before_cleanup first when the caller defines it, then
#                             stop_saslauthd, the cluster stopped, $work removed
#   stop_saslauthd            stop_daemons; saslauthd dies by signal, so pam_wrapper's copies of
#                             the service folder (/tmp/pam.?) that name $work are removed
#   run COMMAND...            COMMAND, written to commands.txt first: $hash (STORED_HASH), each
#                             word of the array secrets (PASSWORD), $work and $root masked,
#                             password=... hidden
#   bench_pg_start [SETTING...]
#                             the cluster (pg_start: PGD_TEST_*, port); the module's role let in
#                             as root on the unix socket (peer, map bench; TCP keeps SCRAM);
#                             each SETTING ("name = value") by ALTER SYSTEM; reloaded
#   bench_hash PASSWORD       prints doveadm pw -s SHA512-CRYPT's hash of PASSWORD (fails unless
#                             it is one)
#   bench_users               table users (userid, domain, password), readable by the module;
#                             stdin: the SQL that fills it
#   machine_txt [LINE...]     machine.txt: load, nproc, cpu, each LINE, date, commit
root=$PWD
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh
PAM_WRAPPER_SO=$(dirname "$(pkg-config --variable=modules pam_wrapper)")/libpam_wrapper.so
secrets=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

bench_build() {
	meson_build "$@"
	module=$1/pam_pgsql_dovecot.so
	bin=$1/bench
}

bench_begin() {
	out=${BENCH_OUT:-$root/bench/results/$(date -u +%Y-%m-%dT%H%MZ)${2-"-$1"}}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	: >"$out/commands.txt"
	load_start=$(cut -d' ' -f1-3 /proc/loadavg)
	# Our own cluster, whatever the caller's environment names.
	unset PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGSERVICEFILE \
		PGPASSFILE PGOPTIONS PGSSLMODE
	work=$(mktemp -d "/tmp/pgd-$1.XXXXXX")
	chmod 711 "$work"
	pg=$work/pg
	trap bench_cleanup EXIT
}

stop_saslauthd() {
	stop_daemons || :
	pamwrap_clean_naming "$work"
}

bench_cleanup() {
	if declare -F bench_before_cleanup >/dev/null; then bench_before_cleanup || :; fi
	stop_saslauthd
	# Workers killed inside a PAM transaction leave pam_wrapper's copy behind a moment later.
	sleep 0.5
	pamwrap_clean_naming "$work"
	tests/pg-cluster.sh stop "$pg" >/dev/null 2>&1 || :
	rm -rf "$work"
}

run() {
	local shown=() a s
	for a in "$@"; do
		if [ -n "${hash:-}" ]; then a=${a//"$hash"/STORED_HASH}; fi
		for s in "${secrets[@]}"; do
			if [ -n "$s" ]; then a=${a//"$s"/PASSWORD}; fi
		done
		a=${a//"$work"/\$WORK}
		a=${a//"$root/"/}
		case $a in *' '*) a="'$a'" ;; esac
		shown+=("$a")
	done
	printf '%s ' "${shown[@]}" | sed 's/password=[^ ]*/password=.../g' >>"$out/commands.txt"
	echo >>"$out/commands.txt"
	"$@"
}

bench_pg_start() {
	local setting
	say "Starting a throwaway PostgreSQL"
	pg_start "$pg"
	runuser -u postgres -- sh -c "sed -i '1i local mail pgd_auth peer map=bench' '$pg/data/pg_hba.conf'
	echo 'bench root pgd_auth' >>'$pg/data/pg_ident.conf'"
	for setting in "$@"; do
		psql -qX "$PGD_TEST_ADMIN" -c "ALTER SYSTEM SET $setting" >/dev/null
	done
	psql -qX "$PGD_TEST_ADMIN" -c "SELECT pg_reload_conf()" >/dev/null
}

bench_hash() {
	local hash
	hash=$(doveadm pw -s SHA512-CRYPT -p "$1")
	# shellcheck disable=SC2016 # a hash's prefix, literally
	case $hash in
	'{SHA512-CRYPT}$6$'*) echo "$hash" ;;
	*) echo "doveadm pw gave '$hash'" >&2 && return 1 ;;
	esac
}

bench_users() {
	{
		echo "CREATE TABLE users (userid text, domain text, password text," \
			"PRIMARY KEY (userid, domain));"
		echo "GRANT SELECT ON users TO PUBLIC;"
		cat
	} | psql -qX -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null
}

machine_txt() {
	{
		echo "load average at start: $load_start; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "nproc: $(nproc)"
		echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
		printf '%s\n' "$@"
		echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	} >"$out/machine.txt"
}
