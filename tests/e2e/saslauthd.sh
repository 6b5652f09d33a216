#!/bin/bash
# SPDX-License-Identifier: MIT
# The real consumer: Debian's saslauthd (-a pam -r -n 2) under pam_wrapper, loading the module
# against the test cluster, driven by testsaslauthd for the imap, smtp, sieve and pop services.
# Every daemon is started here, in the foreground, with its socket in a temporary folder, and
# stopped here by pid; nothing is written to /etc. Prints TAP.
# Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_CONNINFO, PGD_TEST_ADMIN (tests/pg-cluster.sh).
set -uo pipefail
PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

need_tools "Debian's sasl2-bin; scripts/install-deps.sh" saslauthd testsaslauthd
need_env PGD_MODULE PAM_WRAPPER_SO PGD_TEST_CONNINFO PGD_TEST_ADMIN

work=$(mktemp -d /tmp/pgd-e2e.XXXXXX)
trap 'e2e_cleanup e2e_users' EXIT

securedir=$(pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security

# A conf as an admin moving off Dovecot writes it: dovecot-sql.conf.ext syntax, Dovecot's query.
write_conf() {
	users_conf "$PGD_TEST_CONNINFO" "$2" >"$1"
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
	local name=$1 services=$2
	shift 2
	sock=$work/$name.run/mux
	start_saslauthd "$services" "$work/$name.run" "$work/$name.log" "$@" && return 0
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
	bail "saslauthd -a pam -r -n 2 starts under pam_wrapper and listens"
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

# --- Cyrus's pop3d passes the service "pop"; a query written for Dovecot says pop3 ---
# (Modoboa keeps send-only mailboxes off IMAP and POP3 with '%s' NOT IN ('imap','pop3').)
for map in default none; do
	users_conf "$PGD_TEST_CONNINFO" users |
		sed "s/ AND domain = '%d'/ AND domain = '%d' AND '%s' NOT IN ('imap','pop3')/" \
			>"$work/proto-$map.conf"
	[ $map = none ] && echo 'service_protocols =' >>"$work/proto-$map.conf"
	chmod 600 "$work/proto-$map.conf"
	mkdir -p "$work/proto-$map.pam.d"
	for s in imap pop smtp; do
		printf 'auth required %s conf=%s nodelay\naccount required %s conf=%s\n' \
			"$PGD_MODULE" "$work/proto-$map.conf" "$PGD_MODULE" "$work/proto-$map.conf" \
			>"$work/proto-$map.pam.d/$s"
	done
done
if start_daemon proto "$work/proto-default.pam.d" -r -n 1; then
	login "a send-only query: smtp logs in" OK smtp alice@example.org '' 'correct horse battery'
	login "a send-only query: imap is refused" NO imap alice@example.org '' 'correct horse battery'
	login "a send-only query: Cyrus's pop is Dovecot's pop3, refused" NO pop alice@example.org '' 'correct horse battery'
	stop_daemon "$daemon_pid"
else
	not_ok "saslauthd for the protocol map starts"
fi
if start_daemon protonone "$work/proto-none.pam.d" -r -n 1; then
	login "service_protocols empty: pop stays pop and passes the query" OK pop alice@example.org '' 'correct horse battery'
	stop_daemon "$daemon_pid"
else
	not_ok "saslauthd for the empty protocol map starts"
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

left=$(for p in "${pids[@]}"; do ps -o pid=,stat=,args= -p "$p"; done 2>/dev/null)
if stop_daemons && [ ! -S "$main_sock" ] && [ ! -S "$cache_sock" ]; then
	ok "every saslauthd stopped and removed its socket"
else
	not_ok "every saslauthd stopped and removed its socket"
	ls -l "$work"/*.run 2>&1 | sed 's/^/# /'
	sed 's/^/# running before the stop: /' <<<"$left"
fi
summary
