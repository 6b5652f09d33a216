#!/bin/bash
# SPDX-License-Identifier: MIT
# The Ansible role of examples/ansible: syntax check, ansible-lint (production profile), and a
# --check --diff run against this machine (connection local) that must change nothing on it.
# Prints TAP.
# Usage: ansible.sh SOURCE-ROOT DEB-DIR: DEB-DIR/libpam-pgsql-dovecot.deb comes from the deb
# test (built here with tests/deb/deb.sh when it is missing).
set -uo pipefail
src=$1
debdir=$2
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

for tool in ansible-playbook ansible-lint; do
	command -v "$tool" >/dev/null || not_ok "$tool is installed (scripts/install-deps.sh)"
done
[ $failed -eq 0 ] || summary

work=$(mktemp -d /tmp/pgd-ansible.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
cp -a "$src/examples/ansible" "$work/ansible"
cd "$work/ansible" || exit 1
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_LOCAL_TEMP=$work/tmp \
	ANSIBLE_RETRY_FILES_ENABLED=0 NO_COLOR=1 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3

if out=$(ansible-playbook --syntax-check site.yml 2>&1); then
	ok "ansible-playbook --syntax-check site.yml"
else
	not_ok "ansible-playbook --syntax-check site.yml"; sed 's/^/# /' <<<"$out"
fi

start=$SECONDS
if out=$(ansible-lint 2>&1); then
	ok "ansible-lint passes with the production profile ($((SECONDS - start)) s)"
else
	not_ok "ansible-lint passes with the production profile"
fi
sed 's/^/# /' <<<"$out" | tail -30

deb=$debdir/libpam-pgsql-dovecot.deb
if [ ! -f "$deb" ]; then
	echo "# no $deb yet: building it"
	"$src/tests/deb/deb.sh" "$src" "$debdir" | sed 's/^/# /'
fi
if [ ! -f "$deb" ]; then
	not_ok "the package to install exists ($deb)"
	summary
fi

# What the role would touch, and what check mode must leave as it is.
snapshot() {
	{
		dpkg-query -W -f='${Package} ${Version} ${Status}\n'
		getent passwd; getent group
		stat -c '%N %F %a %U %G' /run/saslauthd /var/spool/postfix/var/run/saslauthd 2>&1
		find /etc/pam.d /etc/default/saslauthd /etc/security /etc/tmpfiles.d /etc/postfix \
			/etc/systemd/system -xdev -exec stat -c '%n %F %a %U %G %s %Y' {} + 2>/dev/null | sort
		find /etc/pam.d /etc/default/saslauthd /etc/security /etc/tmpfiles.d /etc/postfix \
			/etc/systemd/system -xdev -type f -exec sha256sum {} + 2>/dev/null | sort
	} >"$1"
}
snapshot "$work/before"

printf '[mail]\nlocalhost ansible_connection=local\n' >"$work/hosts"
marker="Vault-marker-$RANDOM$RANDOM"
start=$SECONDS
out=$(ansible-playbook -i "$work/hosts" site.yml --check --diff \
	-e ansible_become=false -e "pam_pgsql_dovecot_deb=$deb" \
	-e "pam_pgsql_dovecot_connect='host=127.0.0.1 dbname=mail user=mailauth password=$marker'" 2>&1)
rc=$?
took=$((SECONDS - start))
snapshot "$work/after"

if [ $rc -eq 0 ] && grep -qE 'localhost +: ok=[0-9]+ +changed=[0-9]+ +unreachable=0 +failed=0' <<<"$out"; then
	ok "ansible-playbook --check --diff against localhost runs without a failure ($took s)"
else
	not_ok "ansible-playbook --check --diff against localhost runs without a failure"
	sed 's/^/# /' <<<"$out" | tail -60
fi
if diff -u "$work/before" "$work/after" >"$work/diff"; then
	ok "check mode changed nothing on this machine (packages, users, /etc, /run/saslauthd)"
else
	not_ok "check mode changed nothing on this machine"
	sed 's/^/# /' "$work/diff" | head -40
fi
# The diff shows what a real run would do.
diff_shows() { # NAME TEXT: ok when the diff ($out) holds TEXT
	if grep -qF -- "$2" <<<"$out"; then ok "the diff shows $1"; else
		not_ok "the diff shows $1"; echo "# missing: $2"; fi
}
diff_shows "saslauthd's -r and socket in Postfix's chroot" '+OPTIONS="-r -m /var/spool/postfix/var/run/saslauthd"'
diff_shows "the /etc/pam.d/imap stack" '+auth    required  pam_pgsql_dovecot.so conf=/etc/security/pam_pgsql_dovecot.conf nodelay'
diff_shows "the /etc/pam.d/smtp file" '/etc/pam.d/smtp: saslauthd -a pam -r asks'
diff_shows "the boot-time symlink for /run/saslauthd" '+L /run/saslauthd - - - - /var/spool/postfix/var/run/saslauthd'
diff_shows "the package install (simulated)" 'Install the module from a .deb'
diff_shows "START=yes (Debian 12's init script starts nothing without it)" '+START=yes'
# Debian 13's saslauthd.service gets a drop-in; Debian 12 (init script) does not.
major=$(. /etc/os-release && echo "${VERSION_ID%%.*}")
dropin_task='TASK [pam_pgsql_dovecot : Tell the saslauthd unit where its pid file and socket folder are]'
if [ "$major" -ge 13 ]; then
	diff_shows "Debian $major: the saslauthd unit's pid file in Postfix's chroot" \
		'+PIDFile=/var/spool/postfix/var/run/saslauthd/saslauthd.pid'
	diff_shows "Debian $major: the unit's own /run/saslauthd turned off" '+RuntimeDirectory='
elif grep -A1 -F "$dropin_task" <<<"$out" | grep -q '^skipping:'; then
	ok "Debian $major: no systemd drop-in for saslauthd (the init script reads -m)"
else
	not_ok "Debian $major: no systemd drop-in for saslauthd"
	grep -A3 -F "$dropin_task" <<<"$out" | sed 's/^/# /'
fi
if grep -qF -- "$marker" <<<"$out"; then
	not_ok "the database password is not in the output"
else
	ok "the database password is not in the output"
fi
if grep -A2 'RUNNING HANDLER' <<<"$out" | grep -qE '^(changed|ok):'; then
	not_ok "no handler ran in check mode"
else
	ok "no handler ran in check mode"
fi
summary
