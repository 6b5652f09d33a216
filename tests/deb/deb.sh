#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the Debian package (dpkg-buildpackage -us -uc -b) in a temporary copy of the tree,
# checks what it holds with dpkg-deb and runs lintian, which must find no error. Prints TAP.
# Usage: deb.sh SOURCE-ROOT [OUT-DIR]: the .deb is left in OUT-DIR as libpam-pgsql-dovecot.deb
# for the Ansible test.
set -uo pipefail
src=$1
out=${2:-}
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

for tool in dpkg-buildpackage dpkg-deb lintian dh fakeroot; do
	command -v "$tool" >/dev/null || not_ok "$tool is installed (scripts/install-deps.sh)"
done
[ $failed -eq 0 ] || summary

work=$(mktemp -d /tmp/pgd-deb.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
tree=$work/pam-pgsql-dovecot
mkdir "$tree"
# The files of the checkout (committed or not), never a build folder.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z -co --exclude-standard |
		(cd "$src" && xargs -0 cp --parents -t "$tree" 2>/dev/null)
else
	tar -C "$src" --exclude='./build*' --exclude='./_build*' --exclude=./.git -cf - . |
		tar -C "$tree" -xf -
fi

start=$SECONDS
if (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds ($((SECONDS - start)) s)"
else
	not_ok "dpkg-buildpackage -us -uc -b builds"
	tail -40 "$work/build.log" | sed 's/^/# /'
	summary
fi
deb=$(ls "$work"/libpam-pgsql-dovecot_*_*.deb 2>/dev/null | head -1)
changes=$(ls "$work"/pam-pgsql-dovecot_*.changes 2>/dev/null | head -1)
if [ -z "$deb" ] || [ -z "$changes" ]; then
	not_ok "the build made libpam-pgsql-dovecot_*.deb and a .changes"
	summary
fi
ok "the build made $(basename "$deb")"
[ -n "$out" ] && mkdir -p "$out" && cp "$deb" "$out/libpam-pgsql-dovecot.deb"

contents=$(dpkg-deb -c "$deb")
# has MODE-REGEX PATH NAME
has() {
	if grep -qE "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \.$2\$" <<<"$contents"; then
		ok "$3"
	else
		not_ok "$3"
		echo "# no '$1 root/root ... .$2' in the package"
	fi
}
securedir=$(pkg-config --variable=libdir pam)/security
has '-rw-r--r--' "$securedir/pam_pgsql_dovecot.so" "the module is in libpam's folder $securedir"
has '-rw-------' /etc/security/pam_pgsql_dovecot.conf "the conf file is root:root, mode 0600"
has '-rw-r--r--' /usr/share/man/man8/pam_pgsql_dovecot.8.gz "man page pam_pgsql_dovecot(8)"
has '-rw-r--r--' /usr/share/man/man5/pam_pgsql_dovecot.conf.5.gz "man page pam_pgsql_dovecot.conf(5)"
has '-rw-r--r--' /usr/share/man/man1/pam-pgsql-dovecot.1.gz "man page pam-pgsql-dovecot(1)"
doc=/usr/share/doc/libpam-pgsql-dovecot
has '-rw-r--r--' "$doc/examples/pam.d.example" "pam.d example under $doc/examples"
has '-rw-r--r--' "$doc/examples/pam_pgsql_dovecot.conf" "example conf under $doc/examples"
has '-rw-r--r--' "$doc/examples/saslauthd.default" "saslauthd defaults under $doc/examples"
has '-rw-r--r--' "$doc/migrating-from-dovecot.md(.gz)?" "the migration guide under $doc"
if [ -f "$src/tools/meson.build" ]; then
	has '-rwxr-xr-x' /usr/bin/pam-pgsql-dovecot "the admin command is in /usr/bin"
else
	ok "the admin command is in /usr/bin # SKIP this tree has no tools/ yet"
fi

x=$work/x
mkdir "$x"
dpkg-deb -x "$deb" "$x"
active=$(grep -vE '^[[:space:]]*(#|$)' "$x/etc/security/pam_pgsql_dovecot.conf")
if [ -z "$active" ]; then
	ok "the packaged conf sets nothing: logins are refused until an admin fills it in"
else
	not_ok "the packaged conf sets nothing"
	sed 's/^/# /' <<<"$active"
fi
exported=$(nm -D --defined-only "$x$securedir/pam_pgsql_dovecot.so" | awk '{print $3}' | grep -v '^pam_sm_' || true)
if [ -z "$exported" ]; then
	ok "the packaged module exports only pam_sm_*"
else
	not_ok "the packaged module exports only pam_sm_*"
	sed 's/^/# /' <<<"$exported"
fi
depends=$(dpkg-deb -f "$deb" Depends)
if grep -q 'libpam0g' <<<"$depends" && grep -q 'libpq5' <<<"$depends"; then
	ok "Depends names libpam0g and libpq5"
else
	not_ok "Depends names libpam0g and libpq5"
	echo "# Depends: $depends"
fi

start=$SECONDS
lintian --fail-on error --info --show-overrides "$changes" >"$work/lintian.log" 2>&1
rc=$?
errors=$(grep -c '^E:' "$work/lintian.log")
warnings=$(grep -c '^W:' "$work/lintian.log")
grep -E '^[EWIO]:' "$work/lintian.log" | sed 's/^/# /'
if [ $rc -eq 0 ] && [ "$errors" -eq 0 ]; then
	ok "lintian: no error ($warnings warnings, $((SECONDS - start)) s)"
else
	not_ok "lintian: no error ($errors errors, $warnings warnings)"
	grep -vE '^[EWIO]:' "$work/lintian.log" | head -20 | sed 's/^/# /'
fi
summary
