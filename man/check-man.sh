#!/bin/bash
# SPDX-License-Identifier: MIT
# Renders every built man page with groff and man-db, warnings on, and fails on any warning;
# checks that the pages name every conf key (conf.c), every %-variable (query.c) and every
# option of the admin command. Prints TAP.
# Usage: check-man.sh SOURCE-ROOT PAGE...
set -uo pipefail
src=$1
shift
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../tests/lib/tap.sh"
export LC_ALL=C.UTF-8 MANWIDTH=80

for tool in groff man; do
	command -v "$tool" >/dev/null || { not_ok "$tool is installed (groff-base, man-db)"; }
done

for page in "$@"; do
	name=$(basename "$page")
	warn=$(groff -man -ww -z "$page" 2>&1)
	if [ -z "$warn" ]; then ok "$name: groff -man -ww renders without a warning"; else
		not_ok "$name: groff -man -ww renders without a warning"; sed 's/^/# /' <<<"$warn"; fi
	out=$(man --warnings -l "$page" 2>"$page.err")
	warn=$(cat "$page.err"); rm -f "$page.err"
	if [ -z "$warn" ] && grep -q '^NAME' <<<"$out" && grep -q '^SEE ALSO' <<<"$out"; then
		ok "$name: man -l renders NAME to SEE ALSO without a warning"
	else
		not_ok "$name: man -l renders NAME to SEE ALSO without a warning"
		sed 's/^/# /' <<<"$warn"
	fi
done

# has FILE WORD...: every WORD appears in FILE in bold (*WORD*), as the pages write names.
has() {
	local file=$1 w missing=()
	shift
	for w in "$@"; do
		grep -qF -e "*$w*" -e "*$w=*" -- "$file" || missing+=("$w")
	done
	printf '%s\n' "${missing[@]}"
}

conf5=$src/man/pam_pgsql_dovecot.conf.5.scd
mod8=$src/man/pam_pgsql_dovecot.8.scd
cmd1=$src/man/pam-pgsql-dovecot.1.scd

# The table's rows: {"key", OPT_..., field, WHERE, min, max} or TYPE(key, WHERE...).
keys_of() { sed -nE -e "s/^ *\\{\"([a-z_]+)\", OPT_[A-Z]+, [^,]*, ($1),.*/\\1/p" \
	-e "s/^ *[A-Z]+\\(([a-z_]+), ($1)[,)].*/\\1/p" "$src/conf/conf.c"; }
mapfile -t file_keys < <(keys_of 'ANYWHERE|FILE_ONLY')
mapfile -t arg_keys < <(keys_of ARG_ONLY)
if [ ${#file_keys[@]} -lt 5 ] || [ ${#arg_keys[@]} -lt 3 ]; then
	not_ok "the option table of conf.c could be read (${#file_keys[@]} file keys, ${#arg_keys[@]} arguments)"
else
	missing=$(has "$conf5" "${file_keys[@]}")
	if [ -z "$missing" ]; then ok "(5) names every conf file key of conf.c (${#file_keys[@]})"; else
		not_ok "(5) names every conf file key of conf.c"; echo "# missing: $missing" | tr '\n' ' '; echo; fi
	missing=$(has "$mod8" "${arg_keys[@]}")
	if [ -z "$missing" ]; then ok "(8) names every module argument of conf.c (${#arg_keys[@]})"; else
		not_ok "(8) names every module argument of conf.c"; echo "# missing: $missing" | tr '\n' ' '; echo; fi
fi

mapfile -t vars < <(grep -ho "{'[a-z]', \"[a-z]*\", VAR_[A-Z]*}" "$src"/query/*.c |
	sed "s/{'\([a-z]\)', \"\([a-z]*\)\".*/%\1\n%{\2}/")
if [ ${#vars[@]} -lt 6 ]; then
	not_ok "the variable table of query.c could be read"
else
	missing=$(has "$conf5" "${vars[@]}" "%%")
	if [ -z "$missing" ]; then ok "(5) names every %-variable of query.c (${#vars[@]})"; else
		not_ok "(5) names every %-variable of query.c"; echo "# missing: $missing" | tr '\n' ' '; echo; fi
fi

# Every PAM code the entry points return, in (8)'s RETURN VALUES.
mapfile -t codes < <(grep -oE 'return (rc == [A-Z_]+ \? )?PAM_[A-Z_]+|rc = PAM_[A-Z_]+|\? PAM_[A-Z_]+ : [a-z]+|return PAM_[A-Z_]+' \
	"$src/pam_pgsql_dovecot.c" | grep -oE 'PAM_[A-Z_]+' | grep -vE '^PAM_CONV_AGAIN$' | sort -u)
if [ ${#codes[@]} -lt 5 ]; then
	not_ok "the PAM codes of pam_pgsql_dovecot.c could be read"
else
	missing=$(has "$mod8" "${codes[@]}")
	if [ -z "$missing" ]; then ok "(8) names every PAM code the module returns (${#codes[@]})"; else
		not_ok "(8) names every PAM code the module returns"; echo "# missing: $missing" | tr '\n' ' '; echo; fi
fi

missing=$(has "$cmd1" pw check -s -r -u -t -V -l -p --password-file -c)
if [ -z "$missing" ]; then ok "(1) documents pw (-s -r -u -t -V -l -p --password-file) and check (-c)"; else
	not_ok "(1) documents pw and check"; echo "# missing: $missing" | tr '\n' ' '; echo; fi
for code in 0 1 2; do
	grep -q "^\*$code\*$" "$cmd1" || { not_ok "(1) documents exit status $code"; continue; }
	ok "(1) documents exit status $code"
done

echo "1..$n"
exit $failed
