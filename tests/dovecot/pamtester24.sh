#!/bin/bash
# SPDX-License-Identifier: MIT
# A Dovecot 2.4 dovecot.conf tree in the form of Dovecot 2.4's documentation and Debian 13's
# package (dovecot.conf including conf.d/*.conf, conf.d/10-auth.conf including
# auth-master.conf.ext and auth-sql.conf.ext, master passdbs before the users'), read unchanged by the module through pamtester under pam_wrapper, against
# the test cluster's users table. Where Dovecot 2.4 is installed, doveconf must accept the same
# tree. Prints TAP. Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_CONNINFO.
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
command -v pamtester >/dev/null || skip_all "pamtester not installed"
work=$(mktemp -d /tmp/pgd-pamtester24.XXXXXX)
trap 'rm -rf "$work"' EXIT
declare -A pg
for kv in $PGD_TEST_CONNINFO; do
	pg[${kv%%=*}]=${kv#*=}
done
etc=$work/etc/dovecot
mkdir -p "$etc/conf.d" "$work/pam.d"
cat >"$etc/dovecot.conf" <<'CONF'
## Dovecot configuration file
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1

# Enable installed protocols
!include_try /usr/share/dovecot/protocols.d/*.protocol

!include conf.d/*.conf
!include_try local.conf
CONF
cat >"$etc/conf.d/10-auth.conf" <<'CONF'
auth_allow_cleartext = no
auth_mechanisms = plain
#!include auth-system.conf.ext
!include auth-master.conf.ext
!include auth-sql.conf.ext
CONF
# Master users first, as Debian's conf.d has them (and as a mail copy wants them): a
# passwd-file one and an SQL one whose query finds nobody. Both answer master logins only; the
# module must read past them to the users' passdb, or no check below passes.
cat >"$etc/conf.d/auth-master.conf.ext" <<CONF
passdb passwd-file {
  driver = passwd-file
  master = yes
  passwd_file_path = $etc/master-users
  result_success = continue
}
CONF
cat >"$etc/conf.d/10-mail.conf" <<'CONF'
mail_driver = maildir
mail_home = /var/vmail/%{user | domain}/%{user | username}
mail_path = ~/Maildir
namespace inbox {
  inbox = yes
}
protocol !indexer-worker {
  mail_vsize_bg_after_count = 0
}
CONF
cat >"$etc/conf.d/auth-sql.conf.ext" <<CONF
# Authentication for SQL users. Included from 10-auth.conf.
sql_driver = pgsql

pgsql ${pg[host]} {
  parameters {
    port = ${pg[port]}
    dbname = ${pg[dbname]}
    user = ${pg[user]}
    password = "${pg[password]}"
  }
}

passdb master-sql {
  driver = sql
  master = yes
  result_success = continue
  sql_query = SELECT password FROM users WHERE false AND userid = '%{user}'
}

passdb sql {
  default_password_scheme = SHA512-CRYPT
  query = \\
    SELECT userid AS username, domain, password \\
    FROM users WHERE userid = '%{user | username}' AND domain = '%{user | domain}'
}

userdb sql {
  query = SELECT '/var/vmail/%{user | domain}/%{user | username}' AS home, \\
    5000 AS uid, 5000 AS gid
}
CONF
chmod 600 "$etc/dovecot.conf" "$etc"/conf.d/*
printf 'auth required %s conf=%s nodelay\naccount required %s conf=%s\n' \
	"$PGD_MODULE" "$etc/dovecot.conf" "$PGD_MODULE" "$etc/dovecot.conf" >"$work/pam.d/imap"

# pamtester_check NAME EXPECTED-OUTPUT USER PASSWORD [pamtester operations...]: service imap
pamtester_check "the 2.4 tree: right password logs in" "successfully authenticated" \
	alice@example.org 'correct horse battery'
pamtester_check "the 2.4 tree: authenticate then acct_mgmt" "account management done" \
	alice@example.org 'correct horse battery' authenticate acct_mgmt
pamtester_check "the 2.4 tree: the name is lowercased (auth_username_format's 2.4 default)" \
	"successfully authenticated" Alice@Example.ORG 'correct horse battery'
pamtester_check "the 2.4 tree: wrong password is PAM_AUTH_ERR" "Authentication failure" \
	alice@example.org wrong
pamtester_check "the 2.4 tree: unknown user is PAM_USER_UNKNOWN" "User not known" \
	nobody@example.org 'correct horse battery'
pamtester_check "the 2.4 tree: weak PLAIN-MD5 refused without auth_allow_weak_schemes" \
	"Weak password scheme 'PLAIN-MD5' used and refused" md5@example.org 'md5 pw'
out=$(printf 'x\n' | pamwrap "$work/pam.d" pamtester -v imap alice@example.org authenticate 2>&1)
if grep -qF "${pg[password]}" <<<"$out"; then
	not_ok "the database password never reaches the log"
else
	ok "the database password never reaches the log"
fi
# debug says which dialect was read
printf 'auth required %s conf=%s nodelay debug\n' "$PGD_MODULE" "$etc/dovecot.conf" \
	>"$work/pam.d/debug"
out=$(printf 'correct horse battery\n' | pamwrap "$work/pam.d" PAM_WRAPPER_DEBUGLEVEL=3 \
	pamtester -v debug alice@example.org authenticate 2>&1)
if grep -qF "Dovecot 2.4 dovecot.conf" <<<"$out"; then
	ok "debug names the dialect"
else
	not_ok "debug names the dialect"
	sed 's/^/# /' <<<"$out" | grep -v 'PAM_AUTHTOK' | head -20
fi
version=$(dovecot --version 2>/dev/null | cut -d' ' -f1)
case $version in
2.4.*)
	out=$(doveconf -c "$etc/dovecot.conf" -h passdb_sql_query 2>&1)
	expect "Dovecot $version's doveconf reads the same tree"
	;;
*) ok "doveconf reads the same tree # SKIP Dovecot 2.4 not installed" ;;
esac
summary
