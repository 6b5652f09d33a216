# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The real Dovecot as the oracle, and the module beside it through pamtester: what
# tests/dovecot/differential.sh and tests/dovecot/kits/kits.sh share. Sourced after
# tests/lib/tap.sh, once $work is set (a folder of the test's own outside /tmp, mode 755):
#   pg[KEY]                  the suite's conninfo (PGD_TEST_CONNINFO) as an array: the module's
#                            database role and server
#   right, wrong             the password the rows are made for, and another
#   oracle_release           sets version (2.3.19.1) and release (2.3 or 2.4) of the Dovecot
#                            installed here; skip_all when a program is missing, when not root
#                            (Dovecot's master needs it), or for another release
#   oracle_common NAME       prints the settings every Dovecot of the tests runs with: base_dir,
#                            state_dir and log under $work, instance NAME, no protocols, auth
#                            debug logging, no failure delay
#   oracle_userdb            prints a static userdb in the release's syntax (`doveadm auth test`
#                            asks none, but Dovecot wants one)
#   oracle_start CONF        starts Dovecot with CONF (master_pid); "Bail out!" when it does not
#   oracle_stop              stops it (safe when none runs)
#   oracle_verdict CONF USER PASSWORD SESSION [-x KEY=VALUE...]
#                            `doveadm auth test` with no anvil penalty; prints one word (OK
#                            NOLOGIN NETS UNKNOWN MISMATCH TEMPFAIL REFUSED FAILED OTHER;
#                            FAILED: "auth failed" with no reason logged, as for a row's
#                            fail field), what it saw
#                            in $work/last.dovecot
#   pamtester_verdict DIR SERVICE USER PASSWORD RIP
#                            pamtester through pam_wrapper with DIR's service files (the real
#                            .so), PAM_RHOST when RIP is set; prints one word (OK UNKNOWN
#                            REFUSED NOLOGIN NETS FAILED FP MISMATCH CONFIG UNAVAIL OTHER;
#                            FAILED: the row sets fail, FP: check_client_*_fp), its output in
#                            $work/last.module

# shellcheck disable=SC2034 # pg, right, wrong: for the caller
{
	declare -A pg
	for kv in $PGD_TEST_CONNINFO; do
		pg[${kv%%=*}]=${kv#*=}
	done
	right='Right-pw 1' wrong='wrong-pw'
}

# shellcheck disable=SC2034 # version and release: for the caller
oracle_release() {
	local prog
	for prog in dovecot doveadm pamtester psql; do
		command -v "$prog" >/dev/null || skip_all "$prog not installed"
	done
	[ "$(id -u)" = 0 ] || skip_all "Dovecot's master needs root"
	version=$(dovecot --version | cut -d' ' -f1)
	version=${version%%-*}
	case $version in
	2.3.*) release=2.3 ;;
	2.4.*) release=2.4 ;;
	*) skip_all "Dovecot $version: neither 2.3 nor 2.4" ;;
	esac
}

# shellcheck disable=SC2154 # work: the caller's folder
oracle_common() {
	cat <<-CONF
		base_dir = $work/run
		state_dir = $work/state
		log_path = $work/dovecot.log
		instance_name = $1
		protocols =
		listen = 127.0.0.1
		ssl = no
		auth_verbose = yes
		auth_debug = yes
		auth_failure_delay = 0
	CONF
}

oracle_userdb() {
	if [ "$release" = 2.3 ]; then
		printf 'userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=/tmp\n}\n'
	else
		printf 'userdb static {\n  fields {\n    uid = nobody\n    gid = nogroup\n    home = /tmp\n  }\n}\n'
	fi
}

master_pid=
oracle_stop() {
	if [ -n "$master_pid" ] && kill -0 "$master_pid" 2>/dev/null; then
		kill "$master_pid"
		for _ in $(seq 50); do
			kill -0 "$master_pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	master_pid=
}

oracle_start() {
	rm -rf "$work/run" "$work/state"
	: >"$work/dovecot.log"
	if ! dovecot -c "$1" 2>"$work/start.err"; then
		echo "Bail out! dovecot did not start: $(cat "$work/start.err")"
		exit 1
	fi
	for _ in $(seq 50); do
		[ -s "$work/run/master.pid" ] && [ -S "$work/run/auth-client" ] && break
		sleep 0.1
	done
	master_pid=$(cat "$work/run/master.pid" 2>/dev/null)
	if [ -z "$master_pid" ]; then
		echo "Bail out! dovecot wrote no pid: $(tail -3 "$work/dovecot.log")"
		exit 1
	fi
}

oracle_verdict() {
	local conf=$1 user=$2 pw=$3 sid=$4 out lines
	shift 4
	# no-penalty: anvil would slow down every failure after the first from one address
	out=$(doveadm -c "$conf" auth test -x no-penalty -x "session=$sid" "$@" "$user" "$pw" 2>&1)
	# The log process writes a moment later: wait for the request's end.
	for _ in $(seq 50); do
		lines=$(grep -F "<$sid>" "$work/dovecot.log")
		[[ $lines == *"Auth request finished"* || $lines == *"Finished passdb lookup"* ]] && break
		sleep 0.05
	done
	lines=$(grep -F "<$sid>" "$work/dovecot.log" | grep -v ': Debug: ')
	printf '%s\n%s\n' "$out" "$lines" >"$work/last.dovecot"
	if [[ $out == *"auth succeeded"* ]]; then
		if grep -q '^  nologin' <<<"$out"; then echo NOLOGIN; else echo OK; fi
	elif [[ $lines == *"allow_nets check failed"* || $lines == *"allow_real_nets check failed"* ]]; then
		echo NETS
	elif [[ $lines == *"unknown user"* ]]; then
		echo UNKNOWN
	elif [[ $lines == *"Password mismatch"* ]]; then
		echo MISMATCH
	elif [[ $lines == *"query failed"* || $lines == *"internal failure"* ]]; then
		echo TEMPFAIL
	elif [[ $lines == *": Error: "* || $lines == *"Empty password"* || $lines == *"No password"* ]]; then
		echo REFUSED
	elif [[ $out == *"auth failed"* ]]; then
		echo FAILED
	else
		echo OTHER
	fi
}

# pam_wrapper copies the service folder to /tmp/pam.X (X one of 62 letters), a name every other
# suite on the machine shares: each pamtester gets a /tmp of its own where the kernel allows it,
# unless the module or pam_wrapper itself lies under /tmp (a clone made with mktemp -d: the
# private /tmp would hide it from dlopen). Those runs share /tmp, as where unshare is refused.
private_tmp=()
if [[ $(realpath -m "$PGD_MODULE") != /tmp/* && $(realpath -m "$PAM_WRAPPER_SO") != /tmp/* ]] &&
	unshare -m sh -c 'mount -t tmpfs pgd-tmp /tmp' 2>/dev/null; then
	private_tmp=(unshare -m sh -c 'mount -t tmpfs pgd-tmp /tmp && exec "$0" "$@"')
fi

pamtester_verdict() {
	local dir=$1 svc=$2 user=$3 pw=$4 rip=$5 out args=()
	[ -n "$rip" ] && args=(-I "rhost=$rip")
	out=$(printf '%s\n' "$pw" | "${private_tmp[@]}" env LD_PRELOAD="$PAM_WRAPPER_SO" \
		PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir" PAM_WRAPPER_DEBUGLEVEL=2 \
		pamtester -v "${args[@]}" "$svc" "$user" authenticate 2>&1)
	printf '%s\n' "$out" >"$work/last.module"
	if [[ $out == *"successfully authenticated"* ]]; then
		echo OK
	elif [[ $out == *"User not known"* ]]; then
		echo UNKNOWN
	elif [[ $out == *"Authentication failure"* ]]; then
		case $out in
		*"cannot verify user="*) echo REFUSED ;;
		*"(account disabled: nologin"*) echo NOLOGIN ;;
		*"(allow_nets: "* | *"(allow_real_nets: "*) echo NETS ;;
		*"(the row sets fail)"*) echo FAILED ;;
		*"(the row sets check_client_"*) echo FP ;;
		*) echo MISMATCH ;;
		esac
	elif [[ $out == *"Error in service module"* ]]; then
		echo CONFIG
	elif [[ $out == *"cannot retrieve authentication info"* ]]; then
		echo UNAVAIL
	else
		echo OTHER
	fi
}
