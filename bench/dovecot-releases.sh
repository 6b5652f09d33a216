#!/bin/bash
# SPDX-License-Identifier: MIT
# The Dovecot arms on both releases in one command, as root on a Debian 12 host: bench/dovecot.sh
# here (Dovecot 2.3, PostgreSQL 15), then bench/dovecot-debian13.sh in the cached Debian 13 root
# (Dovecot 2.4, PostgreSQL 17), with the same DC_* knobs; each writes its own results folder
# (bench/results/DATE-dovecot/ and DATE-dovecot-debian13/). The Debian 13 run's phases are
# DC13_PHASES (its default: 1,2,3,5; perf is not in the root). Exits non-zero when either run
# failed, 77 when neither could run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
bench/dovecot.sh
rc12=$?
bench/dovecot-debian13.sh
rc13=$?
echo "Debian 12: exit $rc12; Debian 13: exit $rc13"
[ "$rc12" = 77 ] && [ "$rc13" = 77 ] && exit 77
[ "$rc12" = 0 ] && { [ "$rc13" = 0 ] || [ "$rc13" = 77 ]; } && exit 0
exit 1
