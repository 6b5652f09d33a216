#!/bin/bash
# SPDX-License-Identifier: MIT
# The checkout after a test run: nothing made or changed in it (`git status --porcelain` is
# empty: every file the suite makes lands in an ignored folder), no tracked file is an ELF binary,
# and none is larger than 256 KiB outside tests/vectors/. scripts/test.sh runs it last. Prints TAP.
#
#   tests/tree/clean.sh CHECKOUT [STATUS-BEFORE]
#
# STATUS-BEFORE, when given, is `git status --porcelain` saved when the run started: a developer's
# own uncommitted changes listed there are not held against the run (CI starts from a fresh
# clone, so there it must be empty after the run). The checks first prove themselves on a
# throwaway repository holding one of each fault.
set -uo pipefail
src=$(cd "${1:?usage: clean.sh CHECKOUT [STATUS-BEFORE]}" && pwd)
before=${2:-/dev/null}
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

# findings REPO: one line per fault ("status ...", "elf PATH", "big PATH SIZE").
findings() {
	local repo=$1 base=$2
	git -C "$repo" status --porcelain --untracked-files=all | grep -vxF -f "$base" | sed 's/^/status /'
	git -C "$repo" ls-files -z | (cd "$repo" && python3 -c '
import os, sys
for path in sys.stdin.buffer.read().split(b"\0"):
    if not path or not os.path.isfile(path) or os.path.islink(path):
        continue
    name = path.decode(errors="replace")
    with open(path, "rb") as f:
        if f.read(4) == b"\x7fELF":
            print("elf", name)
    size = os.path.getsize(path)
    if size > 256 * 1024 and not name.startswith("tests/vectors/"):
        print("big", name, size)
')
}

# The checks, on a repository made to fail each one (and to pass the exceptions).
self=$(mktemp -d /tmp/pgd-tree.XXXXXX)
trap 'rm -rf -- "$self"' EXIT
(
	cd "$self" && git init -q . && git config user.email t@t && git config user.name t
	cp /bin/true fuzz_hash
	mkdir -p tests/vectors && head -c 300000 /dev/zero >tests/vectors/big.txt
	head -c 300000 /dev/zero >corpus.bin
	echo seed >seed.txt
	git add . && git commit -qm t
	echo made >left-by-a-test.log
	echo changed >>seed.txt
) >/dev/null 2>&1
got=$(findings "$self" /dev/null | sort)
want=$(printf '%s\n' 'big corpus.bin 300000' 'elf fuzz_hash' 'status  M seed.txt' 'status ?? left-by-a-test.log' | sort)
if [ "$got" = "$want" ]; then
	ok "the checks find an ELF file, a file over 256 KiB, a changed and an untracked file (and not tests/vectors/)"
else
	not_ok "the checks find each fault of the throwaway repository"
	diff <(echo "$want") <(echo "$got") | sed 's/^/# /'
fi

if ! git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	skip_case "the checkout is clean" "$src is not a git checkout"
	summary
fi
[ -s "$before" ] && echo "# uncommitted before the run (not counted): $(wc -l <"$before") entries"
all=$(findings "$src" "$before")
status=$(sed -n 's/^status //p' <<<"$all")
if [ -z "$status" ]; then
	ok "git status --porcelain is empty after the run"
else
	not_ok "git status --porcelain is empty after the run"
	sed 's/^/# /' <<<"$status" | head -40
fi
elf=$(sed -n 's/^elf //p' <<<"$all")
if [ -z "$elf" ]; then
	ok "no tracked file is an ELF binary ($(git -C "$src" ls-files | wc -l) files)"
else
	not_ok "no tracked file is an ELF binary"
	sed 's/^/# /' <<<"$elf"
fi
big=$(sed -n 's/^big //p' <<<"$all")
if [ -z "$big" ]; then
	ok "no tracked file outside tests/vectors/ is larger than 256 KiB"
else
	not_ok "no tracked file outside tests/vectors/ is larger than 256 KiB"
	sed 's/^/# /' <<<"$big"
fi
summary
