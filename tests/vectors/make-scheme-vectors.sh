#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Regenerates all-schemes.tsv (format: README.md in this folder) for the schemes beyond the
# crypt family: SHA*, SSHA*, SMD5, PLAIN-MD4/MD5, LDAP-MD5, PLAIN-TRUNC, PBKDF2, SCRAM-SHA-*,
# CRAM-MD5/HMAC-MD5, DIGEST-MD5, OTP, ARGON2I/ARGON2ID, and the schemes Dovecot 2.3.19 dropped.
# Hashes come from the real `doveadm pw -s` (plus python3/openssl for variants doveadm cannot
# make), and every verdict is what the real `doveadm pw -t [-u USER]` says. Starts no daemon.
#
#   usage: tests/vectors/make-scheme-vectors.sh [output-file]
#   needs: doveadm (dovecot-core 2.3), python3, openssl, xxd, iconv, timeout
#
# shellcheck disable=SC2016,SC2018,SC2019
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vectors/make-lib.sh
. "$here/make-lib.sh"
vectors_user_field=1
vectors_start make-scheme-vectors "${1:-$here/all-schemes.tsv}" \
	'verdict<TAB>password-as-lowercase-hex<TAB>login-name<TAB>stored-value' libsodium23 libsodium \
	python3 openssl

value() { printf '%s' "${1#*\}}"; }
# b64 / hexof: re-encode a value for the .b64/.hex suffixes
b64() { printf '%s' "$1" | base64 -w0; }

# otp ALGO SEQ SEED PASSWORD: an OTP entry computed here (doveadm only makes sha1 ones)
otp() {
	python3 - "$@" <<-'PY'
		import hashlib, subprocess, sys
		algo, seq, seed, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].encode('utf-8', 'surrogateescape')
		def h(data):
		    if algo == 'md4':
		        return subprocess.run(['openssl', 'dgst', '-md4', '-provider', 'legacy', '-provider', 'default', '-binary'],
		                              input=data, capture_output=True, check=True).stdout
		    return hashlib.new(algo, data).digest()
		def fold(d):
		    if algo == 'sha1':
		        x = bytes(d[j] ^ d[8 + j] ^ d[16 + j] for j in range(4))
		        y = bytes(d[4 + j] ^ d[12 + j] for j in range(4))
		        return x[::-1] + y[::-1]
		    return bytes(d[j] ^ d[j + 8] for j in range(8))
		r = fold(h(seed.lower().encode() + pw))
		for _ in range(seq):
		    r = fold(h(r))
		print(f"{algo} {seq} {seed} {r.hex()}")
	PY
}

comment "every scheme, every password: the right one, then a wrong one"
for scheme in SHA SHA1 SHA256 SHA512 SSHA SSHA256 SSHA512 SMD5 PLAIN-MD4 LDAP-MD5 CRAM-MD5 \
	HMAC-MD5 PBKDF2 SCRAM-SHA-1 SCRAM-SHA-256 OTP; do
	for pw in "${passwords[@]}"; do
		pair "$(gen "$scheme" "$pw")" "$pw" "x$pw"
	done
done
for scheme in ARGON2I ARGON2ID; do
	for pw in '' 'a' "$long" 'pässwörd-日本語-🔑' $'\xe9t\xe9-\xff\xfe\x80-latin1' $'tab\there' 'secret'; do
		pair "$(gen "$scheme" "$pw")" "$pw" "x$pw"
	done
done
for pw in "${passwords[@]}"; do
	pair "{PLAIN-TRUNC}${#pw}-$pw" "$pw" "x$pw"
done

comment "DIGEST-MD5: the login name is hashed in, realm after the last @"
for user in bob@example.org bob 'a@b@realm' 'Ünï@例え.jp' "o'brien@example.org"; do
	for pw in secret '' 'pässwörd-日本語-🔑' 'user:pass:word' "$long"; do
		stored=$(gen DIGEST-MD5 "$pw" "$user")
		pair "$stored" "$pw" "x$pw" "$user"
	done
done
stored=$(gen DIGEST-MD5 secret bob@example.org)
row "$stored" secret BOB@example.org
row "$stored" secret bob@example.org@
row "$stored" secret bob
row "{digest-md5.b64}$(printf '%s' "$(value "$stored")" | xxd -r -p | base64 -w0)" secret bob@example.org
row "$stored" secret

comment "suffixes, lower-case names, hex/base64 guessing by length"
for scheme in SHA SHA256 SHA512 SSHA SSHA512 SMD5 PLAIN-MD4 LDAP-MD5 CRAM-MD5; do
	for enc in hex b64 base64; do
		stored=$(gen "$scheme.$enc" secret)
		pair "$stored" secret Secret
		row "{$(lower "$scheme.$enc")}$(value "$stored")" secret
	done
	stored=$(gen "$scheme" secret)
	pair "{$(lower "$scheme")}$(value "$stored")" secret Secret
done
for scheme in PBKDF2 SCRAM-SHA-1 SCRAM-SHA-256 OTP ARGON2ID PLAIN-TRUNC; do
	if [ "$scheme" = PLAIN-TRUNC ]; then v="6-secret"; else v=$(value "$(gen "$scheme" secret)"); fi
	pair "{$scheme.b64}$(b64 "$v")" secret Secret
	pair "{$scheme.hex}$(hex "$v")" secret Secret
	pair "{$(lower "$scheme")}$v" secret Secret
done
for scheme in SHA SHA256 SHA512 PLAIN-MD4 LDAP-MD5 CRAM-MD5 SSHA; do
	h=$(value "$(gen "$scheme.hex" secret)")
	b=$(value "$(gen "$scheme.b64" secret)")
	# without a suffix: exactly twice the length is hex, anything else base64
	pair "{$scheme}$h" secret Secret
	pair "{$scheme}$b" secret Secret
	row "{$scheme}$(printf '%s' "$h" | tr 'a-f' 'A-F')" secret
	row "{$scheme}${h:2}" secret
	row "{$scheme}${h}00" secret
	row "{$scheme}${b%%=*}" secret
	row "{$scheme}${b:4}" secret
	row "{$scheme}!${b:1}" secret
	row "{$scheme}" secret
	row "{$scheme}" ''
done

comment "salted digests: salt layouts and lengths"
for scheme in SSHA SSHA256 SSHA512 SMD5; do
	case $scheme in SSHA) d=sha1;; SSHA256) d=sha256;; SSHA512) d=sha512;; SMD5) d=md5;; esac
	for salt in 'x' 'sixteen-byte-slt' "$(printf 'S%.0s' {1..64})"; do
		v=$( (printf '%s' secret; printf '%s' "$salt") | openssl dgst "-$d" -binary | cat - <(printf '%s' "$salt") | base64 -w0)
		pair "{$scheme}$v" secret Secret
	done
	v=$(printf '%s' secret | openssl dgst "-$d" -binary | base64 -w0)
	row "{$scheme}$v" secret
	row "{$scheme}AAAA" secret
	row "{$scheme}" secret
	row "{$scheme}***" secret
done

comment "PBKDF2: \$1\$salt\$rounds\$40 hex digits"
v=$(value "$(gen PBKDF2 secret)")
salt=$(printf '%s' "$v" | cut -d'$' -f3)
key=${v##*\$}
for stored in "\$1\$$salt\$5000\$$key" "\$1\$$salt\$5000\$$(printf '%s' "$key" | tr 'a-f' 'A-F')" \
	"\$1\$$salt\$05000\$$key" "\$1\$$salt\$5001\$$key" "\$1\$$salt\$+5000\$$key" \
	"\$1\$$salt\$5000\$${key:2}" "\$1\$$salt\$5000\$${key}00" "\$1\$$salt\$5000\$${key:1}g" \
	"\$1\$$salt\$\$$key" "\$1\$$salt\$x\$$key" "\$1\$$salt\$5000" "\$1\$$salt\$5000\$$key\$" \
	"\$2\$$salt\$5000\$$key" "$salt\$5000\$$key" "\$1\$\$5000\$$key" '$1$' '' \
	"\$1\$$salt\$0\$0000000000000000000000000000000000000000" \
	"\$1\$$salt\$4294967296\$$key" "\$1\$$salt\$-1\$$key"; do
	row "{PBKDF2}$stored" secret
done
for rounds in 1 2 1000 20000; do
	pair "$(doveadm pw -s PBKDF2 -r "$rounds" -p secret)" secret Secret
done
for salt in 'a$b' '' 'säl' 'x y' 'very-long-salt-very-long-salt-very-long-salt'; do
	k=$(python3 -c 'import hashlib,sys; print(hashlib.pbkdf2_hmac("sha1", b"secret", sys.argv[1].encode(), 1000, 20).hex())' "$salt")
	pair "{PBKDF2}\$1\$$salt\$1000\$$k" secret Secret
done

comment "SCRAM: iter,salt,StoredKey,ServerKey"
for scheme in SCRAM-SHA-1 SCRAM-SHA-256; do
	v=$(value "$(gen "$scheme" secret)")
	IFS=, read -r it salt sk srv <<<"$v"
	for stored in "$it,$salt,$sk,$srv" "4095,$salt,$sk,$srv" "04096,$salt,$sk,$srv" \
		"+4096,$salt,$sk,$srv" "x,$salt,$sk,$srv" ",$salt,$sk,$srv" "$it,$salt,$sk" \
		"$it,$salt,$sk,$srv," "$it,$salt,,$srv" "$it,$salt,$sk," "$it,$salt,${sk:4},$srv" \
		"$it,$salt,$sk,${srv:4}" "$it,$salt,$srv,$sk" "$it,,$sk,$srv" "$it,!!!!,$sk,$srv" \
		"$it, $salt,$sk,$srv" "$it,$salt,$sk,$srv " "4294967296,$salt,$sk,$srv" ''; do
		row "{$scheme}$stored" secret
	done
	for rounds in 1 4096 5000 10000; do
		pair "$(doveadm pw -s "$scheme" -r "$rounds" -p secret)" secret Secret
	done
done

comment "OTP: algo seq seed hash, rebuilt and compared ignoring case"
for algo in md4 md5 sha1; do
	for seq in 0 1 99 1024; do
		for pw in secret '' 'pässwörd-日本語-🔑'; do
			pair "{OTP}$(otp "$algo" "$seq" abcd1234 "$pw")" "$pw" "x$pw"
		done
	done
done
e=$(otp sha1 5 SeedAB12 secret)
read -r a s seed h <<<"$e"
for stored in "$e" "$(printf '%s' "$e" | tr 'a-z' 'A-Z')" "$a $s $(lower "$seed") $h" \
	"$a  $s $seed $h" "$a $s  $seed $h" "$a	$s $seed $h" "$a $s	$seed $h" "$a $s $seed	$h" \
	"$a $s $seed $h " "$a $s $seed $h junk" "$a $s $seed ${h:0:8} ${h:8}" "$a 05 $seed $h" \
	"$a +5 $seed $h" "$a $s $seed ${h:0:15}" "$a $s $seed ${h:0:15}g" "SHA1 $s $seed $h" \
	"sha256 $s $seed $h" "$a $s" "$a" "" "$a $s $seed" "$a $s seed-with-dash $h" \
	"$a $s abcdefghijklmnopq $h" "$a 2147483648 $seed $h" "$a x $seed $h"; do
	row "{OTP}$stored" secret
done
e=$(otp sha1 3 '' secret)
pair "{OTP}$e" secret Secret
e=$(otp md5 3 abcdefghijklmnop secret)
pair "{OTP}$e" secret Secret

comment "Argon2: libsodium reads the variant from the string"
i=$(value "$(gen ARGON2I secret)")
id=$(value "$(gen ARGON2ID secret)")
pair "{ARGON2I}$id" secret Secret
pair "{ARGON2ID}$i" secret Secret
pair "$(doveadm pw -s ARGON2ID -r 1 -p secret)" secret Secret
pair "$(doveadm pw -s ARGON2I -r 3 -p secret)" secret Secret
for stored in 'garbage' '' "${id:0:40}" "${id}x" "${id/v=19\$/}" "${id/p=1/p=0}" \
	"${id/m=65536/m=8}" "${id/\$argon2id\$/\$argon2d\$}" "${id/t=3/t=0}" "${id/v=19/v=16}"; do
	row "{ARGON2ID}$stored" secret
done

comment "PLAIN-TRUNC: <length>-<password>; a password of that length matches any longer one"
for stored in '6-secret' '3-sec' '3-secret' '6-sec' '-secret' 'secret' '' '0-' '06-secret' \
	'18446744073709551619-sec' '4294967299-sec' '7-secret' '6-secre' ' 6-secret' '6 -secret'; do
	for pw in secret sec secretive ''; do
		row "{PLAIN-TRUNC}$stored" "$pw"
	done
done

comment "schemes Dovecot 2.3.19 no longer knows, and other unknown names"
for stored in '{NTLM}8846f7eaee8fb117ad06bdd830b7586c' '{LANMAN}e52cac67419a9a224a3b108f3fa6cb6d' \
	'{RPA}5ebe2294ecd0e0f08eab7690d2a6ee69' '{SKEY}md4 1024 abcd 0011223344556677' \
	'{SHA384}AAAA' '{SSHA1}AAAA' '{ARGON2}x' '{SCRAM-SHA-512}x' '{SHA-256}x' '{HMAC-SHA1}x'; do
	row "$stored" secret
done

vectors_finish ""
