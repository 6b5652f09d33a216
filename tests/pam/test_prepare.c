// SPDX-License-Identifier: MIT
/*
 * Prepared statements (conf key prepare), seen from inside the server: the password_query calls
 * a function that notes, in the module's own session, what pg_prepared_statements holds and how
 * often each statement ran. With prepare = auto (the default) a process that keeps its
 * connection prepares the query once and runs it by name at every later login; prepare = no and
 * a connection not kept never prepare; a statement lost under the module (DEALLOCATE ALL, as a
 * pooler in transaction mode loses it) never changes a verdict.
 *
 * Environment: as test_pam (PGD_MODULE, PGD_TEST_ADMIN, PGD_TEST_CONNINFO,
 * PAM_WRAPPER_SERVICE_DIR).
 */
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
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

/* prep_note() runs in the module's session: one row per statement prepared there, or "-". */
#define QUERY                                                                                      \
	"password_query = SELECT password FROM users, prep_note() AS n "                           \
	"WHERE userid = '%n' AND domain = '%d'\n"
#define CONF(app) "driver = pgsql\nconnect = %CONNECT% application_name=" app "\n"

static const struct pgd_test_service services[] = {
    {"prepauto", CONF("pgd_prepauto") QUERY},
    {"prepno", CONF("pgd_prepno") "prepare = no\n" QUERY},
    {"prepnocache", CONF("pgd_prepnocache") "connection_cache = no\n" QUERY},
    {"preplost", CONF("pgd_preplost") "session_open_query = DEALLOCATE ALL\n" QUERY},
    {"preplostyes",
     CONF("pgd_preplostyes") "prepare = yes\nsession_open_query = DEALLOCATE ALL\n" QUERY},
};

static PGconn *admin;

static void admin_sql(const char *sql)
{
	PGresult *res = PQexec(admin, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(admin));
	PQclear(res);
}

/* One number about app's notes: sql with $1 = app, a single value. */
static long note(const char *sql, const char *app)
{
	const char *params[] = {app};
	PGresult *res = PQexecParams(admin, sql, 1, NULL, params, NULL, NULL, 0);
	long v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fail_msg("%s: %s", sql, PQerrorMessage(admin));
	v = PQgetisnull(res, 0, 0) ? -1 : strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

/* Lookups that ran prepared (a statement in their session) and the names they used. */
static long prepared_runs(const char *app)
{
	return note("SELECT count(*) FROM prep_log WHERE app = $1 AND name <> '-'", app);
}

static long names(const char *app)
{
	return note("SELECT count(DISTINCT name) FROM prep_log WHERE app = $1 AND name <> '-'",
	            app);
}

static long unprepared_runs(const char *app)
{
	return note("SELECT count(*) FROM prep_log WHERE app = $1 AND name = '-'", app);
}

static long most_runs(const char *app)
{
	return note("SELECT max(runs) FROM prep_log WHERE app = $1", app);
}

static int login(const char *service, const char *password)
{
	return pgd_test_login(service, "plain@example.org", password, PAMTEST_AUTHENTICATE, NULL);
}

static void test_prepared_once_and_reused(void **state)
{
	(void)state;
	/* the first transaction keeps no connection (it may be the process's only one) */
	assert_int_equal(login("prepauto", "plain pw"), PAM_SUCCESS);
	assert_int_equal(unprepared_runs("pgd_prepauto"), 1);
	assert_int_equal(prepared_runs("pgd_prepauto"), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(login("prepauto", i % 2 == 0 ? "plain pw" : "wrong"),
		                 i % 2 == 0 ? PAM_SUCCESS : PAM_AUTH_ERR);
	/* 20 lookups ran one statement, prepared at the first and run by name at each */
	assert_int_equal(unprepared_runs("pgd_prepauto"), 1);
	assert_int_equal(prepared_runs("pgd_prepauto"), 20);
	assert_int_equal(names("pgd_prepauto"), 1);
	assert_int_equal(most_runs("pgd_prepauto"), 20);
	assert_int_equal(note("SELECT count(*) FROM prep_log WHERE app = $1 AND name !~ "
	                      "'^pgd_[0-9a-f]{32}$' AND name <> '-'",
	                      "pgd_prepauto"),
	                 0);
}

static void test_prepare_no_and_uncached_never_prepare(void **state)
{
	(void)state;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(login("prepno", "plain pw"), PAM_SUCCESS);
		assert_int_equal(login("prepnocache", "plain pw"), PAM_SUCCESS);
	}
	assert_int_equal(prepared_runs("pgd_prepno"), 0);
	assert_int_equal(unprepared_runs("pgd_prepno"), 10);
	assert_int_equal(prepared_runs("pgd_prepnocache"), 0);
	assert_int_equal(unprepared_runs("pgd_prepnocache"), 10);
}

/* A session's DEALLOCATE ALL drops the statement the module prepared, as a pooler would. */
static void lose_statement(const char *service)
{
	assert_int_equal(
	    pgd_test_login(service, "plain@example.org", NULL, PAMTEST_OPEN_SESSION, NULL),
	    PAM_SUCCESS);
}

static void test_lost_statement_auto_falls_back(void **state)
{
	(void)state;
	/* a transaction of this process has ended: the connection is kept from the first login */
	for (int i = 0; i < 3; i++)
		assert_int_equal(login("preplost", "plain pw"), PAM_SUCCESS);
	assert_int_equal(prepared_runs("pgd_preplost"), 3);
	lose_statement("preplost");
	/* SQLSTATE 26000: sent once more unprepared, and so is every later lookup */
	assert_int_equal(login("preplost", "plain pw"), PAM_SUCCESS);
	assert_int_equal(login("preplost", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(pgd_test_login("preplost", "nobody@example.org", "plain pw",
	                                PAMTEST_AUTHENTICATE, NULL),
	                 PAM_USER_UNKNOWN);
	for (int i = 0; i < 5; i++)
		assert_int_equal(login("preplost", "plain pw"), PAM_SUCCESS);
	assert_int_equal(prepared_runs("pgd_preplost"), 3);
	/* nobody's lookup may note nothing: no users row to join prep_note() to */
	assert_in_range(unprepared_runs("pgd_preplost"), 7, 8);
}

static void test_lost_statement_yes_prepares_again(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(login("preplostyes", "plain pw"), PAM_SUCCESS);
	lose_statement("preplostyes");
	/* a new connection prepares it anew: runs count from 1 again */
	assert_int_equal(login("preplostyes", "plain pw"), PAM_SUCCESS);
	assert_int_equal(login("preplostyes", "wrong"), PAM_AUTH_ERR);
	assert_int_equal(prepared_runs("pgd_preplostyes"), 5);
	assert_int_equal(note("SELECT string_agg(runs::text, '' ORDER BY ctid) FROM prep_log "
	                      "WHERE app = $1",
	                      "pgd_preplostyes"),
	                 12312);
	assert_int_equal(unprepared_runs("pgd_preplostyes"), 0);
}

static int setup(void **state)
{
	(void)state;
	admin = pgd_test_admin();
	admin_sql("DROP TABLE IF EXISTS prep_log");
	admin_sql("CREATE TABLE prep_log (app text, name text, runs bigint)");
	admin_sql("GRANT INSERT ON prep_log TO PUBLIC");
	admin_sql("CREATE OR REPLACE FUNCTION prep_note() RETURNS int LANGUAGE sql VOLATILE AS $$ "
	          "INSERT INTO prep_log SELECT current_setting('application_name'), "
	          "coalesce(p.name, '-'), coalesce(p.generic_plans + p.custom_plans, 0) "
	          "FROM (SELECT 1) AS one LEFT JOIN pg_prepared_statements AS p ON true; "
	          "SELECT 1 $$");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	admin_sql("DROP FUNCTION prep_note()");
	admin_sql("DROP TABLE prep_log");
	PQfinish(admin);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prepared_once_and_reused),
	    cmocka_unit_test(test_prepare_no_and_uncached_never_prepare),
	    cmocka_unit_test(test_lost_statement_auto_falls_back),
	    cmocka_unit_test(test_lost_statement_yes_prepares_again),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL)
		return pgd_test_run_services(argv, services, sizeof(services) / sizeof(services[0]),
		                             "");
	return cmocka_run_group_tests(tests, setup, teardown);
}
