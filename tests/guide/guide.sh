#!/bin/bash
# SPDX-License-Identifier: MIT
# The migration guide is a test: docs/migrating-from-dovecot.md's blocks, extracted from the
# document itself (tests/guide/extract.py), run in order in a fresh root of one Debian release
# with Debian's stock /etc/dovecot tree, then what a user would check (tests/guide/in-root.sh);
# then, in a second fresh root of the same base, the guide's starting point and its Ansible
# blocks (the role applied for real, with the package the first root built), and logins through
# what the role wrote.
#
#   tests/guide/guide.sh RELEASE SOURCE-ROOT      RELEASE: bookworm (Dovecot 2.3) or trixie (2.4)
#
# The root: debootstrap minbase from this machine's mirror, plus debian/control's Build-Depends,
# PostgreSQL, Dovecot (core, pgsql, imapd) and the test's clients; that base is cached as a
# tarball under /var/cache/pam-pgsql-dovecot/ (scripts/debroot.sh), keyed by this list and by
# debian/control. Everything else (the build, the packages the guide installs, every daemon)
# happens in each run. The run is in its own network namespace: its daemons keep their stock
# ports (143, 4190, 25, 5432) on a loopback of their own, and reach nothing outside. Prints TAP.
# Needs root, debootstrap, zstd and unshare. When the mirror does not serve RELEASE, one SKIP.
# PGD_GUIDE_KEEP=1 keeps the root, mounted, for a look after a failure (then debroot_remove it).
set -uo pipefail
rel=${1:?usage: guide.sh RELEASE SOURCE-ROOT}
src=$(cd "${2:?usage: guide.sh RELEASE SOURCE-ROOT}" && pwd)
. "$src/scripts/debroot.sh"
# shellcheck source=tests/lib/tap.sh
. "$src/tests/lib/tap.sh"
tap_prefix="$rel: "
case $rel in
bookworm) ver=12 ;;
trixie) ver=13 ;;
*) bail "RELEASE is bookworm or trixie" ;;
esac

# Inside scripts/trixie.sh's root the outer run (which makes both roots) has done it already.
if [ "${PGD_IN_ROOT:-}" = 1 ]; then
	echo "ok 1 - $rel: the guide in a fresh root # SKIP run by the outer run, which makes both roots"
	echo "1..1"
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null || ! command -v zstd >/dev/null ||
	! command -v unshare >/dev/null; then
	bail "root, debootstrap, zstd and unshare are here (scripts/install-deps.sh)"
fi

work=$(mktemp -d /var/tmp/pgd-guide-$rel.XXXXXX)
root=$work/root
aroot=$work/ansible-root
# shellcheck disable=SC2317 # run by the EXIT trap (debroot_traps)
cleanup() {
	if [ -n "${PGD_GUIDE_KEEP:-}" ]; then
		echo "# kept: $root (mounted; remove it with scripts/debroot.sh's debroot_remove $work $root)"
		return
	fi
	local r
	for r in "$root" "$aroot"; do
		mountpoint -q "$r/run/guide-host-net" 2>/dev/null && umount "$r/run/guide-host-net"
		debroot_umount "$r"
	done
	debroot_remove "$work" "$root"
}
debroot_traps cleanup

apt_in=(apt-get -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root)
base_packages="devscripts equivs postgresql dovecot-core dovecot-pgsql dovecot-imapd pamtester
	isync openssl ssl-cert iproute2 python3 ansible-core"
base_setup() {
	cp "$src/debian/control" "$1/tmp/control"
	debroot_run "$1" "${apt_in[@]}" update -qq &&
		debroot_run "$1" "${apt_in[@]}" install -y -qq --no-install-recommends $base_packages \
			>/dev/null &&
		debroot_run "$1" bash -c "cd /tmp && mk-build-deps -i -r \
			-t '${apt_in[*]} -y -qq --no-install-recommends' /tmp/control" >/dev/null
}
key=$( {
	echo "debootstrap --variant=minbase $rel; $base_packages; v1"
	cat "$src/debian/control"
} | sha256sum | cut -c1-12)
debroot_prepare_case "a $rel root with Dovecot and PostgreSQL" "$rel: the guide" \
	"$work/prepare.log" "$rel-guide" "$rel" "$key" "$root" base_setup
[ -n "${PGD_GUIDE_PREPARE_ONLY:-}" ] && summary

# The git-tracked files of the checkout, as a clone; the guide's blocks, extracted for RELEASE.
debroot_copy_tree "$src" "$root/build/pam-pgsql-dovecot"
if python3 "$src/tests/guide/extract.py" script "$src/docs/migrating-from-dovecot.md" "$ver" \
	>"$root/tmp/guide-blocks.sh" 2>"$work/extract.log"; then
	ok "the guide's blocks for Debian $ver extracted ($(grep -c '^guide_block_' "$root/tmp/guide-blocks.sh"))"
else
	not_ok "the guide's blocks extracted"
	sed 's/^/# /' "$work/extract.log"
	summary
fi
# in_root DIR MODE: tests/guide/in-root.sh in DIR (mounted here), in a network namespace of its
# own (unshare --net: a private loopback, nothing else), its TAP renumbered into ours.
in_root() {
	local dir=$1 mode=$2 rc line start=$SECONDS
	debroot_mount "$dir"
	# This machine's network namespace, for apt alone (in-root.sh's apt shims enter it to reach
	# the mirror); unmounted by cleanup.
	touch "$dir/run/guide-host-net"
	mount --bind /proc/self/ns/net "$dir/run/guide-host-net"
	unshare --net chroot "$dir" /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		TERM=dumb DEBIAN_FRONTEND=noninteractive PGD_GUIDE_RELEASE="$ver" PGD_GUIDE_MODE="$mode" \
		bash /build/pam-pgsql-dovecot/tests/guide/in-root.sh >"$work/$mode.tap" 2>"$work/$mode.log"
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*" # SKIP"*) n=$((n + 1)); echo "ok $n - $tap_prefix${line#ok * - }" ;;
		"ok "*) ok "${line#ok * - }" ;;
		"not ok "*) not_ok "${line#not ok * - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$work/$mode.tap"
	if [ $rc -ne 0 ] && [ $failed -eq 0 ]; then
		not_ok "the run in the root ($mode) ended with status $rc"
	fi
	[ $failed -eq 0 ] || tail -40 "$work/$mode.log" | sed 's/^/# log: /'
	echo "# the run in the root ($mode): $((SECONDS - start)) s"
}
in_root "$root" guide
[ $failed -eq 0 ] || summary

# The Ansible role, applied for real by the guide's section 10 to a second, fresh root of the
# same cached base, with the package the first root built.
deb=$(cd "$root/build" && ls libpam-pgsql-dovecot_*.deb 2>/dev/null | head -1)
cp "$root/build/$deb" "$work/$deb"
mountpoint -q "$root/run/guide-host-net" && umount "$root/run/guide-host-net"
debroot_umount "$root"
rm -rf --one-file-system -- "$root"
debroot_prepare "$rel-guide" "$rel" "$key" "$aroot" base_setup 2>"$work/prepare2.log" ||
	{ not_ok "a second, fresh $rel root"; sed 's/^/# /' "$work/prepare2.log"; summary; }
debroot_copy_tree "$src" "$aroot/build/pam-pgsql-dovecot"
cp "$work/$deb" "$aroot/build/$deb"
python3 "$src/tests/guide/extract.py" script "$src/docs/migrating-from-dovecot.md" "$ver" \
	>"$aroot/tmp/guide-blocks.sh"
ok "a second, fresh $rel root for the Ansible role, with $deb"
in_root "$aroot" ansible
summary
