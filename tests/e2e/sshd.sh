#!/bin/bash
# SPDX-License-Identifier: MIT
# sshd, the caller that keeps a process per connection: a real sshd -D on 127.0.0.1 (a free
# port above 50000, a host key made here, UsePAM yes) under pam_wrapper, its PAM stack on the
# module. N clients connect at once, each sends one wrong password and then waits at the next
# prompt (an unauthenticated connection); the server's backends of the module are counted
# while they wait. A few logins that succeed hold a session open the same way.
# sshd is stopped by its pid on every exit path; nothing is written to /etc. sshd needs its
# privilege separation folder /run/sshd (empty, as openssh-server's own start-up makes it):
# made here when missing and left there, since another sshd may be using it by then.
# Prints TAP. Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_CONNINFO, PGD_TEST_ADMIN.
# The module keeps its connection only in a process that has ended a PAM transaction, and
# sshd's per-connection processes run one transaction each: they must hold no backend while
# they wait (PGD_SSHD_EXPECT_HELD, default 0; empty: only measure). Measured before that rule:
# 50 unauthenticated connections held 50 backends, each open session one more.
# PGD_SSHD_CLIENTS (default 30), PGD_SSHD_CONF_EXTRA (a line added to the conf) and
# PGD_SSHD_MODULE_ARGS (arguments added to the module's PAM lines) change the run.
set -uo pipefail
PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
clients=${PGD_SSHD_CLIENTS:-30}
expect_held=${PGD_SSHD_EXPECT_HELD-0}
sessions=3

for tool in sshd ssh ssh-keygen; do
	command -v "$tool" >/dev/null ||
		skip_all "$tool is not installed (openssh-server, openssh-client)"
done
[ "$(id -u)" = 0 ] || skip_all "sshd must run as root"
need_env PGD_MODULE PAM_WRAPPER_SO PGD_TEST_CONNINFO PGD_TEST_ADMIN

work=$(mktemp -d /tmp/pgd-sshd.XXXXXX)
chmod 755 "$work"
sshd_pid=
client_pids=()
cleanup() {
	local p d
	for p in "${client_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	# the listener, then the per-connection processes it forked (their monitors)
	[ -n "$sshd_pid" ] && stop_daemon "$sshd_pid"
	for p in "${client_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	# the askpass programs left waiting at the second prompt (each wrote its own pid)
	for f in "$work"/waiting.*; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	pamwrap_clean "$work/sshd.log"
	psql -q "$PGD_TEST_ADMIN" -c 'DROP TABLE IF EXISTS sshd_users' >/dev/null 2>&1
	[ -n "${PGD_SSHD_KEEP:-}" ] || rm -rf -- "$work"
}
trap cleanup EXIT

[ -d /run/sshd ] || mkdir -p -m 755 /run/sshd

# The users: a wrong password for alice, and the system user postgres (sshd logs in only users
# of the password database) with a password of its own in a table of this test.
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<'SQL' || exit 1
DROP TABLE IF EXISTS sshd_users;
CREATE TABLE sshd_users (userid text NOT NULL, password text);
GRANT SELECT ON sshd_users TO PUBLIC;
INSERT INTO sshd_users VALUES ('alice', '{PLAIN}alice ssh pw'), ('postgres', '{PLAIN}sshd test pw');
SQL

ssh-keygen -q -t ed25519 -N '' -f "$work/host_key" || exit 1
cat >"$work/module.conf" <<EOF
driver = pgsql
connect = $PGD_TEST_CONNINFO application_name=pgd_sshd
password_query = SELECT password FROM sshd_users WHERE userid = '%u'
${PGD_SSHD_CONF_EXTRA:-}
EOF
chmod 600 "$work/module.conf"
securedir=$(pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security
mkdir "$work/pam.d"
cat >"$work/pam.d/sshd" <<EOF
auth required $PGD_MODULE conf=$work/module.conf nodelay ${PGD_SSHD_MODULE_ARGS:-}
account required $PGD_MODULE conf=$work/module.conf ${PGD_SSHD_MODULE_ARGS:-}
session required $securedir/pam_permit.so
password required $securedir/pam_deny.so
EOF

port=$(free_port) || { echo "Bail out! no free port"; exit 1; }
cat >"$work/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
PidFile $work/sshd.pid
UsePAM yes
KbdInteractiveAuthentication no
PasswordAuthentication yes
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
MaxStartups $((clients + 10)):100:$((clients + 20))
MaxAuthTries 6
LoginGraceTime 60
PrintMotd no
PrintLastLog no
UseDNS no
Subsystem sftp internal-sftp
EOF

# sshd re-executes itself for every connection with this environment: pam_wrapper follows.
env LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$work/pam.d" \
	PAM_WRAPPER_DEBUGLEVEL=2 /usr/sbin/sshd -D -e -f "$work/sshd_config" \
	>"$work/sshd.log" 2>&1 &
sshd_pid=$!
if ! wait_port "$port" "$sshd_pid"; then
	sed 's/^/# /' "$work/sshd.log"
	bail "sshd started"
fi
ok "sshd -D listens on 127.0.0.1:$port"

# The askpass program: the first prompt of a client gets its password, the next one waits
# (the connection stays open, unauthenticated, as a client that types slowly).
cat >"$work/askpass" <<'EOF'
#!/bin/sh
mark="$PGD_ASKPASS_DIR/asked.$PPID"
if [ -e "$mark" ]; then
	# its pid, for the cleanup: ssh does not end its askpass when it is killed
	echo $$ >"$PGD_ASKPASS_DIR/waiting.$$"
	exec sleep 120
fi
: >"$mark"
printf '%s\n' "$PGD_ASKPASS_PASSWORD"
EOF
chmod 755 "$work/askpass"

# ssh USER PASSWORD [COMMAND]: in the background, no terminal; its pid goes to client_pids
client() {
	local user=$1 password=$2
	shift 2
	setsid env SSH_ASKPASS="$work/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		PGD_ASKPASS_DIR="$work" PGD_ASKPASS_PASSWORD="$password" \
		ssh -F /dev/null -n -p "$port" -l "$user" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o PreferredAuthentications=password \
		-o PubkeyAuthentication=no -o NumberOfPasswordPrompts=2 -o LogLevel=ERROR \
		127.0.0.1 "$@" </dev/null >>"$work/clients.log" 2>&1 &
	client_pids+=($!)
}

backends() {
	psql -Atq "$PGD_TEST_ADMIN" -c \
		"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgd_sshd'"
}

# Waits up to 30 s for the server to count want backends; prints the last count.
wait_backends() {
	local want=$1 got i
	for i in $(seq 1 150); do
		got=$(backends)
		[ "$got" -ge "$want" ] && break
		sleep 0.2
	done
	echo "$got"
}

# Waits until sshd logged want failed passwords (every client has had its lookup).
wait_log() {
	local pattern=$1 want=$2 i got=0
	for i in $(seq 1 300); do
		got=$(grep -c -- "$pattern" "$work/sshd.log")
		[ "$got" -ge "$want" ] && break
		sleep 0.2
	done
	echo "$got"
}

# clients_logged N PATTERN NAME CLIENT-ARGUMENTS...: N clients; ok NAME once sshd logged N
# lines matching PATTERN (else not_ok, with what it logged)
clients_logged() {
	local many=$1 pattern=$2 name=$3 got
	shift 3
	for _ in $(seq 1 "$many"); do
		client "$@"
	done
	got=$(wait_log "$pattern" "$many")
	if [ "$got" -ge "$many" ]; then ok "$name"; else not_ok "$name (sshd logged $got)"; fi
	sleep 1
}

start=$(date +%s)
clients_logged "$clients" "Failed password for" \
	"$clients clients each had one wrong password refused" alice 'wrong password'
held=$(backends)
monitors=$(pgrep -P "$sshd_pid" | wc -l)
echo "# $clients unauthenticated connections (sshd processes: $monitors): $held backends of the module"
if [ -n "$expect_held" ]; then
	[ "$held" -le "$expect_held" ] &&
		ok "unauthenticated connections hold at most $expect_held backends ($held)" ||
		not_ok "unauthenticated connections hold at most $expect_held backends ($held)"
fi

# Sessions: postgres logs in and keeps the session open for a while.
clients_logged "$sessions" "Accepted password for postgres" "$sessions sessions logged in" \
	postgres 'sshd test pw' sleep 30
with_sessions=$(backends)
echo "# and $sessions open sessions: $with_sessions backends of the module"
echo "# measured in $(($(date +%s) - start)) s"
if [ -n "$expect_held" ]; then
	[ "$with_sessions" -le "$expect_held" ] &&
		ok "open sessions hold at most $expect_held backends ($with_sessions)" ||
		not_ok "open sessions hold at most $expect_held backends ($with_sessions)"
fi
summary
