#!/bin/bash
# SPDX-License-Identifier: MIT
# pam-pgsql-dovecot audit against the test cluster: a table with every class, the counts, the
# exit statuses, the JSON, no stored value or secret in any output, the database unchanged (and
# a write attempted by a query refused), the progress bar only on a terminal, and 100,000
# generated users for the speed check. Prints TAP.
# Needs: PGD_TOOL, PGD_TEST_CONNINFO, PGD_TEST_ADMIN (tests/pg-cluster.sh, scripts/test.sh).
set -uo pipefail
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
need_env PGD_TOOL PGD_TEST_CONNINFO PGD_TEST_ADMIN
work=$(mktemp -d /tmp/pgd-audit.XXXXXX)
sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -t -A -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" "$@"; }
cleanup() {
	sql -c 'DROP TABLE IF EXISTS audit_users, audit_list, audit_log, audit_big, audit_caps, audit_rehash, audit_nets, audit_renames CASCADE;
	        DROP FUNCTION IF EXISTS audit_touch(text)' >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

pw() { "$PGD_TOOL" pw -s "$1" ${2:+-r "$2"} -p "audit pw $1"; }
sha512=$(pw SHA512-CRYPT)
sha512_costly=$(pw SHA512-CRYPT 2000000 2>/dev/null || true)
blf=$(pw BLF-CRYPT 10)
ssha=$(pw SSHA512)
md5crypt=$(pw MD5-CRYPT)
plainmd5=$(pw PLAIN-MD5)
# a value above the cap cannot come from pw (it refuses); written by hand, never verified
[ -n "$sha512_costly" ] || sha512_costly='{SHA512-CRYPT}$6$rounds=2000000$costlysalt$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./abcdefghijklmnopqrstuvwx'
blf_costly='{BLF-CRYPT}$2y$20$abcdefghijklmnopqrstuuNotARealHashButWellFormed0123456'

sql >/dev/null <<SQL
DROP TABLE IF EXISTS audit_users, audit_list, audit_log CASCADE;
CREATE TABLE audit_users (userid text, domain text, password text, nologin boolean,
                          reason text, account_expired boolean);
CREATE TABLE audit_list (username text, domain text);
CREATE TABLE audit_log (entry text);
GRANT SELECT ON audit_users, audit_list TO PUBLIC;
GRANT SELECT, INSERT ON audit_log TO PUBLIC;
-- a query that writes: the read-only session must refuse it
CREATE FUNCTION audit_touch(t text) RETURNS text LANGUAGE sql VOLATILE
  AS \$\$ INSERT INTO audit_log VALUES (t) RETURNING entry \$\$;
INSERT INTO audit_users (userid, domain, password, nologin, reason, account_expired) VALUES
  ('v1', 'example.org', '$sha512', NULL, NULL, NULL),
  ('v2', 'example.org', '$blf', NULL, NULL, NULL),
  ('v3', 'example.org', '$ssha', NULL, NULL, false),
  ('w1', 'example.org', '$md5crypt', NULL, NULL, NULL),
  ('w2', 'example.org', '$plainmd5', NULL, NULL, NULL),
  ('rnull', 'example.org', NULL, NULL, NULL, NULL),
  ('rempty', 'example.org', '', NULL, NULL, NULL),
  ('rmalformed', 'example.org', '{SHA512-CRYPT}not a crypt value at all', NULL, NULL, NULL),
  ('rtrunc', 'example.org', '{SHA512-CRYPT}\$6\$saltonly', NULL, NULL, NULL),
  ('rhex', 'example.org', '{PLAIN-MD5}zz-not-hex-nor-base64-zz', NULL, NULL, NULL),
  ('runknown', 'example.org', '{NOPE-CRYPT}unknownvalue', NULL, NULL, NULL),
  ('rcostly', 'example.org', '$sha512_costly', NULL, NULL, NULL),
  ('rblf', 'example.org', '$blf_costly', NULL, NULL, NULL),
  ('dnologin', 'example.org', '$sha512', true, 'moved away', NULL),
  ('dfalse', 'example.org', '$sha512', false, NULL, NULL),
  ('dexpired', 'example.org', '$sha512', NULL, NULL, true),
  ('udup', 'example.org', '$sha512', NULL, NULL, NULL),
  ('udup', 'example.org', '$blf', NULL, NULL, NULL);
INSERT INTO audit_list SELECT DISTINCT userid, domain FROM audit_users;
INSERT INTO audit_list VALUES ('ughost', 'example.org'), ('bad name', 'example.org'),
  (E'esc\\\\x07\\x07', 'example.org'), (NULL, NULL);
SQL

write_conf() { # NAME ITERATE-QUERY [PASSWORD-QUERY]
	local q=${3:-"SELECT userid || '@' || domain AS user, password, nologin, reason, account_expired FROM audit_users WHERE userid = '%n' AND domain = '%d'"}
	{
		echo "driver = pgsql"
		echo "connect = $PGD_TEST_CONNINFO"
		echo "default_pass_scheme = SHA512-CRYPT"
		echo "password_query = $q"
		[ -n "$2" ] && echo "iterate_query = $2"
	} >"$work/$1.conf"
	chmod 600 "$work/$1.conf"
}
write_conf all "SELECT username, domain FROM audit_list"
write_conf good "SELECT userid || '@' || domain AS user FROM audit_users WHERE userid LIKE 'v%%'"
write_conf nolist ""
write_conf writes "SELECT username, domain FROM audit_list WHERE username = 'v1'" \
	"SELECT userid || '@' || domain AS user, password, audit_touch(userid) AS x FROM audit_users WHERE userid = '%n' AND domain = '%d'"
write_conf acct "SELECT userid || '@' || domain AS user FROM audit_users WHERE userid LIKE 'v%%' OR userid = 'dexpired'" \
	"SELECT userid || '@' || domain AS user, password FROM audit_users WHERE userid = '%n' AND domain = '%d'"
echo "account_query = SELECT userid = 'v2' AS account_expired FROM audit_users WHERE userid = '%n' AND domain = '%d'" >>"$work/acct.conf"
write_conf down "SELECT 1 AS user"
sed -i 's/^connect = .*/connect = host=127.0.0.1 port=1 dbname=mail user=x password=never-printed connect_timeout=2/' "$work/down.conf"

fingerprint() {
	sql -c "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM audit_users t;
	        SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM audit_list t;
	        SELECT count(*) FROM audit_log"
}
before=$(fingerprint)

# run NAME ARGS...: stdout in $work/NAME.out, stderr in $work/NAME.err, status in $rc
run() {
	local name=$1
	shift
	"$PGD_TOOL" audit "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null
	rc=$?
}
expect_rc() { # NAME WANT
	if [ "$rc" = "$2" ]; then ok "$1: exit $2"; else not_ok "$1: exit $rc, expected $2"; sed 's/^/# /' "$work"/*.err; fi
}

run text -c "$work/all.conf" --examples 3
expect_rc "every class" 1
run json -c "$work/all.conf" --json --examples 10
expect_rc "every class, --json" 1

# The counts, from the JSON: python3 asserts and prints one line per failed check.
check_json() { # NAME FILE PYTHON-ASSERTIONS
	local out
	if out=$(python3 - "$2" "$3" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
errors = []
def want(cond, what):
    if not cond:
        errors.append(what)
exec(sys.argv[2])
if errors:
    print("\n".join(errors))
    sys.exit(1)
PY
	); then ok "$1"; else not_ok "$1"; sed 's/^/# /' <<<"$out"; fi
}
check_json "JSON: every listed user in exactly one class" "$work/json.out" '
want(j["users"] == 20, "users %r" % j["users"])
want(sum(j["classes"].values()) == j["users"], "classes do not add up: %r" % j["classes"])
want(j["unnamed_rows"] == 1, "unnamed rows %r" % j["unnamed_rows"])'
check_json "JSON: class counts" "$work/json.out" '
want(j["classes"] == {"verify": 3, "weak": 2, "refused": 8, "disabled": 3, "unreachable": 4}, repr(j["classes"]))'
check_json "JSON: verify per scheme with cost" "$work/json.out" '
d = j["details"]["verify"]
want(d == {"SHA512-CRYPT (rounds 5000)": 1, "BLF-CRYPT (cost 10)": 1, "SSHA512": 1}, repr(d))'
check_json "JSON: weak per scheme" "$work/json.out" '
want(j["details"]["weak"] == {"MD5-CRYPT": 1, "PLAIN-MD5": 1}, repr(j["details"]["weak"]))'
check_json "JSON: why refused" "$work/json.out" '
d = j["details"]["refused"]
want(d.get("NULL stored password") == 1 and d.get("empty stored password") == 1, repr(d))
want(d.get("malformed value: SHA512-CRYPT") == 1 and d.get("malformed value: PLAIN-MD5") == 1, repr(d))
want(d.get("unknown scheme") == 1, repr(d))
want(d.get("no full checksum (no password matches): SHA512-CRYPT") == 1, repr(d))
want(d.get("above max_crypt_rounds 1000000") == 1 and d.get("above max_bcrypt_cost 14") == 1, repr(d))'
check_json "JSON: disabled, the boolean false trap named" "$work/json.out" '
d = j["details"]["disabled"]
want(d == {"nologin (with a reason)": 1, "nologin holds false (any non-NULL value disables)": 1, "account expired": 1}, repr(d))'
check_json "JSON: unreachable: no row, several rows, names refused" "$work/json.out" '
d = j["details"]["unreachable"]
want(d == {"no row": 1, "several rows": 1, "name refused before the query": 2}, repr(d))'
check_json "JSON: schemes" "$work/json.out" '
s = j["schemes"]
want(s.get("SHA512-CRYPT") == 7 and s.get("BLF-CRYPT") == 2 and s.get("MD5-CRYPT") == 1, repr(s))'
check_json "JSON: examples are login names, control bytes escaped" "$work/json.out" '
e = j["examples"]
want("v1@example.org" in e["verify"], repr(e["verify"]))
want("bad name@example.org" in e["unreachable"], repr(e["unreachable"]))
want(any(x.startswith("esc\\x5cx07\\x07") for x in e["unreachable"]), repr(e["unreachable"]))
want(not any("\x07" in x for c in e.values() for x in c), "a raw control byte")
# MD5-CRYPT, PLAIN-MD5 and SSHA512; BLF-CRYPT cost 10 is not weaker than SHA512-CRYPT
want(j["upgradable"] == 3 and j["rehash"] is False, "upgradable %r" % j["upgradable"])
want(j["rehash_any_scheme"] is False, "rehash_any_scheme %r" % j.get("rehash_any_scheme"))'

if grep -q '^verdict: 15 of 20 users cannot log in (8 refused, 3 disabled, 4 unreachable)$' "$work/text.out" &&
	grep -q '^refused *1  above max_crypt_rounds 1000000$' "$work/text.out" &&
	grep -q '^weak *1  MD5-CRYPT$' "$work/text.out" &&
	grep -q '^disabled: ' "$work/text.out"; then
	ok "text: table, examples and the verdict"
else
	not_ok "text: table, examples and the verdict"
	sed 's/^/# /' "$work/text.out"
fi
if [ "$(grep -c '^verify:' "$work/text.out")" = 1 ] &&
	[ "$(grep '^refused:' "$work/text.out" | wc -w)" -le 5 ]; then
	ok "text: --examples 3 keeps at most 3 names per class"
else
	not_ok "text: --examples 3 keeps at most 3 names per class"
fi

run good -c "$work/good.conf" --json
expect_rc "only users that verify" 0
check_json "only users that verify: the verdict" "$work/good.out" '
want(j["classes"]["verify"] == 3 and j["users"] == 3, repr(j))
want(j["verdict"] == "all 3 users can log in with their password", j["verdict"])'
run users_query -c "$work/nolist.conf" --users-query "SELECT userid || '@' || domain AS user FROM audit_users WHERE userid LIKE 'w%%'"
expect_rc "--users-query with a conf that has no iterate_query" 0
if grep -q '^weak *1  PLAIN-MD5$' "$work/users_query.out" &&
	grep -q 'listed by --users-query' "$work/users_query.out"; then
	ok "--users-query: its users are the ones audited"
else
	not_ok "--users-query: its users are the ones audited"
	sed 's/^/# /' "$work/users_query.out"
fi
run acct -c "$work/acct.conf" --json
expect_rc "account_query" 1
check_json "account_query: read for each user, as acct_mgmt would" "$work/acct.out" '
want(j["classes"]["verify"] == 3 and j["classes"]["disabled"] == 1, repr(j["classes"]))
want(j["examples"]["disabled"] == ["v2@example.org"], repr(j["examples"]))'
run nolist -c "$work/nolist.conf"
expect_rc "no iterate_query and no --users-query" 2
grep -q 'sets no iterate_query' "$work/nolist.err" && ok "... says what is missing" || not_ok "... says what is missing"
run down -c "$work/down.conf"
expect_rc "database down" 2
run usage -c "$work/all.conf" extra
expect_rc "usage error" 2
run help --help
expect_rc "--help" 0
grep -q -- '--users-query SQL' "$work/help.out" && ok "--help names the options" || not_ok "--help names the options"
run examples -c "$work/all.conf" --examples 1000
expect_rc "--examples out of range" 2
run writes -c "$work/writes.conf" --json
expect_rc "a query that writes" 1
check_json "a query that writes: refused by the read-only session (SQLSTATE 25006)" "$work/writes.out" '
want(j["details"]["unreachable"] == {"query failed, SQLSTATE 25006": 1}, repr(j["details"]))'

# Every cost cap, not only crypt's: each value is refused by the cap a login would meet, named
# by its conf key, without hashing (the run stays fast however costly the rows).
pbkdf2=$(pw PBKDF2)
scram=$(pw SCRAM-SHA-256)
argon2=$(pw ARGON2ID)
otp=$(pw OTP)
sql >/dev/null <<SQL
CREATE TABLE audit_caps (userid text, password text);
GRANT SELECT ON audit_caps TO PUBLIC;
INSERT INTO audit_caps VALUES
  ('pbkdf2', '$pbkdf2'),
  ('pbkdf2-costly', '$(sed 's/\$5000\$/$2000000$/' <<<"$pbkdf2")'),
  ('scram', '$scram'),
  ('scram-costly', '$(sed 's/}4096,/}2000000,/' <<<"$scram")'),
  ('argon2', '$argon2'),
  ('argon2-memory', '$(sed 's/m=65536,/m=1048576,/' <<<"$argon2")'),
  ('argon2-passes', '$(sed 's/,t=3,/,t=100,/' <<<"$argon2")'),
  ('otp', '$otp'),
  ('otp-costly', '$(sed 's/ 1024 / 2000000 /' <<<"$otp")');
SQL
write_conf caps "SELECT userid AS user FROM audit_caps" \
	"SELECT userid AS user, password FROM audit_caps WHERE userid = '%u'"
start=$(date +%s%N)
run caps -c "$work/caps.conf" --json
caps_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc "PBKDF2, SCRAM, Argon2 and OTP values above their caps" 1
check_json "every cap judged without hashing: max_iterations, max_memory_kib, max_argon2_ops" "$work/caps.out" '
want(j["classes"] == {"verify": 3, "weak": 1, "refused": 5, "disabled": 0, "unreachable": 0}, repr(j["classes"]))
want(j["details"]["weak"] == {"OTP (not in Dovecot 2.4)": 1}, repr(j["details"]["weak"]))
want(j["details"]["refused"] == {"above max_iterations 1000000": 3, "above max_memory_kib 262144": 1, "above max_argon2_ops 16": 1}, repr(j["details"]["refused"]))
want(sorted(j["examples"]["refused"]) == ["argon2-memory", "argon2-passes", "otp-costly", "pbkdf2-costly", "scram-costly"], repr(j["examples"]))'
# Hashing the five costly rows would take minutes (2,000,000 PBKDF2 rounds, 1 GiB of Argon2...).
if [ "$caps_ms" -lt 5000 ]; then
	ok "the costly rows are judged in $caps_ms ms: nothing is hashed"
else
	not_ok "the costly rows are judged in $caps_ms ms: nothing is hashed"
fi

# allow_nets as saslauthd meets it: no remote address, so only "local" lets a row in.
sql >/dev/null <<SQL
CREATE TABLE audit_nets (userid text, password text, allow_nets text);
GRANT SELECT ON audit_nets TO PUBLIC;
INSERT INTO audit_nets VALUES
  ('nonets', '$sha512', NULL),
  ('local', '$sha512', 'local'),
  ('mixed', '$sha512', '192.0.2.0/24, local'),
  ('remote', '$sha512', '192.0.2.0/24'),
  ('v6', '$sha512', '2001:db8::/32');
SQL
write_conf nets "SELECT userid AS user FROM audit_nets" \
	"SELECT userid AS user, password, allow_nets FROM audit_nets WHERE userid = '%u'"
run nets -c "$work/nets.conf" --json
check_json "allow_nets without local: the rows saslauthd can never log in, counted as disabled" "$work/nets.out" '
want(j["classes"] == {"verify": 3, "weak": 0, "refused": 0, "disabled": 2, "unreachable": 0}, repr(j["classes"]))
want(j["details"]["disabled"] == {"allow_nets without local (saslauthd sets no remote address)": 2}, repr(j["details"]["disabled"]))
want(sorted(j["examples"]["disabled"]) == ["remote", "v6"], repr(j["examples"]))'

# A query naming the transport (%c, iRedMail's enable<protocol><transport>): the audit states it
# as the service's pam.d line does, and refuses to guess when it is not given.
write_conf secured "SELECT userid AS user FROM audit_nets WHERE userid = 'local'" \
	"SELECT userid AS user, password FROM (SELECT *, 1 AS enableimaptls FROM audit_nets) t WHERE userid = '%u' AND t.\"enable%Ls%Lc\" = 1"
run secured-unset -c "$work/secured.conf" --json
expect_rc "%c with no --secured: refused before any lookup" 2
if grep -q 'password_query uses %c (%{secured}).*give --secured' "$work/secured-unset.err"; then
	ok "%c with no --secured: the variable, the key and the option named"
else
	not_ok "%c with no --secured: not said" "$(cat "$work/secured-unset.err")"
fi
run secured-tls -c "$work/secured.conf" --json --secured tls
check_json "--secured tls: the imap tls column read for every user" "$work/secured-tls.out" '
want(j["classes"]["verify"] == 1, repr(j["classes"]))'
run secured-bad -c "$work/secured.conf" --json --secured TLS
expect_rc "--secured TLS (not a word of the key): refused" 2
# A row that renames its login (Dovecot's user, username and domain columns): counted, and
# disabled unless allow_rename = yes; a row naming the login itself is no rename.
sql >/dev/null <<SQL
DROP TABLE IF EXISTS audit_renames;
CREATE TABLE audit_renames (userid text, password text, alias_of text, dom text);
GRANT SELECT ON audit_renames TO PUBLIC;
INSERT INTO audit_renames VALUES
  ('plain', '$sha512', NULL, NULL),
  ('alias', '$sha512', 'target', NULL),
  ('Case', '$sha512', NULL, NULL),
  ('dom', '$sha512', NULL, 'example.org');
SQL
write_conf renames "SELECT userid AS user FROM audit_renames" \
	"SELECT COALESCE(alias_of, userid) AS user, password, dom AS domain FROM audit_renames WHERE lower(userid) = '%u'"
run renames -c "$work/renames.conf" --json
check_json "renamed rows: counted, and disabled without allow_rename" "$work/renames.out" '
want(j["classes"] == {"verify": 1, "weak": 0, "refused": 0, "disabled": 3, "unreachable": 0}, repr(j["classes"]))
want(j["details"]["disabled"] == {"renamed by the row\x27s user column (allow_rename = no)": 2, "renamed by the row\x27s domain column (allow_rename = no)": 1}, repr(j["details"]["disabled"]))
want(j["renamed"] == 3 and j["allow_rename"] is False, repr(j["renamed"]))'
echo "allow_rename = yes" >>"$work/renames.conf"
run renamesok -c "$work/renames.conf"
if [ "$rc" = 0 ] && grep -qF "renamed: 3 rows rename their login (a user, username or domain column names another user): allow_rename = yes lets them in under the new name" "$work/renamesok.out"; then
	ok "renamed rows with allow_rename = yes: counted, and they log in"
else
	not_ok "renamed rows with allow_rename = yes: counted, and they log in (exit $rc)"
	sed 's/^/# /' "$work/renamesok.out" "$work/renamesok.err"
fi

# password_in_query: a query that needs the password cannot be run for a list of users
write_conf sqlpw "SELECT userid AS user FROM audit_renames" \
	"SELECT NULL AS password, 'Y' AS nopassword FROM audit_renames WHERE userid = '%u' AND password = md5('%w')"
echo "password_in_query = yes" >>"$work/sqlpw.conf"
run sqlpw -c "$work/sqlpw.conf"
expect_rc "password_in_query: refused" 2
if grep -qF "password_query verifies the password in SQL (%w, %{password}): no user can be looked up without one" "$work/sqlpw.err"; then
	ok "password_in_query: audit says why"
else
	not_ok "password_in_query: audit says why"
	sed 's/^/# /' "$work/sqlpw.err"
fi

# The row fields by which Dovecot fails a lookup whatever the password: fail, check_client_*_fp
# (no TLS client certificate through PAM), allow_real_nets (as allow_nets, without an address).
sql >/dev/null <<SQL
CREATE TABLE audit_fields (userid text, password text, fail text, fp text, real_nets text);
GRANT SELECT ON audit_fields TO PUBLIC;
INSERT INTO audit_fields VALUES
  ('plain', '$sha512', NULL, NULL, NULL),
  ('failed', '$sha512', 'y', NULL, NULL),
  ('failed-empty', '$sha512', '', NULL, NULL),
  ('fp', '$sha512', NULL, 'ab:cd', NULL),
  ('real-remote', '$sha512', NULL, NULL, '192.0.2.0/24'),
  ('real-local', '$sha512', NULL, NULL, 'local');
SQL
write_conf fields "SELECT userid AS user FROM audit_fields" \
	"SELECT userid AS user, password, fail, fp AS check_client_fp, real_nets AS allow_real_nets FROM audit_fields WHERE userid = '%u'"
run fields -c "$work/fields.conf" --json
check_json "fail, check_client_fp, allow_real_nets without local: counted as disabled" "$work/fields.out" '
want(j["classes"] == {"verify": 2, "weak": 0, "refused": 0, "disabled": 4, "unreachable": 0}, repr(j["classes"]))
want(j["details"]["disabled"] == {"fail (Dovecot fails the lookup)": 2, "check_client_*_fp (a login through PAM has no TLS client certificate)": 1, "allow_real_nets without local (saslauthd sets no remote address)": 1}, repr(j["details"]["disabled"]))'

# "upgradable" is the login's own rule (pgd_hash_rehash_verdict): the algorithm a value really
# uses and its cost. Under default_pass_scheme = CRYPT (Dovecot 2.4.3's default), as a login
# reads them: only the weaker values count; rehash_any_scheme adds the other adaptive families,
# never a value of update_scheme's algorithm at a higher cost.
sha512_200k=$(pw SHA512-CRYPT 200000)
sha512_1k=$(pw SHA512-CRYPT 1000)
blf12=$(pw BLF-CRYPT 12)
sql >/dev/null <<SQL
CREATE TABLE audit_rehash (userid text, password text);
GRANT SELECT ON audit_rehash TO PUBLIC;
INSERT INTO audit_rehash VALUES
  ('crypt-200k', '{CRYPT}${sha512_200k#*\}}'),
  ('bare-200k', '${sha512_200k#*\}}'),
  ('sha512-200k', '$sha512_200k'),
  ('blf12', '$blf12'),
  ('argon2', '$argon2'),
  ('sha512-1k', '$sha512_1k'),
  ('bare-1k', '${sha512_1k#*\}}'),
  ('md5crypt', '$md5crypt'),
  ('plain', '{PLAIN}audit pw PLAIN'),
  ('ssha', '$ssha');
SQL
write_conf rehash "SELECT userid AS user FROM audit_rehash" \
	"SELECT userid AS user, password FROM audit_rehash WHERE userid = '%u'"
sed -i 's/^default_pass_scheme = .*/default_pass_scheme = CRYPT/' "$work/rehash.conf"
sed 's/^password_query/rehash_any_scheme = yes\n&/' "$work/rehash.conf" >"$work/rehash_any.conf"
chmod 600 "$work/rehash_any.conf"
run rehash -c "$work/rehash.conf" --json
expect_rc "rehash: every value verifies" 0
check_json "rehash: the weaker values are upgradable, not the stronger ones" "$work/rehash.out" '
want(j["classes"]["verify"] + j["classes"]["weak"] == 10, repr(j["classes"]))
# sha512-1k, bare-1k, md5crypt, plain, ssha
want(j["upgradable"] == 5, "upgradable %r" % j["upgradable"])'
run rehash_text -c "$work/rehash.conf"
if grep -q '^rehash: 5 stored values are weaker than update_scheme SHA512-CRYPT (rehash = no keeps them)$' "$work/rehash_text.out"; then
	ok "rehash: the text line counts the same five"
else
	not_ok "rehash: the text line counts the same five"
	sed 's/^/# /' "$work/rehash_text.out"
fi
run rehash_any -c "$work/rehash_any.conf" --json
expect_rc "rehash_any_scheme: every value verifies" 0
check_json "rehash_any_scheme: bcrypt and Argon2id too, never sha512crypt at 200000 rounds" "$work/rehash_any.out" '
want(j["upgradable"] == 7 and j["rehash_any_scheme"] is True, "upgradable %r" % j["upgradable"])'

# A Dovecot 2.4 tree: the users listed by userdb sql { iterate_query }, and judged by the rules
# a login of that file meets: without auth_allow_weak_schemes, MD5-CRYPT and PLAIN-MD5 are
# refused (nobody logs in with them), not "weak"; with it they log in, and are weak.
write_v24() { # NAME [MORE-ROOT-SETTINGS]
	{
		printf 'dovecot_config_version = 2.4.1\n%b' "${2:-}"
		v24_pgsql "$PGD_TEST_CONNINFO"
		printf 'passdb sql {\n  default_password_scheme = SHA512-CRYPT\n'
		printf "  query = SELECT userid AS username, domain, password FROM audit_users \\\\\n"
		printf "    WHERE userid = '%%{user | username}' AND domain = '%%{user | domain}'\n}\n"
		printf 'userdb sql {\n  query = SELECT 1 AS uid\n'
		printf "  iterate_query = SELECT userid AS username, domain FROM audit_users WHERE userid IN ('v1', 'w1', 'w2')\n}\n"
	} >"$work/$1.conf"
	chmod 600 "$work/$1.conf"
}
write_v24 v24
write_v24 v24weak 'auth_allow_weak_schemes = yes\n'
run v24 -c "$work/v24.conf" --json
expect_rc "Dovecot 2.4 tree: users with weak schemes cannot log in" 1
check_json "Dovecot 2.4 tree: listed by userdb sql's iterate_query, weak schemes refused" "$work/v24.out" '
want(j["list"] == "iterate_query" and j["users"] == 3, repr(j))
want(j["classes"] == {"verify": 1, "weak": 0, "refused": 2, "disabled": 0, "unreachable": 0}, repr(j["classes"]))
want(j["details"]["refused"] == {"weak scheme MD5-CRYPT (Dovecot 2.4, auth_allow_weak_schemes = no)": 1, "weak scheme PLAIN-MD5 (Dovecot 2.4, auth_allow_weak_schemes = no)": 1}, repr(j["details"]))
want(sorted(j["examples"]["refused"]) == ["w1@example.org", "w2@example.org"], repr(j["examples"]))
want(j["verdict"] == "2 of 3 users cannot log in (2 refused, 0 disabled, 0 unreachable)", j["verdict"])
want(j["refused_weak"] == 2, repr(j.get("refused_weak")))'
run v24_text -c "$work/v24.conf"
if grep -q '^refused *1  weak scheme MD5-CRYPT (Dovecot 2.4, auth_allow_weak_schemes = no)$' "$work/v24_text.out" &&
	grep -q '^refused: 2 stored values are in weak schemes this Dovecot 2.4 file refuses: auth_allow_weak_schemes = yes lets them in' "$work/v24_text.out"; then
	ok "Dovecot 2.4 tree, text: the refusal and what to do"
else
	not_ok "Dovecot 2.4 tree, text: the refusal and what to do"
	sed 's/^/# /' "$work/v24_text.out"
fi
run v24weak -c "$work/v24weak.conf" --json
expect_rc "Dovecot 2.4 tree with auth_allow_weak_schemes = yes" 0
check_json "... the same users log in, through weak schemes" "$work/v24weak.out" '
want(j["classes"] == {"verify": 1, "weak": 2, "refused": 0, "disabled": 0, "unreachable": 0}, repr(j["classes"]))
want(j["details"]["weak"] == {"MD5-CRYPT": 1, "PLAIN-MD5": 1}, repr(j["details"]))
want(j["refused_weak"] == 0, repr(j.get("refused_weak")))'

grep -v 'iterate_query' "$work/v24.conf" >"$work/v24nolist.conf"
chmod 600 "$work/v24nolist.conf"
run v24nolist -c "$work/v24nolist.conf"
expect_rc "Dovecot 2.4 tree without an iterate_query" 2
grep -q 'sets no userdb sql { iterate_query }: give the list with --users-query SQL' "$work/v24nolist.err" &&
	ok "... names 2.4's setting" || not_ok "... names 2.4's setting"

# An empty domain adds nothing to the name (Cyrus's admin, "cyradmin", has none).
run emptydomain -c "$work/nolist.conf" --json --users-query "SELECT username, domain FROM (VALUES ('cyradmin', ''), ('v1', 'example.org')) AS t(username, domain)"
check_json "an empty domain: cyradmin, not cyradmin@" "$work/emptydomain.out" '
names = [x for c in j["examples"].values() for x in c]
want(sorted(names) == ["cyradmin", "v1@example.org"], repr(names))'

after=$(fingerprint)
if [ "$before" = "$after" ] && [ "$(tail -1 <<<"$after")" = 0 ]; then
	ok "the database is unchanged and the write was refused"
else
	not_ok "the database is unchanged and the write was refused"
	echo "# before: $before"
	echo "# after: $after"
fi

# No stored value, no salt, no database password in any output.
leak=0
password=$(sed -n 's/.*password=\([^ ]*\).*/\1/p' <<<"$PGD_TEST_CONNINFO")
while IFS= read -r v; do
	[ -n "$v" ] || continue
	body=${v#*\}}
	for f in "$work"/*.out "$work"/*.err; do
		if grep -qF -- "$body" "$f"; then
			echo "# $f holds a stored value"
			leak=1
		fi
	done
done < <(sql -c "SELECT password FROM audit_users WHERE password <> '' UNION ALL SELECT password FROM audit_caps UNION ALL SELECT password FROM audit_rehash")
if grep -qF -e "$password" -e never-printed -e '$6$' -e '$2y$' -e '$1$' "$work"/*.out "$work"/*.err; then
	leak=1
	grep -lF -e "$password" -e never-printed -e '$6$' "$work"/*.out "$work"/*.err | sed 's/^/# /'
fi
[ $leak = 0 ] && ok "no stored value, salt or database password in any output" ||
	not_ok "no stored value, salt or database password in any output"

# The progress bar: on a terminal only (script(1) gives the command one).
if [ -s "$work/text.err" ]; then
	not_ok "no progress bar when stderr is not a terminal"
	sed 's/^/# /' "$work/text.err"
else
	ok "no progress bar when stderr is not a terminal"
fi
if command -v script >/dev/null; then
	script -qec "$PGD_TOOL audit -c $work/all.conf" /dev/null >"$work/tty.log" 2>&1 </dev/null
	if grep -q '\[#*' "$work/tty.log" && grep -q '100% 21/21' "$work/tty.log"; then
		ok "a progress bar on a terminal"
	else
		not_ok "a progress bar on a terminal"
		sed 's/^/# /' "$work/tty.log"
	fi
fi

# --- 100,000 users: one connection, pipelined ---
sql >/dev/null <<SQL
DROP TABLE IF EXISTS audit_big;
CREATE TABLE audit_big (userid text PRIMARY KEY, domain text, password text);
GRANT SELECT ON audit_big TO PUBLIC;
INSERT INTO audit_big
  SELECT 'user' || i, 'example.org',
         CASE WHEN i % 1000 = 0 THEN NULL ELSE '$sha512' END
  FROM generate_series(1, 100000) i;
ANALYZE audit_big;
SQL
write_conf big "SELECT userid AS username, domain FROM audit_big" \
	"SELECT userid || '@' || domain AS user, password FROM audit_big WHERE userid = '%n' AND domain = '%d'"
start=$(date +%s.%N)
"$PGD_TOOL" audit -c "$work/big.conf" --json >"$work/big.out" 2>"$work/big.err"
rc=$?
end=$(date +%s.%N)
secs=$(python3 -c "print(f'{$end - $start:.1f}')")
echo "# 100000 users: $secs s ($PGD_TOOL audit -c big.conf --json)"
expect_rc "100,000 users" 1
check_json "100,000 users: counts" "$work/big.out" '
want(j["users"] == 100000, repr(j["users"]))
want(j["classes"]["verify"] == 99900 and j["classes"]["refused"] == 100, repr(j["classes"]))'
if python3 -c "import sys; sys.exit(0 if $secs < 60 else 1)"; then
	ok "100,000 users in $secs s (under 60 s on a shared machine)"
else
	not_ok "100,000 users in $secs s (expected seconds)"
fi

summary
