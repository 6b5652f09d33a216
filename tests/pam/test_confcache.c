// SPDX-License-Identifier: MIT
/*
 * The conf a process has parsed once (conf/cache.c), seen through logins in one process: an
 * edit of the conf file between two logins (one that keeps its size) applies to the next login,
 * and a conf file made group- or world-writable, replaced by a symlink or given to another user
 * is refused at the next login, cached or not.
 *
 * Environment: as test_pam (PGD_MODULE, PGD_TEST_CONNINFO, PAM_WRAPPER_SERVICE_DIR).
 */
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
#include <security/pam_appl.h>

#include "pam_test_util.h"

/* Two queries of the same length: the first finds plain@example.org, the second no one. */
#define FOUND "password_query = SELECT password FROM users WHERE userid = '%n' AND domain = '%d'\n"
#define NONE "password_query = SELECT password FROM users WHERE userid = '%n' AND domain = '%n'\n"
#define HEAD "driver = pgsql\nconnect = %CONNECT%\n"

static const struct pgd_test_service services[] = {
    {"confcache", HEAD FOUND},
};

static char conf_path[512];

/* The conf= of the service's pam.d file. */
static void find_conf(void)
{
	char svc[512], *text, *at;
	size_t n;

	snprintf(svc, sizeof(svc), "%s/confcache", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"));
	text = pgd_test_read_file(svc);
	at = strstr(text, "conf=");
	assert_non_null(at);
	n = strcspn(at + 5, " \n");
	assert_true(n < sizeof(conf_path));
	memcpy(conf_path, at + 5, n);
	conf_path[n] = '\0';
	free(text);
}

static void write_conf(const char *text, mode_t mode)
{
	char *filled = pgd_test_fill_conf(text);

	pgd_test_write_file(conf_path, filled, mode);
	assert_int_equal(chmod(conf_path, mode), 0);
	free(filled);
}

static int login(const char *password)
{
	return pgd_test_login("confcache", "plain@example.org", password, PAMTEST_AUTHENTICATE,
	                      NULL);
}

/* Left alone 2 s, a conf is cached from its next load on (conf/cache.c). */
static void settle(void)
{
	usleep(2100 * 1000);
}

static void test_edit_between_logins_applies(void **state)
{
	(void)state;
	write_conf(HEAD FOUND, 0600);
	settle();
	for (int i = 0; i < 3; i++)
		assert_int_equal(login("plain pw"), PAM_SUCCESS);
	write_conf(HEAD NONE, 0600);
	assert_int_equal(login("plain pw"), PAM_USER_UNKNOWN);
	settle();
	assert_int_equal(login("plain pw"), PAM_USER_UNKNOWN);
	assert_int_equal(login("plain pw"), PAM_USER_UNKNOWN);
	write_conf(HEAD FOUND, 0600);
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
}

static void test_writable_conf_refused_at_once(void **state)
{
	(void)state;
	write_conf(HEAD FOUND, 0600);
	settle();
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
	assert_int_equal(chmod(conf_path, 0660), 0);
	assert_int_equal(login("plain pw"), PAM_SERVICE_ERR);
	assert_int_equal(chmod(conf_path, 0602), 0);
	assert_int_equal(login("plain pw"), PAM_SERVICE_ERR);
	assert_int_equal(chmod(conf_path, 0600), 0);
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
}

/* A login refused for the conf, whose one log line says why. */
static void assert_refused_for(const char *why)
{
	char *log = NULL;

	assert_int_equal(pgd_test_login("confcache", "plain@example.org", "plain pw",
	                                PAMTEST_AUTHENTICATE, &log),
	                 PAM_SERVICE_ERR);
	if (strstr(log, "configuration error") == NULL || strstr(log, why) == NULL)
		fail_msg("refused, but the log does not say \"%s\": %s", why, log);
	free(log);
}

/* Between two logins of one process, the cached conf replaced by a symlink to itself, then
 * given to another user: the next login is refused, as the first login of a process is. */
static void test_symlinked_or_chowned_conf_refused(void **state)
{
	char moved[600];

	(void)state;
	snprintf(moved, sizeof(moved), "%s.moved", conf_path);
	write_conf(HEAD FOUND, 0600);
	settle();
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
	assert_int_equal(rename(conf_path, moved), 0);
	assert_int_equal(symlink(moved, conf_path), 0);
	assert_refused_for("is a symlink");
	assert_int_equal(unlink(conf_path), 0);
	assert_int_equal(rename(moved, conf_path), 0);
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
	if (geteuid() != 0) {
		skip();
		return;
	}
	settle();
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
	assert_int_equal(chown(conf_path, 12345, (gid_t)-1), 0);
	assert_refused_for("not owned by root");
	assert_int_equal(chown(conf_path, 0, (gid_t)-1), 0);
	assert_int_equal(login("plain pw"), PAM_SUCCESS);
}

static int setup(void **state)
{
	(void)state;
	find_conf();
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edit_between_logins_applies),
	    cmocka_unit_test(test_writable_conf_refused_at_once),
	    cmocka_unit_test(test_symlinked_or_chowned_conf_refused),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL)
		return pgd_test_run_services(argv, services, sizeof(services) / sizeof(services[0]),
		                             "");
	return cmocka_run_group_tests(tests, setup, NULL);
}
