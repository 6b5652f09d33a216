#!/bin/bash
# SPDX-License-Identifier: MIT
# The real consumer: Debian's saslauthd (-a pam -r -n 2) under pam_wrapper, loading the module
# against the test cluster, driven by testsaslauthd for the imap, smtp and sieve services.
# Every daemon is started here, in the foreground, with its socket in a temporary folder, and
# stopped here by pid; nothing is written to /etc. Prints TAP.
# Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_CONNINFO, PGD_TEST_ADMIN (tests/pg-cluster.sh).
set -uo pipefail
PATH=$PATH:/usr/sbin:/sbin
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }

for tool in saslauthd testsaslauthd; do
	if ! command -v "$tool" >/dev/null; then
		not_ok "$tool is installed (Debian's sasl2-bin; scripts/install-deps.sh)"
		echo "1..$n"
		exit 1
	fi
done
for v in PGD_MODULE PAM_WRAPPER_SO PGD_TEST_CONNINFO PGD_TEST_ADMIN; do
	if [ -z "${!v:-}" ]; then
		not_ok "$v is set (run through scripts/test.sh)"
		echo "1..$n"
		exit 1
	fi
done

work=$(mktemp -d /tmp/pgd-e2e.XXXXXX)
pids=()
# Stops one daemon: the master (which takes its workers down) and then any worker left.
stop_daemon() {
	local pid=$1 kids
	kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ')
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for k in $kids; do
		kill -TERM "$k" 2>/dev/null
	done
}
cleanup() {
	local pid d
	for pid in "${pids[@]}"; do
		stop_daemon "$pid"
	done
	# pam_wrapper's copies of the service folders (named in its debug lines).
	for d in $(sed -n 's/.*Copy config files from .* to \(\/tmp\/pam\.[^ ]*\)$/\1/p' \
		"$work"/*.log 2>/dev/null | sort -u); do
		rm -rf -- "$d"
	done
	psql -q "$PGD_TEST_ADMIN" -c 'DROP TABLE IF EXISTS e2e_users' >/dev/null 2>&1
	[ -n "${PGD_E2E_KEEP:-}" ] || rm -rf -- "$work"
}
trap cleanup EXIT

securedir=$(pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security

# A conf as an admin moving off Dovecot writes it: dovecot-sql.conf.ext syntax, Dovecot's query.
write_conf() {
	cat >"$1" <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
default_pass_scheme = SHA512-CRYPT
password_query = \\
  SELECT userid || '@' || domain AS user, password, \\
         CASE WHEN active THEN NULL ELSE 'Y' END AS nologin \\
  FROM $2 WHERE userid = '%n' AND domain = '%d'
CONF
	chmod 600 "$1"
}

# One service folder per daemon: pam_wrapper copies it when the daemon starts.
write_services() {
	local dir=$1 conf=$2 s
	mkdir -p "$dir"
	for s in imap smtp sieve; do
		printf 'auth    required %s conf=%s nodelay\naccount required %s conf=%s\n' \
			"$PGD_MODULE" "$conf" "$PGD_MODULE" "$conf" >"$dir/$s"
	done
	printf 'auth required %s/pam_deny.so\naccount required %s/pam_deny.so\n' \
		"$securedir" "$securedir" >"$dir/other"
}

# start_daemon NAME SERVICE-DIR SASLAUTHD-OPTIONS...: sets $sock; the daemon logs to NAME.log.
start_daemon() {
	local name=$1 services=$2 run=$work/$1.run i pid
	shift 2
	mkdir -p "$run"
	# Its own process group: on SIGTERM saslauthd signals its whole group, which would
	# otherwise be this script and the test runner above it. setsid does not fork here (a
	# background job is no group leader), so $! is saslauthd itself.
	env LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$services" \
		PAM_WRAPPER_DEBUGLEVEL=2 setsid saslauthd -a pam -d -m "$run" "$@" \
		>"$work/$name.log" 2>&1 </dev/null &
	pid=$!
	pids+=("$pid")
	sock=$run/mux
	for i in $(seq 1 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$work/$name.log"
	return 1
}

# login NAME EXPECT(OK|NO) SERVICE USER REALM PASSWORD
login() {
	local name=$1 expect=$2 service=$3 user=$4 realm=$5 password=$6 out
	local args=(-f "$sock" -s "$service" -u "$user" -p "$password")
	[ -n "$realm" ] && args+=(-r "$realm")
	out=$(timeout 20 testsaslauthd "${args[@]}" 2>&1)
	if [[ $out == "0: $expect "* ]]; then
		ok "$name"
	else
		not_ok "$name"
		echo "# expected $expect, got: $out"
	fi
}

write_conf "$work/main.conf" users
write_services "$work/main.pam.d" "$work/main.conf"

# --- saslauthd -a pam -r -n 2, as the guide and examples/saslauthd.default set it up ---
if start_daemon main "$work/main.pam.d" -r -n 2; then
	ok "saslauthd -a pam -r -n 2 starts under pam_wrapper and listens"
else
	not_ok "saslauthd -a pam -r -n 2 starts under pam_wrapper and listens"
	echo "1..$n"
	exit 1
fi
main_sock=$sock
cache_sock=
if grep -q 'using process model' "$work/main.log" && grep -q 'forked child' "$work/main.log"; then
	ok "saslauthd runs its preforked workers"
else
	not_ok "saslauthd runs its preforked workers"
fi

login "imap: user@domain with the right password" OK imap alice@example.org '' 'correct horse battery'
login "imap: wrong password" NO imap alice@example.org '' 'correct horse batter'
login "imap: realm passed separately is joined by -r" OK imap alice example.org 'correct horse battery'
login "imap: name case follows username_format %Lu" OK imap Alice@Example.ORG '' 'correct horse battery'
login "imap: unknown user" NO imap nobody@example.org '' 'correct horse battery'
login "imap: unknown domain" NO imap alice@example.net '' 'correct horse battery'
login "imap: empty password" NO imap alice@example.org '' ''
login "imap: disabled account (nologin column)" NO imap bob@example.org '' 'bob pw'
login "smtp: same local part, other domain, its own password" OK smtp alice@other.org '' 'other secret'
login "smtp: same local part, other domain, the first domain's password" NO smtp alice@other.org '' 'correct horse battery'
login "smtp: realm passed separately, other domain" OK smtp alice other.org 'other secret'
login "smtp: realm passed separately, wrong domain for the password" NO smtp alice other.org 'correct horse battery'
login "smtp: SHA256-CRYPT row" OK smtp carol@example.org '' 'carol pw'
login "smtp: UTF-8 password" OK smtp utf8@example.org '' 'Pässwörd 1'
login "sieve: user@domain with the right password" OK sieve alice@example.org '' 'correct horse battery'
login "sieve: wrong password" NO sieve alice@example.org '' 'wrong'
login "sieve: BLF-CRYPT row" OK sieve blf@example.org '' 'blf pw'
login "sieve: unknown user" NO sieve nobody@other.org '' 'other secret'
login "a realm on top of user@domain is appended by -r: refused" NO imap alice@example.org example.org 'correct horse battery'
login "a service without a pam.d file falls to 'other' (pam_deny)" NO pop3 alice@example.org '' 'correct horse battery'
login "an injection attempt in the name is only a name" NO imap "x' or '1'='1@example.org" '' 'injected'

# Many logins in a row reach both workers; every answer is right.
bad=0
for i in $(seq 1 10); do
	out=$(timeout 20 testsaslauthd -f "$main_sock" -s imap -u alice@example.org -p 'correct horse battery' 2>&1)
	[[ $out == "0: OK "* ]] || bad=$((bad + 1))
	out=$(timeout 20 testsaslauthd -f "$main_sock" -s imap -u alice@example.org -p "wrong $i" 2>&1)
	[[ $out == "0: NO "* ]] || bad=$((bad + 1))
done
if [ $bad -eq 0 ]; then
	ok "20 alternating logins on one daemon: every answer right"
else
	not_ok "20 alternating logins on one daemon: $bad wrong answers"
fi
if grep -q 'auth success: \[user=alice@example.org\] \[service=imap\] \[realm=example.org\]' \
	"$work/main.log"; then
	ok "saslauthd logged the joined name with its realm"
else
	not_ok "saslauthd logged the joined name with its realm"
fi
if grep -q 'authentication failure; logname=.*user=alice@example.org' "$work/main.log"; then
	ok "the module logged the failure in pam_unix's shape"
else
	not_ok "the module logged the failure in pam_unix's shape"
fi
if grep -qE 'correct horse|other secret|wrong [0-9]|\$6\$' "$work/main.log"; then
	not_ok "no password or stored hash in the daemon's log"
	grep -nE 'correct horse|other secret|wrong [0-9]|\$6\$' "$work/main.log" | sed 's/^/# /'
else
	ok "no password or stored hash in the daemon's log"
fi

# --- without -r: libsasl's realm is dropped and the module sees a bare local part ---
if start_daemon norealm "$work/main.pam.d" -n 1; then
	login "without -r, a separate realm is lost: refused" NO imap alice example.org 'correct horse battery'
	login "without -r, user@domain in the name still works" OK imap alice@example.org '' 'correct horse battery'
else
	not_ok "saslauthd without -r starts"
fi

# --- Debian's default -c: the credential cache answers for a password that was changed ---
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<'SQL'
DROP TABLE IF EXISTS e2e_users;
CREATE TABLE e2e_users (userid text, domain text, password text, active boolean DEFAULT true);
GRANT SELECT ON e2e_users TO PUBLIC;
INSERT INTO e2e_users (userid, domain, password) VALUES ('dave', 'example.org', '{PLAIN}old pw');
SQL
write_conf "$work/cache.conf" e2e_users
write_services "$work/cache.pam.d" "$work/cache.conf"
if start_daemon cache "$work/cache.pam.d" -r -n 1 -c; then
	cache_sock=$sock
	login "-c: first login with the old password" OK imap dave@example.org '' 'old pw'
	start_daemon nocache "$work/cache.pam.d" -r -n 1 || not_ok "saslauthd without -c starts"
	login "no -c: first login with the old password" OK imap dave@example.org '' 'old pw'
	psql -q "$PGD_TEST_ADMIN" -c "UPDATE e2e_users SET password = '{PLAIN}new pw'" >/dev/null
	login "no -c: the old password stops working once changed" NO imap dave@example.org '' 'old pw'
	login "no -c: the new password works at once" OK imap dave@example.org '' 'new pw'
	sock=$cache_sock
	login "-c: the changed old password still works from the cache" OK imap dave@example.org '' 'old pw'
	login "-c: the new password works too" OK imap dave@example.org '' 'new pw'
else
	not_ok "saslauthd -c starts"
fi

for pid in "${pids[@]}"; do
	stop_daemon "$pid"
done
left=0
for pid in "${pids[@]}"; do
	kill -0 "$pid" 2>/dev/null && left=1
done
if [ $left -eq 0 ] && [ ! -S "$main_sock" ] && [ ! -S "$cache_sock" ]; then
	ok "every saslauthd stopped and removed its socket"
else
	not_ok "every saslauthd stopped and removed its socket"
fi
pids=()
echo "1..$n"
exit $failed
