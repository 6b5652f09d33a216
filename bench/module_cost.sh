#!/bin/bash
# SPDX-License-Identifier: MIT
# What one login costs inside the saslauthd-like process, counted rather than timed: valgrind's
# callgrind on bench/pam_bench soak (pam_start_confdir, pam_authenticate, pam_acct_mgmt,
# pam_end, as saslauthd runs them) with instruction counts collected only inside those four
# calls, so the bench's own loop is not in them. Two users: {PLAIN} (no hash: what the module,
# libpam and libpq add) and {SHA512-CRYPT} from doveadm pw (the hash beside it). As root on
# Debian; a throwaway PostgreSQL (tests/pg-cluster.sh, unix socket, peer authentication).
# Writes bench/results/DATE-module-cost/: results.md (instructions per login by library and
# the module's functions, inclusive), the callgrind files, commands.txt.
# Instruction counts do not move with the machine's load: the figure to compare before and
# after a change to the module. Knobs: MC_N (2000 logins), MC_BUILD (build-bench), BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh
N=${MC_N:-2000}
build=${MC_BUILD:-$root/build-bench}
case $build in /*) ;; *) build=$root/$build ;; esac
meson_build "$build" -Dbench=true -Dwerror=true
module=$build/pam_pgsql_dovecot.so
out=${BENCH_OUT:-$root/bench/results/$(date -u +%Y-%m-%dT%H%MZ)-module-cost}
mkdir -p "$out"
out=$(cd "$out" && pwd)
unset PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGSERVICEFILE PGPASSFILE \
	PGOPTIONS PGSSLMODE
work=$(mktemp -d /tmp/pgd-mcost.XXXXXX)
chmod 711 "$work"
pg=$work/pg
trap 'tests/pg-cluster.sh stop "$pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
pg_start "$pg"
runuser -u postgres -- sh -c "sed -i '1i local mail pgd_auth peer map=bench' '$pg/data/pg_hba.conf'
	echo 'bench root pgd_auth' >>'$pg/data/pg_ident.conf'"
psql -qX "$PGD_TEST_ADMIN" -c "SELECT pg_reload_conf()" >/dev/null
pw=benchpw$RANDOM$RANDOM
hash=$(doveadm pw -s SHA512-CRYPT -p "$pw")
psql -qX -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL
CREATE TABLE users (userid text, domain text, password text, PRIMARY KEY (userid, domain));
GRANT SELECT ON users TO PUBLIC;
INSERT INTO users VALUES ('plain', 'example.org', '{PLAIN}$pw'), ('sha', 'example.org', '$hash');
SQL
ci="host=$pg port=$port user=pgd_auth dbname=mail"
: >"$out/commands.txt"
for u in plain sha; do
	cmd=(valgrind --tool=callgrind --callgrind-out-file="$out/callgrind-$u.out"
		--toggle-collect='pam_start*' --toggle-collect=pam_authenticate
		--toggle-collect=pam_acct_mgmt --toggle-collect=pam_end
		"$build/bench/pam_bench" soak --module "$module" --server-log "$pg/server.log"
		--out "$work" --label "cg-$u" --connect "$ci" --user "$u@example.org" --password "$pw"
		-n "$N" --time-limit 600)
	printf '%s ' "${cmd[@]}" | sed -e "s|$work|\$WORK|g; s|$root/||g; s|$pw|PASSWORD|g" \
		>>"$out/commands.txt"
	echo >>"$out/commands.txt"
	"${cmd[@]}" >"$work/cg-$u.log" 2>&1 || { tail -20 "$work/cg-$u.log" >&2; exit 1; }
	callgrind_annotate --inclusive=yes --threshold=100 "$out/callgrind-$u.out" \
		>"$work/incl-$u.txt" 2>/dev/null
	callgrind_annotate --inclusive=no --threshold=100 "$out/callgrind-$u.out" \
		>"$work/self-$u.txt" 2>/dev/null
done
python3 - "$work" "$N" "$(basename "$module")" <<'PY' | tee "$out/results.md"
import re, sys
work, n, mod = sys.argv[1], int(sys.argv[2]), sys.argv[3]
line = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S+?):(\S+)(?: \[(.*)\])?\s*$")
def load(kind, u):
    rows = []
    for l in open(f"{work}/{kind}-{u}.txt"):
        m = line.match(l)
        if m:
            rows.append((int(m.group(1).replace(",", "")), m.group(2), m.group(3), m.group(4) or ""))
    return rows
def lib(obj, file):
    o = (obj or file).rsplit("/", 1)[-1]
    if o == mod or "/wt-" in file or file.startswith(("login/", "conf/", "query/", "db/", "hash/", "util/", "../")) or file in ("pam_pgsql_dovecot.c", "hash.c"):
        return "module"
    for k, v in (("libcrypt", "hash (libcrypt)"), ("libpam", "libpam"), ("libpq", "libpq"), ("libssl", "libpq (TLS)"),
                 ("libcrypto", "libcrypto"), ("libsodium", "libsodium"), ("ld-linux", "loader (ld.so)"), ("libc.so", "libc")):
        if k in o:
            return v
    return o or "?"
total = {}
for u in ("plain", "sha"):
    self_rows = load("self", u)
    total[u] = sum(r[0] for r in self_rows)
    by = {}
    for ir, file, fn, obj in self_rows:
        k = lib(obj, file)
        by[k] = by.get(k, 0) + ir
    print(f"\n## {'{PLAIN}' if u == 'plain' else '{SHA512-CRYPT}'}: {total[u] / n:,.0f} instructions per login (pam_start to pam_end), by where they run (self)\n")
    print("| library | instructions per login | share |\n|---|---:|---:|")
    for k, v in sorted(by.items(), key=lambda x: -x[1])[:12]:
        print(f"| {k} | {v / n:,.0f} | {100 * v / total[u]:.1f}% |")
incl = load("incl", "plain")
print(f"\n## The module's functions, {{PLAIN}} (no hash): instructions per login, inclusive (what they call counted in)\n")
print("| function | file | instructions per login | of a {PLAIN} login | of a SHA512-CRYPT login |\n|---|---|---:|---:|---:|")
seen = 0
for ir, file, fn, obj in sorted(incl, key=lambda r: -r[0]):
    if lib(obj, file) != "module":
        continue
    print(f"| `{fn}` | {file.split('wt-bench/')[-1]} | {ir / n:,.0f} | {100 * ir / total['plain']:.1f}% | {100 * ir / total['sha']:.2f}% |")
    seen += 1
    if seen >= 30:
        break
PY

# The statement's server cost by protocol: the same SELECT as Dovecot's query, sent by pgbench
# as Dovecot 2.3 sends it (simple: the values in the text), as the module sends it today
# (extended: PQsendQueryParams, an unnamed statement parsed and planned at every login), and
# prepared once per connection (PQprepare + PQsendQueryPrepared). CPU of the postmaster's
# process tree per statement, the three alternated round by round.
pgbench=$(dirname "$(find /usr/lib/postgresql -path '*/bin/pgbench' | sort -V | tail -1)")/pgbench
postmaster=$(head -1 "$pg/data/postmaster.pid")
psql -qX -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<SQL
CREATE TABLE pgb (userid text, domain text, password text, active boolean NOT NULL DEFAULT true,
                  PRIMARY KEY (userid, domain));
INSERT INTO pgb SELECT i::text, 'example.org', '$hash' FROM generate_series(0, 999) i;
GRANT SELECT ON pgb TO PUBLIC;
ANALYZE pgb;
SQL
cat >"$work/q.sql" <<'SQL'
\set n random(0, 999)
SELECT userid || '@' || domain AS "user", password, CASE WHEN active THEN NULL ELSE 'Y' END AS nologin FROM pgb WHERE userid = :n::text AND domain = 'example.org';
SQL
tree_ticks() { # utime+stime+cutime+cstime of the postmaster and its children, in clock ticks
	local p s=0
	for p in $postmaster $(pgrep -P "$postmaster"); do
		s=$((s + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$s"
}
hz=$(getconf CLK_TCK)
: >"$work/pgbench.tsv"
for round in 1 2 3; do
	for mode in simple extended prepared; do
		t0=$(tree_ticks)
		txs=$("$pgbench" -n -M "$mode" -c 5 -j 1 -T "${MC_PGBENCH_SECONDS:-5}" -f "$work/q.sql" \
			"host=$pg port=$port user=postgres dbname=mail" 2>/dev/null |
			sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
		t1=$(tree_ticks)
		printf '%s\t%s\t%s\n' "$mode" "$txs" "$((t1 - t0))" >>"$work/pgbench.tsv"
	done
done
python3 - "$work/pgbench.tsv" "$hz" <<'PY' | tee -a "$out/results.md"
import sys
hz = float(sys.argv[2])
agg = {}
for l in open(sys.argv[1]):
    m, n, t = l.split()
    a = agg.setdefault(m, [0, 0])
    a[0] += int(n)
    a[1] += int(t)
print("\n## The statement's server cost (pgbench, 5 connections, 3 alternated rounds): PostgreSQL CPU per statement\n")
print("| protocol | statements | server CPU per statement µs | vs extended |\n|---|---:|---:|---:|")
base = agg["extended"][1] * 1e6 / hz / agg["extended"][0]
for m, label in (("simple", "simple (Dovecot 2.3: the values escaped into the text)"), ("extended", "extended, unnamed statement (the module today: PQsendQueryParams)"), ("prepared", "prepared once per connection (PQprepare, PQsendQueryPrepared)")):
    n, t = agg[m]
    us = t * 1e6 / hz / n
    print(f"| {label} | {n} | {us:.1f} | {us / base:.2f} × |")
PY
echo "results: ${out#"$root"/}"
