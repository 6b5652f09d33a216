# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Debian roots made with debootstrap from this machine's own package mirror, for
# scripts/trixie.sh (the suite on Debian 13) and tests/deb/clean-root.sh (the package as an
# admin gets it). Sourced, not run. Needs root, debootstrap and zstd (scripts/install-deps.sh).
#
#   debroot_mirror                 prints the mirror URI of this machine's apt sources
#   debroot_release_served REL     0 when the mirror serves dists/REL
#   debroot_prepare NAME REL KEY DIR SETUP...
#                                  DIR becomes a root of release REL: unpacked from the cached
#                                  tarball $PGD_ROOT_CACHE/NAME-KEY.tar.zst (KEY: 12 hex digits),
#                                  or bootstrapped, "SETUP... DIR" run (on the host, with DIR
#                                  mounted: it calls debroot_run), and then cached
#   debroot_prepare_case CASE SKIP-CASE LOG NAME REL KEY DIR SETUP...
#                                  debroot_prepare as a TAP case (for a test that sourced
#                                  tests/lib/tap.sh), its progress in LOG: ok CASE with how the
#                                  root was had and how long it took; where the mirror does not
#                                  serve REL, the one case SKIP-CASE skipped and exit 0; else
#                                  not_ok CASE, LOG as comments, and the plan (exit 1)
#   debroot_mount DIR / debroot_umount DIR
#                                  /proc, /dev, /dev/pts, a private /dev/shm; debroot_umount
#                                  first ends every process whose root is DIR (we started them)
#   debroot_run DIR CMD...         CMD inside DIR, with a clean environment plus PGD_ROOT_ENV
#   debroot_remove WORK DIR        debroot_umount DIR, then removes WORK (the folder holding DIR)
#                                  unless a mount is still left under it
#   debroot_traps CLEANUP          CLEANUP on every exit; INT, TERM and HUP exit with 128 + signal
#   debroot_copy_tree SRC DEST     the git-tracked files of SRC as they are in its work tree
#                                  (outside a git checkout: all but build folders and .git)
#
# Mounts are made by debroot_mount only and undone by debroot_umount, which the caller's trap
# runs on every exit path (success, failure, signal): debroot_traps with a CLEANUP that ends in
# debroot_remove. The mirror's name is read at run time from
# /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list: it is never written here.

PGD_ROOT_CACHE=${PGD_ROOT_CACHE:-/var/cache/pam-pgsql-dovecot}

debroot_mirror() {
	local codename f
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	python3 - "$codename" /etc/apt/sources.list.d/*.sources /etc/apt/sources.list <<'PY'
import glob, re, sys
codename, files = sys.argv[1], sys.argv[2:]
found = []  # (uri, suites)
for path in files:
    try:
        text = open(path).read()
    except OSError:
        continue
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.split()
            if "deb" in fields.get("types", []) and fields.get("uris"):
                if fields.get("enabled", ["yes"])[0].lower() == "no":
                    continue
                found.append((fields["uris"][0], fields.get("suites", [])))
    else:
        for line in text.splitlines():
            line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(line) >= 3 and line[0] == "deb":
                found.append((line[1], [line[2]]))
# The archive that serves this release itself (not -security, not -updates).
for uri, suites in found:
    if codename in suites:
        print(uri.rstrip("/"))
        sys.exit(0)
for uri, suites in found:
    if not any(s.endswith("-security") for s in suites):
        print(uri.rstrip("/"))
        sys.exit(0)
sys.exit(1)
PY
}

debroot_release_served() {
	local mirror
	mirror=$(debroot_mirror) || return 1
	python3 - "$mirror/dists/$1/InRelease" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception as e:
    print(f"{sys.argv[1]}: {e}", file=sys.stderr)
    sys.exit(1)
PY
}

debroot_mount() {
	local dir=$1
	mount -t proc proc "$dir/proc"
	mount --bind /dev "$dir/dev"
	mount --make-private "$dir/dev"
	mount --bind /dev/pts "$dir/dev/pts"
	mount --make-private "$dir/dev/pts"
	mount -t tmpfs -o mode=1777,size=2g tmpfs "$dir/dev/shm"
}

# Ends the processes running inside DIR (only ours: DIR is our own temporary root), then
# unmounts in reverse order. Safe to call twice, and when nothing is mounted.
debroot_umount() {
	local dir=$1 p pids try m
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd -P)
	for try in 1 2 3 4 5 6 7 8 9 10; do
		pids=()
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ] && pids+=("${p#/proc/}")
		done
		[ ${#pids[@]} -eq 0 ] && break
		if [ "$try" -lt 5 ]; then kill -TERM "${pids[@]}" 2>/dev/null; else kill -KILL "${pids[@]}" 2>/dev/null; fi
		sleep 1
	done
	for m in dev/shm dev/pts dev proc; do
		if mountpoint -q "$dir/$m"; then
			umount "$dir/$m" || umount -l "$dir/$m"
		fi
	done
}

debroot_remove() {
	local work=$1 dir=$2
	debroot_umount "$dir"
	if findmnt -rn -o TARGET | grep -qF "$work/"; then
		echo "debroot: mounts left under $work, not removing it" >&2
	else
		rm -rf --one-file-system -- "$work"
	fi
}

debroot_traps() {
	# shellcheck disable=SC2064 # CLEANUP is the caller's command, set as it is given
	trap "$1" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

debroot_copy_tree() {
	local src=$1 dest=$2
	mkdir -p "$dest"
	if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$src" ls-files -z | while IFS= read -r -d '' f; do
			[ -e "$src/$f" ] && printf '%s\0' "$f"
		done | tar -C "$src" --null -T - -cf - | tar -C "$dest" -xf -
	else
		tar -C "$src" --exclude='./build*' --exclude='./_build*' --exclude=./.git -cf - . |
			tar -C "$dest" -xf -
	fi
}

# Runs CMD in the root with a fixed environment; PGD_ROOT_ENV adds NAME=VALUE words.
debroot_run() {
	local dir=$1
	shift
	# shellcheck disable=SC2086
	chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive ${PGD_ROOT_ENV:-} "$@"
}

# Keeps daemons from starting inside the root (invoke-rc.d and deb-systemd-invoke ask it).
debroot_policy() {
	printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
	chmod 755 "$1/usr/sbin/policy-rc.d"
}

# debroot_prepare NAME REL KEY DIR SETUP...: see the top of the file. Prints progress on
# stderr. Returns 2 when the mirror does not serve REL (the caller prints its SKIP line).
debroot_prepare() {
	local name=$1 rel=$2 key=$3 dir=$4 mirror tarball start rc
	shift 4
	tarball=$PGD_ROOT_CACHE/$name-$key.tar.zst
	mkdir -p "$dir"
	if [ -f "$tarball" ]; then
		start=$SECONDS
		tar --zstd -C "$dir" -xpf "$tarball" || return 1
		echo "debroot: $rel root from the cache $tarball ($((SECONDS - start)) s)" >&2
		debroot_policy "$dir"
		return 0
	fi
	debroot_release_served "$rel" || return 2
	mirror=$(debroot_mirror)
	start=$SECONDS
	if ! debootstrap --variant=minbase "$rel" "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1; then
		echo "debroot: debootstrap $rel failed:" >&2
		tail -20 "$dir.debootstrap.log" >&2
		return 1
	fi
	rm -f "$dir.debootstrap.log"
	echo "debroot: debootstrap $rel ($((SECONDS - start)) s)" >&2
	debroot_policy "$dir"
	if [ $# -gt 0 ]; then
		start=$SECONDS
		debroot_mount "$dir"
		"$@" "$dir"
		rc=$?
		debroot_umount "$dir"
		[ $rc -eq 0 ] || { echo "debroot: setting up the $rel root failed ($rc)" >&2; return 1; }
		echo "debroot: $rel root set up ($((SECONDS - start)) s)" >&2
	fi
	debroot_run "$dir" apt-get clean
	mkdir -p "$PGD_ROOT_CACHE"
	rm -f "$PGD_ROOT_CACHE/$name"-????????????.tar.zst
	start=$SECONDS
	# Written under a temporary name, renamed when complete: a cut run leaves no half tarball.
	if tar --zstd -C "$dir" --one-file-system -cpf "$tarball.part" . &&
		mv "$tarball.part" "$tarball"; then
		echo "debroot: cached as $tarball ($(du -h "$tarball" | cut -f1), $((SECONDS - start)) s)" >&2
	else
		rm -f "$tarball.part"
	fi
	return 0
}

debroot_prepare_case() {
	local case=$1 skip=$2 log=$3 rel=$5 start=$SECONDS rc
	shift 3
	debroot_prepare "$@" 2>"$log"
	rc=$?
	if [ $rc -eq 2 ]; then
		echo "SKIP $skip: this machine's mirror does not serve $rel" >&2
		echo "ok 1 - $skip # SKIP this machine's mirror does not serve $rel"
		echo "1..1"
		exit 0
	elif [ $rc -ne 0 ]; then
		not_ok "$case"
		sed 's/^/# /' "$log"
		summary
	fi
	ok "$case ($(sed -n 's/^debroot: //p' "$log" | tr '\n' ';' | sed 's/;$//'); $((SECONDS - start)) s)"
}
