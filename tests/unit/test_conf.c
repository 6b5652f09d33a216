// SPDX-License-Identifier: MIT
/*
 * The conf file reader (dovecot-sql.conf.ext syntax), the module arguments, the safe open and
 * the validation: every row is one TAP test named after what an admin would check.
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
#include "hash.h"
#include "rows.h"

#define MAXCHECK 4

/* "field=value" pairs compared after a successful parse or load. */
struct check {
	const char *field;
	const char *want; /* NULL: the field must be unset */
};

/* Reads one field as text, so that tables can name fields by their key. */
static const char *field_text(const struct pgd_conf *c, const char *field, char *buf, size_t n)
{
	if (strcmp(field, "path") == 0)
		return c->path;
	if (strcmp(field, "driver") == 0)
		return c->driver;
	if (strcmp(field, "connect") == 0)
		return c->connect;
	if (strcmp(field, "password_query") == 0)
		return c->password_query;
	if (strcmp(field, "default_pass_scheme") == 0)
		return c->default_pass_scheme;
	if (strcmp(field, "username_format") == 0)
		return c->username_format;
	if (strcmp(field, "username_chars") == 0)
		return c->username_chars;
	if (strcmp(field, "default_domain") == 0)
		return c->default_domain;
	if (strcmp(field, "max_crypt_rounds") == 0)
		snprintf(buf, n, "%lu", c->max_crypt_rounds);
	else if (strcmp(field, "max_bcrypt_cost") == 0)
		snprintf(buf, n, "%lu", c->max_bcrypt_cost);
	else if (strcmp(field, "max_iterations") == 0)
		snprintf(buf, n, "%lu", c->max_iterations);
	else if (strcmp(field, "max_memory_kib") == 0)
		snprintf(buf, n, "%lu", c->max_memory_kib);
	else if (strcmp(field, "max_argon2_ops") == 0)
		snprintf(buf, n, "%lu", c->max_argon2_ops);
	else if (strcmp(field, "query_timeout") == 0)
		snprintf(buf, n, "%lu", c->query_timeout);
	else if (strcmp(field, "verify_cache_ttl") == 0)
		snprintf(buf, n, "%lu", c->verify_cache_ttl);
	else if (strcmp(field, "verify_cache_size") == 0)
		snprintf(buf, n, "%lu", c->verify_cache_size);
	else if (strcmp(field, "verify_cache_stale_if_error") == 0)
		snprintf(buf, n, "%lu", c->verify_cache_stale_if_error);
	else if (strcmp(field, "update_connect") == 0)
		return c->update_connect;
	else if (strcmp(field, "update_scheme") == 0)
		return c->update_scheme;
	else if (strcmp(field, "update_rounds") == 0)
		snprintf(buf, n, "%lu", c->update_rounds);
	else if (strcmp(field, "rehash") == 0)
		snprintf(buf, n, "%s", c->rehash ? "yes" : "no");
	else if (strcmp(field, "rehash_any_scheme") == 0)
		snprintf(buf, n, "%s", c->rehash_any_scheme ? "yes" : "no");
	else if (strcmp(field, "connection_cache") == 0)
		snprintf(buf, n, "%s", c->connection_cache ? "yes" : "no");
	else if (strcmp(field, "prepare") == 0)
		snprintf(buf, n, "%s", (const char *[]){"auto", "yes", "no"}[c->prepare]);
	else if (strcmp(field, "flags") == 0)
		snprintf(buf, n, "%d%d%d%d%d", c->debug, c->nodelay, c->nullok, c->use_first_pass,
		         c->try_first_pass);
	else
		fail_msg("test table names unknown field %s", field);
	return buf;
}

static void check_fields(const struct pgd_conf *c, const struct check *checks)
{
	char buf[64];
	int i;

	for (i = 0; i < MAXCHECK && checks[i].field != NULL; i++) {
		const char *got = field_text(c, checks[i].field, buf, sizeof(buf));

		if (checks[i].want == NULL) {
			if (got != NULL)
				fail_msg("%s = '%s', want unset", checks[i].field, got);
		} else if (got == NULL || strcmp(got, checks[i].want) != 0) {
			fail_msg("%s = '%s', want '%s'", checks[i].field, got ? got : "(unset)",
			         checks[i].want);
		}
	}
}

struct parse_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	enum pgd_conf_result want;
	const char *err; /* substring of the message on failure */
	struct check checks[MAXCHECK];
	const char *never; /* a string that must not appear in the message */
};

/* A file that parses; the rest are "field", "value" checks. */
/* clang-format off */
#define PARSE_OK(name, text, ...)                                                                  \
	{                                                                                          \
		name, text, 0, PGD_CONF_OK, NULL, {__VA_ARGS__}, NULL                              \
	}
/* clang-format on */
/* A file refused with err in the message, which must not show never. */
/* clang-format off */
#define PARSE_BAD(name, text, err, never)                                                          \
	{                                                                                          \
		name, text, 0, PGD_CONF_INVALID, err, {{NULL, NULL}}, never                        \
	}
/* clang-format on */

#define DOVECOT_EXAMPLE                                                                            \
	"# dovecot-sql.conf.ext\n"                                                                 \
	"driver = pgsql\n"                                                                         \
	"connect = host=localhost dbname=mails user=admin password=pass\n"                         \
	"default_pass_scheme = SHA512-CRYPT\n"                                                     \
	"password_query = SELECT username AS user, password FROM users WHERE username = "          \
	"'%n' AND domain = '%d'\n"

#define NUL_TEXT "driver = pgsql\nconnect = a\0b\n"

static const struct parse_case parse_cases[] = {
    PARSE_OK("Dovecot's example file", DOVECOT_EXAMPLE, {"driver", "pgsql"},
             {"connect", "host=localhost dbname=mails user=admin password=pass"},
             {"default_pass_scheme", "SHA512-CRYPT"},
             {"password_query", "SELECT username AS user, password FROM users WHERE username = "
                                "'%n' AND domain = '%d'"}),
    PARSE_OK("defaults when keys are absent", "driver = pgsql\n", {"default_pass_scheme", "MD5"},
             {"username_format", "%Lu"}, {"username_chars", PGD_DEFAULT_USERNAME_CHARS},
             {"default_domain", NULL}),
    PARSE_OK("default cost caps", "", {"max_crypt_rounds", "1000000"}, {"max_bcrypt_cost", "14"},
             {"connect", NULL}),
    PARSE_OK("comment lines and blank lines", "# one\n   # two\n\n\t\ndriver = pgsql\n#x = y\n",
             {"driver", "pgsql"}),
    PARSE_OK("trailing comment", "driver = pgsql # the only one\n", {"driver", "pgsql"}),
    PARSE_OK("'#' glued to a value starts a comment (as in Dovecot)",
             "connect = host=db password=a#b\n", {"connect", "host=db password=a"}),
    PARSE_OK("double quotes keep '#'", "connect = \"host=db password=a#b\" # comment\n",
             {"connect", "host=db password=a#b"}),
    PARSE_OK("single quotes keep '#'", "connect = 'host=db password=x # y'\n",
             {"connect", "host=db password=x # y"}),
    PARSE_OK("quotes inside a value keep '#' and stay",
             "password_query = SELECT password FROM u WHERE tag = '#1' AND u = '%u' # why\n",
             {"password_query", "SELECT password FROM u WHERE tag = '#1' AND u = '%u'"}),
    PARSE_OK("backslash escapes in a quoted value", "connect = \"pass\\\"word\\\\x\"\n",
             {"connect", "pass\"word\\x"}),
    PARSE_OK("unquoted value keeps backslashes", "username_chars = a\\b\n",
             {"username_chars", "a\\b"}),
    PARSE_OK("half-quoted value stays as it is", "default_domain = \"example.org\n",
             {"default_domain", "\"example.org"}),
    PARSE_OK("continuation lines joined with one space",
             "password_query = SELECT password \\\n    FROM users \\\n    WHERE userid = '%u'\n",
             {"password_query", "SELECT password FROM users WHERE userid = '%u'"}),
    PARSE_OK("continuation skips comment and blank lines",
             "password_query = SELECT password \\\n# a note\n\n    FROM users\n",
             {"password_query", "SELECT password FROM users"}),
    /* The one place where the dialects join lines differently (test_conf_v24.c has 2.4's). */
    PARSE_OK("a line of only '\\' still adds its joining blank (Dovecot 2.3)",
             "password_query = SELECT password \\\n\\\n    FROM users\n",
             {"password_query", "SELECT password  FROM users"}),
    PARSE_OK("a line of only '\\' and blanks, the same",
             "password_query = SELECT password \\\n  \t\\ # note\nFROM users\n",
             {"password_query", "SELECT password  FROM users"}),
    PARSE_OK("continuation after a trailing comment",
             "password_query = SELECT password \\ # a note\n FROM users\n",
             {"password_query", "SELECT password FROM users"}),
    PARSE_OK("CRLF line ends", "driver = pgsql\r\nconnect = dbname=x\r\n", {"driver", "pgsql"},
             {"connect", "dbname=x"}),
    PARSE_OK("no blanks around =", "driver=pgsql\nconnect=dbname=mail\n", {"driver", "pgsql"},
             {"connect", "dbname=mail"}),
    PARSE_OK("tabs around key and value", "\tdriver\t=\tpgsql\t\n", {"driver", "pgsql"}),
    PARSE_OK("no newline at the end", "driver = pgsql", {"driver", "pgsql"}),
    PARSE_OK("empty values", "default_domain =\nusername_chars = \"\"\n", {"default_domain", ""},
             {"username_chars", ""}),
    PARSE_OK("duplicate key: the last wins", "driver = mysql\ndriver = pgsql\n",
             {"driver", "pgsql"}),
    PARSE_OK("Dovecot's userdb keys are ignored",
             "user_query = SELECT home, uid, gid FROM users WHERE userid = '%u'\n"
             "iterate_query = SELECT username AS user FROM users\n"
             "update_query = UPDATE users SET password = '%w' WHERE userid = '%u'\n"
             "userdb_warning_disable = yes\n",
             {"password_query", PGD_DEFAULT_PASSWORD_QUERY}),
    PARSE_OK("our own keys",
             "username_format = %n\nusername_chars =\ndefault_domain = example.org\n"
             "max_crypt_rounds = 500000\nmax_bcrypt_cost = 12\n",
             {"username_format", "%n"}, {"username_chars", ""}, {"default_domain", "example.org"},
             {"max_crypt_rounds", "500000"}),
    PARSE_OK("hash caps", "max_iterations = 5000\nmax_memory_kib = 65536\nmax_argon2_ops = 4\n",
             {"max_iterations", "5000"}, {"max_memory_kib", "65536"}, {"max_argon2_ops", "4"}),
    PARSE_BAD("max_memory_kib: below 1024", "max_memory_kib = 1\n", "max_memory_kib", NULL),
    PARSE_OK("database defaults", "", {"connection_cache", "yes"}, {"query_timeout", "5"}),
    PARSE_OK("database keys", "connection_cache = no\nquery_timeout = 300\n",
             {"connection_cache", "no"}, {"query_timeout", "300"}),
    PARSE_OK("connection_cache is a Dovecot boolean", "connection_cache = YES\n",
             {"connection_cache", "yes"}),
    PARSE_BAD("connection_cache: not a boolean", "connection_cache = off\n",
              "connection_cache: expected yes or no", NULL),
    PARSE_OK("prepare: auto by default", "", {"prepare", "auto"}),
    PARSE_OK("prepare = no", "prepare = no\n", {"prepare", "no"}),
    PARSE_OK("prepare = yes, any case", "prepare = YES\n", {"prepare", "yes"}),
    PARSE_BAD("prepare: not a word it knows", "prepare = on\n",
              "prepare: 'on' is not one of auto, yes, no", NULL),
    PARSE_BAD("query_timeout: zero", "query_timeout = 0\n", "query_timeout", NULL),
    PARSE_BAD("query_timeout: above 300", "query_timeout = 301\n", "query_timeout", NULL),
    PARSE_OK("verify cache and update_connect defaults", "", {"verify_cache_ttl", "0"},
             {"verify_cache_size", "1000"}, {"verify_cache_stale_if_error", "0"},
             {"update_connect", NULL}),
    PARSE_OK("verify cache and update_connect keys",
             "verify_cache_ttl = 86400\nverify_cache_size = 100000\n"
             "verify_cache_stale_if_error = 86400\n"
             "update_connect = host=db1 target_session_attrs=read-write\n",
             {"verify_cache_ttl", "86400"}, {"verify_cache_size", "100000"},
             {"verify_cache_stale_if_error", "86400"},
             {"update_connect", "host=db1 target_session_attrs=read-write"}),
    PARSE_BAD("verify_cache_stale_if_error: above 86400", "verify_cache_stale_if_error = 86401\n",
              "verify_cache_stale_if_error: 86401 is out of range (0 to 86400)", NULL),
    PARSE_BAD("verify_cache_stale_if_error: negative", "verify_cache_stale_if_error = -1\n",
              "verify_cache_stale_if_error: '-1' is not a number", NULL),
    PARSE_BAD("verify_cache_stale_if_error: a unit", "verify_cache_stale_if_error = 10s\n",
              "verify_cache_stale_if_error: '10s' is not a number", NULL),
    PARSE_BAD("verify_cache_ttl: above 86400", "verify_cache_ttl = 86401\n", "verify_cache_ttl",
              NULL),
    PARSE_BAD("verify_cache_size: zero", "verify_cache_size = 0\n", "verify_cache_size", NULL),
    PARSE_BAD("verify_cache_size: above 100000", "verify_cache_size = 100001\n",
              "verify_cache_size", NULL),
    PARSE_OK("rehash defaults", "", {"update_scheme", "SHA512-CRYPT"}, {"update_rounds", "0"},
             {"rehash", "no"}, {"rehash_any_scheme", "no"}),
    PARSE_OK("rehash keys",
             "update_scheme = BLF-CRYPT\nupdate_rounds = 12\nrehash = yes\n"
             "rehash_any_scheme = yes\n",
             {"update_scheme", "BLF-CRYPT"}, {"update_rounds", "12"}, {"rehash", "yes"},
             {"rehash_any_scheme", "yes"}),
    PARSE_BAD("rehash_any_scheme: not a boolean", "rehash_any_scheme = always\n",
              "rehash_any_scheme", NULL),
    PARSE_OK("range edges", "max_crypt_rounds = 999999999\nmax_bcrypt_cost = 4\n",
             {"max_crypt_rounds", "999999999"}, {"max_bcrypt_cost", "4"}),
    PARSE_OK("empty file", "", {"driver", NULL}),

    PARSE_BAD("unknown key names file and line", "driver = pgsql\nfoo = bar\n",
              "test.conf line 2: unknown key 'foo'", NULL),
    PARSE_BAD("line numbers count comments and blanks", "# x\n\n   \nbogus = 1\n",
              "test.conf line 4: unknown key 'bogus'", NULL),
    PARSE_BAD("continued line reported where it starts", "driver = pgsql\nbogus = a \\\n b\n",
              "test.conf line 2: unknown key 'bogus'", NULL),
    PARSE_BAD("unknown key never shows its value", "password = s3cr3t-value\n",
              "unknown key 'password'", "s3cr3t"),
    PARSE_BAD("missing = never shows the line", "connect host=db password=s3cr3t-value\n",
              "test.conf line 1: expecting '='", "s3cr3t"),
    PARSE_BAD("number: letters", "max_crypt_rounds = abc\n",
              "line 1: max_crypt_rounds: 'abc' is not a number", NULL),
    PARSE_BAD("number: trailing junk", "max_crypt_rounds = 5000x\n", "not a number", NULL),
    PARSE_BAD("number: negative", "max_crypt_rounds = -5000\n", "not a number", NULL),
    PARSE_BAD("number: plus sign", "max_bcrypt_cost = +10\n", "not a number", NULL),
    PARSE_BAD("number: hex", "max_bcrypt_cost = 0x10\n", "not a number", NULL),
    PARSE_BAD("number: empty", "max_bcrypt_cost =\n", "not a number", NULL),
    PARSE_BAD("number: quoted blank first", "max_bcrypt_cost = \" 10\"\n", "not a number", NULL),
    PARSE_BAD("number: overflow", "max_crypt_rounds = 99999999999999999999999\n", "out of range",
              NULL),
    PARSE_BAD("number: rounds below SHA-crypt's minimum", "max_crypt_rounds = 999\n",
              "out of range (1000 to 999999999)", NULL),
    PARSE_BAD("number: rounds above SHA-crypt's maximum", "max_crypt_rounds = 1000000000\n",
              "out of range", NULL),
    PARSE_BAD("number: bcrypt cost 3", "max_bcrypt_cost = 3\n", "out of range (4 to 31)", NULL),
    PARSE_BAD("number: bcrypt cost 32", "max_bcrypt_cost = 32\n", "out of range", NULL),
    PARSE_BAD("!include refused", "!include auth-sql.conf.ext\n",
              "line 1: !include is not supported", NULL),
    PARSE_BAD("!include_try refused", "driver = pgsql\n!include_try /etc/x.conf\n",
              "line 2: !include is not supported", NULL),
    PARSE_BAD("section refused", "passdb {\n  driver = sql\n}\n",
              "line 1: sections are not supported", NULL),
    PARSE_BAD("named section refused", "passdb sql {\n", "sections are not supported", NULL),
    PARSE_BAD("closing brace refused", "}\n", "sections are not supported", NULL),
    PARSE_BAD("module argument in the file", "debug = yes\n",
              "line 1: 'debug' is a module argument", NULL),
    PARSE_BAD("conf= in the file", "conf = /etc/other.conf\n", "'conf' is a module argument", NULL),
    PARSE_BAD("file ends inside a continued line", "driver = pgsql\nconnect = dbname=x \\\n",
              "line 2: file ends inside a continued line", NULL),
    {"NUL byte refused",
     NUL_TEXT,
     sizeof(NUL_TEXT) - 1,
     PGD_CONF_INVALID,
     "line 2: NUL byte",
     {{NULL, NULL}},
     NULL},
    PARSE_BAD("control bytes in a key are not echoed", "fo\x1b[2Jo = 1\n",
              "unknown key 'fo\\x1b[2Jo'", "\x1b"),
};

static void check_parse(void **state)
{
	const struct parse_case *c = *state;
	struct pgd_conf conf;
	char err[512] = "";
	size_t len = c->len != 0 ? c->len : strlen(c->text);
	enum pgd_conf_result r;

	assert_int_equal(pgd_conf_init(&conf), PGD_CONF_OK);
	r = pgd_conf_parse(&conf, "test.conf", c->text, len, err, sizeof(err));
	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r == PGD_CONF_OK)
		check_fields(&conf, c->checks);
	else if (strstr(err, c->err) == NULL)
		fail_msg("err '%s' lacks '%s'", err, c->err);
	if (c->never != NULL && strstr(err, c->never) != NULL)
		fail_msg("err '%s' shows '%s'", err, c->never);
	pgd_conf_free(&conf);
}

/* Files made once for the load tests; "@D" in an argument stands for their directory. */
static char dir[64];

#define GOOD_CONF                                                                                  \
	"driver = pgsql\n"                                                                         \
	"connect = host=localhost dbname=mails user=admin password=FILE-SECRET\n"                  \
	"password_query = SELECT password FROM users WHERE userid = '%u'\n"

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		fail_msg("cannot create %s", path);
	fputs(text, f);
	fclose(f);
	if (chmod(path, mode) != 0)
		fail_msg("chmod %s: %s", path, strerror(errno));
}

static int make_files(void **state)
{
	char path[128], target[128];
	char *big;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pgd-test-conf-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	write_file("good.conf", GOOD_CONF, 0600);
	write_file("readable.conf", GOOD_CONF, 0644);
	write_file("world-writable.conf", GOOD_CONF, 0666);
	write_file("group-writable.conf", GOOD_CONF, 0620);
	write_file("mysql.conf",
	           "driver = mysql\nconnect = x\npassword_query = SELECT password FROM u "
	           "WHERE u = '%u'\n",
	           0600);
	write_file("no-connect.conf",
	           "driver = pgsql\npassword_query = SELECT password FROM u WHERE u = '%u'\n",
	           0600);
	write_file("bad-line.conf",
	           "driver = pgsql\nconnect = dbname=x password=FILE-SECRET\n"
	           "oops\n",
	           0600);
	write_file("empty.conf", "", 0600);
	big = malloc(PGD_MAX_CONF_SIZE + 2);
	if (big == NULL)
		return -1;
	memset(big, '#', PGD_MAX_CONF_SIZE + 1);
	big[PGD_MAX_CONF_SIZE + 1] = '\0';
	write_file("big.conf", big, 0600);
	big[PGD_MAX_CONF_SIZE] = '\0';
	write_file("max.conf", big, 0600);
	free(big);

	snprintf(path, sizeof(path), "%s/link.conf", dir);
	snprintf(target, sizeof(target), "%s/good.conf", dir);
	if (symlink(target, path) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/subdir", dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	if (mkfifo(path, 0600) != 0)
		return -1;
	write_file("other-owner.conf", GOOD_CONF, 0600);
	snprintf(path, sizeof(path), "%s/other-owner.conf", dir);
	if (geteuid() == 0 && chown(path, 65534, 65534) != 0)
		return -1;
	return 0;
}

static int remove_files(void **state)
{
	static const char *names[] = {
	    "good.conf",       "readable.conf",   "world-writable.conf", "group-writable.conf",
	    "mysql.conf",      "no-connect.conf", "bad-line.conf",       "empty.conf",
	    "big.conf",        "max.conf",        "link.conf",           "fifo",
	    "other-owner.conf"};
	char path[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/subdir", dir);
	rmdir(path);
	rmdir(dir);
	return 0;
}

#define MAXARGS 6

struct load_case {
	const char *name;
	const char *argv[MAXARGS];
	enum pgd_conf_result want;
	const char *err;
	struct check checks[MAXCHECK];
	const char *never; /* besides the database password, which no message may show */
};

/* clang-format off */
#define ARGS(...)                                                                                  \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}
/* clang-format on */
/* Arguments that load; the rest are "field", "value" checks. */
/* clang-format off */
#define LOAD_OK(name, args, ...)                                                                   \
	{                                                                                          \
		name, args, PGD_CONF_OK, NULL, {__VA_ARGS__}, NULL                                 \
	}
/* clang-format on */
/* Arguments refused with err in the message, which must not show never. */
/* clang-format off */
#define LOAD_BAD(name, args, err, never)                                                           \
	{                                                                                          \
		name, args, PGD_CONF_INVALID, err, {{NULL, NULL}}, never                           \
	}
/* clang-format on */

static const struct load_case load_cases[] = {
    LOAD_OK("conf= reads the file", ARGS("conf=@D/good.conf"), {"path", "@D/good.conf"},
            {"driver", "pgsql"},
            {"connect", "host=localhost dbname=mails user=admin password=FILE-SECRET"},
            {"flags", "00000"}),
    LOAD_OK("a world-readable file is accepted", ARGS("conf=@D/readable.conf"),
            {"driver", "pgsql"}),
    LOAD_OK("PAM flags", ARGS("conf=@D/good.conf", "debug", "nodelay", "nullok", "use_first_pass"),
            {"flags", "11110"}),
    LOAD_OK("try_first_pass", ARGS("try_first_pass", "conf=@D/good.conf"), {"flags", "00001"}),
    LOAD_OK("debug=yes and nodelay=no", ARGS("conf=@D/good.conf", "debug=yes", "nodelay=no"),
            {"flags", "10000"}),
    LOAD_OK("conf= after other arguments still comes first",
            ARGS("default_pass_scheme=SHA512-CRYPT", "conf=@D/good.conf"),
            {"default_pass_scheme", "SHA512-CRYPT"}),
    LOAD_OK("arguments override file keys",
            ARGS("conf=@D/good.conf",
                 "password_query=SELECT password FROM mailbox WHERE username = '%u'",
                 "default_domain=example.org", "max_bcrypt_cost=10"),
            {"password_query", "SELECT password FROM mailbox WHERE username = '%u'"},
            {"default_domain", "example.org"}, {"max_bcrypt_cost", "10"}),
    LOAD_OK("empty username_chars argument allows all",
            ARGS("conf=@D/good.conf", "username_chars="), {"username_chars", ""}),
    LOAD_OK("ignored Dovecot key as argument", ARGS("conf=@D/good.conf", "user_query=SELECT 1"),
            {"driver", "pgsql"}),
    LOAD_OK("the last conf= wins", ARGS("conf=@D/missing.conf", "conf=@D/good.conf"),
            {"path", "@D/good.conf"}),

    LOAD_BAD("connect= refused as an argument",
             ARGS("conf=@D/good.conf", "connect=host=evil password=ARGV-SECRET"),
             "connect= is refused as a module argument", NULL),
    LOAD_BAD("update_connect= refused as an argument",
             ARGS("conf=@D/good.conf", "update_connect=host=evil password=ARGV-SECRET"),
             "update_connect= is refused as a module argument", NULL),
    LOAD_OK("verify_cache_ttl as an argument", ARGS("conf=@D/good.conf", "verify_cache_ttl=60"),
            {"verify_cache_ttl", "60"}),
    LOAD_OK("rehash_any_scheme as an argument", ARGS("conf=@D/good.conf", "rehash_any_scheme=yes"),
            {"rehash_any_scheme", "yes"}),
    LOAD_OK("verify_cache_stale_if_error as an argument",
            ARGS("conf=@D/good.conf", "verify_cache_ttl=60", "verify_cache_stale_if_error=600"),
            {"verify_cache_ttl", "60"}, {"verify_cache_stale_if_error", "600"}),
    LOAD_BAD("verify_cache_stale_if_error without the cache",
             ARGS("conf=@D/good.conf", "verify_cache_stale_if_error=600"),
             "verify_cache_stale_if_error needs verify_cache_ttl", NULL),
    LOAD_BAD("a 2.3 template cannot spell a translated 2.4 expression",
             ARGS("conf=@D/good.conf",
                  "password_query=SELECT p FROM u WHERE n = '%{\x01u\x01| substr(0, 1)}'"),
             "control byte 0x01 in the template", NULL),
    LOAD_BAD("unknown argument names only its key",
             ARGS("conf=@D/good.conf", "password=ARGV-SECRET"),
             "unknown module argument 'password'", NULL),
    LOAD_BAD("unknown bare argument", ARGS("conf=@D/good.conf", "use_authtok"),
             "unknown module argument 'use_authtok'", NULL),
    LOAD_BAD("key without value", ARGS("conf=@D/good.conf", "password_query"),
             "'password_query' needs a value", NULL),
    LOAD_BAD("bad boolean", ARGS("conf=@D/good.conf", "debug=maybe"), "debug: expected yes or no",
             "maybe"),
    LOAD_BAD("bad number argument", ARGS("conf=@D/good.conf", "max_crypt_rounds=lots"),
             "max_crypt_rounds: 'lots' is not a number", NULL),
    LOAD_BAD("number argument out of range", ARGS("conf=@D/good.conf", "max_bcrypt_cost=99"),
             "out of range", NULL),
    LOAD_BAD("bad query argument", ARGS("conf=@D/good.conf", "password_query=SELECT '%w'"),
             "password_query: %w is refused", NULL),

    LOAD_BAD("empty conf=", ARGS("conf="), "conf= needs a path", NULL),
    LOAD_BAD("relative path", ARGS("conf=pam_pgsql_dovecot.conf"),
             "pam_pgsql_dovecot.conf: not an absolute path", NULL),
    LOAD_BAD("missing file", ARGS("conf=@D/missing.conf"),
             "@D/missing.conf: No such file or directory", NULL),
    LOAD_BAD("missing directory", ARGS("conf=@D/nodir/x.conf"), "No such file or directory", NULL),
    LOAD_BAD("symlink refused", ARGS("conf=@D/link.conf"), "@D/link.conf: is a symlink", NULL),
    LOAD_BAD("world-writable refused", ARGS("conf=@D/world-writable.conf"),
             "@D/world-writable.conf: group or world writable", NULL),
    LOAD_BAD("group-writable refused", ARGS("conf=@D/group-writable.conf"),
             "group or world writable", NULL),
    LOAD_BAD("directory refused", ARGS("conf=@D/subdir"), "@D/subdir: not a regular file", NULL),
    LOAD_BAD("FIFO refused without hanging", ARGS("conf=@D/fifo"), "not a regular file", NULL),
    LOAD_BAD("file over the size cap refused", ARGS("conf=@D/big.conf"),
             "@D/big.conf: larger than 65536 bytes", NULL),
    LOAD_BAD("file at the size cap is read", ARGS("conf=@D/max.conf"), "driver not set", NULL),
    LOAD_BAD("parse error names the file and line", ARGS("conf=@D/bad-line.conf"),
             "@D/bad-line.conf line 3: expecting '='", NULL),
    LOAD_BAD("empty file fails validation", ARGS("conf=@D/empty.conf"),
             "@D/empty.conf: driver not set", NULL),
    LOAD_BAD("wrong driver", ARGS("conf=@D/mysql.conf"), "driver 'mysql' is not supported", NULL),
    LOAD_BAD("connect missing", ARGS("conf=@D/no-connect.conf"), "connect not set", NULL),
};

/* Replaces each "@D" in s by the test directory. */
static const char *subst(const char *s, char *out, size_t n)
{
	const char *at = s != NULL ? strstr(s, "@D") : NULL;

	if (at == NULL)
		return s;
	snprintf(out, n, "%.*s%s%s", (int)(at - s), s, dir, at + 2);
	return out;
}

static void check_load(void **state)
{
	const struct load_case *c = *state;
	char args[MAXARGS][256], want_err[256], want[MAXCHECK][256];
	const char *argv[MAXARGS];
	struct check checks[MAXCHECK];
	struct pgd_conf conf;
	char err[512] = "";
	enum pgd_conf_result r;
	int argc, i;

	for (argc = 0; argc < MAXARGS && c->argv[argc] != NULL; argc++)
		argv[argc] = subst(c->argv[argc], args[argc], sizeof(args[argc]));
	for (i = 0; i < MAXCHECK; i++) {
		checks[i].field = c->checks[i].field;
		checks[i].want = subst(c->checks[i].want, want[i], sizeof(want[i]));
	}
	assert_int_equal(pgd_conf_init(&conf), PGD_CONF_OK);
	r = pgd_conf_load(&conf, argc, argv, err, sizeof(err));
	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r == PGD_CONF_OK)
		check_fields(&conf, checks);
	else if (strstr(err, subst(c->err, want_err, sizeof(want_err))) == NULL)
		fail_msg("err '%s' lacks '%s'", err, want_err);
	if (strstr(err, "SECRET") != NULL || (c->never != NULL && strstr(err, c->never) != NULL))
		fail_msg("err '%s' shows a secret", err);
	pgd_conf_free(&conf);
}

static void not_owned_by_root(void **state)
{
	const char *argv[1];
	char arg[128], err[512] = "";
	struct pgd_conf conf;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(arg, sizeof(arg), "conf=%s/other-owner.conf", dir);
	argv[0] = arg;
	assert_int_equal(pgd_conf_init(&conf), PGD_CONF_OK);
	assert_int_equal(pgd_conf_load(&conf, 1, argv, err, sizeof(err)), PGD_CONF_INVALID);
	if (strstr(err, "other-owner.conf: not owned by root") == NULL)
		fail_msg("err '%s'", err);
	pgd_conf_free(&conf);
}

struct validate_case {
	const char *name;
	const char *text;
	enum pgd_conf_result want;
	const char *err;
};

/* clang-format off */
#define VALID_OK(name, text)                                                                       \
	{                                                                                          \
		name, text, PGD_CONF_OK, NULL                                                      \
	}
/* clang-format on */
/* clang-format off */
#define VALID_BAD(name, text, err)                                                                 \
	{                                                                                          \
		name, text, PGD_CONF_INVALID, err                                                  \
	}
/* clang-format on */

#define VALID_BASE                                                                                 \
	"driver = pgsql\nconnect = dbname=mail password=VALIDATE-SECRET\n"                         \
	"password_query = SELECT password FROM users WHERE userid = '%u'\n"

static const struct validate_case validate_cases[] = {
    VALID_OK("complete file", VALID_BASE),
    VALID_OK("known default_pass_scheme", VALID_BASE "default_pass_scheme = SHA512-CRYPT\n"),
    VALID_OK("empty username_format means none", VALID_BASE "username_format =\n"),
    VALID_OK("no password_query: Dovecot's default", "driver = pgsql\nconnect = dbname=x\n"),
    VALID_BAD("driver missing",
              "connect = dbname=x\npassword_query = SELECT password FROM u WHERE u = '%u'\n",
              "driver not set (must be pgsql)"),
    VALID_BAD("driver mysql", VALID_BASE "driver = mysql\n", "driver 'mysql' is not supported"),
    VALID_BAD("driver empty", VALID_BASE "driver =\n", "driver not set"),
    VALID_BAD("connect missing",
              "driver = pgsql\npassword_query = SELECT password FROM u WHERE u = '%u'\n",
              "connect not set"),
    VALID_BAD("connect empty", VALID_BASE "connect =\n", "connect not set"),
    VALID_BAD("password_query empty", "driver = pgsql\nconnect = dbname=x\npassword_query =\n",
              "password_query not set"),
    VALID_OK("secured no, tls, secured",
             VALID_BASE "secured = no\nsecured = tls\nsecured = secured\n"),
    VALID_OK("iRedMail's glued query loads without a stated transport",
             VALID_BASE "password_query = SELECT password FROM mailbox WHERE username = '%u' "
                        "AND mailbox.\"enable%Ls%Lc\" = 1\n"),
    VALID_BAD("secured yes is not one of its words", VALID_BASE "secured = yes\n",
              "secured 'yes' is not no, tls or secured"),
    VALID_BAD("secured TLS (Dovecot's value, not the key's word)", VALID_BASE "secured = TLS\n",
              "secured 'TLS' is not no, tls or secured"),
    VALID_OK("mechanism PLAIN", VALID_BASE "mechanism = PLAIN\n"),
    VALID_BAD("mechanism in lower case", VALID_BASE "mechanism = plain\n",
              "mechanism 'plain' is not a SASL mechanism name"),
    VALID_BAD("a user variable glued into a name",
              VALID_BASE "password_query = SELECT "
                         "password FROM m WHERE x%n = 1\n",
              "glued"),
    VALID_BAD("password_query with %w", VALID_BASE "password_query = SELECT '%w'\n",
              "password_query: %w is refused"),
    VALID_BAD("password_query with $1",
              VALID_BASE "password_query = SELECT password FROM u WHERE u = $1\n",
              "password_query: the query already holds a positional parameter"),
    VALID_BAD("password_query with unknown variable",
              VALID_BASE "password_query = SELECT password FROM u WHERE h = '%h'\n",
              "password_query: unknown or unsupported variable %h"),
    VALID_BAD("password_query unterminated",
              VALID_BASE "password_query = SELECT password FROM u WHERE u = '%u\n",
              "unterminated string literal"),
    VALID_BAD("unknown default_pass_scheme", VALID_BASE "default_pass_scheme = NOPE-CRYPT\n",
              "default_pass_scheme 'NOPE-CRYPT' is not a known scheme"),
    VALID_BAD("empty default_pass_scheme", VALID_BASE "default_pass_scheme =\n",
              "default_pass_scheme is empty"),
    VALID_BAD("bad username_format", VALID_BASE "username_format = %Lx\n",
              "username_format: unknown or unsupported variable %x"),
    VALID_BAD("username_format with the password", VALID_BASE "username_format = %u%w\n",
              "username_format: %w is refused"),
    /* password_in_query: the SQL server verifies the password, through password_query only */
    VALID_OK("password_in_query: %w in password_query",
             VALID_BASE "password_in_query = yes\n"
                        "password_query = SELECT NULL AS password, 'Y' AS nopassword FROM u "
                        "WHERE u = '%u' AND pw = md5('%w')\n"),
    VALID_OK("password_in_query: %{password} in password_query",
             VALID_BASE "password_in_query = yes\n"
                        "password_query = SELECT 'Y' AS nopassword FROM u WHERE u = '%u' AND "
                        "pw = md5(%{password})\n"),
    VALID_OK("password_in_query without the variable", VALID_BASE "password_in_query = yes\n"),
    VALID_BAD("password_in_query: %{password} without the key",
              VALID_BASE "password_query = SELECT 1 FROM u WHERE pw = md5(%{password})\n",
              "password_query: %{password} is refused: the password must never reach the "
              "database (%w and %{password} only in password_query, with password_in_query = "
              "yes)"),
    VALID_BAD("password_in_query: not in account_query",
              VALID_BASE "password_in_query = yes\n"
                         "account_query = SELECT 1 FROM u WHERE u = '%u' AND pw = md5('%w')\n",
              "account_query: %w is refused"),
    VALID_BAD("password_in_query: not in auth_success_query",
              VALID_BASE "password_in_query = yes\n"
                         "auth_success_query = UPDATE u SET x = md5('%w') WHERE u = '%u'\n",
              "auth_success_query: %w is refused"),
    VALID_BAD("password_in_query: not in password_update_query",
              VALID_BASE "password_in_query = yes\n"
                         "password_update_query = UPDATE u SET pw = %{hash}, x = '%w'\n",
              "password_update_query: %w is refused"),
    VALID_BAD("password_in_query: not in username_format",
              VALID_BASE "password_in_query = yes\nusername_format = %u%w\n",
              "username_format: %w is refused"),
    VALID_BAD("password_in_query: not in iterate_query",
              VALID_BASE "password_in_query = yes\niterate_query = SELECT '%w' AS user\n",
              "iterate_query: %w is refused"),
    VALID_BAD("password_in_query: no rehash",
              VALID_BASE "password_in_query = yes\nrehash = yes\n"
                         "password_update_query = UPDATE u SET pw = %{hash} WHERE u = '%u'\n"
                         "password_query = SELECT 'Y' AS nopassword FROM u WHERE pw = '%w'\n",
              "rehash = yes cannot work with a password_query that verifies the password"),
};

static void check_validate(void **state)
{
	const struct validate_case *c = *state;
	struct pgd_conf conf;
	char err[512] = "";
	enum pgd_conf_result r;

	assert_int_equal(pgd_conf_init(&conf), PGD_CONF_OK);
	assert_int_equal(
	    pgd_conf_parse(&conf, "v.conf", c->text, strlen(c->text), err, sizeof(err)),
	    PGD_CONF_OK);
	r = pgd_conf_validate(&conf, err, sizeof(err));
	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r != PGD_CONF_OK && strstr(err, c->err) == NULL)
		fail_msg("err '%s' lacks '%s'", err, c->err);
	if (strstr(err, "SECRET") != NULL)
		fail_msg("err '%s' shows the database password", err);
	pgd_conf_free(&conf);
}

/* pgd_conf_set is the one setter: file keys and module arguments alike. */
static void set_any_key(void **state)
{
	struct pgd_conf conf;
	char err[256] = "";

	(void)state;
	assert_int_equal(pgd_conf_init(&conf), PGD_CONF_OK);
	assert_int_equal(pgd_conf_set(&conf, "connect", "dbname=a", err, sizeof(err)), PGD_CONF_OK);
	assert_int_equal(pgd_conf_set(&conf, "connect", "dbname=b", err, sizeof(err)), PGD_CONF_OK);
	assert_string_equal(conf.connect, "dbname=b");
	assert_int_equal(pgd_conf_set(&conf, "debug", NULL, err, sizeof(err)), PGD_CONF_OK);
	assert_true(conf.debug);
	assert_int_equal(pgd_conf_set(&conf, "nullok", "YES", err, sizeof(err)), PGD_CONF_OK);
	assert_true(conf.nullok);
	assert_int_equal(pgd_conf_set(&conf, "max_crypt_rounds", "5000", err, sizeof(err)),
	                 PGD_CONF_OK);
	assert_int_equal(conf.max_crypt_rounds, 5000);
	assert_int_equal(pgd_conf_set(&conf, "nope", "x", err, sizeof(err)), PGD_CONF_INVALID);
	assert_string_equal(err, "unknown key 'nope'");
	assert_int_equal(pgd_conf_set(&conf, "driver", NULL, err, sizeof(err)), PGD_CONF_INVALID);
	/* A too-small or missing err buffer is not written past. */
	assert_int_equal(pgd_conf_set(&conf, "nope", "x", NULL, 0), PGD_CONF_INVALID);
	assert_int_equal(pgd_conf_set(&conf, "nope", "x", err, 4), PGD_CONF_INVALID);
	assert_string_equal(err, "unk");
	pgd_conf_free(&conf);
	assert_null(conf.connect);
	assert_null(conf.default_pass_scheme);
	assert_false(conf.debug);
	pgd_conf_free(&conf); /* twice is harmless */
}

#define NROWS (PGD_N_ROWS(parse_cases) + PGD_N_ROWS(load_cases) + PGD_N_ROWS(validate_cases) + 2)

int main(void)
{
	static struct CMUnitTest tests[NROWS];
	static char names[NROWS][PGD_ROW_NAME_MAX];
	struct pgd_rows rows = {tests, names, 0, NROWS};

	PGD_ROWS_ADD_TABLE(&rows, parse_cases, check_parse, "parse");
	PGD_ROWS_ADD_TABLE(&rows, load_cases, check_load, "load");
	PGD_ROWS_ADD_TABLE(&rows, validate_cases, check_validate, "validate");
	PGD_ROWS_ADD_TEST(&rows, not_owned_by_root);
	PGD_ROWS_ADD_TEST(&rows, set_any_key);
	if (!pgd_rows_full(&rows))
		return 1;
	return cmocka_run_group_tests_name("conf", tests, make_files, remove_files);
}
