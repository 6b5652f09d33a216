#!/bin/bash
# SPDX-License-Identifier: MIT
# The whole suite on Debian 13 (trixie), from a Debian 12 host: scripts/test.sh runs this after
# its own run. A trixie root is made with debootstrap from this machine's package mirror (read
# from its apt sources), scripts/install-deps.sh installs the packages inside it, and the prepared
# root is cached as a tarball under /var/cache/pam-pgsql-dovecot/ (keyed by install-deps.sh), so
# that a later run only unpacks it. The git-tracked files of the checkout are copied in and the
# same scripts/test.sh runs there, with its own throwaway PostgreSQL (17 on trixie) and no
# daemon started by a package (policy-rc.d). /proc, /dev, /dev/pts and /dev/shm are mounted for
# the run and unmounted on every exit path; the root is removed afterwards.
#
#   scripts/trixie.sh OUT-DIR    OUT-DIR gets run.log (the inner run's output), meson-logs/, asan/,
#                                count ("PASSED FAILED SKIPPED" of the inner closing line)
# Exits 0 when the inner suite passed, 1 when it failed, 77 when the mirror cannot serve trixie
# (after a line starting with "SKIP").
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=${1:?usage: scripts/trixie.sh OUT-DIR}
. scripts/debroot.sh

if [ "$(id -u)" != 0 ]; then
	echo "SKIP debian13: making a Debian 13 root needs root"
	exit 77
fi
for tool in debootstrap zstd chroot; do
	if ! command -v "$tool" >/dev/null; then
		echo "trixie: $tool is missing (scripts/install-deps.sh)" >&2
		exit 1
	fi
done

mkdir -p "$out"
rm -rf "$out/meson-logs" "$out/asan" "$out/count" "$out/run.log"
work=$(mktemp -d /var/tmp/pgd-trixie.XXXXXX)
root=$work/root
debroot_traps 'debroot_remove "$work" "$root"'

# The cache key: what the root holds depends on install-deps.sh and on how it was bootstrapped.
key=$( { echo "debootstrap --variant=minbase trixie v1"; cat scripts/install-deps.sh; } |
	sha256sum | cut -c1-12)
setup() {
	local dir=$1
	cp scripts/install-deps.sh "$dir/tmp/install-deps.sh"
	debroot_run "$dir" bash /tmp/install-deps.sh
	local rc=$?
	rm -f "$dir/tmp/install-deps.sh"
	return $rc
}
start=$SECONDS
debroot_prepare trixie-suite trixie "$key" "$root" setup
rc=$?
if [ $rc -eq 2 ]; then
	echo "SKIP debian13: the package mirror of this machine ($(debroot_mirror || echo '?')) does not serve trixie"
	exit 77
elif [ $rc -ne 0 ]; then
	echo "trixie: preparing the Debian 13 root failed" >&2
	exit 1
fi
prepare_time=$((SECONDS - start))

# The git-tracked files (as they are in the work tree), never a build folder.
tree=$root/src/pam-pgsql-dovecot
debroot_copy_tree "$src" "$tree"

debroot_mount "$root"
start=$SECONDS
# In the background, so that a signal reaches our trap at once (which ends the run inside).
: >"$out/run.log"
PGD_ROOT_ENV="PGD_IN_ROOT=1 ${PGD_FUZZ_SECONDS:+PGD_FUZZ_SECONDS=$PGD_FUZZ_SECONDS}" \
	debroot_run "$root" bash -c 'cd /src/pam-pgsql-dovecot && exec scripts/test.sh' \
	>"$out/run.log" 2>&1 &
inner=$!
tail -n +1 --pid="$inner" -f "$out/run.log" 2>/dev/null | sed -u 's/^/debian13| /' &
tailer=$!
wait "$inner"
inner_rc=$?
wait "$tailer" 2>/dev/null
run_time=$((SECONDS - start))
cp -a "$tree/build-test/meson-logs" "$out/meson-logs" 2>/dev/null
mkdir -p "$out/asan"
cp -a "$tree/build-test-asan/meson-logs" "$tree"/build-test-asan/*.tap "$out/asan/" 2>/dev/null

# Nothing may outlive the run inside the root: no daemon a package started, no server left.
left=$(for p in /proc/[0-9]*; do
	[ "$(readlink "$p/root" 2>/dev/null)" = "$(cd "$root" && pwd -P)" ] &&
		echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
done)
last=$(tail -n 1 "$out/run.log")
if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
	# [3] is the whole ", N skipped" group, [4] its number.
	echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[4]:-0}" >"$out/count"
else
	# No closing line: the run broke before counting. One failure, never a silent pass.
	echo "0 1 0" >"$out/count"
	inner_rc=1
fi
if [ -n "$left" ]; then
	echo "trixie: processes left running in the root after the suite (the cleanup ends them):" >&2
	sed 's/^/  /' <<<"$left" >&2
	read -r p f sk <"$out/count"
	echo "$p $((f + 1)) $sk" >"$out/count"
	inner_rc=1
fi
echo "# debian13: root ready in $prepare_time s, suite in $run_time s (exit $inner_rc)"
[ $inner_rc -eq 0 ]
