# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# What the shell tests (and bench/*.sh) share. Sourced, not run:
#   . "$(dirname "$0")/../lib/tap.sh"
# The daemon, cluster and build functions are safe under `set -e` (bench/*.sh run with it).
#
# TAP
#   ok NAME, not_ok NAME [LINE...]
#                              one numbered case; not_ok marks the run failed and prints each
#                              LINE as a comment. tap_prefix, when set, goes before every NAME
#   skip_case NAME REASON      one numbered case, skipped ("ok N - NAME # SKIP REASON")
#   expect NAME                ok when the command just before succeeded, else not_ok and $out
#                              as comments
#   bail NAME                  not_ok NAME, the plan, exit 1
#   summary                    the plan (1..N), then exit 1 when a case failed, else 0
#   skip_all REASON            the plan "1..0 # SKIP REASON", exit 0
#   need_env VAR...            bail unless every VAR is set (scripts/test.sh sets them)
#   need_tools HINT TOOL...    bail unless every TOOL is a command ("TOOL is installed (HINT)")
#
# Servers and daemons: loopback only, a port above 50000 picked at run time, stopped by pid
#   free_port                  prints a port above 50000 that is free on 127.0.0.1 (1: none)
#   wait_port PORT PID         waits (10 s at most) until something listens on 127.0.0.1:PORT;
#                              1 when it does not, or PID ends first
#   stop_daemon PID            the process (SIGTERM, SIGKILL after 10 s), then the children it had
#   stop_daemons               stop_daemon on every pid of the array pids; pids is emptied;
#                              1 when one of them is still running
#   pg_start DIR               tests/pg-cluster.sh start DIR, its PGD_TEST_* set in this shell,
#                              port set to the cluster's port
#   pg_env_value NAME          the value of NAME in tests/pg-cluster.sh start's output (stdin)
#
# PAM under pam_wrapper ($PAM_WRAPPER_SO, the service files of a folder, never /etc/pam.d)
#   pamwrap DIR [VAR=VALUE...] COMMAND...
#                              COMMAND (in the foreground) with DIR's service files, at
#                              PAM_WRAPPER_DEBUGLEVEL=2 unless a VAR=VALUE says otherwise
#   start_saslauthd DIR RUN LOG [VAR=VALUE...] [SASLAUTHD-OPTION...]
#                              saslauthd -a pam -d -m RUN in its own session, output to LOG,
#                              environment as pamwrap's; its pid in daemon_pid and appended to
#                              pids; 0 once RUN/mux is there (10 s at most), 1 when it is not
#   start_cyrus DIR PORT PREFORK MUX LOG [IMAPD.CONF-LINE...]
#                              Cyrus master (/usr/lib/cyrus/bin) with a private config in DIR
#                              (imapd.conf, cyrus.conf, its folders; owned by cyrus:mail): imapd
#                              on 127.0.0.1:PORT, PREFORK processes, passwords through the
#                              saslauthd at MUX, plaintext allowed; each IMAPD.CONF-LINE added
#                              (sasl_mech_list, admins, ...). Output to LOG; its pid in daemon_pid
#                              and appended to pids; 0 once it listens (wait_port), 1 when not
#   pamwrap_clean LOG...       removes pam_wrapper's copies of the service folders (/tmp/pam.*)
#                              that its debug lines in LOG name
#   pamwrap_clean_naming TEXT  the same for a daemon run at PAM_WRAPPER_DEBUGLEVEL=0 (its log
#                              names no copy): the copies whose imap service file holds TEXT
#   e2e_cleanup TABLE          the end of a run with daemons (its EXIT trap): stop_daemons,
#                              pamwrap_clean on $work/*.log, TABLE dropped (PGD_TEST_ADMIN),
#                              $work removed unless PGD_E2E_KEEP is set
#   pamtester_check NAME EXPECTED USER PASSWORD [OPERATION...]
#                              pamtester -v ${service:-imap} USER OPERATION... (authenticate
#                              when none), PASSWORD on stdin (lines: $'old\nnew\nnew' for a
#                              chauthtok), with the service files of $work/pam.d: ok when its
#                              output holds EXPECTED, else not_ok and the output as comments
#   v24_pgsql CONNINFO         prints Dovecot 2.4's "sql_driver = pgsql" and its block
#                              "pgsql HOST { parameters { KEY = VALUE ... } }" for CONNINFO
#                              (space-separated key=value; HOST from host=, else localhost)
#   quickstart_conf CONNINFO   prints the README quick start's dovecot-sql.conf.ext (Dovecot 2.3
#                              syntax): table users (userid, domain, password), SHA512-CRYPT
#   users_conf CONNINFO TABLE  prints a conf in dovecot-sql.conf.ext syntax with Dovecot's query
#                              (user@domain, nologin from an "active" column) on TABLE
#
# Builds
#   meson_setup DIR OPTION...  meson setup (or --reconfigure when DIR exists), quiet
#   meson_build DIR OPTION...  meson_setup, then compile, quiet

n=0
failed=0
pids=()

ok() { n=$((n + 1)); echo "ok $n - ${tap_prefix:-}$1"; }
not_ok() {
	local line
	n=$((n + 1))
	echo "not ok $n - ${tap_prefix:-}$1"
	failed=1
	shift
	for line in "$@"; do echo "# $line"; done
}
skip_case() { n=$((n + 1)); echo "ok $n - ${tap_prefix:-}$1 # SKIP $2"; }
expect() {
	if [ "$?" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1"
		sed 's/^/# /' <<<"${out:-}"
	fi
}
summary() {
	echo "1..$n"
	exit "$failed"
}
bail() {
	not_ok "$1"
	summary
}
skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}
need_env() {
	local v
	for v in "$@"; do
		[ -n "${!v:-}" ] || bail "$v is set (run through scripts/test.sh)"
	done
}
need_tools() {
	local hint=$1 tool
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null || bail "$tool is installed ($hint)"
	done
}

free_port() {
	python3 - <<'PY'
import random, socket, sys
for _ in range(200):
    p = random.randint(50001, 64999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    sys.exit(0)
sys.exit(1)
PY
}

wait_port() {
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_daemon() {
	local pid=$1 kids k
	kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ') || :
	kill -TERM "$pid" 2>/dev/null || :
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || :
	wait "$pid" 2>/dev/null || :
	for k in $kids; do
		kill -TERM "$k" 2>/dev/null || :
	done
	return 0
}

stop_daemons() {
	local pid left=0
	for pid in "${pids[@]}"; do
		stop_daemon "$pid"
	done
	for pid in "${pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && left=1
	done
	pids=()
	return $left
}

pg_start() {
	local env
	env=$("$(dirname "${BASH_SOURCE[0]}")/../pg-cluster.sh" start "$1") || return 1
	eval "$env"
	# shellcheck disable=SC2034 # for the caller
	port=$(cat "$1/port")
}

pg_env_value() {
	sed -n "s/^$1='\(.*\)'$/\1/p"
}

pamwrap() {
	local dir=$1
	shift
	env LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir" \
		PAM_WRAPPER_DEBUGLEVEL=2 "$@"
}

start_saslauthd() {
	local dir=$1 run=$2 log=$3 vars=() sasl
	shift 3
	sasl=$(PATH=$PATH:/usr/sbin:/sbin command -v saslauthd) || return 1
	while [[ ${1:-} == *=* ]]; do
		vars+=("$1")
		shift
	done
	mkdir -p "$run"
	# Its own session: on SIGTERM saslauthd signals its whole process group, which would
	# otherwise be the script and the test runner above it. setsid does not fork here (a
	# background job is no group leader), so $! is saslauthd itself.
	env LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir" \
		PAM_WRAPPER_DEBUGLEVEL=2 "${vars[@]}" setsid "$sasl" -a pam -d -m "$run" "$@" \
		>"$log" 2>&1 </dev/null &
	daemon_pid=$!
	pids+=("$daemon_pid")
	for _ in $(seq 1 100); do
		[ -S "$run/mux" ] && return 0
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

start_cyrus() {
	local cy=$1 cport=$2 prefork=$3 mux=$4 log=$5 line
	shift 5
	mkdir -p "$cy"/conf/{db,socket,proc,log,msg,user,quota,sieve,lock,sync,ptclient} "$cy/spool"
	{
		cat <<CONF
configdirectory: $cy/conf
partition-default: $cy/spool
sasl_pwcheck_method: saslauthd
sasl_saslauthd_path: $mux
allowplaintext: yes
unixhierarchysep: yes
virtdomains: off
servername: localhost
lmtpsocket: $cy/conf/socket/lmtp
idlesocket: $cy/conf/socket/idle
notifysocket: $cy/conf/socket/notify
mboxname_lockpath: $cy/conf/lock
proc_path: $cy/conf/proc
statuscache: no
CONF
		for line in "$@"; do echo "$line"; done
	} >"$cy/imapd.conf"
	# master does not hand -C to what it starts: every command names the config itself
	cat >"$cy/cyrus.conf" <<CONF
START {
  recover cmd="ctl_cyrusdb -C $cy/imapd.conf -r"
}
SERVICES {
  imap cmd="imapd -C $cy/imapd.conf" listen="127.0.0.1:$cport" prefork=$prefork
}
EVENTS {
}
DAEMON {
}
CONF
	chown -R cyrus:mail "$cy"
	setsid /usr/lib/cyrus/bin/master -C "$cy/imapd.conf" -M "$cy/cyrus.conf" \
		-p "$cy/master.pid" >"$log" 2>&1 </dev/null &
	daemon_pid=$!
	pids+=("$daemon_pid")
	wait_port "$cport" "$daemon_pid"
}

pamwrap_clean() {
	local d
	sed -n 's/.*Copy config files from .* to \(\/tmp\/pam\.[^ ]*\)$/\1/p' "$@" 2>/dev/null |
		sort -u | while IFS= read -r d; do
		rm -rf -- "$d"
	done
	return 0
}

pamwrap_clean_naming() {
	local p
	for p in /tmp/pam.?; do
		if [ -f "$p/imap" ] && grep -qF -- "$1" "$p/imap"; then
			rm -rf -- "$p"
		fi
	done
	return 0
}

e2e_cleanup() {
	stop_daemons
	# shellcheck disable=SC2154 # work: the caller's temporary folder
	pamwrap_clean "$work"/*.log
	psql -q "$PGD_TEST_ADMIN" -c "DROP TABLE IF EXISTS $1" >/dev/null 2>&1
	[ -n "${PGD_E2E_KEEP:-}" ] || rm -rf -- "$work"
}

pamtester_check() {
	local name=$1 expected=$2 user=$3 password=$4 out
	shift 4
	# shellcheck disable=SC2154 # work: the caller's temporary folder
	out=$(printf '%s\n' "$password" |
		pamwrap "$work/pam.d" pamtester -v "${service:-imap}" "$user" "${@:-authenticate}" 2>&1)
	if grep -qF -- "$expected" <<<"$out"; then
		ok "$name"
	else
		not_ok "$name"
		sed 's/^/# /' <<<"$out"
	fi
}

quickstart_conf() {
	cat <<CONF
driver = pgsql
connect = $1
default_pass_scheme = SHA512-CRYPT
password_query = SELECT userid AS username, domain, password \\
  FROM users WHERE userid = '%n' AND domain = '%d'
CONF
}

users_conf() {
	cat <<CONF
driver = pgsql
connect = $1
default_pass_scheme = SHA512-CRYPT
password_query = \\
  SELECT userid || '@' || domain AS user, password, \\
         CASE WHEN active THEN NULL ELSE 'Y' END AS nologin \\
  FROM $2 WHERE userid = '%n' AND domain = '%d'
CONF
}

v24_pgsql() {
	local host=localhost kv params=()
	for kv in $1; do
		case $kv in
		host=*) host=${kv#host=} ;;
		*) params+=("    ${kv%%=*} = ${kv#*=}") ;;
		esac
	done
	printf 'sql_driver = pgsql\npgsql %s {\n  parameters {\n' "$host"
	printf '%s\n' "${params[@]}"
	printf '  }\n}\n'
}

meson_setup() {
	local dir=$1 again=()
	shift
	[ -d "$dir" ] && again=(--reconfigure)
	meson setup "${again[@]}" "$dir" "$@" >/dev/null
}

meson_build() {
	meson_setup "$@" && meson compile -C "$1" >/dev/null
}
