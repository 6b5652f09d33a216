// SPDX-License-Identifier: MIT
/*
 * The Dovecot 2.4 reader: a dovecot.conf tree written to a temporary directory, loaded with
 * conf=, and the fields it fills (or the error, with file and line). One TAP test per row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "query/query.h"
#include "rows.h"

#define MAXFILES 4
#define MAXCHECK 5

struct file {
	const char *name; /* relative to the case's directory; NULL ends */
	const char *text;
	mode_t mode;      /* 0: 0600 */
	const char *link; /* make a symlink to this name instead */
};

struct check {
	const char *field;
	const char *want;
};

struct v24_case {
	const char *name;
	struct file files[MAXFILES]; /* files[0] is what conf= names, unless args say */
	const char *args[3];         /* more module arguments; "@D" is the directory */
	enum pgd_conf_result want;
	const char *err; /* substring of the error ("@D" is the directory) */
	struct check checks[MAXCHECK];
};

#define HEAD "dovecot_config_version = 2.4.1\n"
#define PG                                                                                         \
	"sql_driver = pgsql\n"                                                                     \
	"pgsql localhost {\n"                                                                      \
	"  parameters {\n"                                                                         \
	"    dbname = mails\n"                                                                     \
	"    user = dovecot\n"                                                                     \
	"    password = SECRET\n"                                                                  \
	"  }\n"                                                                                    \
	"}\n"
#define PASSDB(q) "passdb sql {\n  query = " q "\n}\n"
#define Q "SELECT password FROM users WHERE userid = '%{user}'"

/* d.conf whose password parameter is "<pw.txt", and pw.txt. */
/* clang-format off */
#define PW_FILE                                                                                    \
	{                                                                                          \
		{"d.conf",                                                                         \
		 HEAD "sql_driver = pgsql\npgsql h {\n  parameters {\n    password = <pw.txt\n  "  \
		      "}\n}\n" PASSDB(Q),                                                          \
		 0, NULL},                                                                         \
		{                                                                                  \
			"pw.txt", "SECRET\n", 0, NULL                                              \
		}                                                                                  \
	}
/* clang-format on */

/* A 2.3 dovecot-sql.conf.ext (sql.conf, what conf= names) and the dovecot.conf tree that
 * dovecot_conf names beside it. */
#define SQL23                                                                                      \
	"driver = pgsql\nconnect = host=localhost dbname=mails user=dovecot password=SECRET\n"     \
	"password_query = SELECT password FROM users WHERE userid = '%n'\n"
#define PASSDB23 "passdb {\n  driver = sql\n  args = @D/sql.conf\n}\n"
/* clang-format off */
#define V23_TREE(title, text, want_, e, ...)                                                      \
	{                                                                                          \
		.name = title,                                                                     \
		.files = {{"sql.conf", SQL23, 0, NULL}, {"dovecot.conf", text, 0, NULL}},          \
		.args = {"dovecot_conf=@D/dovecot.conf"}, .want = want_, .err = e,                 \
		.checks = {__VA_ARGS__}                                                            \
	}
/* clang-format on */

/* d.conf alone, refused with e in the message. */
/* clang-format off */
#define V24_BAD(title, text, e)                                                                    \
	{                                                                                          \
		.name = title, .files = {{"d.conf", text, 0, NULL}}, .want = PGD_CONF_INVALID,     \
		.err = e                                                                           \
	}
/* clang-format on */
/* d.conf alone, which loads; the rest are {"field", "value"} checks. */
/* clang-format off */
#define V24_OK(title, text, ...)                                                                   \
	{                                                                                          \
		.name = title, .files = {{"d.conf", text, 0, NULL}}, .want = PGD_CONF_OK,          \
		.checks = {                                                                        \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}
/* clang-format on */

static const struct v24_case cases[] = {
    {"the form of Dovecot 2.4's documentation, across includes",
     {{"dovecot.conf",
       HEAD "dovecot_storage_version = 2.4.1\n"
            "!include_try /nonexistent/protocols.d/*.protocol\n"
            "protocols = imap\n"
            "!include conf.d/*.conf\n"
            "service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n}\n",
       0, NULL},
      {"conf.d/10-auth.conf", "auth_mechanisms = plain\n!include auth-sql.conf.ext\n", 0, NULL},
      {"conf.d/auth-sql.conf.ext",
       PG "passdb sql {\n"
          "  default_password_scheme = SHA512-CRYPT\n"
          "  query = SELECT userid AS user, password \\\n"
          "    FROM users WHERE userid = '%{user | username}' AND domain = '%{user|domain}'\n"
          "}\n",
       0, NULL}},
     {NULL},
     PGD_CONF_OK,
     NULL,
     {{"dialect", "Dovecot 2.4 dovecot.conf"},
      {"connect", "host='localhost' dbname='mails' user='dovecot' password='SECRET'"},
      {"password_query", "SELECT userid AS user, password FROM users WHERE userid = '%n' AND "
                         "domain = '%d'"},
      {"default_pass_scheme", "SHA512-CRYPT"},
      {"username_format", "%Lu"}}},
    V24_OK("2.4 defaults: PLAIN scheme, lowercased name, version kept", HEAD PG PASSDB(Q),
           {"default_pass_scheme", "PLAIN"}, {"username_format", "%Lu"},
           {"config_version", "2.4.1"},
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    V24_OK("%u in a 2.4 file is the text %u, as in Dovecot 2.4",
           HEAD PG PASSDB("SELECT password FROM users WHERE userid = '%u'"),
           {"password_query", "SELECT password FROM users WHERE userid = '%%u'"}),
    V24_OK("filters chained, spaces inside, protocol and remote_ip",
           HEAD PG PASSDB("SELECT password FROM u WHERE n = '%{ user | username | lower }' AND s = "
                          "%{protocol} AND r = %{remote_ip} AND l = %{local_ip} AND o = "
                          "'%{original_user|upper}'"),
           {"password_query",
            "SELECT password FROM u WHERE n = '%Ln' AND s = %s AND r = %r AND l = "
            "%l AND o = '%U{orig_user}'"}),
    V24_OK("root passdb_sql_query and auth_* settings",
           HEAD PG "passdb_sql_query = " Q "\n"
                   "auth_default_domain = example.org\n"
                   "auth_username_format = %{user}\n"
                   "auth_allow_weak_schemes = yes\n"
                   "auth_username_chars = abc@.\n"
                   "passdb sql {\n}\n",
           {"default_domain", "example.org"}, {"username_format", "%u"},
           {"allow_weak_schemes", "yes"}, {"username_chars", "abc@."},
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    V24_OK("two pgsql blocks: one multi-host conninfo; host= overrides the name",
           HEAD
           "sql_driver = pgsql\n"
           "pgsql db1 {\n  parameters {\n    dbname = m\n    port = 5433\n  }\n}\n"
           "pgsql db2 {\n  parameters {\n    host = 10.0.0.2\n    dbname = m\n  }\n}\n" PASSDB(Q),
           {"connect", "host='db1,10.0.0.2' port='5433,5432' dbname='m'"}),
    V24_BAD("pgsql blocks that differ in dbname are refused",
            HEAD "sql_driver = pgsql\n"
                 "pgsql a {\n  parameters {\n    dbname = m\n  }\n}\n"
                 "pgsql b {\n  parameters {\n    dbname = n\n  }\n}\n" PASSDB(Q),
            "pgsql blocks differ in 'dbname'"),
    {"password = </file keeps the file's trailing newline, as Dovecot does",
     PW_FILE,
     {NULL},
     PGD_CONF_OK,
     NULL,
     {{"connect", "host='h' password='SECRET\n'"}}},
    /* The one place where the dialects join lines differently (test_conf.c has 2.3's). */
    V24_OK("a line of only '\\' adds no blank of its own (Dovecot 2.4)",
           HEAD PG "passdb sql {\n  query = SELECT password \\\n  \\\n  FROM users WHERE "
                   "userid = '%{user}'\n}\n",
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    V24_OK("a line of only '\\' and blanks, the same",
           HEAD PG "passdb sql {\n  query = SELECT password \\\n  \t\\ # note\nFROM users "
                   "WHERE userid = '%{user}'\n}\n",
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    V24_OK("quoted values with escapes, a quoted block name",
           HEAD "sql_driver = \"pgsql\"\npgsql \"h 1\" {\n  parameters {\n    password = "
                "\"a\\\"b#c\"\n  }\n}\n" PASSDB("\"" Q "\""),
           {"connect", "host='h 1' password='a\"b#c'"}, {"driver", "pgsql"}),
    V24_OK("other parts' settings and blocks are read past",
           HEAD "mail_home = /home/%{user | username}\n"
                "namespace inbox {\n  inbox = yes\n  mailbox Sent {\n    special_use = \\Sent\n  "
                "}\n}\n"
                "protocol !indexer-worker {\n  mail_vsize_bg_after_count = 0\n}\n"
                "userdb sql {\n  query = SELECT nonsense %{nope}\n}\n"
                "group @x y {\n  k = v\n}\n" PG PASSDB(Q),
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    {"our own file names Dovecot's and adds our keys",
     {{"ours.conf",
       "dovecot_config = @D/d.conf\nrehash = yes\nrehash_any_scheme = yes\n"
       "password_update_query = UPDATE "
       "users SET password = '%{hash}' WHERE userid = '%{user}'\n",
       0, NULL},
      {"d.conf", HEAD PG PASSDB(Q), 0, NULL}},
     {NULL},
     PGD_CONF_OK,
     NULL,
     {{"dialect", "Dovecot 2.4 dovecot.conf"},
      {"password_query", "SELECT password FROM users WHERE userid = '%u'"}}},
    {"module arguments set our options next to Dovecot's file",
     {{"d.conf", HEAD PG PASSDB(Q), 0, NULL}},
     {"rehash=yes", "password_update_query=UPDATE u SET p = '%{hash}' WHERE n = '%{user}'", NULL},
     PGD_CONF_OK,
     NULL,
     {{"dialect", "Dovecot 2.4 dovecot.conf"}}},
    V24_BAD("a lone word is an error with file and line", HEAD PG "oops\n" PASSDB(Q),
            "@D/d.conf line 10: Expecting '{'"),
    V24_BAD("an unexpected '}' names its line", HEAD PG "}\n" PASSDB(Q),
            "d.conf line 10: Unexpected '}'"),
    V24_BAD("a file ending inside a block", HEAD PG "passdb sql {\n  query = " Q "\n",
            "ends inside a 'passdb' block"),
    V24_BAD("garbage after '{'", HEAD "passdb sql { query = x }\n",
            "d.conf line 2: Garbage after '{'"),
    V24_BAD("an unknown variable is an error naming it",
            HEAD PG PASSDB("SELECT p FROM u WHERE n = '%{usr}'"),
            "unknown or unsupported variable %{usr}"),
    V24_BAD("an unsupported filter is an error naming it",
            HEAD PG PASSDB("SELECT p FROM u WHERE n = '%{user | base64}'"),
            "unsupported filter base64"),
    V24_BAD("%{password} is refused",
            HEAD PG PASSDB("SELECT p FROM u WHERE n = '%{user}' AND p = '%{password}'"),
            "%{password} is refused"),
    V24_BAD("!include of nothing is an error, !include_try is not",
            HEAD PG PASSDB(Q) "!include_try none/*.conf\n!include none.conf\n",
            "d.conf line 14: !include: no file matches"),
    {"an included file writable by others is refused",
     {{"d.conf", HEAD "!include inc.conf\n" PASSDB(Q), 0, NULL}, {"inc.conf", PG, 0666, NULL}},
     {NULL},
     PGD_CONF_INVALID,
     "inc.conf: group or world writable",
     {{NULL, NULL}}},
    {"an included symlink is refused",
     {{"d.conf", HEAD "!include inc.conf\n" PASSDB(Q), 0, NULL},
      {"real.conf", PG, 0, NULL},
      {"inc.conf", NULL, 0, "real.conf"}},
     {NULL},
     PGD_CONF_INVALID,
     "inc.conf: is a symlink",
     {{NULL, NULL}}},
    V24_BAD("a file including itself is refused", HEAD PG PASSDB(Q) "!include d.conf\n",
            "d.conf line 13: recursive include of @D/d.conf"),
    {"includes three deep are followed",
     {{"d.conf", HEAD PG PASSDB(Q) "!include 1.conf\n", 0, NULL},
      {"1.conf", "!include 2.conf\n", 0, NULL},
      {"2.conf", "!include 3.conf\n", 0, NULL},
      {"3.conf", "!include_try none\n", 0, NULL}},
     {NULL},
     PGD_CONF_OK,
     NULL,
     {{NULL, NULL}}},
    V24_BAD("$ENV: is refused where we would take it",
            HEAD "sql_driver = pgsql\npgsql h {\n  parameters {\n    password = $ENV:PGPW\n  "
                 "}\n}\n" PASSDB(Q),
            "d.conf line 5: password: $ENV: and $SET: values are not supported"),
    V24_BAD("a passdb inside a protocol block is refused",
            HEAD PG "protocol imap {\n" PASSDB(Q) "}\n",
            "a passdb block inside 'protocol' is not supported"),
    V24_BAD("two sql passdbs are refused", HEAD PG PASSDB(Q) PASSDB(Q),
            "a second passdb of driver sql"),
    V24_OK("a master passdb (master logins only) is skipped for the users' passdb",
           HEAD PG "passdb master-sql {\n  driver = sql\n  master = yes\n  result_success = "
                   "continue\n  sql_query = SELECT password FROM masters WHERE userid = "
                   "'%{user}'\n}\n" PASSDB(Q) "passdb last {\n  driver = sql\n  master = Y\n  "
                                              "query = SELECT 1\n}\n",
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    V24_BAD("a deny passdb of driver sql is refused, not read as the users'",
            HEAD PG "passdb denied {\n  driver = sql\n  deny = yes\n  query = SELECT userid "
                    "FROM denied WHERE userid = '%{user}'\n}\n" PASSDB(Q),
            "d.conf line 12: passdb denied: deny = yes is not supported"),
    V24_BAD("a deny passdb of another driver is refused, not ignored",
            HEAD PG PASSDB(Q) "passdb passwd-file {\n  deny = 1\n  passwd_file_path = "
                              "/etc/dovecot/deny.users\n}\n",
            "passdb passwd-file: deny = yes is not supported"),
    V24_OK("deny = no and master = no change nothing",
           HEAD PG "passdb sql {\n  deny = no\n  master = NO\n  query = " Q "\n}\n",
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    V24_BAD("master = 0 is not a boolean (Dovecot 2.4 refuses it too)",
            HEAD PG "passdb sql {\n  master = 0\n  query = " Q "\n}\n",
            "d.conf line 11: master: Invalid boolean value: 0 (use yes or no)"),
    /* What beside the users' passdb changes a login's verdict (v24_passdb.c) */
    V24_BAD("a pam passdb before the sql one is refused, not read past",
            HEAD PG "passdb pam {\n}\n" PASSDB(Q),
            "d.conf line 10: passdb pam (driver pam) is not supported"),
    V24_BAD("a passwd-file passdb after the sql one is refused",
            HEAD PG PASSDB(Q) "passdb users {\n  driver = passwd-file\n  passwd_file_path = "
                              "/etc/dovecot/users\n}\n",
            "d.conf line 13: passdb users (driver passwd-file) is not supported"),
    V24_BAD("a static passdb is refused",
            HEAD PG "passdb static {\n  driver = static\n}\n" PASSDB(Q),
            "d.conf line 10: passdb static (driver static)"),
    V24_BAD("a lua passdb is refused",
            HEAD PG PASSDB(Q) "passdb lua {\n  lua_file = /etc/dovecot/auth.lua\n}\n",
            "d.conf line 13: passdb lua (driver lua)"),
    V24_BAD("a checkpassword passdb is refused", HEAD PG PASSDB(Q) "passdb checkpassword {\n}\n",
            "passdb checkpassword (driver "),
    V24_BAD("an oauth2 passdb is refused", HEAD PG PASSDB(Q) "passdb oauth2 {\n}\n",
            "d.conf line 13: passdb oauth2 (driver oauth2)"),
    V24_OK("a master passwd-file passdb (iRedMail) and oauth2 settings (Modoboa) are read past",
           HEAD PG "passdb passwd-file {\n  master = yes\n  passwd_file_path = "
                   "/etc/dovecot/dovecot-master-users\n  result_success = continue\n  "
                   "username_filter = *@example.org\n  fields {\n    nologin = y\n  }\n}\n"
                   "oauth2 {\n  introspection_mode = post\n}\n" PASSDB(Q),
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    V24_BAD("a fields block (2.4's override_fields) in the sql passdb is refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  fields {\n    allow_nets = 192.0.2.0/24\n  "
                    "}\n}\n",
            "d.conf line 12: passdb sql: a fields { } block is not supported"),
    V24_BAD("a passdb_fields block at the top level is refused",
            HEAD PG "passdb_fields {\n  nologin = y\n}\n" PASSDB(Q),
            "d.conf line 10: a fields { } block is not supported"),
    V24_BAD("username_filter in the sql passdb is refused",
            HEAD PG "passdb sql {\n  username_filter = *@example.org\n  query = " Q "\n}\n",
            "d.conf line 11: passdb sql: username_filter = *@example.org is not supported"),
    V24_BAD("passdb_username_filter at the top level is refused",
            HEAD PG "passdb_username_filter = *@example.org\n" PASSDB(Q),
            "d.conf line 10: username_filter = *@example.org is not supported"),
    V24_BAD("mechanisms_filter in the sql passdb is refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  passdb_mechanisms_filter = plain\n}\n",
            "d.conf line 12: passdb sql: mechanisms_filter = plain is not supported"),
    V24_BAD("a mechanisms_filter block is refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  mechanisms_filter {\n    plain = yes\n  "
                    "}\n}\n",
            "d.conf line 12: passdb sql: mechanisms_filter is not supported"),
    V24_BAD("result_success = continue on the users' passdb fails every login: refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  result_success = continue\n}\n",
            "d.conf line 12: passdb sql: result_success = continue is not supported"),
    V24_BAD("result_failure = return-ok lets a wrong password in: refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  result_failure = return-ok\n}\n",
            "result_failure = return-ok is not supported"),
    V24_BAD("result_internalfail = continue-ok: refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  result_internalfail = continue-ok\n}\n",
            "result_internalfail = continue-ok is not supported"),
    V24_BAD("skip = unauthenticated: refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  skip = unauthenticated\n}\n",
            "skip = unauthenticated is not supported"),
    V24_BAD("fields_import_all = no: refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  fields_import_all = no\n}\n",
            "fields_import_all = no is not supported"),
    V24_BAD("a top-level passdb_result_success applies to the users' passdb: refused",
            HEAD PG "passdb_result_success = return\n" PASSDB(Q),
            "d.conf line 10: result_success = return is not supported"),
    V24_OK("the rules that keep the only passdb's verdict are read",
           HEAD PG "passdb sql {\n  query = " Q "\n  result_success = continue-ok\n  "
                   "result_failure = return-fail\n  result_internalfail = continue\n  "
                   "skip = authenticated\n  fields_import_all = yes\n  use_cache = no\n}\n"
                   "passdb_result_success = return-ok\n",
           {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    V24_BAD("an auth setting inside a protocol filter is refused",
            HEAD PG "protocol imap {\n  auth_username_format = %{user | lower}\n}\n" PASSDB(Q),
            "d.conf line 11: auth_username_format inside a 'protocol' filter is not supported"),
    V24_BAD("a passdb setting inside a remote filter is refused",
            HEAD PG PASSDB(Q) "remote 192.0.2.0/24 {\n  passdb_result_failure = return-ok\n}\n",
            "d.conf line 14: passdb_result_failure inside a 'remote' filter"),
    V24_BAD("a filter inside the sql passdb is refused",
            HEAD PG "passdb sql {\n  query = " Q "\n  protocol imap {\n    query = SELECT 1\n  "
                    "}\n}\n",
            "d.conf line 12: passdb sql: a filter block inside a passdb is not supported"),
    V24_BAD("auth_username_translation is refused",
            HEAD PG "auth_username_translation = +@\n" PASSDB(Q),
            "d.conf line 10: auth_username_translation is not supported"),
    V24_BAD("auth_policy_server_url is refused",
            HEAD PG "auth_policy_server_url = http://policy.example.org/\n" PASSDB(Q),
            "d.conf line 10: auth_policy_server_url is not supported"),
    /* Dovecot 2.3's dovecot.conf tree beside dovecot-sql.conf.ext (dovecot_conf, v23_tree.c) */
    V23_TREE("2.3: the auth settings come from dovecot.conf",
             "auth_username_format = %Ln\nauth_default_realm = example.org\n"
             "auth_username_chars = abc@.\n" PASSDB23,
             PGD_CONF_OK, NULL, {"dialect", "Dovecot 2.3 dovecot-sql.conf.ext"},
             {"username_format", "%Ln"}, {"default_domain", "example.org"},
             {"username_chars", "abc@."}),
    {"2.3: includes are followed, a missing !include_try is no error",
     {{"sql.conf", SQL23, 0, NULL},
      {"dovecot.conf", "!include auth.conf.ext\n!include_try local.conf\n", 0, NULL},
      {"auth.conf.ext", "auth_username_format = %Lu@x\n" PASSDB23, 0, NULL}},
     {"dovecot_conf=@D/dovecot.conf", NULL},
     PGD_CONF_OK,
     NULL,
     {{"username_format", "%Lu@x"}}},
    {"2.3: a module argument after dovecot_conf= overrides it",
     {{"sql.conf", SQL23, 0, NULL},
      {"dovecot.conf", "auth_username_format = %Ln\n" PASSDB23, 0, NULL}},
     {"dovecot_conf=@D/dovecot.conf", "username_format=%Lu", NULL},
     PGD_CONF_OK,
     NULL,
     {{"username_format", "%Lu"}}},
    V23_TREE("2.3: a master passdb (auth-master.conf.ext) is read past",
             "passdb {\n  driver = passwd-file\n  master = yes\n  args = /etc/dovecot/masters\n  "
             "pass = yes\n  result_success = continue\n}\n" PASSDB23,
             PGD_CONF_OK, NULL, {"username_format", "%Lu"}),
    V23_TREE("2.3: the pam passdb of auth-system.conf.ext is refused",
             "passdb {\n  driver = pam\n}\n" PASSDB23, PGD_CONF_INVALID,
             "@D/dovecot.conf line 1: passdb {} (driver pam) is not supported"),
    V23_TREE("2.3: the deny passdb of auth-deny.conf.ext is refused",
             "passdb {\n  driver = passwd-file\n  deny = yes\n  args = /etc/dovecot/deny-users\n"
             "}\n" PASSDB23,
             PGD_CONF_INVALID, "dovecot.conf line 3: passdb {}: deny = yes is not supported"),
    V23_TREE("2.3: override_fields in the sql passdb is refused",
             "passdb {\n  driver = sql\n  args = @D/sql.conf\n  override_fields = "
             "allow_nets=192.0.2.0/24\n}\n",
             PGD_CONF_INVALID,
             "dovecot.conf line 4: passdb {}: override_fields = allow_nets=192.0.2.0/24 is not "
             "supported"),
    V23_TREE("2.3: default_fields in the sql passdb is refused",
             "passdb {\n  driver = sql\n  default_fields = nologin=y\n  args = @D/sql.conf\n}\n",
             PGD_CONF_INVALID, "dovecot.conf line 3: passdb {}: default_fields = nologin=y"),
    V23_TREE("2.3: mechanisms in the sql passdb is refused",
             "passdb {\n  driver = sql\n  args = @D/sql.conf\n  mechanisms = plain\n}\n",
             PGD_CONF_INVALID, "dovecot.conf line 4: passdb {}: mechanisms = plain is not"),
    V23_TREE("2.3: username_filter in the sql passdb is refused",
             "passdb {\n  driver = sql\n  args = @D/sql.conf\n  username_filter = *@a.org\n}\n",
             PGD_CONF_INVALID, "username_filter = *@a.org is not supported"),
    V23_TREE("2.3: result_success = continue in the sql passdb is refused",
             "passdb {\n  driver = sql\n  args = @D/sql.conf\n  result_success = continue\n}\n",
             PGD_CONF_INVALID, "result_success = continue is not supported"),
    V23_TREE("2.3: no users' sql passdb is refused", "auth_username_format = %Ln\n",
             PGD_CONF_INVALID, "no passdb with driver = sql"),
    V23_TREE("2.3: a sql passdb reading another file is refused",
             "passdb {\n  driver = sql\n  args = /etc/dovecot/dovecot-sql.conf.ext\n}\n",
             PGD_CONF_INVALID,
             "dovecot.conf line 1: passdb sql reads args = /etc/dovecot/dovecot-sql.conf.ext; "
             "the module reads @D/sql.conf"),
    V23_TREE("2.3: auth_username_translation is refused",
             "auth_username_translation = @@\n" PASSDB23, PGD_CONF_INVALID,
             "dovecot.conf line 1: auth_username_translation is not supported"),
    V23_TREE("2.3: an auth setting inside a protocol filter is refused",
             PASSDB23 "protocol imap {\n  auth_username_format = %n\n}\n", PGD_CONF_INVALID,
             "dovecot.conf line 6: auth_username_format inside a 'protocol' filter"),
    V23_TREE("2.3: a 2.4 file given as dovecot_conf is refused", HEAD PASSDB23, PGD_CONF_INVALID,
             "dovecot.conf line 1: a Dovecot 2.4 dovecot.conf"),
    {"2.3: dovecot_conf beside a 2.4 conf= is refused",
     {{"d.conf", HEAD PG PASSDB(Q), 0, NULL}, {"dovecot.conf", PASSDB23, 0, NULL}},
     {"dovecot_conf=@D/dovecot.conf", NULL},
     PGD_CONF_INVALID,
     "dovecot_conf is for a Dovecot 2.3 setup",
     {{NULL, NULL}}},
    V24_BAD("no passdb sql query", HEAD PG "passdb sql {\n}\n", "passdb sql { query = ... }"),
    V24_BAD("no pgsql block", HEAD "sql_driver = pgsql\n" PASSDB(Q), "no pgsql HOST { } block"),
    V24_BAD("a 2.3 key in a 2.4 file is refused with its line",
            HEAD "connect = host=x password=SECRET\n" PASSDB(Q),
            "d.conf line 2: 'connect' is a Dovecot 2.3 dovecot-sql.conf.ext key"),
    V24_BAD("sql_driver mysql is refused",
            HEAD "sql_driver = mysql\nmysql localhost {\n}\n" PASSDB(Q),
            "driver 'mysql' is not supported"),
    V24_OK("userdb sql's iterate_query is read (the audit lists the users with it)",
           HEAD PG PASSDB(Q) "userdb sql {\n  query = SELECT home FROM users WHERE userid = "
                             "'%{user}'\n  iterate_query = SELECT userid AS username, domain "
                             "FROM users\n}\n",
           {"iterate_query", "SELECT userid AS username, domain FROM users"}),
    V24_OK("the root userdb_sql_iterate_query, and a userdb block named otherwise with driver sql",
           HEAD PG PASSDB(Q) "userdb_sql_iterate_query = SELECT 1 AS user\n"
                             "userdb passwd {\n  iterate_query = SELECT 2 AS user\n}\n"
                             "userdb users {\n  driver = sql\n  userdb_sql_iterate_query = "
                             "SELECT userid AS user FROM users\n}\n",
           {"iterate_query", "SELECT userid AS user FROM users"}),
    V24_OK("no userdb sql: no iterate_query",
           HEAD PG PASSDB(Q) "userdb passwd {\n  iterate_query = SELECT 2\n}\n",
           {"iterate_query", NULL}),
    {"the password's file is the included one, not the 0644 dovecot.conf",
     {{"dovecot.conf", HEAD "!include conf.d/auth-sql.conf.ext\n", 0644, NULL},
      {"conf.d/auth-sql.conf.ext", PG PASSDB(Q), 0, NULL}},
     {NULL},
     PGD_CONF_OK,
     NULL,
     {{"secret_path", "@D/conf.d/auth-sql.conf.ext"}}},
    {"password = <file: the password's file is the one it names",
     PW_FILE,
     {NULL},
     PGD_CONF_OK,
     NULL,
     {{"secret_path", "@D/pw.txt"}}},
    V24_OK("no password parameter: no file holds one",
           HEAD "sql_driver = pgsql\npgsql /run/postgresql {\n}\n" PASSDB(Q),
           {"secret_path", NULL}),
    {"a missing dovecot-sql.conf.ext beside a 2.4 dovecot.conf: named in the error",
     {{"dovecot.conf", HEAD "!include_try conf.d/*.conf\n", 0644, NULL}},
     {"conf=@D/dovecot-sql.conf.ext", NULL},
     PGD_CONF_INVALID,
     "dovecot.conf, which holds the SQL settings in 2.4: use conf=@D/dovecot.conf)",
     {{NULL, NULL}}},
    {"a file of the include tree without the version line is still 2.4",
     {{"auth-sql.conf.ext", PG PASSDB(Q), 0, NULL}},
     {NULL},
     PGD_CONF_OK,
     NULL,
     {{"dialect", "Dovecot 2.4 dovecot.conf"}}},
};

static char top[64];

static const char *subst(const char *s, const char *dir, char *out, size_t n)
{
	const char *at = s != NULL ? strstr(s, "@D") : NULL;

	if (at == NULL)
		return s;
	snprintf(out, n, "%.*s%s%s", (int)(at - s), s, dir, at + 2);
	return out;
}

static const char *field(const struct pgd_conf *c, const char *f)
{
	if (strcmp(f, "dialect") == 0)
		return pgd_conf_dialect_name(c->dialect);
	if (strcmp(f, "connect") == 0)
		return c->connect;
	if (strcmp(f, "driver") == 0)
		return c->driver;
	if (strcmp(f, "password_query") == 0)
		return c->password_query;
	if (strcmp(f, "default_pass_scheme") == 0)
		return c->default_pass_scheme;
	if (strcmp(f, "username_format") == 0)
		return c->username_format;
	if (strcmp(f, "username_chars") == 0)
		return c->username_chars;
	if (strcmp(f, "default_domain") == 0)
		return c->default_domain;
	if (strcmp(f, "config_version") == 0)
		return c->config_version;
	if (strcmp(f, "allow_weak_schemes") == 0)
		return c->allow_weak_schemes ? "yes" : "no";
	if (strcmp(f, "iterate_query") == 0)
		return c->iterate_query;
	if (strcmp(f, "secret_path") == 0)
		return c->secret_path;
	fail_msg("unknown field %s", f);
	return NULL;
}

static void run_case(void **state)
{
	const struct v24_case *c = *state;
	static unsigned serial;
	char dir[128], path[256], conf_arg[300], args[3][300], want_err[300], want[300];
	const char *argv[5];
	struct pgd_conf conf;
	char err[512] = "";
	enum pgd_conf_result r;
	int argc = 0;

	snprintf(dir, sizeof(dir), "%s/c%u", top, serial++);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (int i = 0; i < MAXFILES && c->files[i].name != NULL; i++) {
		const struct file *f = &c->files[i];
		char *slash;

		snprintf(path, sizeof(path), "%s/%s", dir, f->name);
		slash = strrchr(path, '/');
		*slash = '\0';
		(void)mkdir(path, 0700);
		*slash = '/';
		if (f->link != NULL) {
			assert_int_equal(symlink(f->link, path), 0);
			continue;
		}
		{
			char text[4096];
			FILE *fp = fopen(path, "w");

			assert_non_null(fp);
			fputs(subst(f->text, dir, text, sizeof(text)), fp);
			fclose(fp);
		}
		assert_int_equal(chmod(path, f->mode != 0 ? f->mode : 0600), 0);
	}
	snprintf(conf_arg, sizeof(conf_arg), "conf=%s/%s", dir, c->files[0].name);
	argv[argc++] = conf_arg;
	for (int i = 0; i < 3 && c->args[i] != NULL; i++)
		argv[argc++] = subst(c->args[i], dir, args[i], sizeof(args[i]));
	assert_int_equal(pgd_conf_init(&conf), PGD_CONF_OK);
	r = pgd_conf_load(&conf, argc, argv, err, sizeof(err));
	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r == PGD_CONF_OK) {
		for (int i = 0; i < MAXCHECK && c->checks[i].field != NULL; i++) {
			const char *got = field(&conf, c->checks[i].field);
			const char *w = subst(c->checks[i].want, dir, want, sizeof(want));

			/* a NULL want: the field is unset */
			if (w == NULL && got == NULL)
				continue;
			if (got == NULL || w == NULL || strcmp(got, w) != 0)
				fail_msg("%s = '%s', want '%s'", c->checks[i].field,
				         got != NULL ? got : "(unset)", w);
		}
	} else {
		const char *w = subst(c->err, dir, want_err, sizeof(want_err));

		if (strstr(err, w) == NULL)
			fail_msg("err '%s' lacks '%s'", err, w);
		if (strstr(err, "SECRET") != NULL)
			fail_msg("err '%s' shows the database password", err);
	}
	pgd_conf_free(&conf);
}

static int make_top(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/pgd-test-v24-XXXXXX");
	return mkdtemp(top) != NULL ? 0 : -1;
}

static int remove_top(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	static struct CMUnitTest tests[PGD_N_ROWS(cases)];

	PGD_ROW_CASES(tests, cases, run_case);
	return cmocka_run_group_tests_name("conf_v24", tests, make_top, remove_top);
}
