// SPDX-License-Identifier: MIT
/*
 * verify_cache_stale_if_error through the real libpam (under pam_wrapper) against the test's
 * PostgreSQL, which the test stops and starts again (tests/pg-cluster.sh halt / resume): while
 * the database cannot be reached, a login whose user and password match an entry the database
 * confirmed less than verify_cache_stale_if_error seconds ago succeeds, with one NOTICE line;
 * a wrong password, an unknown user, an entry too old, an entry made without the option, an
 * entry whose row restricted the account (allow_nets, expiry) and any login of a conf without
 * the option get PAM_AUTHINFO_UNAVAIL as before. Once the database is back, a password changed
 * there is seen at the very next login.
 *
 * Environment: as test_pam (PGD_MODULE, PGD_TEST_ADMIN, PGD_TEST_CONNINFO,
 * PAM_WRAPPER_SERVICE_DIR), plus PGD_TEST_PGDIR and PGD_CLUSTER (tests/pg-cluster.sh); skipped
 * against an external server (PGD_TEST_EXTERNAL=1), which the test cannot stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "hash.h"
#include "pam_test_util.h"

#define PW_QUERY                                                                                   \
	"password_query = SELECT userid AS user, password, nets AS allow_nets, "                   \
	"expired AS account_expired FROM outage_users WHERE userid = '%n'\n"
#define BASE "driver = pgsql\nconnect = %CONNECT%\nquery_timeout = 2\n" PW_QUERY
#define OUTAGE_LINE "from the verify cache during a database outage"

static const struct pgd_test_service services[] = {
    {"stale", BASE "verify_cache_ttl = 3600\nverify_cache_stale_if_error = 3600\n"},
    /* the same query and rules (so the same entries), a shorter window */
    {"stale-short", BASE "verify_cache_ttl = 3600\nverify_cache_stale_if_error = 2\n"},
    /* entries older than the TTL: not used while the database answers, used in an outage */
    {"ttl-short", BASE "verify_cache_ttl = 1\nverify_cache_stale_if_error = 3600\n"},
    /* the cache without the option: an outage is PAM_AUTHINFO_UNAVAIL as always */
    {"stale-off", BASE "verify_cache_ttl = 3600\n"},
};

static PGconn *admin;
static bool halted;

static void sql(const char *text)
{
	pgd_test_sql(admin, text);
}

static void set_password(const char *userid, const char *password)
{
	char *stored = NULL;

	assert_int_equal(pgd_hash_generate("SHA512-CRYPT", password, 1000, &stored),
	                 PGD_HASH_MATCH);
	pgd_test_set_stored(admin, "outage_users", userid, stored);
	free(stored);
}

static int count(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* One authenticate; *outage (may be NULL) tells whether the outage line was logged. */
static int auth(const char *service, const char *user, const char *password, bool *outage)
{
	char *log = NULL;
	int rc = pgd_test_auth_marked(service, user, password, OUTAGE_LINE, outage, &log);

	/* one line for an answer from the cache: no second "database unavailable" line */
	if (strstr(log, OUTAGE_LINE) != NULL && count(log, "database unavailable") != 1)
		fail_msg("more than one line for a cached answer: %s", log);
	free(log);
	return rc;
}

static void cluster(const char *what)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "env -u LD_PRELOAD '%s' %s '%s'", pgd_test_env("PGD_CLUSTER"),
	         what, pgd_test_env("PGD_TEST_PGDIR"));
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	halted = strcmp(what, "halt") == 0;
	/* the admin's connection did not survive the stop */
	if (!halted) {
		PQreset(admin);
		if (PQstatus(admin) != CONNECTION_OK)
			fail_msg("cannot connect as admin again: %s", PQerrorMessage(admin));
	}
}

static void pause_ms(long ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

static void test_outage(void **state)
{
	bool outage;
	int rc;

	(void)state;
	set_password("olive", "olive pw");
	set_password("quinn", "quinn pw");
	set_password("ruth", "ruth pw");
	set_password("sam", "sam pw");
	set_password("nettie", "nettie pw");
	set_password("exp", "exp pw");
	sql("UPDATE outage_users SET nets = 'local' WHERE userid = 'nettie'");
	sql("UPDATE outage_users SET expired = true WHERE userid = 'exp'");

	/* while the database answers: nothing changes */
	assert_int_equal(auth("stale", "olive", "olive pw", NULL), PAM_SUCCESS);
	assert_int_equal(auth("stale", "olive", "olive pw", &outage), PAM_SUCCESS);
	assert_false(outage);
	assert_int_equal(auth("stale-off", "quinn", "quinn pw", NULL), PAM_SUCCESS);
	assert_int_equal(auth("ttl-short", "ruth", "ruth pw", NULL), PAM_SUCCESS);
	/* sam's entry is dropped by a wrong password while the database can say so */
	assert_int_equal(auth("stale", "sam", "sam pw", NULL), PAM_SUCCESS);
	assert_int_equal(auth("stale", "sam", "not sam pw", NULL), PAM_AUTH_ERR);
	/* rows that restrict the account: verified and cached, never answered in an outage */
	assert_int_equal(auth("stale", "nettie", "nettie pw", NULL), PAM_SUCCESS);
	assert_int_equal(
	    pgd_test_auth_then_acct("stale", "exp", "exp pw", PAM_SUCCESS, PAM_ACCT_EXPIRED), 0);
	/* a row that restricts the account only after its entry was made: a cache hit reads it,
	 * and the entry no longer answers in an outage */
	set_password("tess", "tess pw");
	assert_int_equal(auth("stale", "tess", "tess pw", NULL), PAM_SUCCESS);
	sql("UPDATE outage_users SET nets = 'local' WHERE userid = 'tess'");
	assert_int_equal(auth("stale", "tess", "tess pw", NULL), PAM_SUCCESS);
	/* an entry older than the TTL is not used while the database answers */
	pause_ms(1100);
	assert_int_equal(auth("ttl-short", "ruth", "ruth pw", NULL), PAM_SUCCESS);

	cluster("halt");
	/* the right password of a cached user: in, with the NOTICE line */
	assert_int_equal(auth("stale", "olive", "olive pw", &outage), PAM_SUCCESS);
	assert_true(outage);
	/* and acct_mgmt in the same transaction answers from what authenticate left */
	assert_int_equal(
	    pgd_test_auth_then_acct("stale", "olive", "olive pw", PAM_SUCCESS, PAM_SUCCESS), 0);
	/* a wrong password, near misses: not in, the database's answer (and nothing dropped) */
	assert_int_equal(auth("stale", "olive", "not olive pw", &outage), PAM_AUTHINFO_UNAVAIL);
	assert_false(outage);
	assert_int_equal(auth("stale", "olive", "olive p", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(auth("stale", "olive", "", NULL), PAM_AUTH_ERR); /* empty: no nullok */
	assert_int_equal(auth("stale", "olive", "olive pw", NULL), PAM_SUCCESS);
	/* another user's password, an unknown user */
	assert_int_equal(auth("stale", "quinn", "olive pw", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(auth("stale", "nobody", "olive pw", NULL), PAM_AUTHINFO_UNAVAIL);
	/* an entry made by a conf without the option, or dropped by a wrong password */
	assert_int_equal(auth("stale", "quinn", "quinn pw", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(auth("stale", "sam", "sam pw", NULL), PAM_AUTHINFO_UNAVAIL);
	/* rows with allow_nets or an expiry column */
	assert_int_equal(auth("stale", "nettie", "nettie pw", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(auth("stale", "exp", "exp pw", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(auth("stale", "tess", "tess pw", NULL), PAM_AUTHINFO_UNAVAIL);
	/* the option off: as today, whatever the cache holds */
	assert_int_equal(auth("stale-off", "olive", "olive pw", &outage), PAM_AUTHINFO_UNAVAIL);
	assert_false(outage);
	/* older than the TTL but younger than stale_if_error: in */
	assert_int_equal(auth("ttl-short", "ruth", "ruth pw", &outage), PAM_SUCCESS);
	assert_true(outage);
	/* older than stale_if_error: not in */
	pause_ms(2100);
	assert_int_equal(auth("stale-short", "olive", "olive pw", &outage), PAM_AUTHINFO_UNAVAIL);
	assert_false(outage);
	assert_int_equal(auth("stale", "olive", "olive pw", NULL), PAM_SUCCESS);

	cluster("resume");
	/* the next logins read the row again (after the module's back-off of at most 1 s) */
	for (int i = 0; i < 50; i++) {
		rc = auth("stale", "olive", "olive pw", &outage);
		if (rc != PAM_SUCCESS || !outage)
			break;
		pause_ms(100);
	}
	assert_int_equal(rc, PAM_SUCCESS);
	assert_false(outage);
	/* a password changed in the database is seen at once: the old one refused */
	set_password("olive", "olive new pw");
	assert_int_equal(auth("stale", "olive", "olive pw", NULL), PAM_AUTH_ERR);
	assert_int_equal(auth("stale", "olive", "olive new pw", NULL), PAM_SUCCESS);
	/* and the refused one dropped the entry: in the next outage only the new one works */
	cluster("halt");
	assert_int_equal(auth("stale", "olive", "olive pw", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(auth("stale", "olive", "olive new pw", &outage), PAM_SUCCESS);
	assert_true(outage);
	cluster("resume");
}

static int setup(void **state)
{
	(void)state;
	admin = pgd_test_admin();
	sql("DROP TABLE IF EXISTS outage_users");
	sql("CREATE TABLE outage_users (userid text PRIMARY KEY, password text, "
	    "expired boolean NOT NULL DEFAULT false, nets text)");
	sql("GRANT SELECT ON outage_users TO PUBLIC");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (halted)
		cluster("resume");
	sql("DROP TABLE IF EXISTS outage_users");
	PQfinish(admin);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_outage),
	};
	const char *external = getenv("PGD_TEST_EXTERNAL");

	(void)argc;
	if (external != NULL && strcmp(external, "1") == 0) {
		printf("1..0 # SKIP an external server cannot be stopped by the test\n");
		return 0;
	}
	if (getenv("PGD_TEST_CHILD") == NULL)
		return pgd_test_run_services(argv, services, sizeof(services) / sizeof(services[0]),
		                             "debug");
	return cmocka_run_group_tests(tests, setup, teardown);
}
