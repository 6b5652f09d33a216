#!/bin/bash
# SPDX-License-Identifier: MIT
# The Dovecot SQL setups of the mail-server kits (iRedMail, Modoboa, PostfixAdmin: their own files,
# tests/dovecot/kits/KIT/RELEASE/, see README.md there), judged by the real Dovecot installed here
# (2.3 on Debian 12, 2.4 on Debian 13: the files of that release) and by the module reading the
# same files unchanged. Per kit: a database of its own holding the kit's schema subset
# (KIT/schema.sql) and rows that take every branch of its query; Dovecot with a private base_dir
# and the kit's passdbs; then for every login, every service Cyrus and Postfix pass to saslauthd
# (imap, pop, sieve, smtp: Dovecot's protocol for Cyrus's "pop" is "pop3"), with and without a
# client address, in plaintext, over TLS and from a trusted network without TLS (what Dovecot's
# login processes send: no `secured`, `secured=tls`, `secured`; its %c / %{secured} is empty,
# "TLS", "secured"; the module cannot see it and answers the same; a setup whose files never
# name %c / %{secured} in plaintext alone), `doveadm auth test` against
# pamtester through pam_wrapper (the real .so).
# One TAP line per case:
#   ok                  the verdicts agree; or both refuse (the words may differ); or the
#                       module refuses with a configuration error (fail-closed) where Dovecot
#                       answers
#   not ok              any other disagreement: the module lets in a login Dovecot refuses
#                       (fail-open), or refuses one Dovecot lets in for another reason than a
#                       configuration error
# The closing comment lines count the cases per kit: agree, both refuse, fail-closed by a
# configuration error, fail-closed otherwise, fail-open.
# A kit is a folder here: its files per release, schema.sql, rows/N-TABLE.tsv (loaded in that
# order; a header line names the columns; "@hash SCHEME [doveadm pw option]@" in a cell becomes
# that hash of the right password made by this Dovecot, "@bare ...@" the same without its
# {SCHEME} prefix) and logins.txt ("LOGIN LABEL [wrong]": wrong asks the wrong password too).
# Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_ADMIN, PGD_TEST_CONNINFO; root; dovecot, doveadm,
# pamtester, psql. PGD_KITS="iredmail modoboa" runs only those kits.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../../lib/tap.sh"
need_env PGD_MODULE PAM_WRAPPER_SO PGD_TEST_ADMIN PGD_TEST_CONNINFO
# shellcheck source=tests/dovecot/oracle.sh
. "$here/../oracle.sh"
oracle_release

# Not in /tmp: each pamtester may get a private /tmp (oracle.sh).
work=$(mktemp -d /var/tmp/pgd-kits.XXXXXX)
chmod 755 "$work"
dbs=()
cleanup() {
	local db
	oracle_stop
	for db in "${dbs[@]}"; do
		# FORCE: Dovecot's auth workers may still hold a connection
		psql -q "$PGD_TEST_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	done
	pamwrap_clean "$work"/*.module 2>/dev/null
	[ -n "${PGD_KITS_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# pg[], right, wrong: oracle.sh

# --- the kit's database and rows ----------------------------------------------------------------
# kit_db KIT: a database of the kit's own (its queries name its tables unqualified) with the
# schema subset and the rows, readable by the suite's role; $db names it.
kit_db() {
	local kit=$1 f table cols ph how scheme_args hash
	db=pgd_kit_${kit}_$$
	dbs+=("$db")
	psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<-SQL || bail "$kit: database"
		SET client_min_messages = warning;
		DROP DATABASE IF EXISTS $db;
		CREATE DATABASE $db;
	SQL
	# libpq takes the last of a repeated keyword
	local admin="$PGD_TEST_ADMIN dbname=$db"
	mkdir -p "$work/$kit.rows"
	for f in "$here/$kit"/rows/*.tsv; do
		cp "$f" "$work/$kit.rows/"
		# each placeholder once: the same hash wherever it stands
		while IFS= read -r ph; do
			read -r how scheme_args <<<"${ph//@/}"
			# shellcheck disable=SC2086 # the scheme and its doveadm pw options
			hash=$(doveadm pw -s $scheme_args -p "$right") || bail "$kit: doveadm pw -s $scheme_args"
			[ "$how" = bare ] && hash=${hash#\{*\}}
			sed -i "s|$ph|$hash|g" "$work/$kit.rows/${f##*/}"
		done < <(grep -o '@[a-z]* [^@]*@' "$f" | sort -u)
	done
	{
		echo 'SET client_min_messages = warning;'
		cat "$here/$kit/schema.sql"
		for f in "$work/$kit.rows"/*.tsv; do
			table=${f##*/}
			table=${table#*-}
			table=${table%.tsv}
			cols=$(head -1 "$f" | tr '\t' ',')
			echo "\\copy $table ($cols) FROM '$f' WITH (FORMAT csv, DELIMITER E'\\t', HEADER true)"
		done
		echo 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;'
	} | psql -q -v ON_ERROR_STOP=1 "$admin" >/dev/null || bail "$kit: schema and rows"
}

# --- the kit's files, as installed, pointed at the test cluster -------------------------------
# install_kit KIT: copies KIT/RELEASE/ to $etc (the kit's /etc/dovecot), its connection to the
# test cluster and the kit's database (the only change), paths under /etc/dovecot/ to $etc.
install_kit() {
	etc=$work/$1/etc
	rm -rf "${work:?}/$1"
	mkdir -p "$etc"
	cp -r "$here/$1/$release/." "$etc/"
	local f conn="host=${pg[host]} port=${pg[port]} dbname=$db user=${pg[user]} password=${pg[password]}"
	while IFS= read -r -d '' f; do
		sed -i -e "s|^connect = .*|connect = $conn|" -e "s|/etc/dovecot/|$etc/|g" "$f"
		# Dovecot 2.4: the pgsql block's server and parameters
		awk -v host="${pg[host]}" -v port="${pg[port]}" -v db="$db" -v user="${pg[user]}" \
			-v pw="${pg[password]}" '
			/^[ \t]*pgsql [^ ]+ \{/ { sub(/pgsql [^ ]+ \{/, "pgsql " host " {"); inpg = 1 }
			inpg && /^[ \t]*host = / { sub(/= .*/, "= " host) }
			inpg && /^[ \t]*parameters \{/ {
				print; print "    port = " port; print "    dbname = " db
				print "    user = " user; print "    password = " pw; inparam = 1; next
			}
			inparam && /^[ \t]*(port|dbname|user|password) = / { next }
			inparam && /\}/ { inparam = 0 }
			inpg && !inparam && /^[ \t]*\}/ { inpg = 0 }
			{ print }' "$f" >"$f.new" && mv "$f.new" "$f"
	done < <(find "$etc" -type f -print0)
	: >"$etc/dovecot-master-users"
	chmod -R go-w "$etc"
}

# dovecot_conf INCLUDE: $etc/dovecot.conf, the kit's authentication file included; plaintext
# allowed (the transport's policy is the caller's: Cyrus's allowplaintext, Postfix's
# smtpd_tls_auth_only), a static userdb.
dovecot_conf() {
	if [ $release = 2.3 ]; then
		cat >"$etc/dovecot.conf" <<-CONF
			$(oracle_common "pgd-kits-$$")
			disable_plaintext_auth = no
			!include $1
			$(oracle_userdb)
		CONF
	else
		cat >"$etc/dovecot.conf" <<-CONF
			dovecot_config_version = $version
			dovecot_storage_version = $version
			$(oracle_common "pgd-kits-$$")
			auth_allow_cleartext = yes
			!include $1
			$(oracle_userdb)
		CONF
	fi
	chmod 644 "$etc/dovecot.conf"
}

# module_conf CONF: the PAM service files of the four services, the module reading CONF, one
# folder per transport ($etc/pam.d-plain, -tls, -trusted). Where the kit's files name %c /
# %{secured}, each states the transport as an admin does on the pam.d line (secured=no, tls,
# secured: the module cannot see it behind saslauthd); elsewhere the lines are the same.
module_conf() {
	local svc tls arg
	declare -A said=([plain]=no [tls]=tls [trusted]=secured)
	for tls in plain tls trusted; do
		arg=
		grep -rqE '%L?c|%\{secured' "$etc" --exclude-dir='pam.d-*' && arg=" secured=${said[$tls]}"
		mkdir -p "$etc/pam.d-$tls"
		for svc in imap pop sieve smtp; do
			printf 'auth required %s conf=%s nodelay%s\n' "$PGD_MODULE" "$1" "$arg" \
				>"$etc/pam.d-$tls/$svc"
		done
	done
}

# --- the cases ---------------------------------------------------------------------------------
declare -A total
n=0
failed=0
# run_cases KIT SETUP: every login of KIT/logins.txt x service x address x transport, against
# the running Dovecot and $etc/pam.d.
run_cases() {
	local kit=$1 setup=$2 login label also svc proto rip tls pwname pw d m key mf=0 sec
	local transports=(plain)
	declare -A mcache=() rcache=() mfile=()
	# TLS and trusted networks change Dovecot's verdict only through %c / %{secured}: a setup
	# that never names them is asked over plaintext alone.
	grep -rqE '%L?c|%\{secured' "$etc" && transports=(plain tls trusted)
	while read -r -u 3 login label also; do
		[ -n "$login" ] || continue
		for pwname in right ${also:+wrong}; do
			pw=$right
			[ $pwname = wrong ] && pw=$wrong
			for svc in imap pop sieve smtp; do
				proto=$svc
				[ "$svc" = pop ] && proto=pop3
				for rip in '' 192.0.2.7; do
					for tls in "${transports[@]}"; do
						key="$login $svc $rip $pwname $tls"
						if [ -z "${mcache[$key]:-}" ]; then
							mcache[$key]=$(pamtester_verdict "$etc/pam.d-$tls" "$svc" "$login" "$pw" "$rip")
							# no PAM answer: a collision on /tmp/pam.X (oracle.sh); once more
							[ "${mcache[$key]}" = OTHER ] &&
								mcache[$key]=$(pamtester_verdict "$etc/pam.d-$tls" "$svc" "$login" "$pw" "$rip")
							mf=$((mf + 1))
							mfile[$key]=$work/$kit-$setup.$mf.module
							mv "$work/last.module" "${mfile[$key]}"
							# the module's log line, as pam_wrapper prints it
							rcache[$key]=$(grep 'SYSLOG(' "${mfile[$key]}" |
								grep -v -m1 '_pam_init_handlers' | sed 's/.*SYSLOG([0-9]*): //')
						fi
						m=${mcache[$key]}
						# what Dovecot's login processes send: secured=tls over TLS,
						# secured alone from a trusted network (login_trusted_networks,
						# or the same host) without TLS
						sec=()
						[ "$tls" = tls ] && sec=(-x secured=tls)
						[ "$tls" = trusted ] && sec=(-x secured)
						[ -n "$rip" ] && sec+=(-x "rip=$rip")
						d=$(oracle_verdict "$etc/dovecot.conf" "$login" "$pw" "pgdkit$$x$n" \
							-x "service=$proto" "${sec[@]}")
						n=$((n + 1))
						name="$kit $release $setup $label $login $svc ${rip:-no-rip} $tls $pwname"
						judge "$kit" "$label" "$svc" "$tls" "$d" "$m" "${rcache[$key]}" \
							"${mfile[$key]}"
					done
				done
			done
		done
	done 3<"$here/$kit/logins.txt"
}

# judge KIT LABEL SERVICE TLS DOVECOT MODULE REASON MODULE-OUTPUT: the TAP line of case $n
# ($name)
judge() {
	local kit=$1 label=$2 svc=$3 tls=$4 d=$5 m=$6 why=$7 mout=$8 in_d=no in_m=no class
	[ "$d" = OK ] && in_d=yes
	[ "$m" = OK ] && in_m=yes
	if [ "$d" = OTHER ]; then
		class=no_verdict
		echo "not ok $n - $name: Dovecot gave no verdict"
		sed 's/^/#   dovecot: /' "$work/last.dovecot" | grep -v ': Debug: ' | head -6
		failed=1
	elif [ "$d" = "$m" ]; then
		class=agree
		echo "ok $n - $name: $d"
	elif [ $in_m = no ] && [ "$m" = CONFIG ]; then
		class=closed_config
		echo "ok $n - $name: Dovecot $d, module refuses the configuration (fail-closed): $why"
	elif [ $in_d = no ] && [ $in_m = no ]; then
		class=refuse_both
		echo "ok $n - $name: both refuse (Dovecot $d, module $m)"
	else
		failed=1
		if [ $in_m = yes ]; then
			class=open
			echo "not ok $n - $name: Dovecot $d, module $m (fail-open)"
		else
			class=closed_other
			echo "not ok $n - $name: Dovecot $d, module $m: $why"
		fi
		sed 's/^/#   dovecot: /' "$work/last.dovecot" | grep -v ': Debug: ' | head -6
		grep -v PWRAP "$mout" | sed 's/^/#   module: /' | head -4
	fi
	total[$kit.$class]=$((${total[$kit.$class]:-0} + 1))
	total[$kit.cases]=$((${total[$kit.cases]:-0} + 1))
}

# --- the kits ----------------------------------------------------------------------------------
# iRedMail: per-protocol and per-transport columns (enable<protocol><secured>), domain and
# mailbox flags, allow_nets; SSHA512 is what it writes on Linux, BLF-CRYPT on the BSDs, and its
# default_pass_scheme is CRYPT (bare crypt strings).
kit_iredmail() {
	install_kit iredmail
	dovecot_conf "$etc/auth.conf"
	if [ $release = 2.3 ]; then
		module_conf "$etc/dovecot-pgsql.conf"
		oracle_start "$etc/dovecot.conf"
		run_cases iredmail dovecot-pgsql
	else
		module_conf "$etc/dovecot.conf"
		oracle_start "$etc/dovecot.conf"
		run_cases iredmail passdb-sql
	fi
	oracle_stop
}

# Modoboa: core_user + admin_mailbox + admin_domain, send-only mailboxes guarded by the
# protocol, auth_username_format = %Lu; it writes {SHA512-CRYPT} with 70000 rounds by default.
kit_modoboa() {
	install_kit modoboa
	if [ $release = 2.3 ]; then
		# Dovecot 2.3.19's auth process panics at start with the oauth2 passdb beside the
		# SQL ones (http-client.c:646: assertion failed: cctx->clients_list == NULL, under
		# sql_wait). That passdb answers only the XOAUTH2 and OAUTHBEARER mechanisms, which
		# no saslauthd login uses: Dovecot runs without it (the module never reads it).
		sed -i 's/^!include auth-oauth2.conf.ext/#&/' "$etc/conf.d/10-auth.conf"
		module_conf "$etc/dovecot-sql.conf.ext"
	else
		module_conf "$etc/dovecot.conf"
	fi
	dovecot_conf "$etc/conf.d/10-auth.conf"
	oracle_start "$etc/dovecot.conf"
	if [ $release = 2.3 ]; then run_cases modoboa dovecot-sql; else run_cases modoboa auth-sql; fi
	oracle_stop
}

# PostfixAdmin: mailbox.active, and smtp_active where $CONF['smtp_active_flag'] is on (DOVECOT.txt:
# the same file with its other query); php_crypt writes bare SHA512-CRYPT by default, its
# documents set default_pass_scheme = MD5-CRYPT (2.3) and ARGON2ID (2.4).
kit_postfixadmin() {
	install_kit postfixadmin
	dovecot_conf "$etc/auth.conf"
	if [ $release = 2.3 ]; then
		module_conf "$etc/dovecot-sql.conf"
		oracle_start "$etc/dovecot.conf"
		run_cases postfixadmin dovecot-sql
		oracle_stop
		cp "$etc/dovecot-sql-smtp_active.conf" "$etc/dovecot-sql.conf"
		oracle_start "$etc/dovecot.conf"
		run_cases postfixadmin smtp_active
	else
		module_conf "$etc/dovecot.conf"
		oracle_start "$etc/dovecot.conf"
		run_cases postfixadmin passdb-sql
	fi
	oracle_stop
}

kits=${PGD_KITS:-iredmail modoboa postfixadmin}
for kit in $kits; do
	kit_db "$kit"
	"kit_$kit"
done
echo "1..$n"
echo "# Dovecot $version, per kit: cases, agree, both refuse, fail-closed by a configuration error, fail-closed otherwise, fail-open"
for kit in $kits; do
	echo "# $kit $release: ${total[$kit.cases]:-0} cases, ${total[$kit.agree]:-0} agree," \
		"${total[$kit.refuse_both]:-0} both refuse, ${total[$kit.closed_config]:-0} configuration error," \
		"${total[$kit.closed_other]:-0} fail-closed otherwise, ${total[$kit.open]:-0} fail-open"
done
exit "$failed"
