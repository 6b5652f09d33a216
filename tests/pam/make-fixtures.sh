#!/bin/bash
# SPDX-License-Identifier: MIT
# Rewrites tests/pam/fixtures.sql: the users the PAM tests log in, with hashes made by the real
# Dovecot (`doveadm pw`, Debian's dovecot-core). Run it again to make fresh hashes:
#   tests/pam/make-fixtures.sh [OUT]     (OUT: tests/pam/fixtures.sql)
# The table itself (every line before the first INSERT) is fixtures.sql's own: edit it there;
# only the rows are made here.
set -euo pipefail
fixtures=$(dirname "$0")/fixtures.sql
out=${1:-$fixtures}
pw() { doveadm pw -s "$1" -p "$2"; }
q() { printf "'%s'" "${1//\'/\'\'}"; }
row() { printf "INSERT INTO users (userid, domain, password, active) VALUES (%s, %s, %s, %s);\n" "$(q "$1")" "$(q "$2")" "$3" "$4"; }

table=$(sed '/^INSERT/,$d' "$fixtures")
{
echo "$table"
row alice example.org "$(q "$(pw SHA512-CRYPT 'correct horse battery')")" true
row alice other.org "$(q "$(pw SHA512-CRYPT 'other secret')")" true
row bob example.org "$(q "$(pw SHA512-CRYPT 'bob pw')")" false
row carol example.org "$(q "$(pw SHA256-CRYPT 'carol pw')")" true
row utf8 example.org "$(q "$(pw SHA512-CRYPT 'Pässwörd 1')")" true
row blf example.org "$(q "$(pw BLF-CRYPT 'blf pw')")" true
row md5 example.org "$(q "$(pw PLAIN-MD5 'md5 pw')")" true
row md5crypt example.org "$(q "$(pw MD5-CRYPT 'md5crypt pw')")" true
row plain example.org "$(q '{PLAIN}plain pw')" true
row bare example.org "$(q "$(pw MD5-CRYPT 'bare pw' | sed 's/^{MD5-CRYPT}//')")" true
row empty example.org "$(q "$(pw PLAIN '')")" true
row nullpw example.org NULL true
row emptypw example.org "''" true
row unknown example.org "$(q '{FOO-HASH}abcdef')" true
row malformed example.org "$(q '{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee')" true
row costly example.org "$(q '{SHA512-CRYPT}$6$rounds=999999999$abcdefgh$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')" true
row dup example.org "$(q '{PLAIN}dup pw')" true
row dup example.org "$(q '{PLAIN}dup pw')" true
row "x' or '1'='1" example.org "$(q '{PLAIN}injected')" true
} >"$out.new"
mv "$out.new" "$out"
