#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/dovecot.sh on Debian 13 (Dovecot 2.4, saslauthd, libpam and PostgreSQL of trixie), from a
# Debian 12 host, as root: the cached trixie root of scripts/trixie.sh
# (/var/cache/pam-pgsql-dovecot/trixie-suite-KEY.tar.zst) is unpacked into a temporary folder,
# the git-tracked files are copied in, /proc, /dev, /dev/pts and /dev/shm are mounted, and
# bench/dovecot.sh runs inside (chroot: its /etc/pam.d file is the root's, the host's is not
# touched); its results are copied to bench/results/DATE-dovecot-debian13/. The root is
# unmounted and removed on every exit path. Never makes a root: without the cached one it says
# SKIP and exits 77 (scripts/trixie.sh, run by scripts/test.sh, makes it).
# Knobs: DC13_PHASES (the phases inside, "1,2,3,5"; with 4, the profile, linux-perf is installed
# into the temporary root from its apt sources and /sys mounted read-only in it), and every DC_*
# knob of bench/dovecot.sh without blanks in its value, passed through.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
src=$PWD
# shellcheck source=scripts/debroot.sh
. scripts/debroot.sh
[ "$(id -u)" = 0 ] || { echo "SKIP: the Debian 13 root needs root"; exit 77; }
key=$( { echo "debootstrap --variant=minbase trixie v1"; cat scripts/install-deps.sh; } |
	sha256sum | cut -c1-12)
tarball=$PGD_ROOT_CACHE/trixie-suite-$key.tar.zst
[ -f "$tarball" ] || { echo "SKIP: no cached Debian 13 root ($tarball; scripts/trixie.sh makes it)"; exit 77; }
out=${BENCH_OUT:-$src/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-dovecot-debian13}
work=$(mktemp -d /var/tmp/pgd-bench13.XXXXXX)
root=$work/root
# shellcheck disable=SC2016 # expanded when the trap runs
debroot_traps 'debroot_umount "$root"; ! mountpoint -q "$root/sys" || umount "$root/sys"
	debroot_remove "$work" "$root"'
debroot_prepare trixie-suite trixie "$key" "$root" || exit 1
debroot_copy_tree "$src" "$root/src/pam-pgsql-dovecot"
debroot_mount "$root"
# debroot_run splits PGD_ROOT_ENV at blanks: the phases go comma-separated
phases=${DC13_PHASES:-1,2,3,5}
if [[ ",${phases// /,}," == *,4,* ]]; then
	mount -t sysfs -o ro sysfs "$root/sys"
	debroot_run "$root" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends linux-perf' \
		>"$work/perf-install.log" 2>&1 || { echo "linux-perf did not install in the root:" >&2; tail -5 "$work/perf-install.log" >&2; }
fi
env_in="DC_PHASES=${phases// /,} BENCH_OUT=/tmp/bench-out"
for v in $(compgen -e | grep '^DC_' | grep -v '^DC_PHASES$'); do
	env_in="$env_in $v=${!v}"
done
PGD_ROOT_ENV=$env_in debroot_run "$root" bash -c 'cd /src/pam-pgsql-dovecot && exec bench/dovecot.sh'
rc=$?
mkdir -p "$out"
cp -a "$root/tmp/bench-out/." "$out/" 2>/dev/null
echo "results: ${out#"$src"/} (exit $rc)"
exit $rc
