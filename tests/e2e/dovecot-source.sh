# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The source side of tests/e2e/copy.sh: a private Dovecot IMAP config with its own passdb sql
# on the users' table and a master user, in the syntax of the Dovecot installed (2.3 on
# Debian 12, 2.4 on Debian 13). Sourced, not run.
#
#   dovecot_source_conf VERSION DIR PORT LIB CONNINFO
#       writes DIR/dovecot.conf (and for 2.3 its two dovecot-sql.conf.ext files): base_dir,
#       state_dir, log and mail below DIR, IMAP on 127.0.0.1:PORT, the imap binaries from LIB,
#       PostgreSQL from the libpq keyword string CONNINFO. VERSION is "2.3" or "2.4"; returns 1
#       for another.
#
# Both passdbs read copy_users(username, password, role): the master passdb the rows of role
# 'master' (result_success = continue, so the user named after the separator must exist as
# a user row), the second the rows of role 'user'.

dovecot_source_services() { # LIB PORT: the listeners and binaries, the same in 2.3 and 2.4
	local lib=$1 port=$2 s
	cat <<CONF
service imap-login {
  executable = $lib/imap-login
  inet_listener imap {
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
	for s in imap imap-hibernate imap-urlauth imap-urlauth-login imap-urlauth-worker; do
		printf 'service %s {\n  executable = %s/%s\n}\n' "$s" "$lib" "$s"
	done
	cat <<CONF
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
CONF
}

dovecot_source_common() { # DIR: what the 2.3 and the 2.4 config say alike
	cat <<CONF
instance_name = pgd-copy-$$
base_dir = $1/run
state_dir = $1/state
protocols = imap
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
auth_master_user_separator = *
log_path = $1/dovecot.log
first_valid_uid = 1
mail_uid = nobody
mail_gid = nogroup
namespace inbox {
  inbox = yes
  separator = /
}
CONF
}

dovecot_source_query() { # ROLE: the password query, in the variables of 2.3 (%u) or 2.4
	printf "SELECT username AS user, password FROM copy_users WHERE username = '%s' AND role = '%s'" \
		"$2" "$1"
}

dovecot_source_conf_23() { # DIR PORT LIB CONNINFO
	local dir=$1 role
	for role in user master; do
		printf 'driver = pgsql\nconnect = %s\ndefault_pass_scheme = SHA512-CRYPT\npassword_query = %s\n' \
			"$4" "$(dovecot_source_query "$role" '%u')" >"$dir/$role-sql.conf.ext"
		chmod 600 "$dir/$role-sql.conf.ext"
	done
	cat >"$dir/dovecot.conf" <<CONF
$(dovecot_source_common "$dir")
disable_plaintext_auth = no
mail_location = maildir:$dir/mail/%u
passdb {
  driver = sql
  args = $dir/master-sql.conf.ext
  master = yes
  result_success = continue
}
passdb {
  driver = sql
  args = $dir/user-sql.conf.ext
}
userdb {
  driver = static
  args = home=$dir/mail/%u
}
$(dovecot_source_services "$3" "$2")
CONF
}

dovecot_source_conf_24() { # DIR PORT LIB CONNINFO
	local dir=$1 kv
	{
		cat <<CONF
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
CONF
		dovecot_source_common "$dir"
		cat <<CONF
auth_allow_cleartext = yes
mail_driver = maildir
mail_home = $dir/mail/%{user}
mail_path = ~
sql_driver = pgsql
pgsql 127.0.0.1 {
  parameters {
CONF
		# the libpq keywords of CONNINFO (no value of ours holds a space or a quote)
		for kv in $4; do
			printf '    %s = %s\n' "${kv%%=*}" "${kv#*=}"
		done
		cat <<CONF
  }
}
passdb master-sql {
  driver = sql
  master = yes
  result_success = continue
  default_password_scheme = SHA512-CRYPT
  sql_query = $(dovecot_source_query master '%{user}')
}
passdb sql {
  default_password_scheme = SHA512-CRYPT
  query = $(dovecot_source_query user '%{user}')
}
userdb static {
  driver = static
}
CONF
		dovecot_source_services "$3" "$2"
	} >"$dir/dovecot.conf"
	chmod 600 "$dir/dovecot.conf"
}

dovecot_source_conf() { # VERSION DIR PORT LIB CONNINFO
	case $1 in
	2.3) dovecot_source_conf_23 "${@:2}" ;;
	2.4) dovecot_source_conf_24 "${@:2}" ;;
	*) return 1 ;;
	esac
}
