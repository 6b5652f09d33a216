#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/install-deps.sh never removes a package: on this machine the suite's packages are
# installed, cyrus-imapd among them, so asking for dovecot-imapd too (they conflict) must stop
# before apt changes anything, name the package it would remove, and leave it installed. The
# same plan check guards scripts/demo.sh's --demo list on a Dovecot host.
#   tests/deb/install-deps.sh SOURCE-DIR
. "$(dirname "$0")/../lib/tap.sh"
src=${1:?usage: install-deps.sh SOURCE-DIR}

[ "$(id -u)" = 0 ] || skip_all "install-deps.sh plans an install only as root"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
installed cyrus-imapd || skip_all "cyrus-imapd is not installed (scripts/install-deps.sh installs it)"
installed dovecot-imapd && skip_all "dovecot-imapd is installed: no conflict to provoke"

before=$(dpkg-query -W -f='${Package} ${Status}\n' | sort | sha256sum)
out=$("$src/scripts/install-deps.sh" --demo dovecot-imapd 2>&1)
rc=$?
[ $rc -eq 1 ]
expect "--demo dovecot-imapd on a Cyrus host exits 1 (rc $rc)"
grep -q 'would remove .*cyrus-imapd; nothing installed' <<<"$out"
expect "it names cyrus-imapd as the package apt would remove"
installed cyrus-imapd && ! installed dovecot-imapd
expect "cyrus-imapd is still installed and dovecot-imapd was not installed"
[ "$(dpkg-query -W -f='${Package} ${Status}\n' | sort | sha256sum)" = "$before" ]
expect "no package changed state"
out=$("$src/scripts/install-deps.sh" --demo 2>&1)
expect "--demo alone, with everything installed, succeeds"
grep -q '^scripts/install-deps.sh --demo$' "$src/scripts/demo.sh"
expect "demo.sh installs only the demo's list (--demo)"
summary
