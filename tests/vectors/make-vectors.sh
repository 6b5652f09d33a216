#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Regenerates crypt-schemes.tsv (format: README.md in this folder). Hashes come from the real
# `doveadm pw -s` (plus openssl/perl for salts and variants doveadm cannot make), and every
# verdict is what the real `doveadm pw -t` says. Starts no Dovecot daemon.
#
#   usage: tests/vectors/make-vectors.sh [output-file]
#   needs: doveadm (dovecot-core 2.3), openssl, perl, xxd, iconv, timeout
#
# Crypt settings are literal '$...' strings and case mapping is ASCII on purpose:
# shellcheck disable=SC2016,SC2018,SC2019
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vectors/make-lib.sh
. "$here/make-lib.sh"
vectors_start make-vectors "${1:-$here/crypt-schemes.tsv}" \
	'verdict<TAB>password-as-lowercase-hex<TAB>stored-value' libcrypt1 libxcrypt openssl perl

# crypt(3) of this system (libxcrypt), for settings doveadm cannot produce
syscrypt() { perl -e 'print crypt($ARGV[0], $ARGV[1])' -- "$1" "$2"; }

comment "every scheme, every password: the right one, then a wrong one"
for scheme in SHA512-CRYPT SHA256-CRYPT MD5-CRYPT BLF-CRYPT DES-CRYPT CRYPT MD5 PLAIN-MD5 PLAIN CLEAR CLEARTEXT; do
	for pw in "${passwords[@]}"; do
		pair "$(gen "$scheme" "$pw")" "$pw" "x$pw"
	done
done

comment "encoding suffixes (doveadm writes them in upper case) and lower-case scheme names"
for scheme in PLAIN.hex PLAIN.b64 PLAIN.base64 PLAIN-MD5.hex PLAIN-MD5.b64 PLAIN-MD5.base64 \
	SHA512-CRYPT.hex SHA256-CRYPT.b64 MD5-CRYPT.b64 MD5.hex CRYPT.hex DES-CRYPT.b64 CLEAR.hex; do
	for pw in secret 'pässwörd-日本語-🔑' $'\xe9t\xe9-\xff\xfe\x80-latin1' $'tab\there' ''; do
		stored=$(gen "$scheme" "$pw")
		pair "$stored" "$pw" "x$pw"
		name=${stored%%\}*}
		row "$(lower "$name")}${stored#*\}}" "$pw"
	done
done
for scheme in SHA512-CRYPT SHA256-CRYPT MD5-CRYPT BLF-CRYPT DES-CRYPT CRYPT MD5 PLAIN-MD5 PLAIN; do
	stored=$(gen "$scheme" secret)
	pair "{$(lower "$scheme")}${stored#*\}}" secret Secret
done
stored=$(gen PLAIN-MD5.b64 secret)
row "{Plain-Md5.B64}${stored#*\}}" secret
row "{plain-md5.BASE64}${stored#*\}}" secret
stored=$(gen SHA512-CRYPT secret)
row "{Sha512-Crypt}${stored#*\}}" secret

comment "PLAIN-MD5 without a suffix: 32 characters are hex, anything else base64"
md5hex=$(gen PLAIN-MD5 secret)
md5hex=${md5hex#*\}}
md5b64=$(gen PLAIN-MD5.b64 secret)
md5b64=${md5b64#*\}}
pair "{PLAIN-MD5}$md5hex" secret secreT
pair "{PLAIN-MD5}$(printf '%s' "$md5hex" | tr 'a-f' 'A-F')" secret secreT
pair "{PLAIN-MD5}$md5b64" secret secreT
row "{PLAIN-MD5}${md5b64%==}" secret
row "{PLAIN-MD5}${md5hex:0:30}" secret
row "{PLAIN-MD5}${md5hex}00" secret
row "{PLAIN-MD5}abcdefghijklmnopqrstuvwxyzABCDEF" secret
row "{PLAIN-MD5}" secret
row "{PLAIN-MD5}" ''
row "{PLAIN-MD5.hex}$md5b64" secret
row "{PLAIN-MD5.b64}$md5hex" secret
row "{PLAIN-MD5.hex}${md5hex}0" secret
row "{PLAIN-MD5.hex}${md5hex:0:31}g" secret
row "{PLAIN-MD5.b64}${md5b64:0:4} ${md5b64:4}" secret

comment "MD5: \$1\$ is md5crypt, anything else must be PLAIN-MD5"
md5crypt=$(gen MD5-CRYPT secret)
md5crypt=${md5crypt#*\}}
pair "{MD5}$md5crypt" secret secret1
pair "{MD5}$md5hex" secret secret1
pair "{MD5}$md5b64" secret secret1
row "{MD5}$md5crypt\$junk" secret
row "{MD5}secret" secret
row "{MD5}" secret
row "{MD5}" ''
row "{MD5}$(syscrypt secret '$6$abcdefgh')" secret
row "{MD5}$(syscrypt secret '$2y$05$abcdefghijklmnopqrstuu')" secret

comment "values without a {SCHEME}: read with the default scheme MD5, like Dovecot's SQL passdb"
pair "$md5crypt" secret secret1
row "$md5crypt\$junk" secret
row "$md5crypt\$" secret
pair "$md5hex" secret secret1
pair "$md5b64" secret secret1
row "secret" secret
row "$(syscrypt secret '$6$abcdefgh')" secret
row "{PLAINsecret" secret
row "{SHA512-CRYPT$(syscrypt secret '$6$abcdefgh')" secret
row "{" secret
row " {PLAIN}secret" secret
row '$1$' secret
row '$1$abc' secret

comment "the crypt family runs crypt() on the whole value, whatever the scheme says"
sha512=$(syscrypt secret '$6$abcdefghijklmnop')
sha256=$(syscrypt secret '$5$abcdefghijklmnop')
des=$(syscrypt secret 'ab')
bcrypt=$(syscrypt secret '$2y$05$abcdefghijklmnopqrstuu')
for scheme in SHA512-CRYPT SHA256-CRYPT DES-CRYPT CRYPT BLF-CRYPT MD5-CRYPT MD5; do
	for hash in "$sha512" "$sha256" "$md5crypt" "$des" "$bcrypt"; do
		pair "{$scheme}$hash" secret Secret
	done
done
for setting in '$2a$04$abcdefghijklmnopqrstuu' '$2b$04$abcdefghijklmnopqrstuu' \
	'$2x$04$abcdefghijklmnopqrstuu' '$2y$04$abcdefghijklmnopqrstuu' '$2y$10$abcdefghijklmnopqrstuu'; do
	pair "{BLF-CRYPT}$(syscrypt secret "$setting")" secret Secret
	row "{CRYPT}$(syscrypt secret "$setting")" secret
done
pair "{CRYPT}$(syscrypt secret '$y$j9T$2ILFVcigwZKtxbGQrVdlp.$')" secret Secret
pair "{CRYPT}$(syscrypt secret '_J9..abcd')" secret Secret
pair "{SHA512-CRYPT}$(syscrypt secret '$6$rounds=1000$abcdefghijklmnop')" secret Secret
pair "{SHA512-CRYPT}$(syscrypt secret '$6$rounds=20000$abcdefghijklmnop')" secret Secret
pair "{SHA256-CRYPT}$(syscrypt secret '$5$rounds=1000$abcdefghijklmnop')" secret Secret
pair "{SHA512-CRYPT}$(gen SHA512-CRYPT secret | sed 's/^{[^}]*}//')" secret Secret
pair "$(doveadm pw -s SHA512-CRYPT -r 1000 -p secret)" secret Secret
pair "$(doveadm pw -s SHA256-CRYPT -r 7000 -p secret)" secret Secret
pair "$(doveadm pw -s BLF-CRYPT -r 4 -p secret)" secret Secret

comment "crypt truncation and 7-bit DES: Dovecot says match for these different passwords"
row "$(gen DES-CRYPT secret12)" secret12-and-more
row "$(gen DES-CRYPT $'\xe9')" i
row "{DES-CRYPT}$(syscrypt $'\xe9\xe9' ab)" ii
bf72=$(printf 'b%.0s' {1..72})
row "$(gen BLF-CRYPT "${bf72}tail-one")" "${bf72}tail-two"

comment "md5crypt salts libxcrypt refuses but Dovecot's own md5crypt takes"
for salt in 'a b' 'säl' 'x:y' 'a*b' 'abcdefgh' 'abcdefghij' '' 'semi;co'; do
	hash=$(openssl passwd -1 -salt "$salt" secret)
	pair "{MD5-CRYPT}$hash" secret Secret
	row "{MD5}$hash" secret
	row "$hash" secret
done
row "{MD5-CRYPT}\$1\$abcdefghij\$$(openssl passwd -1 -salt abcdefgh secret | sed 's/.*\$//')" secret

comment "malformed or odd crypt values"
for hash in '' '*0' '*1' '!' '!!' 'x' '$6$' '$6$abc' "${sha512:0:40}" "${sha512}x" "${sha512}\$" \
	'$6$rounds=999$abcdefgh$x' '$6$rounds=01000$abcdefgh$x' '$6$rounds=1000x$abcdefgh$x' \
	'$5$rounds=$abc$x' '$9$abc$def' '$2y$05$short' "${bcrypt:0:29}" "${bcrypt:0:30}" \
	"${bcrypt}x" "${bcrypt/\$2y\$/\$2c\$}" "${bcrypt/\$05\$/\$03\$}" "${bcrypt/\$05\$/\$5x\$}" \
	'$2$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a' "${md5crypt:0:12}" \
	"${des:0:2}" "${des}x" ' ' "$des "; do
	for scheme in SHA512-CRYPT CRYPT BLF-CRYPT MD5-CRYPT; do
		row "{$scheme}$hash" secret
	done
done
row "{SHA512-CRYPT.hex}$(hex "$sha512")00$(hex junk)" secret
row "{PLAIN.hex}$(hex secret)00$(hex junk)" secret
row "{MD5-CRYPT.b64}$(printf '%s\0junk' "$md5crypt" | base64 -w0)" secret

comment "PLAIN and its encodings"
pair "{PLAIN}" '' x
pair "{PLAIN.hex}" '' x
pair "{PLAIN.b64}" '' x
pair "{PLAIN.hex}$(hex zoo | tr 'a-f' 'A-F')" zoo Zoo
row "{PLAIN.hex}abc" secret
row "{PLAIN.hex}zz" secret
row "{PLAIN.hex}$(hex secret) " secret
for b64 in 'c2VjcmV0' 'c2VjcmV0=' 'c2VjcmV0==' 'c2VjcmV' 'c2Vj cmV0' ' c2VjcmV0 ' 'c2Vj  cmV0  ' \
	'YQ==' 'YQ=' 'YQ' 'YR==' 'YQ= =' 'Y Q = =' 'YQ==YQ==' 'YQ==x' 'Y===' '====' '=' 'YWE=' \
	'YWE==' 'YW=E' 'c2VjcmV0-_' 'c2VjcmV0!' 'w6k='; do
	for pw in secret a aa; do
		row "{PLAIN.b64}$b64" "$pw"
	done
done
pair "{PLAIN}$long" "$long" "${long}x"
pair "{CLEARTEXT}pa\$\$word" 'pa$$word' 'pa$word'
row "{PLAIN}secret " secret
row "{PLAIN} secret" secret

comment "unknown schemes and suffixes"
for stored in '{FOO}secret' '{}secret' '{PLAIN.}secret' '{PLAIN.xyz}secret' '{PLAIN.b64.hex}c2VjcmV0' \
	'{PLAIN.hex.}736563726574' '{.hex}736563726574' '{ PLAIN}secret' '{PLAIN }secret' \
	'{PLAIN-MD4}secret' '{SHA512-CRYPT.b65}$6$abc$def' '{{PLAIN}}secret' '{PLA{IN}secret' \
	"{$(printf 'A%.0s' {1..80})}secret" '{PLAÍN}secret' '{MD5.CRYPT}secret'; do
	row "$stored" secret
done

vectors_finish ": stored value not UTF-8 text"
