#!/bin/bash
# SPDX-License-Identifier: MIT
# The package as an admin gets it, on one Debian release: in a clean root of that release
# (debootstrap minbase from this machine's mirror, plus devscripts and equivs; that base is cached
# under /var/cache/pam-pgsql-dovecot/), mk-build-deps installs debian/control's Build-Depends and
# nothing else, dpkg-buildpackage builds the package, apt installs it with PostgreSQL and
# pamtester, and a user logs in through the root's own /etc/pam.d/imap (the real libpam, no
# pam_wrapper) against a PostgreSQL started there (tests/pg-cluster.sh). The root is a throwaway
# copy: writing its /etc/pam.d is not writing this machine's. Prints TAP.
#
#   tests/deb/clean-root.sh RELEASE SOURCE-ROOT     e.g. bookworm or trixie
#
# Needs root, debootstrap and zstd. When the mirror does not serve RELEASE, one SKIP line.
set -uo pipefail
rel=${1:?usage: clean-root.sh RELEASE SOURCE-ROOT}
src=$(cd "${2:?usage: clean-root.sh RELEASE SOURCE-ROOT}" && pwd)
. "$src/scripts/debroot.sh"
# shellcheck source=tests/lib/tap.sh
. "$src/tests/lib/tap.sh"
tap_prefix="$rel: "

if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null || ! command -v zstd >/dev/null; then
	not_ok "root, debootstrap and zstd are here (scripts/install-deps.sh)"
	summary
fi

work=$(mktemp -d /var/tmp/pgd-clean-$rel.XXXXXX)
root=$work/root
pgdir=/tmp/pgd-clean-pg
# shellcheck disable=SC2317 # run by the EXIT trap (debroot_traps)
cleanup() {
	if [ -f "$root$pgdir/port" ] && mountpoint -q "$root/proc"; then
		debroot_run "$root" /tmp/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1
	fi
	debroot_remove "$work" "$root"
}
debroot_traps cleanup

apt_in=(apt-get -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root)
base_setup() {
	debroot_run "$1" "${apt_in[@]}" update -qq &&
		debroot_run "$1" "${apt_in[@]}" install -y -qq --no-install-recommends devscripts equivs \
			>/dev/null
}
key=$(echo "debootstrap --variant=minbase $rel; devscripts equivs; v1" | sha256sum | cut -c1-12)
debroot_prepare_case "a clean $rel root (debootstrap minbase + devscripts equivs)" \
	"$rel: the package in a clean root" "$work/prepare.log" \
	"$rel-clean" "$rel" "$key" "$root" base_setup

# The git-tracked files of the checkout, as dpkg-buildpackage would get them from a clone.
debroot_copy_tree "$src" "$root/build/pam-pgsql-dovecot"
cp "$src/tests/pg-cluster.sh" "$root/tmp/pg-cluster.sh"
debroot_mount "$root"
inroot() { debroot_run "$root" bash -c "$1"; }

start=$SECONDS
if inroot "${apt_in[*]} update -qq" >"$work/update.log" 2>&1; then :; else
	not_ok "apt-get update in the root"
	tail -5 "$work/update.log" | sed 's/^/# /'
	summary
fi
before=$(inroot "dpkg-query -W -f='\${Package}\n' | wc -l")
if inroot "cd /build/pam-pgsql-dovecot && mk-build-deps -i -r \
	-t '${apt_in[*]} -y -qq --no-install-recommends' debian/control" >"$work/builddeps.log" 2>&1; then
	after=$(inroot "dpkg-query -W -f='\${Package}\n' | wc -l")
	ok "mk-build-deps installs debian/control's Build-Depends ($((after - before)) packages, $((SECONDS - start)) s)"
else
	not_ok "mk-build-deps installs debian/control's Build-Depends"
	tail -30 "$work/builddeps.log" | sed 's/^/# /'
	summary
fi

start=$SECONDS
if inroot "cd /build/pam-pgsql-dovecot && dpkg-buildpackage -us -uc -b" >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b with those alone ($((SECONDS - start)) s)"
else
	not_ok "dpkg-buildpackage -us -uc -b with debian/control's Build-Depends alone"
	grep -E 'error|Error|not found|dependency' "$work/build.log" | head -20 | sed 's/^/# /'
	tail -20 "$work/build.log" | sed 's/^/# /'
	summary
fi
deb=$(cd "$root/build" && ls libpam-pgsql-dovecot_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { not_ok "the build made libpam-pgsql-dovecot_*.deb"; summary; }

start=$SECONDS
if inroot "${apt_in[*]} install -y -qq --no-install-recommends /build/$deb postgresql pamtester" \
	>"$work/install.log" 2>&1; then
	ok "apt installs $deb, postgresql and pamtester ($((SECONDS - start)) s)"
else
	not_ok "apt installs $deb, postgresql and pamtester"
	tail -20 "$work/install.log" | sed 's/^/# /'
	summary
fi
m=$(inroot "dpkg -L libpam-pgsql-dovecot | grep '/security/pam_pgsql_dovecot.so\$'")
u=$(inroot "dpkg -L libpam-modules | grep '/security/pam_unix.so\$'")
md=$(inroot "readlink -f '$(dirname "${m:-/nonexistent/x}")'")
ud=$(inroot "readlink -f '$(dirname "${u:-/nonexistent/y}")'")
if [ -n "$m" ] && [ -n "$u" ] && [ "$md" = "$ud" ]; then
	ok "the module ($m) sits beside pam_unix.so, where this release's libpam looks"
else
	not_ok "the module sits beside pam_unix.so"
	echo "# module: $m ($md); pam_unix: $u ($ud)"
fi

# PostgreSQL of this release, run from the root (its own, on a free port above 50000).
if inroot "/tmp/pg-cluster.sh start $pgdir" >"$work/pg.env" 2>"$work/pg.log"; then
	ver=$(inroot "ls /usr/lib/postgresql | sort -V | tail -1")
	ok "PostgreSQL $ver runs in the root"
else
	not_ok "PostgreSQL runs in the root"
	sed 's/^/# /' "$work/pg.log"
	summary
fi
admin=$(pg_env_value PGD_TEST_ADMIN <"$work/pg.env")
conninfo=$(pg_env_value PGD_TEST_CONNINFO <"$work/pg.env")

# A Dovecot user, its hash made by the packaged admin command; the packaged conf filled in.
password=clean-root-$RANDOM$RANDOM
hash=$(inroot "printf '%s\n' '$password' | pam-pgsql-dovecot pw -s SHA512-CRYPT")
if [[ $hash == '{SHA512-CRYPT}$6$'* ]]; then
	ok "pam-pgsql-dovecot pw -s SHA512-CRYPT (the packaged command) makes the hash"
else
	not_ok "pam-pgsql-dovecot pw -s SHA512-CRYPT makes the hash"
	echo "# got: $hash"
fi
if debroot_run "$root" psql -q -v ON_ERROR_STOP=1 "$admin" >"$work/sql.log" 2>&1 <<SQL
CREATE TABLE users (userid text, domain text, password text, active boolean DEFAULT true);
INSERT INTO users VALUES ('alice', 'example.org', '$hash', true), ('bob', 'example.org', '$hash', false);
GRANT SELECT ON users TO pgd_auth;
SQL
then
	ok "a users table as Dovecot's, with alice and a disabled bob"
else
	not_ok "a users table as Dovecot's"
	sed 's/^/# /' "$work/sql.log"
fi
conf=/etc/security/pam_pgsql_dovecot.conf
if ! inroot "grep -qvE '^[[:space:]]*(#|\$)' $conf"; then
	ok "the packaged $conf sets nothing until the admin fills it in"
else
	not_ok "the packaged $conf sets nothing"
fi
users_conf "$conninfo" users | debroot_run "$root" tee "$conf" >/dev/null
inroot "printf 'auth    required  pam_pgsql_dovecot.so\naccount required  pam_pgsql_dovecot.so\n' >/etc/pam.d/imap"

# login USER PASSWORD: pamtester through the root's /etc/pam.d/imap, as saslauthd would call it.
login() {
	inroot "printf '%s\n' '$2' | pamtester -v imap '$1' authenticate acct_mgmt" 2>&1
}
out=$(login alice@example.org "$password")
if grep -q 'successfully authenticated' <<<"$out"; then
	ok "alice@example.org logs in through /etc/pam.d/imap (pamtester, the real libpam)"
else
	not_ok "alice@example.org logs in through /etc/pam.d/imap"
	sed 's/^/# /' <<<"$out"
	tail -5 "$root$pgdir/server.log" | sed 's/^/# server: /'
	inroot "pam-pgsql-dovecot check alice@example.org" 2>&1 | sed 's/^/# check: /' 
fi
# refused NAME USER PASSWORD TEXT: ok NAME when pamtester says TEXT and no success
refused() {
	local out
	out=$(login "$2" "$3")
	if grep -q "$4" <<<"$out" && ! grep -q 'successfully' <<<"$out"; then
		ok "$1"
	else
		not_ok "$1"
		sed 's/^/# /' <<<"$out"
	fi
}
refused "a wrong password is refused (Authentication failure)" alice@example.org \
	"wrong-$password" 'Authentication failure'
refused "an unknown user is refused (User not known to the underlying authentication module)" \
	carol@example.org "$password" 'User not known'
refused "a disabled user (nologin) is refused" bob@example.org "$password" \
	'Authentication failure'
summary
