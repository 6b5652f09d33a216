# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # root, build, pgdir, status, ...: scripts/test.sh's
# The steps of scripts/test.sh, sourced by it (with tests/lib/tap.sh's helpers). They read and
# set its variables: root, build, release, status (1 once something failed), results (the test
# logs and .tap files the closing line counts) and times (one "# time:" line each).
#
#   test_cluster_start DIR   a throwaway PostgreSQL in DIR (or the server named by PGHOST & co.),
#                            its PGD_TEST_* exported, tests/pam/fixtures.sql loaded
#   test_cleanup             the cluster stopped; pam_wrapper's copies naming our build removed
#   sanitizers               the unit and PAM tests in an ASan + UBSan build, the threaded test
#                            in a TSan build, and the proof that they ran
#   memcheck                 the PAM tests under valgrind (tests/valgrind.sh: no error, no byte
#                            definitely lost, no fd left open)
#   clean_root REL TAP       the package in a clean root of REL (tests/deb/clean-root.sh)
#   dovecot_host REL TAP     the front door on a Dovecot host of REL (tests/deb/dovecot-host.sh)
#   debian13                 the suite in a Debian 13 root (scripts/trixie.sh), then its clean
#                            root and Dovecot host: sets other ("P F S") or other_skip (why not)
#   count RESULT...          scripts/lib/tapcount.py: a line per RESULT, "P F S" last
#   line LABEL "P F S"       the closing-line format, with LABEL: before it when given
#   add "P F S" "P F S"      their sum
# shellcheck source=tests/lib/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../tests/lib/tap.sh"

test_cluster_start() {
	local env
	env=$(tests/pg-cluster.sh start "$1") || return 1
	set -a
	eval "$env"
	set +a
	psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" -f tests/pam/fixtures.sql >/dev/null
}

test_cleanup() {
	rm -f "$tree_before"
	tests/pg-cluster.sh stop "$pgdir"
	# pam_wrapper copies the service folder to /tmp/pam.? and removes it at exit, but not when
	# a sanitizer or valgrind ends the process first: remove the copies naming our module only.
	pamwrap_clean_naming "$build"
}

# pam_wrapper dlopen()s libpam with RTLD_DEEPBIND, which ASan refuses. Each release's pam_wrapper
# reads its own variable to drop it (Debian 12's 1.1.4: UID_WRAPPER_DISABLE_DEEPBIND, Debian 13's
# 1.1.7: PAM_WRAPPER_DISABLE_DEEPBIND): sanitizers sets the one(s) that the installed library
# really holds. Reports go to files: the PAM tests capture stderr.
sanitizers() {
	local asan=$build-asan tsan=$build-tsan sanlogs=$build-asan/sanitizer-logs start=$SECONDS
	local pw_so deepbind v deepbind_env=()
	meson_build "$asan" -Dwerror=true -Dtests=enabled -Db_sanitize=address,undefined || exit 1
	rm -rf "$sanlogs"
	mkdir -p "$sanlogs"
	pw_so=$(dirname "$(pkg-config --variable=modules pam_wrapper)")/libpam_wrapper.so
	mapfile -t deepbind < <(grep -a -o -E '[A-Z_]+_DISABLE_DEEPBIND' "$pw_so" 2>/dev/null | sort -u)
	for v in "${deepbind[@]}"; do deepbind_env+=("$v=1"); done
	env "${deepbind_env[@]}" \
		ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:log_path="$sanlogs/asan" \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path="$sanlogs/ubsan" \
		meson test -C "$asan" --suite unit --suite memcheck --num-processes 2 \
		--timeout-multiplier 4 --logbase sanitize --print-errorlogs || status=1
	results+=("$asan/meson-logs/sanitize.json")
	times+=("sanitizers $((SECONDS - start)) s")
	# Proof that the sanitizers ran: a build or a switch that silently turned them off would
	# pass everything above.
	python3 scripts/lib/sanitizers_ran.py "$asan" "$pw_so" "${deepbind[@]}" \
		>"$asan/sanitizers-ran.tap"
	cat "$asan/sanitizers-ran.tap"
	results+=("$asan/sanitizers-ran.tap")
	# The threaded test (suite threads) again under ThreadSanitizer.
	meson_build "$tsan" -Dwerror=true -Dtests=enabled -Db_sanitize=thread || exit 1
	env "${deepbind_env[@]}" TSAN_OPTIONS=halt_on_error=1:log_path="$sanlogs/tsan" \
		meson test -C "$tsan" --suite threads --timeout-multiplier 4 --logbase tsan \
		--print-errorlogs || status=1
	results+=("$tsan/meson-logs/tsan.json")
	if compgen -G "$sanlogs/*" >/dev/null; then
		echo "Sanitizer reports:" >&2
		cat "$sanlogs"/* >&2
		echo "not ok 1 - sanitizer reports in $sanlogs" >"$sanlogs/../sanitizer-reports.tap"
		results+=("$sanlogs/../sanitizer-reports.tap")
		status=1
	fi
}

# Not the threaded test (suite threads): valgrind runs one thread at a time, and on a busy
# machine it ran past 15 minutes there; it runs under ASan + UBSan and TSan.
memcheck() {
	local start=$SECONDS
	rm -f "$build"/meson-logs/valgrind*
	PGD_VALGRIND_SHIM=$build/tests/libpgd_valgrind_exec.so \
		meson test -C "$build" --suite memcheck --no-suite threads \
		--wrapper "$root/tests/valgrind.sh" \
		--timeout-multiplier 10 --logbase valgrind --print-errorlogs || status=1
	results+=("$build"/meson-logs/valgrind*.json)
	times+=("valgrind $((SECONDS - start)) s")
}

count() {
	python3 "$root/scripts/lib/tapcount.py" "$@"
}
line() {
	local p f s
	read -r p f s <<<"$2"
	echo "${1:+$1: }$p passed, $f failed$([ "$s" -gt 0 ] && echo ", $s skipped")"
}
add() {
	local a b c x y z
	read -r a b c <<<"$1"
	read -r x y z <<<"$2"
	echo "$((a + x)) $((b + y)) $((c + z))"
}

# in_root_test LABEL CASE REL TAP COMMAND...: COMMAND's TAP into TAP (stderr into TAP.log), shown
# as comments; with PGD_SKIP_CLEAN_ROOT=1 the one case CASE, skipped, saying so
in_root_test() {
	local label=$1 case=$2 rel=$3 tap=$4 start=$SECONDS
	shift 4
	if [ "${PGD_SKIP_CLEAN_ROOT:-}" = 1 ]; then
		echo "SKIP $rel $label: PGD_SKIP_CLEAN_ROOT=1"
		echo "ok 1 - $case # SKIP PGD_SKIP_CLEAN_ROOT=1" >"$tap"
		return
	fi
	"$@" >"$tap" 2>"$tap.log"
	sed 's/^/# /' "$tap"
	times+=("$rel $label $((SECONDS - start)) s")
}
# The package as an admin gets it, in a clean root of this release (built from debian/control's
# Build-Depends alone, installed with apt, a login through the root's own /etc/pam.d/imap).
clean_root() {
	in_root_test "clean root" "the package in a clean $1 root" "$1" "$2" \
		tests/deb/clean-root.sh "$1" "$root"
}
# scripts/demo.sh and scripts/test.sh on a Dovecot host of release REL, in a throwaway root.
dovecot_host() {
	in_root_test "Dovecot host" "the front door on a $1 Dovecot host" "$1" "$2" \
		tests/deb/dovecot-host.sh "$root" "$1"
}

# Debian 13, in its own root, from a Debian 12 host.
debian13() {
	local start=$SECONDS rc
	if [ "${PGD_SKIP_TRIXIE:-}" = 1 ]; then
		other_skip="PGD_SKIP_TRIXIE=1"
		echo "SKIP debian13: $other_skip (the Debian 13 suite did not run)"
		return
	fi
	scripts/trixie.sh "$build/trixie"
	rc=$?
	times+=("debian13 suite (in its root) $((SECONDS - start)) s")
	if [ $rc -eq 77 ]; then
		other_skip="the Debian 13 root could not be made from this machine's mirror"
		return
	fi
	other=$(cat "$build/trixie/count" 2>/dev/null || echo "0 1 0")
	[ $rc -eq 0 ] || status=1
	clean_root trixie "$build/clean-root-trixie.tap"
	other=$(add "$other" "$(count "$build/clean-root-trixie.tap" | tail -1)")
	# The front door on a Dovecot 2.4 host (tests/deb/dovecot-host.sh skips itself inside the
	# trixie root, where it would need a nested root without a cache).
	dovecot_host trixie "$build/dovecot-host-trixie.tap"
	other=$(add "$other" "$(count "$build/dovecot-host-trixie.tap" | tail -1)")
}
