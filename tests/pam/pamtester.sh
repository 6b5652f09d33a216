#!/bin/bash
# SPDX-License-Identifier: MIT
# pamtester, as an admin would run it, under pam_wrapper (nothing written to /etc), against the
# test cluster; the conf file is in dovecot-sql.conf.ext syntax. Prints TAP.
# Needs: PGD_MODULE, PGD_TEST_CONNINFO, PGD_TEST_PGDIR, PGD_TEST_EXTERNAL, PAM_WRAPPER_SO.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
work=$(mktemp -d /tmp/pgd-pamtester.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/pam.d"
conf=$work/dovecot-sql.conf.ext
cat >"$conf" <<CONF
# the same file Dovecot read
driver = pgsql
connect = $PGD_TEST_CONNINFO
default_pass_scheme = SHA512-CRYPT
password_query = \\
  SELECT userid AS username, domain, password \\
  FROM users WHERE userid = '%n' AND domain = '%d'
user_query = SELECT '/var/vmail/%d/%n' AS home, 5000 AS uid, 5000 AS gid
CONF
chmod 600 "$conf"
printf 'auth required %s conf=%s nodelay\naccount required %s conf=%s\n' \
	"$PGD_MODULE" "$conf" "$PGD_MODULE" "$conf" >"$work/pam.d/imap"

# [service=SERVICE] pamtester_check NAME EXPECTED-OUTPUT USER PASSWORD [pamtester operations...]

pamtester_check "right password logs in" "successfully authenticated" \
	alice@example.org 'correct horse battery'
pamtester_check "authenticate then acct_mgmt, as saslauthd" "account management done" \
	alice@example.org 'correct horse battery' authenticate acct_mgmt
pamtester_check "wrong password is PAM_AUTH_ERR" "Authentication failure" alice@example.org 'wrong'
pamtester_check "wrong password is logged as pam_unix does" "authentication failure; logname=" \
	alice@example.org 'wrong'
pamtester_check "unknown user is PAM_USER_UNKNOWN" \
	"User not known to the underlying authentication module" nobody@example.org 'correct horse battery'
pamtester_check "the password never reaches the log" "Authentication failure" \
	alice@example.org 'Sekr1t-marker'
if grep -q 'Sekr1t-marker' <<<"$(printf 'Sekr1t-marker\n' |
	pamwrap "$work/pam.d" pamtester -v imap alice@example.org authenticate 2>&1)"; then
	not_ok "password found in the log"
else
	ok "password absent from the log"
fi

# authenticate, acct_mgmt and chauthtok in one pamtester run, as an admin would try them.
psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<'SQL'
DROP TABLE IF EXISTS chpw_users;
CREATE TABLE chpw_users (userid text, domain text, password text);
GRANT SELECT, UPDATE ON chpw_users TO PUBLIC;
INSERT INTO chpw_users VALUES ('carol', 'example.org', '{PLAIN-MD5}1f3870be274f6c49b3e31a0c6728957f');
SQL
cat >"$work/chpw.conf" <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
password_query = SELECT password FROM chpw_users WHERE userid = '%n' AND domain = '%d'
password_update_query = UPDATE chpw_users SET password = %{hash} \\
  WHERE userid = '%n' AND domain = '%d'
CONF
chmod 600 "$work/chpw.conf"
for t in auth account password; do
	printf '%s required %s conf=%s nodelay\n' "$t" "$PGD_MODULE" "$work/chpw.conf"
done >"$work/pam.d/chpw"
service=chpw pamtester_check "pamtester authenticate acct_mgmt chauthtok" \
	"authentication token altered successfully" \
	carol@example.org $'apple\napple\npear tree\npear tree' authenticate acct_mgmt chauthtok
stored=$(psql -At "$PGD_TEST_ADMIN" -c "SELECT password FROM chpw_users WHERE userid = 'carol'")
if [[ $stored == '{SHA512-CRYPT}$6$'* ]] && doveadm pw -t "$stored" -p 'pear tree' >/dev/null 2>&1; then
	ok "the new hash is SHA512-CRYPT and doveadm pw -t verifies it"
else
	not_ok "the new hash is SHA512-CRYPT and doveadm pw -t verifies it"
fi
service=chpw pamtester_check "the new password logs in" "successfully authenticated" \
	carol@example.org 'pear tree'
psql -q "$PGD_TEST_ADMIN" -c "DROP TABLE chpw_users" >/dev/null

# Dovecot's password_noscheme: the value is in default_pass_scheme even when it starts with
# "{", so a plaintext password that looks like a prefix is the password itself.
for col in password password_noscheme; do
	cat >"$work/$col.conf" <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
default_pass_scheme = PLAIN
password_query = SELECT '{PLAIN}x' AS $col WHERE '%u' = 'dana@example.org'
CONF
	chmod 600 "$work/$col.conf"
	printf 'auth required %s conf=%s nodelay\n' "$PGD_MODULE" "$work/$col.conf" >"$work/pam.d/$col"
done
service=password pamtester_check "password '{PLAIN}x': its scheme prefix is read, x logs in" \
	"successfully authenticated" dana@example.org x
service=password_noscheme pamtester_check "password_noscheme '{PLAIN}x': x does not log in" \
	"Authentication failure" dana@example.org x
service=password_noscheme pamtester_check "password_noscheme '{PLAIN}x': the whole value is the password" \
	"successfully authenticated" dana@example.org '{PLAIN}x'

# iRedMail's per-protocol, per-transport column ("enable%Ls%Lc"): each pam.d line states the
# transport saslauthd does not pass (secured=); a line that states none refuses the login, as
# does a service that is no protocol: PAM_SERVICE_ERR and one line naming why.
mkdir -p "$work/glued/pam.d"
cat >"$work/glued.conf" <<CONF
driver = pgsql
connect = $PGD_TEST_CONNINFO
default_pass_scheme = SHA512-CRYPT
password_query = SELECT password FROM (SELECT u.*, 1 AS enableimaptls, 1 AS enablepop3 \\
  FROM users u) m WHERE userid = '%n' AND domain = '%d' AND m."enable%Ls%Lc" = 1
CONF
chmod 600 "$work/glued.conf"
for line in "imap secured=tls" "pop secured=no" "sieve" "cyrus secured=tls"; do
	read -r svc arg <<<"$line"
	printf 'auth required %s conf=%s nodelay %s\n' "$PGD_MODULE" "$work/glued.conf" "$arg" \
		>"$work/glued/pam.d/$svc"
done
main_work=$work
work=$work/glued
service=imap pamtester_check "imap, secured=tls: enableimaptls read, logs in" \
	"successfully authenticated" alice@example.org 'correct horse battery'
service=pop pamtester_check "pop, secured=no: Dovecot's pop3, enablepop3 read, logs in" \
	"successfully authenticated" alice@example.org 'correct horse battery'
service=sieve pamtester_check "%c with no secured= on the line: refused, naming %c and the key" \
	"%c (%{secured}) is used but secured is not set" alice@example.org 'correct horse battery'
service=sieve pamtester_check "... as PAM_SERVICE_ERR" "Error in service module" alice@example.org 'x'
service=cyrus pamtester_check "service cyrus: not a protocol, never written into the SQL" \
	"the protocol written into the identifier" alice@example.org 'correct horse battery'
work=$main_work

if [ "${PGD_TEST_EXTERNAL:-0}" = 1 ]; then
	ok "database stopped # SKIP external server"
else
	"$here/../pg-cluster.sh" halt "$PGD_TEST_PGDIR"
	pamtester_check "database stopped is PAM_AUTHINFO_UNAVAIL" \
		"Authentication service cannot retrieve authentication info" alice@example.org 'correct horse battery'
	pamtester_check "database stopped is logged" "database unavailable" alice@example.org 'x'
	"$here/../pg-cluster.sh" resume "$PGD_TEST_PGDIR"
	pamtester_check "database back: logins work again" "successfully authenticated" \
		alice@example.org 'correct horse battery'
fi
summary
