// SPDX-License-Identifier: MIT
/*
 * The caller's HOME and password variables cannot give the module database credentials (su
 * and sudo keep the caller's HOME): with a connect string that holds no password, a .pgpass
 * planted in a HOME of the caller's choosing, a PGPASSFILE or a PGPASSWORD must not let the
 * module connect. A password file named by passfile= in connect (the admin's choice) and a
 * password in connect still work.
 *
 * Environment: as test_pam. Skipped with an external server whose conninfo has no password.
 */
#include <setjmp.h>
#include <stdarg.h>
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

#define QUERY "password_query = SELECT password FROM users WHERE userid = '%n' AND domain = '%d'\n"

static char home[] = "/tmp/pgd-home.XXXXXX";
static char pgpass[300], nopw[1024], password[256];

/* conninfo without its password=... word; the password goes to password[] */
static void split_conninfo(const char *conninfo)
{
	const char *p = strstr(conninfo, "password=");
	size_t len;

	nopw[0] = password[0] = '\0';
	if (p == NULL || (p != conninfo && p[-1] != ' '))
		return;
	len = strcspn(p + strlen("password="), " ");
	snprintf(password, sizeof(password), "%.*s", (int)len, p + strlen("password="));
	snprintf(nopw, sizeof(nopw), "%.*s%s", (int)(p - conninfo), conninfo,
	         p + strlen("password=") + len);
}

static void write_pgpass(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "*:*:*:*:%s\n", password);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static int login(const char *service)
{
	return pgd_test_login(service, "plain@example.org", "plain pw", PAMTEST_AUTHENTICATE, NULL);
}

/* The planted files would work for libpq itself: the test can tell. */
static void test_planted_pgpass_works_for_libpq(void **state)
{
	PGconn *c;

	(void)state;
	setenv("HOME", home, 1);
	c = PQconnectdb(nopw);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQfinish(c);
	unsetenv("HOME");
	setenv("PGPASSFILE", pgpass, 1);
	c = PQconnectdb(nopw);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQfinish(c);
	unsetenv("PGPASSFILE");
}

static void test_caller_home_gives_no_credentials(void **state)
{
	(void)state;
	setenv("HOME", home, 1);
	assert_int_equal(login("nopw"), PAM_AUTHINFO_UNAVAIL);
	unsetenv("HOME");
	setenv("PGPASSFILE", pgpass, 1);
	assert_int_equal(login("nopw"), PAM_AUTHINFO_UNAVAIL);
	unsetenv("PGPASSFILE");
	setenv("PGPASSWORD", password, 1);
	assert_int_equal(login("nopw"), PAM_AUTHINFO_UNAVAIL);
	unsetenv("PGPASSWORD");
}

static void test_admin_credentials_still_work(void **state)
{
	(void)state;
	setenv("HOME", home, 1);
	setenv("PGPASSFILE", "/nonexistent", 1);
	assert_int_equal(login("passfile"), PAM_SUCCESS);
	assert_int_equal(login("withpw"), PAM_SUCCESS);
	unsetenv("PGPASSFILE");
	unsetenv("HOME");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_planted_pgpass_works_for_libpq),
	    cmocka_unit_test(test_caller_home_gives_no_credentials),
	    cmocka_unit_test(test_admin_credentials_still_work),
	};
	char conf[2048];
	int rc;

	(void)argc;
	split_conninfo(pgd_test_env("PGD_TEST_CONNINFO"));
	if (password[0] == '\0') {
		printf("1..0 # SKIP the test server's conninfo has no password\n");
		return 0;
	}
	if (getenv("PGD_TEST_CHILD") != NULL) {
		snprintf(home, sizeof(home), "%s", getenv("PGD_TEST_HOME"));
		snprintf(pgpass, sizeof(pgpass), "%s/.pgpass", home);
		return cmocka_run_group_tests(tests, NULL, NULL);
	}
	if (mkdtemp(home) == NULL)
		return 1;
	setenv("PGD_TEST_HOME", home, 1);
	snprintf(pgpass, sizeof(pgpass), "%s/.pgpass", home);
	write_pgpass(pgpass);
	snprintf(conf, sizeof(conf), "driver = pgsql\nconnect = %s\n%s", nopw, QUERY);
	pgd_test_write_service("nopw", "", conf, 0600, 0);
	snprintf(conf, sizeof(conf), "driver = pgsql\nconnect = %s passfile=%s\n%s", nopw, pgpass,
	         QUERY);
	pgd_test_write_service("passfile", "", conf, 0600, 0);
	pgd_test_write_service("withpw", "", "driver = pgsql\nconnect = %CONNECT%\n" QUERY, 0600,
	                       0);
	rc = pgd_test_run_in_child(argv);
	unlink(pgpass);
	rmdir(home);
	return rc;
}
