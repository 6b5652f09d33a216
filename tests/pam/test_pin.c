// SPDX-License-Identifier: MIT
/*
 * pin_modules (util/pin.c), seen as a caller sees it: libpam unloads at pam_end every module a
 * service file names, unless a module with pin_modules has kept them loaded. The service files
 * name the module and, after it, pam_permit by its absolute path ($PGD_PAM_PERMIT); the test
 * asks the loader whether pam_permit is still in the process after pam_end (RTLD_NOLOAD).
 *
 * Environment: as test_pam (PGD_MODULE, PGD_TEST_CONNINFO, PAM_WRAPPER_SERVICE_DIR), and
 * PGD_PAM_PERMIT.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

#define CONF                                                                                       \
	"driver = pgsql\nconnect = %CONNECT%\n"                                                    \
	"password_query = SELECT password FROM users WHERE userid = '%n' AND domain = '%d'\n"

/* Whether the loader has pam_permit in this process now. */
static bool permit_loaded(void)
{
	void *h = dlopen(pgd_test_env("PGD_PAM_PERMIT"), RTLD_LAZY | RTLD_NOLOAD);

	if (h == NULL)
		return false;
	dlclose(h);
	return true;
}

static int login(const char *service, const char *password, char **log)
{
	return pgd_test_login(service, "plain@example.org", password, PAMTEST_AUTHENTICATE, log);
}

/* Runs first: nothing has pinned pam_permit yet. */
static void test_unpinned_modules_unloaded_at_pam_end(void **state)
{
	(void)state;
	assert_false(permit_loaded());
	assert_int_equal(login("pin_off", "plain pw", NULL), PAM_SUCCESS);
	assert_false(permit_loaded());
	assert_int_equal(login("pin_off", "wrong", NULL), PAM_AUTH_ERR);
	assert_false(permit_loaded());
}

static void test_pinned_modules_stay_loaded(void **state)
{
	char *log = NULL;

	(void)state;
	assert_false(permit_loaded());
	assert_int_equal(login("pin_on", "plain pw", &log), PAM_SUCCESS);
	assert_non_null(strstr(log, "pin_modules: 1 PAM modules kept loaded"));
	free(log);
	assert_true(permit_loaded());
	/* later logins find them loaded, pin nothing more, and answer as before */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(login("pin_on", "plain pw", &log), PAM_SUCCESS);
		assert_null(strstr(log, "kept loaded"));
		free(log);
	}
	assert_int_equal(login("pin_on", "wrong", NULL), PAM_AUTH_ERR);
	assert_int_equal(login("pin_off", "plain pw", NULL), PAM_SUCCESS);
	assert_true(permit_loaded());
}

/* A pin_modules line names the modules it pins; a bad value is a configuration error. */
static void test_bad_value_is_configuration_error(void **state)
{
	char *log = NULL;

	(void)state;
	assert_int_equal(login("pin_bad", "plain pw", &log), PAM_SERVICE_ERR);
	assert_non_null(strstr(log, "pin_modules"));
	free(log);
}

/* pgd_test_write_service's file, then pam_permit after the module on each type. */
static void write_service(const char *name, const char *args)
{
	char path[512], *text, *more;
	const char *permit = pgd_test_env("PGD_PAM_PERMIT");
	size_t n;

	pgd_test_write_service(name, args, CONF, 0600, 0);
	snprintf(path, sizeof(path), "%s/%s", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"), name);
	text = pgd_test_read_file(path);
	n = strlen(text) + 4 * (strlen(permit) + 32);
	more = malloc(n);
	assert_non_null(more);
	snprintf(more, n,
	         "%sauth optional %s\naccount optional %s\npassword optional %s\n"
	         "session optional %s\n",
	         text, permit, permit, permit, permit);
	pgd_test_write_file(path, more, 0644);
	free(more);
	free(text);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unpinned_modules_unloaded_at_pam_end),
	    cmocka_unit_test(test_bad_value_is_configuration_error),
	    cmocka_unit_test(test_pinned_modules_stay_loaded),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL) {
		write_service("pin_off", "debug");
		write_service("pin_on", "debug pin_modules=yes");
		write_service("pin_bad", "pin_modules=sometimes");
		return pgd_test_run_in_child(argv);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
