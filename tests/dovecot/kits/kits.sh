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
# "TLS", "secured"; the module cannot see it and answers the same), `doveadm auth test` against
# pamtester through pam_wrapper (the real .so).
# One TAP line per case:
#   ok                  the verdicts agree; or both refuse (the words may differ); or the
#                       module refuses with a configuration error (fail-closed) where Dovecot
#                       answers
#   not ok # TODO issue 21: REASON
#                       the module refuses a login Dovecot lets in, for another reason than a
#                       configuration error (a known difference, counted)
#   not ok # TODO issue 21 FAIL-OPEN: REASON
#                       the module lets in a login Dovecot refuses (known, to be fixed first)
#   not ok              any other disagreement
# The closing comment lines count the cases per kit: agree, both refuse, fail-closed by a
# configuration error, fail-closed otherwise, fail-open.
# Needs: PGD_MODULE, PAM_WRAPPER_SO, PGD_TEST_ADMIN, PGD_TEST_CONNINFO; root; dovecot, doveadm,
# pamtester, psql. PGD_KITS="iredmail modoboa" runs only those kits.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$here/../../lib/tap.sh"

for prog in dovecot doveadm pamtester psql; do
	command -v "$prog" >/dev/null || skip_all "$prog not installed"
done
[ "$(id -u)" = 0 ] || skip_all "Dovecot's master needs root"
need_env PGD_MODULE PAM_WRAPPER_SO PGD_TEST_ADMIN PGD_TEST_CONNINFO
version=$(dovecot --version | cut -d' ' -f1)
version=${version%%-*}
case $version in
2.3.*) release=2.3 ;;
2.4.*) release=2.4 ;;
*) skip_all "Dovecot $version: neither 2.3 nor 2.4" ;;
esac

# Not in /tmp: pam_wrapper's copies of the service folders go there.
work=$(mktemp -d /var/tmp/pgd-kits.XXXXXX)
chmod 755 "$work"
master_pid=
dbs=()
stop_dovecot() {
	if [ -n "$master_pid" ] && kill -0 "$master_pid" 2>/dev/null; then
		kill "$master_pid"
		for _ in $(seq 50); do
			kill -0 "$master_pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	master_pid=
}
cleanup() {
	local db
	stop_dovecot
	for db in "${dbs[@]}"; do
		# FORCE: Dovecot's auth workers may still hold a connection
		psql -q "$PGD_TEST_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
	done
	pamwrap_clean "$work"/*.module 2>/dev/null
	[ -n "${PGD_KITS_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

declare -A pg
for kv in $PGD_TEST_CONNINFO; do
	pg[${kv%%=*}]=${kv#*=}
done
right='Right-pw 1'
wrong='wrong-pw'

# --- the kit's database ---------------------------------------------------------------------
# kit_db KIT: a database of the kit's own (its queries name its tables unqualified), the
# schema subset loaded, readable by the suite's role; $db names it.
kit_db() {
	db=pgd_kit_$1_$$
	dbs+=("$db")
	psql -q -v ON_ERROR_STOP=1 "$PGD_TEST_ADMIN" >/dev/null <<-SQL || bail "$1: database"
		SET client_min_messages = warning;
		DROP DATABASE IF EXISTS $db;
		CREATE DATABASE $db;
	SQL
	# libpq takes the last of a repeated keyword
	kit_admin="$PGD_TEST_ADMIN dbname=$db"
	{
		echo 'SET client_min_messages = warning;'
		cat "$here/$1/schema.sql"
		echo 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;'
	} | psql -q -v ON_ERROR_STOP=1 "$kit_admin" >/dev/null || bail "$1: schema"
}
sql() { psql -q -v ON_ERROR_STOP=1 "$kit_admin" >/dev/null || bail "rows"; }

# --- the kit's files, as installed, pointed at the test cluster -------------------------------
# install_kit KIT: copies KIT/RELEASE/ to $etc (the kit's /etc/dovecot), its connection to the
# test cluster and the kit's database (the only change), paths under /etc/dovecot/ to $etc.
install_kit() {
	etc=$work/$1/etc
	rm -rf "$work/$1"
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

common="base_dir = $work/run
state_dir = $work/state
log_path = $work/dovecot.log
instance_name = pgd-kits-$$
protocols =
listen = 127.0.0.1
ssl = no
auth_verbose = yes
auth_debug = yes
auth_failure_delay = 0"

# dovecot_conf KIT INCLUDE: $etc/dovecot.conf with the kit's authentication file included;
# plaintext allowed (the transport's policy is the caller's: Cyrus's allowplaintext, Postfix's
# smtpd_tls_auth_only), a static userdb (`doveadm auth test` asks none).
dovecot_conf() {
	if [ $release = 2.3 ]; then
		cat >"$etc/dovecot.conf" <<-CONF
			$common
			disable_plaintext_auth = no
			!include $2
			userdb {
			  driver = static
			  args = uid=nobody gid=nogroup home=/tmp
			}
		CONF
	else
		cat >"$etc/dovecot.conf" <<-CONF
			dovecot_config_version = $version
			dovecot_storage_version = $version
			$common
			auth_allow_cleartext = yes
			!include $2
			userdb static {
			  fields {
			    uid = nobody
			    gid = nogroup
			    home = /tmp
			  }
			}
		CONF
	fi
	chmod 644 "$etc/dovecot.conf"
}

# module_conf CONF: the PAM service files of the four services, the module reading CONF.
module_conf() {
	local svc
	mkdir -p "$etc/pam.d"
	for svc in imap pop sieve smtp; do
		printf 'auth required %s conf=%s nodelay\n' "$PGD_MODULE" "$1" >"$etc/pam.d/$svc"
	done
}

start_dovecot() {
	rm -rf "$work/run" "$work/state"
	: >"$work/dovecot.log"
	if ! dovecot -c "$etc/dovecot.conf" 2>"$work/start.err"; then
		bail "dovecot did not start with $kit's files: $(head -3 "$work/start.err")"
	fi
	for _ in $(seq 50); do
		[ -s "$work/run/master.pid" ] && [ -S "$work/run/auth-client" ] && break
		sleep 0.1
	done
	master_pid=$(cat "$work/run/master.pid" 2>/dev/null)
	[ -n "$master_pid" ] || bail "dovecot wrote no pid: $(tail -3 "$work/dovecot.log")"
}

# dovecot_verdict USER PASSWORD PROTOCOL RIP TLS SESSION: one word; what it saw in last.dovecot
dovecot_verdict() {
	local user=$1 pw=$2 sid=pgdkit$$x$6 out lines
	local args=(-x "service=$3" -x no-penalty -x "session=$sid")
	[ -n "$4" ] && args+=(-x "rip=$4")
	# what Dovecot's login processes send: secured=tls over TLS, secured alone from a
	# trusted network (login_trusted_networks, or the same host) without TLS
	case $5 in
	tls) args+=(-x secured=tls) ;;
	trusted) args+=(-x secured) ;;
	esac
	out=$(doveadm -c "$etc/dovecot.conf" auth test "${args[@]}" "$user" "$pw" 2>&1)
	for _ in $(seq 50); do
		lines=$(grep -F "<$sid>" "$work/dovecot.log")
		[[ $lines == *"Auth request finished"* || $lines == *"Finished passdb lookup"* ]] && break
		sleep 0.05
	done
	lines=$(grep -F "<$sid>" "$work/dovecot.log")
	printf '%s\n%s\n' "$out" "$lines" >"$work/last.dovecot"
	lines=$(grep -v ': Debug: ' <<<"$lines")
	if [[ $out == *"auth succeeded"* ]]; then
		if grep -q '^  nologin' <<<"$out"; then echo NOLOGIN; else echo OK; fi
	elif [[ $lines == *"allow_nets check failed"* ]]; then
		echo NETS
	elif [[ $lines == *"unknown user"* ]]; then
		echo UNKNOWN
	elif [[ $lines == *"Password mismatch"* ]]; then
		echo MISMATCH
	elif [[ $lines == *"query failed"* || $lines == *"internal failure"* ]]; then
		echo TEMPFAIL
	elif [[ $lines == *": Error: "* || $lines == *"Empty password"* || $lines == *"No password"* ]]; then
		echo REFUSED
	else
		echo OTHER
	fi
}

# module_verdict SERVICE USER PASSWORD RIP: one word; pamtester's output in last.module
module_verdict() {
	local svc=$1 user=$2 pw=$3 rip=$4 out args=()
	[ -n "$rip" ] && args=(-I "rhost=$rip")
	out=$(printf '%s\n' "$pw" | env LD_PRELOAD="$PAM_WRAPPER_SO" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$etc/pam.d" PAM_WRAPPER_DEBUGLEVEL=2 \
		pamtester -v "${args[@]}" "$svc" "$user" authenticate 2>&1)
	printf '%s\n' "$out" >"$work/last.module"
	if [[ $out == *"successfully authenticated"* ]]; then
		echo OK
	elif [[ $out == *"User not known"* ]]; then
		echo UNKNOWN
	elif [[ $out == *"Authentication failure"* ]]; then
		case $out in
		*"cannot verify user="*) echo REFUSED ;;
		*"(account disabled: nologin"*) echo NOLOGIN ;;
		*"(allow_nets: "*) echo NETS ;;
		*) echo MISMATCH ;;
		esac
	elif [[ $out == *"Error in service module"* ]]; then
		echo CONFIG
	elif [[ $out == *"cannot retrieve authentication info"* ]]; then
		echo UNAVAIL
	else
		echo OTHER
	fi
}

# --- the known differences (issue 21) ---------------------------------------------------------
# known KIT LABEL SERVICE TLS MODULE-VERDICT: the reason of a difference that is understood,
# or nothing. Each is a line of issue 21's work list.
known() {
	local kit=$1 label=$2 svc=$3 tls=$4 m=$5
	case $kit:$m in
	modoboa:OK)
		# Dovecot's %s/%{protocol} is "pop3"; the module binds the PAM service, "pop"
		[ "$label" = send-only ] && [ "$svc" = pop ] &&
			echo "'%s' NOT IN ('imap','pop3') sees the PAM service 'pop', not Dovecot's protocol 'pop3' (service -> protocol map)"
		;;
	esac
}

# --- the cases ---------------------------------------------------------------------------------
declare -A total
n=0
failed=0
# run_cases KIT SETUP: every login of $logins (lines "LOGIN LABEL [wrong]") x service x
# address x transport, against the running Dovecot and $etc/pam.d.
run_cases() {
	local kit=$1 setup=$2 login label also svc proto rip tls pwname pw d m key mf=0
	declare -A mcache=() rcache=() mfile=()
	while read -r -u 3 login label also; do
		[ -n "$login" ] || continue
		for pwname in right ${also:+wrong}; do
			pw=$right
			[ $pwname = wrong ] && pw=$wrong
			for svc in imap pop sieve smtp; do
				proto=$svc
				[ "$svc" = pop ] && proto=pop3
				for rip in '' 192.0.2.7; do
					key="$login $svc $rip $pwname"
					if [ -z "${mcache[$key]:-}" ]; then
						mcache[$key]=$(module_verdict "$svc" "$login" "$pw" "$rip")
						mf=$((mf + 1))
						mfile[$key]=$work/$kit-$setup.$mf.module
						mv "$work/last.module" "${mfile[$key]}"
						# the module's log line, as pam_wrapper prints it
						rcache[$key]=$(grep 'SYSLOG(' "${mfile[$key]}" |
							grep -v -m1 '_pam_init_handlers' | sed 's/.*SYSLOG([0-9]*): //')
					fi
					m=${mcache[$key]}
					for tls in plain tls trusted; do
						d=$(dovecot_verdict "$login" "$pw" "$proto" "$rip" $tls $n)
						n=$((n + 1))
						name="$kit $release $setup $label $login $svc ${rip:-no-rip} $tls $pwname"
						judge "$kit" "$label" "$svc" "$tls" "$d" "$m" "${rcache[$key]}" \
							"${mfile[$key]}"
					done
				done
			done
		done
	done 3<<<"$logins"
}

# judge KIT LABEL SERVICE TLS DOVECOT MODULE REASON MODULE-OUTPUT: the TAP line of case $n
# ($name)
judge() {
	local kit=$1 label=$2 svc=$3 tls=$4 d=$5 m=$6 why=$7 mout=$8 in_d=no in_m=no reason class
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
		reason=$(known "$kit" "$label" "$svc" "$tls" "$m")
		if [ $in_m = yes ]; then
			class=open
			if [ -n "$reason" ]; then
				echo "not ok $n - $name: Dovecot $d, module $m # TODO issue 21 FAIL-OPEN: $reason"
			else
				echo "not ok $n - $name: Dovecot $d, module $m (fail-open)"
				failed=1
			fi
		else
			class=closed_other
			if [ -n "$reason" ]; then
				echo "not ok $n - $name: Dovecot $d, module $m # TODO issue 21: $reason"
			else
				echo "not ok $n - $name: Dovecot $d, module $m: $why"
				failed=1
			fi
		fi
		sed 's/^/#   dovecot: /' "$work/last.dovecot" | grep -v ': Debug: ' | head -6
		grep -v PWRAP "$mout" | sed 's/^/#   module: /' | head -4
	fi
	total[$kit.$class]=$((${total[$kit.$class]:-0} + 1))
	total[$kit.cases]=$((${total[$kit.cases]:-0} + 1))
}

# --- the kits ----------------------------------------------------------------------------------
# hash SCHEME [doveadm pw option...]: the right password hashed by this Dovecot, with its prefix
hash() {
	local s=$1
	shift
	doveadm pw -s "$s" "$@" -p "$right" || bail "doveadm pw -s $s"
}
bare() { local h; h=$(hash "$@"); printf '%s' "${h#\{*\}}"; }

# iRedMail: per-protocol and per-transport columns (enable<protocol><secured>), domain and
# mailbox flags, allow_nets; SSHA512 is what it writes on Linux, BLF-CRYPT on the BSDs, and its
# default_pass_scheme is CRYPT (bare crypt strings).
kit_iredmail() {
	kit_db iredmail
	local ssha512 crypt blf no_tls=''
	ssha512=$(hash SSHA512)
	crypt=$(bare SHA512-CRYPT)
	blf=$(hash BLF-CRYPT)
	sql <<-SQL
		INSERT INTO domain (domain) VALUES ('example.org');
		INSERT INTO domain (domain, active) VALUES ('disabled.example.org', 0);
		INSERT INTO domain (domain, backupmx) VALUES ('backup.example.org', 1);
		INSERT INTO mailbox (username, password, domain) VALUES
		  ('active@example.org', '$ssha512', 'example.org'),
		  ('crypt@example.org', '$crypt', 'example.org'),
		  ('bcrypt@example.org', '$blf', 'example.org'),
		  ('empty-pw@example.org', '', 'example.org'),
		  ('user@disabled.example.org', '$ssha512', 'disabled.example.org'),
		  ('user@backup.example.org', '$ssha512', 'backup.example.org');
		INSERT INTO mailbox (username, password, domain, active) VALUES
		  ('disabled@example.org', '$ssha512', 'example.org', 0);
		INSERT INTO mailbox (username, password, domain, expired) VALUES
		  ('expired@example.org', '$ssha512', 'example.org', '2000-01-01');
		INSERT INTO mailbox (username, password, domain, allow_nets) VALUES
		  ('nets@example.org', '$ssha512', 'example.org', '192.0.2.0/24'),
		  ('nets-other@example.org', '$ssha512', 'example.org', '198.51.100.0/24');
		INSERT INTO mailbox (username, password, domain, enableimap) VALUES
		  ('noimap@example.org', '$ssha512', 'example.org', 0);
		INSERT INTO mailbox (username, password, domain, enablepop3) VALUES
		  ('nopop3@example.org', '$ssha512', 'example.org', 0);
		INSERT INTO mailbox (username, password, domain, enablesieve) VALUES
		  ('nosieve@example.org', '$ssha512', 'example.org', 0);
		INSERT INTO mailbox (username, password, domain, enablesmtp) VALUES
		  ('nosmtp@example.org', '$ssha512', 'example.org', 0);
		INSERT INTO mailbox (username, password, domain, enableimapsecured) VALUES
		  ('imapsecured-off@example.org', '$ssha512', 'example.org', 0);
		INSERT INTO mailbox (username, password, domain, enableimaptls) VALUES
		  ('imaptls-off@example.org', '$ssha512', 'example.org', 0);
		INSERT INTO mailbox (username, password, domain, enablesmtpsecured) VALUES
		  ('smtpsecured-off@example.org', '$ssha512', 'example.org', 0);
		INSERT INTO mailbox (username, password, domain, enableimap, enableimapsecured,
		  enableimaptls, enablepop3, enablepop3secured, enablepop3tls, enablesieve,
		  enablesievesecured, enablesievetls, enablemanagesieve, enablemanagesievesecured)
		  VALUES ('sendonly@example.org', '$ssha512', 'example.org', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
		INSERT INTO forwardings (address, forwarding, domain, dest_domain, is_alias) VALUES
		  ('alias@example.org', 'active@example.org', 'example.org', 'example.org', 1);
	SQL
	logins="active@example.org active wrong
crypt@example.org default-scheme-crypt wrong
bcrypt@example.org blf-crypt
empty-pw@example.org empty-password
disabled@example.org disabled
expired@example.org expired
user@disabled.example.org domain-disabled
user@backup.example.org domain-backupmx
nets@example.org allow-nets
nets-other@example.org allow-nets-other
noimap@example.org imap-disabled
nopop3@example.org pop3-disabled
nosieve@example.org sieve-disabled
nosmtp@example.org smtp-disabled
imapsecured-off@example.org imap-secured-disabled
imaptls-off@example.org imap-tls-disabled
smtpsecured-off@example.org smtp-secured-disabled
sendonly@example.org send-only
alias@example.org alias
Active@Example.org case-active
nobody@example.org unknown"
	install_kit iredmail
	dovecot_conf iredmail "$etc/auth.conf"
	if [ $release = 2.3 ]; then
		module_conf "$etc/dovecot-pgsql.conf"
	else
		module_conf "$etc/dovecot.conf"
	fi
	start_dovecot
	if [ $release = 2.3 ]; then run_cases iredmail dovecot-pgsql; else run_cases iredmail passdb-sql; fi
	stop_dovecot
}

# Modoboa: core_user + admin_mailbox + admin_domain, send-only mailboxes guarded by the
# protocol, auth_username_format = %Lu; it writes {SHA512-CRYPT} with 70000 rounds by default.
kit_modoboa() {
	kit_db modoboa
	local sha blf
	sha=$(hash SHA512-CRYPT -r 70000)
	blf=$(hash BLF-CRYPT)
	sql <<-SQL
		INSERT INTO admin_domain (id, name, enabled) VALUES
		  (1, 'example.org', true), (2, 'disabled.example.org', false);
		INSERT INTO core_user (id, password, username, email, is_active, master_user) VALUES
		  (1, '$sha', 'active@example.org', 'active@example.org', true, false),
		  (2, '$blf', 'blf@example.org', 'blf@example.org', true, false),
		  (3, '$sha', 'inactive@example.org', 'inactive@example.org', false, false),
		  (4, '$sha', 'sendonly@example.org', 'sendonly@example.org', true, false),
		  (5, '$sha', 'user@disabled.example.org', 'user@disabled.example.org', true, false),
		  (6, '', 'empty-pw@example.org', 'empty-pw@example.org', true, false),
		  (7, '$sha', 'admin@example.org', 'admin@example.org', true, true);
		INSERT INTO admin_mailbox (address, quota, domain_id, user_id, is_send_only) VALUES
		  ('active', 0, 1, 1, false), ('blf', 0, 1, 2, false), ('inactive', 0, 1, 3, false),
		  ('sendonly', 0, 1, 4, true), ('user', 0, 2, 5, false), ('empty-pw', 0, 1, 6, false);
	SQL
	logins="active@example.org active wrong
blf@example.org blf-crypt
inactive@example.org disabled
sendonly@example.org send-only
user@disabled.example.org domain-disabled
empty-pw@example.org empty-password
admin@example.org master-user-without-mailbox
alias@example.org alias
Active@Example.org case-active
nobody@example.org unknown"
	install_kit modoboa
	if [ $release = 2.3 ]; then
		# Dovecot 2.3.19's auth process panics at start with the oauth2 passdb beside the
		# SQL ones (http-client.c:646: assertion failed: cctx->clients_list == NULL, under
		# sql_wait). That passdb answers only the XOAUTH2 and OAUTHBEARER mechanisms, which
		# no saslauthd login uses: Dovecot runs without it (the module never reads it).
		sed -i 's/^!include auth-oauth2.conf.ext/#&/' "$etc/conf.d/10-auth.conf"
		dovecot_conf modoboa "$etc/conf.d/10-auth.conf"
		module_conf "$etc/dovecot-sql.conf.ext"
	else
		dovecot_conf modoboa "$etc/conf.d/10-auth.conf"
		module_conf "$etc/dovecot.conf"
	fi
	start_dovecot
	if [ $release = 2.3 ]; then run_cases modoboa dovecot-sql; else run_cases modoboa auth-sql; fi
	stop_dovecot
}

# PostfixAdmin: mailbox.active, and smtp_active where $CONF['smtp_active_flag'] is on (DOVECOT.txt:
# the same file with its other query); php_crypt writes bare SHA512-CRYPT by default, its
# documents set default_pass_scheme = MD5-CRYPT (2.3) and ARGON2ID (2.4).
kit_postfixadmin() {
	kit_db postfixadmin
	local md5 sha pre argon=''
	md5=$(bare MD5-CRYPT)
	sha=$(bare SHA512-CRYPT)
	pre=$(hash SHA512-CRYPT)
	[[ " $(doveadm pw -l) " == *" ARGON2ID "* ]] && argon=$(hash ARGON2ID)
	sql <<-SQL
		INSERT INTO domain (domain) VALUES ('example.org');
		INSERT INTO domain (domain, active) VALUES ('disabled.example.org', false);
		INSERT INTO mailbox (username, password, domain) VALUES
		  ('md5crypt@example.org', '$md5', 'example.org'),
		  ('sha512@example.org', '$sha', 'example.org'),
		  ('prefixed@example.org', '$pre', 'example.org'),
		  ('empty-pw@example.org', '', 'example.org'),
		  ('user@disabled.example.org', '$pre', 'disabled.example.org');
		INSERT INTO mailbox (username, password, domain, active) VALUES
		  ('inactive@example.org', '$pre', 'example.org', false);
		INSERT INTO mailbox (username, password, domain, smtp_active) VALUES
		  ('smtp-off@example.org', '$pre', 'example.org', false);
		INSERT INTO mailbox (username, password, domain, active, smtp_active) VALUES
		  ('smtp-only@example.org', '$pre', 'example.org', false, true);
		INSERT INTO alias (address, goto, domain) VALUES
		  ('alias@example.org', 'prefixed@example.org', 'example.org');
	SQL
	[ -n "$argon" ] && sql <<-SQL
		INSERT INTO mailbox (username, password, domain) VALUES
		  ('argon2id@example.org', '$argon', 'example.org');
	SQL
	logins="prefixed@example.org active wrong
md5crypt@example.org default-scheme-md5-crypt wrong
sha512@example.org php_crypt-default
${argon:+argon2id@example.org argon2id}
empty-pw@example.org empty-password
inactive@example.org disabled
smtp-off@example.org smtp-disabled
smtp-only@example.org smtp-only
user@disabled.example.org domain-disabled
alias@example.org alias
Prefixed@Example.org case-active
nobody@example.org unknown"
	install_kit postfixadmin
	dovecot_conf postfixadmin "$etc/auth.conf"
	if [ $release = 2.3 ]; then
		module_conf "$etc/dovecot-sql.conf"
		start_dovecot
		run_cases postfixadmin dovecot-sql
		stop_dovecot
		# DOVECOT.txt: with smtp_active_flag, the same file gets the other query
		cp "$etc/dovecot-sql-smtp_active.conf" "$etc/dovecot-sql.conf"
		start_dovecot
		run_cases postfixadmin smtp_active
		stop_dovecot
	else
		module_conf "$etc/dovecot.conf"
		start_dovecot
		run_cases postfixadmin passdb-sql
		stop_dovecot
	fi
}

for kit in ${PGD_KITS:-iredmail modoboa postfixadmin}; do
	"kit_$kit"
done
echo "1..$n"
echo "# Dovecot $version, per kit: cases, agree, both refuse, fail-closed by a configuration error, fail-closed otherwise (TODO), fail-open (TODO FAIL-OPEN)"
for kit in ${PGD_KITS:-iredmail modoboa postfixadmin}; do
	echo "# $kit $release: ${total[$kit.cases]:-0} cases, ${total[$kit.agree]:-0} agree," \
		"${total[$kit.refuse_both]:-0} both refuse, ${total[$kit.closed_config]:-0} configuration error," \
		"${total[$kit.closed_other]:-0} fail-closed otherwise, ${total[$kit.open]:-0} fail-open"
done
exit "$failed"
