#!/bin/bash
# SPDX-License-Identifier: MIT
# Installs what building and testing need, from Debian's packages: the same list on Debian 12
# (bookworm) and Debian 13 (trixie). Where a name differs by release, a package that both
# releases have picks for us (clang and libclang-rt-dev are the release's default clang and its
# sanitizer/fuzzer runtime). Daemons that packages would start (dovecot, postgresql) are kept from
# starting; a policy-rc.d we put there is removed after.
#
#   scripts/install-deps.sh          what the whole suite needs (scripts/test.sh)
#   scripts/install-deps.sh --demo   only what scripts/demo.sh needs: the build, libpam's test
#                                    wrapper, pamtester and PostgreSQL; no mail server, no sshd
#
# It never removes or replaces a package: apt's plan is read first (apt-get -s), and where it
# would remove one (cyrus-imapd, which the suite needs, conflicts with dovecot-imapd) nothing is
# installed and the run stops, naming both.
set -euo pipefail
demo=0
if [ "${1:-}" = --demo ]; then
	demo=1
	shift
fi
demo_packages=(
	build-essential gcc meson ninja-build pkg-config
	libpam0g-dev libaudit-dev libpq-dev libcrypt-dev libssl-dev libsodium-dev
	libpam-wrapper pamtester postgresql postgresql-client
)
packages=(
	build-essential gcc meson ninja-build pkg-config python3 git
	# Debian 13's pam.pc requires audit (libaudit-dev); harmless on Debian 12
	libpam0g-dev libaudit-dev libpq-dev libcrypt-dev libssl-dev
	libcmocka-dev libpam-wrapper libpamtest0-dev pamtester
	postgresql postgresql-client
	# doveadm pw (the hash oracle) and Dovecot's own pgsql driver (differential tests)
	dovecot-core dovecot-pgsql sasl2-bin libsodium-dev valgrind
	# the mail copy (tests/e2e/copy.sh): Cyrus, mbsync; dovecot-imapd is unpacked (below)
	cyrus-imapd isync
	# scale-out tests: PgBouncer, certificates
	pgbouncer openssl
	# deployment: man pages, the Debian package, the Ansible role (tests/e2e, deb, ansible)
	scdoc groff-base man-db debhelper dpkg-dev fakeroot lintian
	ansible-core ansible-lint python3-apt
	# sshd end to end (tests/e2e/sshd.sh); policy-rc.d below keeps it from starting
	openssh-server openssh-client
	# fuzzing: the release's default clang and its runtime (Debian 12: 14, Debian 13: 19)
	clang libclang-rt-dev
	# the code style check (tests/ci/clang-format.sh)
	clang-format
	# the Debian 13 root and the clean package roots (scripts/trixie.sh, tests/deb/clean-root.sh)
	debootstrap zstd
	# scheme vectors and tests: openssl(1), xxd
	xxd
	"$@"
)
# dovecot-imapd and cyrus-imapd both provide imap-server and conflict: Dovecot's IMAP binaries
# for the copy test are unpacked from its package into this folder instead (no daemon, no dpkg).
dovecot_imapd=${PGD_DOVECOT_IMAPD:-/var/cache/pam-pgsql-dovecot-tests/dovecot-imapd}
unpack_dovecot_imapd() {
	local tmp
	[ -x /usr/lib/dovecot/imap ] || [ -x "$dovecot_imapd/usr/lib/dovecot/imap" ] && return 0
	[ "$(id -u)" = 0 ] || { echo "install-deps: run as root to unpack dovecot-imapd (tests/e2e/copy.sh needs it)" >&2; return 0; }
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -qq dovecot-imapd) &&
		mkdir -p "$dovecot_imapd" && dpkg-deb -x "$tmp"/dovecot-imapd_*.deb "$dovecot_imapd"
	local rc=$?
	rm -rf "$tmp"
	return $rc
}
[ $demo -eq 1 ] && packages=("${demo_packages[@]}" "$@")
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	[ $demo -eq 1 ] || unpack_dovecot_imapd
	exit
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages (run as root to install): ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600)
"${apt[@]}" update -qq
# apt's plan first: a package it would remove ("Remv NAME [VERSION]") stops the run.
plan=$(LC_ALL=C "${apt[@]}" install -s -y --no-install-recommends "${missing[@]}" 2>&1) || {
	echo "install-deps: apt cannot install ${missing[*]}:" >&2
	grep -E '^(E:| )' <<<"$plan" >&2
	exit 1
}
removed=$(awk '$1 == "Remv" { printf "%s%s", sep, $2; sep = " " }' <<<"$plan")
if [ -n "$removed" ]; then
	# One line, naming what would go and why.
	why=
	[ $demo -eq 1 ] || why=" (the suite needs cyrus-imapd, which conflicts with dovecot-imapd: run scripts/test.sh on a build machine, not on a mail host)"
	echo "install-deps: installing ${missing[*]} would remove $removed; nothing installed$why." >&2
	exit 1
fi
ours=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	ours=1
fi
trap 'if [ -n "$ours" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
echo "install-deps: installing ${missing[*]}" >&2
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ $demo -eq 1 ] || unpack_dovecot_imapd
