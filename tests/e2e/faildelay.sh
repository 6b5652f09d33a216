#!/bin/bash
# SPDX-License-Identifier: MIT
# The shipped saslauthd stack keeps saslauthd's workers awake: the /etc/pam.d/imap lines of
# pam.d.example (with nodelay), pointed at this module, under a real saslauthd -a pam -r -n 1
# (pam_wrapper): a wrong password is answered NO without libpam's 2 s failure delay, and the
# one worker answers a right password at once after it. The same lines without nodelay, on a
# second saslauthd, show the check would see the delay. Functional, not a benchmark: the
# bounds are wide (< 0.9 s against >= 1 s: libpam sleeps the 2 s it is asked for give or take up
# to 50%, never less than 1 s); bench/flood.sh measures. A few seconds. Prints TAP.
# Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_CONNINFO, PGD_TEST_ADMIN (tests/pg-cluster.sh).
set -uo pipefail
PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

need_tools "Debian's sasl2-bin; scripts/install-deps.sh" saslauthd testsaslauthd
need_env PGD_MODULE PAM_WRAPPER_SO PGD_TEST_CONNINFO PGD_TEST_ADMIN

work=$(mktemp -d /tmp/pgd-faildelay.XXXXXX)
trap 'e2e_cleanup faildelay_users' EXIT

psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<'SQL' || bail "the test table is made"
DROP TABLE IF EXISTS faildelay_users;
CREATE TABLE faildelay_users (userid text, domain text, password text, active boolean DEFAULT true);
GRANT SELECT ON faildelay_users TO PUBLIC;
INSERT INTO faildelay_users (userid, domain, password) VALUES ('erin', 'example.org', '{PLAIN}erin pw');
SQL
users_conf "$PGD_TEST_CONNINFO" faildelay_users >"$work/module.conf"
chmod 600 "$work/module.conf"

# pam.d.example's /etc/pam.d/imap section, as an admin copies it.
stack=$(sed -n '\|^# /etc/pam.d/imap$|,/^$/p' "$root/pam.d.example" |
	grep -E '^(auth|account)[[:space:]]' |
	sed -e "s|pam_pgsql_dovecot\.so|$PGD_MODULE|" -e "s|conf=[^ ]*|conf=$work/module.conf|")
if grep -qE '^auth[[:space:]].*[[:space:]]nodelay([[:space:]]|$)' <<<"$stack" &&
	[ "$(grep -c '^account' <<<"$stack")" = 1 ]; then
	ok "pam.d.example's imap stack: auth with nodelay, and an account line"
else
	not_ok "pam.d.example's imap stack: auth with nodelay, and an account line"
	sed 's/^/# /' <<<"$stack"
fi
mkdir -p "$work/shipped.pam.d" "$work/delay.pam.d"
printf '%s\n' "$stack" >"$work/shipped.pam.d/imap"
sed -E 's/[[:space:]]+nodelay\b//' <<<"$stack" >"$work/delay.pam.d/imap"

# timed NAME SOCKET USER PASSWORD: sets $answer (OK/NO/...) and $ms (time to the answer).
timed() {
	local t0 t1 out
	t0=$(date +%s%N)
	out=$(timeout 20 testsaslauthd -f "$2/mux" -s imap -u "$3" -p "$4" 2>&1)
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	answer=$(sed -n 's/^0: \([A-Z]*\).*/\1/p' <<<"$out")
	[ -n "$answer" ] || answer="($out)"
}

for arm in shipped delay; do
	start_saslauthd "$work/$arm.pam.d" "$work/$arm.run" "$work/$arm.log" -r -n 1 ||
		{ sed 's/^/# /' "$work/$arm.log"; bail "saslauthd -a pam -r -n 1 ($arm stack) starts"; }
	timed warm "$work/$arm.run" erin@example.org 'erin pw'
done

# answered NAME ANSWER TEST MS: ok NAME when timed's $answer is ANSWER and [ "$ms" TEST MS ]
answered() {
	if [ "$answer" = "$2" ] && [ "$ms" "$3" "$4" ]; then
		ok "$1 ($ms ms)"
	else
		not_ok "$1" "answer $answer after $ms ms"
	fi
}

timed wrong "$work/shipped.run" erin@example.org 'not erin pw'
answered "shipped stack: a wrong password is answered NO without the failure delay" NO -lt 900
timed right "$work/shipped.run" erin@example.org 'erin pw'
answered "shipped stack: the one worker answers the right password at once after it" OK -lt 900
timed wrong "$work/delay.run" erin@example.org 'not erin pw'
answered "without nodelay the worker sleeps libpam's delay (2 s +-50%) before NO: the check sees it" \
	NO -ge 1000
if grep -q 'authentication failure; logname=.*user=erin@example.org' "$work/shipped.log"; then
	ok "with nodelay the failure is still logged in pam_unix's shape (fail2ban, log scanners)"
else
	not_ok "with nodelay the failure is still logged in pam_unix's shape (fail2ban, log scanners)"
fi
summary
