// SPDX-License-Identifier: MIT
/*
 * The real libpam (under pam_wrapper) loads the built module, which talks to a real PostgreSQL
 * (tests/pg-cluster.sh). Each row: service (= a pam.d file with its conf), user, password,
 * the PAM code a user would see, and a piece of the log line the admin would read.
 *
 * Environment: PGD_MODULE (the .so), PGD_TEST_ADMIN (conninfo to load fixtures),
 * PGD_TEST_CONNINFO (conninfo for the module), PGD_FIXTURES (fixtures.sql),
 * PAM_WRAPPER_SERVICE_DIR (where this test writes its pam.d files).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

#define GOOD_QUERY                                                                                 \
	"SELECT userid || '@' || domain AS user, password, "                                       \
	"CASE WHEN active THEN NULL ELSE 'Y' END AS nologin "                                      \
	"FROM users WHERE userid = '%n' AND domain = '%d'"

#define RENAME_QUERY                                                                               \
	"SELECT password, CASE WHEN userid = 'carol' THEN 'alice@example.org' "                    \
	"ELSE userid || '@' || domain END AS user FROM users WHERE userid = '%n' AND domain = "    \
	"'%d'"

#define SQLPW_QUERY                                                                                \
	"SELECT NULL AS password, 'Y' AS nopassword FROM sqlpw WHERE userid = '%n' AND "           \
	"pwmd5 = md5('%w')"

/* One pam.d service and the conf file it points at. */
struct service {
	const char *name;
	const char *args; /* extra module arguments */
	const char *conf; /* conf text; %CONNECT% becomes the module's conninfo */
	mode_t mode;      /* conf file mode */
	bool no_conf;     /* conf= points at a file that does not exist */
};

static const struct service services[] = {
    {"imap", "",
     "driver = pgsql\nconnect = %CONNECT%\n"
     "# Dovecot's own file layout: comments, continuation\n"
     "password_query = SELECT userid || '@' || domain AS user, password, \\\n"
     "  CASE WHEN active THEN NULL ELSE 'Y' END AS nologin \\\n"
     "  FROM users WHERE userid = '%n' AND domain = '%d'\n"
     "default_pass_scheme = SHA512-CRYPT\nuser_query = SELECT 1\n",
     0600, false},
    {"nullok", "nullok", "driver = pgsql\nconnect = %CONNECT%\npassword_query = " GOOD_QUERY "\n",
     0600, false},
    {"realm", "default_domain=example.org",
     "driver = pgsql\nconnect = %CONNECT%\npassword_query = " GOOD_QUERY "\n", 0600, false},
    {"anychars", "",
     "driver = pgsql\nconnect = %CONNECT%\nusername_chars =\n"
     "password_query = " GOOD_QUERY "\n",
     0600, false},
    {"down", "",
     "driver = pgsql\nconnect = host=127.0.0.1 port=1 dbname=mail connect_timeout=2\n"
     "password_query = " GOOD_QUERY "\n",
     0600, false},
    {"unknownkey", "",
     "driver = pgsql\nconnect = %CONNECT%\npassword_query = " GOOD_QUERY "\npasword_scheme = MD5\n",
     0600, false},
    {"badconnect", "",
     "driver = pgsql\nconnect = host=127.0.0.1 port=notaport\n"
     "password_query = " GOOD_QUERY "\n",
     0600, false},
    {"nocolumn", "",
     "driver = pgsql\nconnect = %CONNECT%\n"
     "password_query = SELECT userid FROM users WHERE userid = '%n'\n",
     0600, false},
    {"badsql", "",
     "driver = pgsql\nconnect = %CONNECT%\n"
     "password_query = SELEKT password FROM users WHERE userid = '%n'\n",
     0600, false},
    {"mysql", "", "driver = mysql\nconnect = %CONNECT%\npassword_query = " GOOD_QUERY "\n", 0600,
     false},
    {"insecure", "", "driver = pgsql\nconnect = %CONNECT%\npassword_query = " GOOD_QUERY "\n", 0666,
     false},
    {"noconf", "", NULL, 0600, true},
    {"lowcap", "max_crypt_rounds=1000",
     "driver = pgsql\nconnect = %CONNECT%\npassword_query = " GOOD_QUERY "\n", 0600, false},
    {"malformedconnect", "",
     "driver = pgsql\nconnect = host=127.0.0.1 password cdsecret\n"
     "password_query = " GOOD_QUERY "\n",
     0600, false},
    /* Dovecot renames a login from the row's user, username and domain columns: carol's row
     * names alice, and every other row its own name */
    {"renamed", "", "driver = pgsql\nconnect = %CONNECT%\npassword_query = " RENAME_QUERY "\n",
     0600, false},
    {"renameok", "allow_rename",
     "driver = pgsql\nconnect = %CONNECT%\npassword_query = " RENAME_QUERY "\n", 0600, false},
    {"renamedomain", "",
     "driver = pgsql\nconnect = %CONNECT%\n"
     "password_query = SELECT password, userid AS username, 'other.org' AS domain "
     "FROM users WHERE userid = '%n' AND domain = '%d'\n",
     0600, false},
    /* password verification by the SQL server (password_in_query): Dovecot's documented form */
    {"sqlpw", "debug",
     "driver = pgsql\nconnect = %CONNECT%\npassword_in_query = yes\nverify_cache_ttl = 60\n"
     "password_query = " SQLPW_QUERY "\n",
     0600, false},
    {"sqlpwnokey", "", "driver = pgsql\nconnect = %CONNECT%\npassword_query = " SQLPW_QUERY "\n",
     0600, false},
    /* a server error that quotes the bound password: only its SQLSTATE is logged */
    {"sqlpwerr", "",
     "driver = pgsql\nconnect = %CONNECT%\npassword_in_query = yes\n"
     "password_query = SELECT NULL AS password, 'Y' AS nopassword FROM sqlpw "
     "WHERE userid = '%n' AND '%w'::int = 1\n",
     0600, false},
    {"argsecret", "connect=host=127.0.0.1",
     "driver = pgsql\nconnect = %CONNECT%\npassword_query = " GOOD_QUERY "\n", 0600, false},
};

struct login_case {
	const char *service;
	const char *user;
	const char *password;
	int expected;
	const char *log;   /* a piece of the module's log line, or NULL */
	const char *nolog; /* a piece the log must not hold, or NULL */
};

static const struct login_case cases[] = {
    /* the passwords Dovecot accepted are accepted */
    {"imap", "alice@example.org", "correct horse battery", PAM_SUCCESS, NULL},
    {"imap", "ALICE@Example.ORG", "correct horse battery", PAM_SUCCESS, NULL},
    {"imap", "alice@other.org", "other secret", PAM_SUCCESS, NULL},
    {"imap", "carol@example.org", "carol pw", PAM_SUCCESS, NULL},
    {"imap", "utf8@example.org", "P\xc3\xa4ssw\xc3\xb6rd 1", PAM_SUCCESS, NULL},
    {"imap", "blf@example.org", "blf pw", PAM_SUCCESS, NULL},
    {"imap", "md5@example.org", "md5 pw", PAM_SUCCESS, NULL},
    {"imap", "md5crypt@example.org", "md5crypt pw", PAM_SUCCESS, NULL},
    {"imap", "plain@example.org", "plain pw", PAM_SUCCESS, NULL},
    {"imap", "bare@example.org", "bare pw", PAM_SUCCESS, NULL},
    {"realm", "alice", "correct horse battery", PAM_SUCCESS, NULL},
    {"nullok", "empty@example.org", "", PAM_SUCCESS, NULL},
    /* and nothing else */
    {"imap", "alice@example.org", "correct horse batter", PAM_AUTH_ERR,
     "authentication failure; logname="},
    {"imap", "alice@example.org", "other secret", PAM_AUTH_ERR, "user=alice@example.org"},
    {"imap", "alice@other.org", "correct horse battery", PAM_AUTH_ERR, "rhost="},
    {"imap", "utf8@example.org", "Passwort 1", PAM_AUTH_ERR, NULL},
    {"imap", "md5@example.org", "MD5 pw", PAM_AUTH_ERR, NULL},
    {"imap", "nobody@example.org", "correct horse battery", PAM_USER_UNKNOWN, "user unknown",
     .nolog = "saslauthd"},
    /* a bare name where the query reads the domain: saslauthd without -r, named in one line */
    {"imap", "alice", "correct horse battery", PAM_USER_UNKNOWN,
     "(user unknown; the name has no @domain and the query uses the domain (%d, %{user | "
     "domain}): saslauthd without -r passes the realm apart from the name)\n"},
    /* the same through a 2.4 file, whose %{user | domain} reads the same way */
    {"v24", "alice", "correct horse battery", PAM_USER_UNKNOWN,
     "saslauthd without -r passes the realm apart from the name)\n"},
    /* Dovecot 2.4's rules refuse a weak scheme: the whole line, up to its last word */
    {"v24", "md5crypt@example.org", "md5crypt pw", PAM_AUTH_ERR,
     "stored hash refused: unsupported scheme: Weak password scheme 'MD5-CRYPT' used and "
     "refused (Dovecot 2.4: auth_allow_weak_schemes = yes allows it; rehash = yes then "
     "upgrades it at the next login)\n"},
    {"v24", "alice@example.org", "correct horse battery", PAM_SUCCESS, NULL},
    /* a row naming another user: refused (Cyrus would open carol's mailbox, Dovecot alice's),
     * one line naming both; only once the password matched */
    {"renamed", "carol@example.org", "carol pw", PAM_SERVICE_ERR,
     "authentication refused: user=carol@example.org renamed to alice@example.org by the "
     "row's user column: saslauthd and its callers keep the name given (allow_rename = yes "
     "lets it log in)\n"},
    {"renamed", "carol@example.org", "wrong pw", PAM_AUTH_ERR, "authentication failure",
     .nolog = "renamed"},
    {"renamed", "alice@example.org", "correct horse battery", PAM_SUCCESS, NULL,
     .nolog = "renamed"},
    /* the name bound is the one compared: %Lu lowercased it, the row agrees */
    {"renamed", "Alice@Example.org", "correct horse battery", PAM_SUCCESS, NULL,
     .nolog = "renamed"},
    {"renamedomain", "alice@example.org", "correct horse battery", PAM_SERVICE_ERR,
     "user=alice@example.org renamed to alice@other.org by the row's domain column"},
    {"renameok", "carol@example.org", "carol pw", PAM_SUCCESS,
     "user=carol@example.org renamed to alice@example.org by the row (allow_rename): PAM_USER "
     "set\n"},
    {"renameok", "carol@example.org", "wrong pw", PAM_AUTH_ERR, NULL, .nolog = "renamed"},
    {"imap", "bob@example.org", "bob pw", PAM_AUTH_ERR, "nologin"},
    {"imap", "empty@example.org", "", PAM_AUTH_ERR, "empty password refused"},
    {"nullok", "empty@example.org", "x", PAM_AUTH_ERR, NULL},
    {"imap", "nullpw@example.org", "x", PAM_AUTH_ERR, "stored password is NULL"},
    {"imap", "emptypw@example.org", "x", PAM_AUTH_ERR, "stored password is empty"},
    {"nullok", "emptypw@example.org", "", PAM_AUTH_ERR, "stored password is empty"},
    {"imap", "unknown@example.org", "abcdef", PAM_AUTH_ERR, "unknown scheme (a name of 8 bytes)"},
    {"imap", "malformed@example.org", "x", PAM_AUTH_ERR, "cannot verify"},
    {"imap", "costly@example.org", "x", PAM_AUTH_ERR, "999999999"},
    {"lowcap", "alice@example.org", "correct horse battery", PAM_SUCCESS, NULL},
    {"imap", "dup@example.org", "dup pw", PAM_AUTHINFO_UNAVAIL, "2 rows"},
    /* usernames that are not names */
    {"imap", "x' OR '1'='1@example.org", "injected", PAM_USER_UNKNOWN, "0x27"},
    {"anychars", "x' OR '1'='1@example.org", "injected", PAM_SUCCESS, NULL},
    {"anychars", "x' OR '1'='1@example.org", "x", PAM_AUTH_ERR, NULL},
    {"anychars", "' OR 1=1 --@example.org", "injected", PAM_USER_UNKNOWN, NULL},
    {"anychars", "alice\n@example.org", "correct horse battery", PAM_USER_UNKNOWN, "0x0a"},
    {"imap", "a\xff@example.org", "x", PAM_USER_UNKNOWN, "0xff"},
    /* the database and the conf */
    {"down", "alice@example.org", "correct horse battery", PAM_AUTHINFO_UNAVAIL,
     "database unavailable"},
    {"badconnect", "alice@example.org", "correct horse battery", PAM_AUTHINFO_UNAVAIL,
     "database unavailable"},
    {"nocolumn", "alice@example.org", "correct horse battery", PAM_AUTHINFO_UNAVAIL,
     "no 'password' column"},
    {"badsql", "alice@example.org", "correct horse battery", PAM_AUTHINFO_UNAVAIL, "syntax error"},
    {"unknownkey", "alice@example.org", "correct horse battery", PAM_SERVICE_ERR,
     "line 4: unknown key"},
    {"mysql", "alice@example.org", "correct horse battery", PAM_SERVICE_ERR, "driver"},
    {"insecure", "alice@example.org", "correct horse battery", PAM_SERVICE_ERR, "writable"},
    {"noconf", "alice@example.org", "correct horse battery", PAM_SERVICE_ERR, "No such file"},
    {"argsecret", "alice@example.org", "correct horse battery", PAM_SERVICE_ERR, "connect"},
    {"malformedconnect", "alice@example.org", "correct horse battery", PAM_AUTHINFO_UNAVAIL,
     "the connect string is malformed"},
};

/*
 * A Dovecot 2.4 dovecot.conf for the test's server ($PGD_TEST_CONNINFO as a pgsql block) with
 * the guide's passdb query over the fixtures: Dovecot 2.4's scheme rules apply to its logins.
 */
static char *v24_conf(void)
{
	char *pgsql = pgd_test_v24_pgsql(), *text = malloc(4096);

	assert_non_null(text);
	snprintf(text, 4096,
	         "dovecot_config_version = 2.4.1\n"
	         "%s"
	         "passdb sql {\n"
	         "  default_password_scheme = SHA512-CRYPT\n"
	         "  query = SELECT userid AS username, domain, password FROM users \\\n"
	         "    WHERE userid = '%%{user | username}' AND domain = '%%{user | domain}'\n"
	         "}\n",
	         pgsql);
	free(pgsql);
	return text;
}

static void load_fixtures(void)
{
	char *sql = pgd_test_read_file(pgd_test_env("PGD_FIXTURES"));

	pgd_test_admin_sql(sql);
	free(sql);
}

static int setup(void **state)
{
	(void)state;
	load_fixtures();
	return 0;
}

static void test_logins(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct login_case *c = &cases[i];
		char *log = NULL;
		int rc =
		    pgd_test_login(c->service, c->user, c->password, PAMTEST_AUTHENTICATE, &log);

		if (rc != c->expected)
			fail_msg("case %zu (%s, %s): got %s, expected %s; log: %s", i, c->service,
			         c->user, pam_strerror(NULL, rc), pam_strerror(NULL, c->expected),
			         log);
		if (c->log != NULL && strstr(log, c->log) == NULL)
			fail_msg("case %zu (%s, %s): log lacks \"%s\": %s", i, c->service, c->user,
			         c->log, log);
		if (c->nolog != NULL && strstr(log, c->nolog) != NULL)
			fail_msg("case %zu (%s, %s): log holds \"%s\": %s", i, c->service, c->user,
			         c->nolog, log);
		/* never the password, in any line, at any outcome */
		if (strlen(c->password) >= 3 && strstr(log, c->password) != NULL)
			fail_msg("case %zu: the password appears in the log: %s", i, log);
		if (strstr(log, "password=pgd") != NULL || strstr(log, "$6$") != NULL ||
		    strstr(log, "cdsecret") != NULL)
			fail_msg("case %zu: a secret appears in the log: %s", i, log);
		free(log);
	}
}

/* saslauthd's order: authenticate then acct_mgmt in one transaction. */
static void test_account(void **state)
{
	struct {
		const char *user;
		const char *password;
		int auth;
		int acct;
	} rows[] = {
	    {"alice@example.org", "correct horse battery", PAM_SUCCESS, PAM_SUCCESS},
	    {"bob@example.org", "bob pw", PAM_AUTH_ERR, PAM_PERM_DENIED},
	    {"nobody@example.org", "x", PAM_USER_UNKNOWN, PAM_USER_UNKNOWN},
	};

	/* acct_mgmt alone on a renamed row: refused as authenticate refuses it */
	assert_int_equal(pgd_test_login("renamed", "carol@example.org", "", PAMTEST_ACCOUNT, NULL),
	                 PAM_SERVICE_ERR);
	assert_int_equal(pgd_test_login("renamed", "alice@example.org", "", PAMTEST_ACCOUNT, NULL),
	                 PAM_SUCCESS);

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = pgd_test_auth_then_acct("imap", rows[i].user, rows[i].password,
		                                 rows[i].auth, rows[i].acct);
		if (rc != 0)
			fail_msg("row %zu (%s) failed", i, rows[i].user);
	}
	/* acct_mgmt alone (no authenticate before it, as after an sshd key login) asks the db */
	assert_int_equal(pgd_test_login("imap", "alice@example.org", "", PAMTEST_ACCOUNT, NULL),
	                 PAM_SUCCESS);
	assert_int_equal(pgd_test_login("imap", "bob@example.org", "", PAMTEST_ACCOUNT, NULL),
	                 PAM_PERM_DENIED);
	assert_int_equal(pgd_test_login("imap", "nobody@example.org", "", PAMTEST_ACCOUNT, NULL),
	                 PAM_USER_UNKNOWN);
	assert_int_equal(pgd_test_login("down", "alice@example.org", "", PAMTEST_ACCOUNT, NULL),
	                 PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(pgd_test_login("imap", "alice@example.org", "", PAMTEST_SETCRED, NULL),
	                 PAM_SUCCESS);
}

/* Over-long input is refused before any database work. */
static void test_limits(void **state)
{
	char *user = malloc(400);
	char *password = malloc(2000);
	char *log = NULL;

	(void)state;
	assert_non_null(user);
	assert_non_null(password);
	memset(user, 'a', 300);
	strcpy(user + 300, "@example.org");
	assert_int_equal(pgd_test_login("imap", user, "x", PAMTEST_AUTHENTICATE, &log),
	                 PAM_USER_UNKNOWN);
	assert_non_null(strstr(log, "longer than"));
	free(log);
	memset(password, 'p', 1999);
	password[1999] = '\0';
	assert_int_equal(
	    pgd_test_login("imap", "alice@example.org", password, PAMTEST_AUTHENTICATE, &log),
	    PAM_AUTH_ERR);
	assert_non_null(strstr(log, "password longer than"));
	free(log);
	/* the same request against a dead server answers the same: no database work was done */
	assert_int_equal(
	    pgd_test_login("down", "alice@example.org", password, PAMTEST_AUTHENTICATE, NULL),
	    PAM_AUTH_ERR);
	free(user);
	free(password);
}

/*
 * A stack without an account line for the module (pam_pgsql_dovecot(8) says what follows):
 * libpam runs the account lines of "other" instead, here pam_unix's as on Debian, which knows
 * no mail user; saslauthd's acct_mgmt then fails after a right password.
 */
static void test_no_account_line(void **state)
{
	char *log = NULL;

	(void)state;
	assert_int_equal(pgd_test_login("noaccount", "alice@example.org", "correct horse battery",
	                                PAMTEST_AUTHENTICATE, NULL),
	                 PAM_SUCCESS);
	assert_int_equal(
	    pgd_test_login("noaccount", "alice@example.org", "", PAMTEST_ACCOUNT, &log),
	    PAM_USER_UNKNOWN);
	if (strstr(log, "could not identify user") == NULL)
		fail_msg("acct_mgmt did not reach other's pam_unix: %s", log);
	free(log);
}

/* The pam.d file NAME keeps its auth line only; "other" gets pam_unix's account line. */
static void write_auth_only(const char *name)
{
	char path[512], *text;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"), name);
	text = pgd_test_read_file(path);
	*(strchr(text, '\n') + 1) = '\0';
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	snprintf(path, sizeof(path), "%s/other", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("account required pam_unix.so\n", f);
	fclose(f);
}

/*
 * password_in_query: the server compares (md5 of the bound password, PostgreSQL's built-in),
 * a row with nopassword and a NULL password logs in, no row is an unknown user; never cached,
 * never logged, and refused without the key.
 */
static void test_password_in_query(void **state)
{
	struct {
		const char *service, *user, *password;
		int rc;
		const char *log, *nolog;
	} rows[] = {
	    {"sqlpw", "dora@example.org", "Qz8#vTm4", PAM_SUCCESS, "authentication ok",
	     "verify cache"},
	    /* again: the verified-login cache is never asked for such a login */
	    {"sqlpw", "dora@example.org", "Qz8#vTm4", PAM_SUCCESS, "authentication ok",
	     "verify cache"},
	    {"sqlpw", "dora@example.org", "Qz8#vTm5", PAM_USER_UNKNOWN, "user unknown", NULL},
	    {"sqlpw", "nobody@example.org", "Qz8#vTm4", PAM_USER_UNKNOWN, "user unknown", NULL},
	    {"sqlpwnokey", "dora@example.org", "Qz8#vTm4", PAM_SERVICE_ERR,
	     "password_query: %w is refused: the password must never reach the database (%w and "
	     "%{password} only in password_query, with password_in_query = yes)",
	     NULL},
	    {"sqlpwerr", "dora@example.org", "Qz8#vTm4", PAM_AUTHINFO_UNAVAIL,
	     "SQLSTATE 22P02 (invalid_text_representation)", "invalid input"},
	};

	(void)state;
	pgd_test_admin_sql("DROP TABLE IF EXISTS sqlpw;"
	                   "CREATE TABLE sqlpw (userid text, pwmd5 text);"
	                   "GRANT SELECT ON sqlpw TO PUBLIC;"
	                   "INSERT INTO sqlpw VALUES ('dora', md5('Qz8#vTm4'));");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *log = NULL;
		int rc = pgd_test_login(rows[i].service, rows[i].user, rows[i].password,
		                        PAMTEST_AUTHENTICATE, &log);

		if (rc != rows[i].rc)
			fail_msg("row %zu: got %s, expected %s; log: %s", i, pam_strerror(NULL, rc),
			         pam_strerror(NULL, rows[i].rc), log);
		if (strstr(log, rows[i].log) == NULL)
			fail_msg("row %zu: log lacks \"%s\": %s", i, rows[i].log, log);
		if (rows[i].nolog != NULL && strstr(log, rows[i].nolog) != NULL)
			fail_msg("row %zu: log holds \"%s\": %s", i, rows[i].nolog, log);
		/* the password, or any 4 bytes of it, in no line */
		for (size_t k = 0; k + 4 <= strlen(rows[i].password); k++)
			if (memmem(log, strlen(log), rows[i].password + k, 4) != NULL)
				fail_msg("row %zu: the password appears in the log: %s", i, log);
		free(log);
	}
	pgd_test_admin_sql("DROP TABLE sqlpw;");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_logins),
	    cmocka_unit_test(test_account),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_no_account_line),
	    cmocka_unit_test(test_password_in_query),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL) {
		char *v24 = v24_conf(), other[512];
		int rc;

		for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
			pgd_test_write_service(services[i].name, services[i].args, services[i].conf,
			                       services[i].mode, services[i].no_conf);
		pgd_test_write_service("v24", "", v24, 0600, false);
		free(v24);
		pgd_test_write_service("noaccount", "", services[0].conf, 0600, false);
		write_auth_only("noaccount");
		rc = pgd_test_run_in_child(argv);
		/* the service folder is shared with the other PAM tests */
		snprintf(other, sizeof(other), "%s/other", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"));
		unlink(other);
		return rc;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
