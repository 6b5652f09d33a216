#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (ASan + UBSan, separate from the meson build) and runs
# each for a bounded time, all at once, starting from the corpora in fuzz/corpus/. Prints
# TAP; exits non-zero if a target crashes, leaks, trips a sanitizer or breaks a property.
#
#   fuzz/run.sh [OUT_DIR]      OUT_DIR holds the binaries, the grown corpora, logs and crashes
#                              (default: build-fuzz). PGD_FUZZ_SECONDS: seconds per target (45).
#                              PGD_FUZZ_TARGETS: which ones (default: "hash conf query
#                              crypt_cost").
# Exits 77 (skipped) when clang or its fuzzer runtime is missing.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-fuzz}
seconds=${PGD_FUZZ_SECONDS:-45}
read -r -a targets <<<"${PGD_FUZZ_TARGETS:-hash conf query crypt_cost}"
# The release's default clang (Debian 12: 14, Debian 13: 19); CLANG=clang-NN picks another.
cc=${CLANG:-clang}

if ! command -v "$cc" >/dev/null; then
	echo "1..0 # SKIP $cc not found (scripts/install-deps.sh installs it)"
	exit 77
fi
mkdir -p "$out"
flags=(-std=c11 -g -O1 -D_GNU_SOURCE -Wall -Wextra -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I"$src")
# The pure library, as meson's pgd_pure builds it (with Argon2 through libsodium).
sources=("$src"/hash.c "$src"/util/*.c "$src"/hash/*.c "$src"/conf/*.c "$src"/query/*.c
	"$src"/login/nets.c)
flags+=(-DPGD_HAVE_SODIUM -pthread)
echo "1..$((2 * ${#targets[@]}))"
# Build all at once, then start every target that built.
builds=()
for t in "${targets[@]}"; do
	"$cc" "${flags[@]}" "$src/fuzz/fuzz_$t.c" "${sources[@]}" -lcrypt -lcrypto -lsodium -ldl \
		-o "$out/fuzz_$t" >"$out/build_$t.log" 2>&1 &
	builds+=("$!")
done
# shellcheck source=tests/lib/tap.sh
. "$src/tests/lib/tap.sh"
for i in "${!targets[@]}"; do
	t=${targets[$i]}
	if wait "${builds[$i]}"; then
		ok "fuzz_$t builds"
	else
		not_ok "fuzz_$t builds"
		sed 's/^/# /' "$out/build_$t.log"
		pids+=("")
		continue
	fi
	mkdir -p "$out/corpus-$t"
	# The grown corpus goes to $out; the committed seeds are only read.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$out/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=4096 -dict="$src/fuzz/$t.dict" -artifact_prefix="$out/crash-$t-" \
		-print_final_stats=1 "$out/corpus-$t" "$src/fuzz/corpus/$t" \
		>"$out/fuzz_$t.log" 2>&1 &
	pids+=("$!")
done
for i in "${!targets[@]}"; do
	t=${targets[$i]}
	pid=${pids[$i]}
	[ -n "$pid" ] || continue
	if wait "$pid"; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz_$t.log")
		ok "fuzz_$t: ${runs:-?} runs in ${seconds} s, no crash"
	else
		not_ok "fuzz_$t crashed (reproduce: $out/fuzz_$t $out/crash-$t-*)"
		grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x' "$out/fuzz_$t.log" | head -40 |
			sed 's/^/# /'
	fi
done
exit $failed
