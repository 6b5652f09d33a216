# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2034 # $failed, $plog, $role, ... are the callers'
# Sourced (not run) by standby.sh and scaleout.sh: a primary (tests/pg-cluster.sh) and a
# streaming standby of it (pg_basebackup), both on 127.0.0.1 and ports above 50000; the TAP
# counters; pamtester under pam_wrapper; a cleanup at exit that stops what was started.
#
#   replicas_begin NAME   with an external server (PGHOST) skips the test (exit 0); else makes
#                         $work (/tmp/pgd-NAME.*), arms the cleanup and starts the primary:
#                         PGD_TEST_* set, $p1 its port, $role the module's login (with
#                         $password), $plog its log
#   replicas_standby      makes the standby from the primary as it is now (the settings in its
#                         postgresql.auto.conf included) and starts it: $p2 its port, $slog its log
#   standby_start, standby_stop (fast)
#   diag TEXT             TEXT as TAP comment lines
#   pt USER SERVICE OPERATIONS...   pamtester for USER@example.org, answers on stdin, services in
#                         $work/pam.d; prints what it printed
# A caller's function replicas_cleanup, when it defines one, runs first at exit.
replicas_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster=$replicas_here/../pg-cluster.sh
bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=
standby_started=
# shellcheck source=tests/lib/tap.sh
. "$replicas_here/../lib/tap.sh"
# shellcheck disable=SC2001 # every line, not one substitution
diag() { sed 's/^/# /' <<<"$1"; }
as_pg() { runuser -u postgres -- "$@"; }

# shellcheck disable=SC2317 # run by the trap
replicas_cleanup_all() {
	declare -F replicas_cleanup >/dev/null && replicas_cleanup
	[ -n "$standby_started" ] && as_pg "$bin/pg_ctl" -D "$work/standby" -m immediate -w stop \
		>/dev/null 2>&1
	"$cluster" stop "$work/primary"
	rm -rf "$work"
}

replicas_begin() {
	local env_lines
	if [ -n "${PGHOST:-}" ]; then
		echo "1..0 # SKIP needs PostgreSQL's own binaries, not an external server"
		exit 0
	fi
	work=$(mktemp -d "/tmp/pgd-$1.XXXXXX")
	chmod 711 "$work"
	trap replicas_cleanup_all EXIT
	env_lines=$("$cluster" start "$work/primary") || { echo "Bail out! no primary"; exit 1; }
	eval "$env_lines"
	p1=$(cat "$work/primary/port")
	plog=$work/primary/server.log
	password=$(sed -n 's/.*password=\([^ ]*\).*/\1/p' <<<"$PGD_TEST_CONNINFO")
	role="user=pgd_auth password=$password dbname=mail"
	mkdir "$work/pam.d"
}

standby_start() {
	as_pg "$bin/pg_ctl" -D "$work/standby" -l "$slog" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -c port=$p2 -c unix_socket_directories=$work/primary" \
		start >/dev/null
}

standby_stop() {
	as_pg "$bin/pg_ctl" -D "$work/standby" -m fast -w stop >/dev/null
}

replicas_standby() {
	p2=$(free_port)
	slog=$work/standby/server.log
	install -d -o postgres -m 700 "$work/standby"
	as_pg "$bin/pg_basebackup" -h "$work/primary" -p "$p1" -U postgres -D "$work/standby" -R \
		-X stream >"$work/basebackup.log" 2>&1 ||
		{ echo "Bail out! pg_basebackup failed: $(tail -1 "$work/basebackup.log")"; exit 1; }
	standby_start || { echo "Bail out! standby did not start"; exit 1; }
	standby_started=1
}

pt() {
	local user=$1 svc=$2
	shift 2
	env LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$work/pam.d" \
		PAM_WRAPPER_DEBUGLEVEL=2 pamtester -v "$svc" "$user@example.org" "$@" 2>&1
}
