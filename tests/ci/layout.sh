#!/bin/bash
# SPDX-License-Identifier: MIT
# The layout DESIGN draws, kept: no file of the module over 600 lines; no call circle between its
# files (read from the built objects with nm: a file whose functions call into another file that
# calls back into it); libpq only in db/ (and the admin command), PAM headers only in the entry
# point; no module file includes a header of tools/, tests/ or bench/.
# Arguments: the source root and the build root.
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
src=${1:?source root}
build=${2:?build root}
command -v nm >/dev/null || skip_all "nm not installed"
cd "$src" || bail "source root"

mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null | grep -Ev '^(tests|bench|fuzz|tools|debian)/')
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(find . -name '*.[ch]' -not -path './tests/*' \
	-not -path './bench/*' -not -path './fuzz/*' -not -path './tools/*' -not -path './build*' |
	sed 's|^\./||')
long=
for f in "${files[@]}"; do
	lines=$(wc -l <"$f")
	[ "$lines" -le 600 ] || long+=" $f($lines)"
done
if [ -z "$long" ]; then ok "no file of the module is over 600 lines (${#files[@]} files)"; else
	not_ok "no file of the module is over 600 lines:$long"; fi

bad=$(grep -l '#include <libpq-fe.h>\|#include <libpq/' "${files[@]}" | grep -v '^db/')
if [ -z "$bad" ]; then ok "only db/ includes libpq"; else not_ok "only db/ includes libpq: $bad"; fi
bad=$(grep -l '#include <security/' "${files[@]}" | grep -v '^pam_pgsql_dovecot\.c$')
if [ -z "$bad" ]; then ok "only the entry point includes PAM headers"; else
	not_ok "only the entry point includes PAM headers: $bad"; fi
bad=$(grep -l '#include "\(tools\|tests\|bench\)/' "${files[@]}")
if [ -z "$bad" ]; then ok "the module includes nothing of tools/, tests/, bench/"; else
	not_ok "the module includes nothing of tools/, tests/, bench/: $bad"; fi

mapfile -t objs < <(find "$build" \( -path '*libpgd_pure.a.p/*.o' -o -path '*libpgd_db.a.p/*.o' \
	-o -path '*pam_pgsql_dovecot.so.p/*.o' \) | sort)
if [ ${#objs[@]} -lt 10 ]; then
	not_ok "the module's objects found in $build (${#objs[@]})"
else
	circles=$(python3 "$src/tests/ci/call_circles.py" "${objs[@]}")
	if [ "$circles" = none ]; then ok "no call circle between the module's files (${#objs[@]} objects)"
	else not_ok "no call circle between the module's files: $circles"; fi
fi
summary
