#!/bin/bash
# SPDX-License-Identifier: MIT
# The code style: every C and header file of the module, the admin command, the tests, the
# fuzzers and the benchmarks as the tree's .clang-format writes it. One case per file:
# `clang-format --dry-run --Werror` finds nothing to change; the first lines it would change as
# comments when it does. Without clang-format, one line says so (# SKIP), never a silent pass.
#
#   tests/ci/clang-format.sh SOURCE-ROOT
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
src=$(cd "${1:?usage: clang-format.sh SOURCE-ROOT}" && pwd)

command -v clang-format >/dev/null || skip_all "clang-format is not installed"
[ -f "$src/.clang-format" ] || bail "$src/.clang-format is there"
cd "$src" || bail "$src can be read"
mapfile -t files < <({
	find . -maxdepth 1 -type f -name '*.[ch]'
	find util conf query db login hash tools tests fuzz bench -type f -name '*.[ch]' 2>/dev/null
} | sed 's|^\./||' | sort)
[ ${#files[@]} -gt 0 ] || bail "C files to check are found in $src"
for f in "${files[@]}"; do
	if out=$(clang-format --dry-run --Werror --style=file "$f" 2>&1); then
		ok "clang-format: $f"
	else
		not_ok "clang-format: $f"
		head -n 12 <<<"$out" | sed 's/^/# /'
	fi
done
summary
