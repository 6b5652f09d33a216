// SPDX-License-Identifier: MIT
/*
 * The database path of one process, seen from the server: the module keeps one connection
 * for many logins (or none, with connection_cache = no), a fork()ed child never touches the
 * parent's connection, a connection killed under us is replaced within the same login, and a
 * query the server refuses is not sent twice.
 *
 * Environment: as test_pam (PGD_MODULE, PGD_TEST_ADMIN, PGD_TEST_CONNINFO,
 * PAM_WRAPPER_SERVICE_DIR), and PGD_TEST_PGDIR / PGD_TEST_EXTERNAL for the server log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

#define QUERY "password_query = SELECT password FROM users WHERE userid = '%n' AND domain = '%d'\n"

/* Each service names its own application_name, so the server tells its connections apart. */
static const struct pgd_test_service services[] = {
    {"dbcache", "driver = pgsql\nconnect = %CONNECT% application_name=pgd_dbcache\n" QUERY},
    {"dbnocache", "driver = pgsql\nconnect = %CONNECT% application_name=pgd_dbnocache\n"
                  "connection_cache = no\n" QUERY},
    {"dbfork", "driver = pgsql\nconnect = %CONNECT% application_name=pgd_dbfork\n" QUERY},
    {"dbkill", "driver = pgsql\nconnect = %CONNECT% application_name=pgd_dbkill\n"
               "username_chars =\n" QUERY},
};

static PGconn *admin;

/* The backend pids the server has for application_name app, ascending; returns how many. */
static int backends(const char *app, int *pids, int max)
{
	const char *params[] = {app};
	PGresult *res = PQexecParams(admin,
	                             "SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
	                             "ORDER BY pid",
	                             1, NULL, params, NULL, NULL, 0);
	int n;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("pg_stat_activity: %s", PQerrorMessage(admin));
	n = PQntuples(res);
	for (int i = 0; i < n && i < max; i++)
		pids[i] = atoi(PQgetvalue(res, i, 0));
	PQclear(res);
	return n;
}

/* Waits up to 5 s for the server to count n backends of app (backends end asynchronously). */
static int wait_backends(const char *app, int n, int *pids, int max)
{
	int got = 0;

	for (int i = 0; i < 100; i++) {
		got = backends(app, pids, max);
		if (got == n)
			break;
		usleep(50000);
	}
	return got;
}

static int login(const char *service, const char *user, const char *password, char **log)
{
	return pgd_test_login(service, user, password, PAMTEST_AUTHENTICATE, log);
}

static void test_one_connection_for_many_logins(void **state)
{
	int pids[4], first;

	(void)state;
	/* the first transaction of a process keeps nothing: it may be its only one (sshd, su) */
	assert_int_equal(login("dbcache", "plain@example.org", "plain pw", NULL), PAM_SUCCESS);
	assert_int_equal(wait_backends("pgd_dbcache", 0, pids, 4), 0);
	assert_int_equal(login("dbcache", "plain@example.org", "plain pw", NULL), PAM_SUCCESS);
	assert_int_equal(backends("pgd_dbcache", pids, 4), 1);
	first = pids[0];
	for (int i = 0; i < 300; i++) {
		int rc = login("dbcache", i % 3 == 0 ? "nobody@example.org" : "plain@example.org",
		               i % 2 == 0 ? "plain pw" : "wrong", NULL);

		assert_true(rc == PAM_SUCCESS || rc == PAM_AUTH_ERR || rc == PAM_USER_UNKNOWN);
	}
	assert_int_equal(backends("pgd_dbcache", pids, 4), 1);
	assert_int_equal(pids[0], first);
}

static void test_no_cache_closes_each_connection(void **state)
{
	int pids[4];

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(login("dbnocache", "plain@example.org", "plain pw", NULL),
		                 PAM_SUCCESS);
		assert_int_equal(wait_backends("pgd_dbnocache", 0, pids, 4), 0);
	}
}

/* sshd authenticates in a fork()ed child of the process that called pam_start. */
static void test_fork_leaves_the_parent_connection_alone(void **state)
{
	int pids[4], parent_pid, status;
	pid_t child;

	(void)state;
	assert_int_equal(login("dbfork", "plain@example.org", "plain pw", NULL), PAM_SUCCESS);
	assert_int_equal(backends("pgd_dbfork", pids, 4), 1);
	parent_pid = pids[0];
	fflush(NULL);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* the child logs in on a connection of its own, and leaves the parent's open */
		int rc = login("dbfork", "plain@example.org", "plain pw", NULL);
		int n;

		admin = PQconnectdb(pgd_test_env("PGD_TEST_ADMIN")); /* not the parent's */
		n = backends("pgd_dbfork", pids, 4);

		_exit(rc == PAM_SUCCESS && n == 2 &&
		              (pids[0] == parent_pid || pids[1] == parent_pid)
		          ? 0
		          : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the child's connection ends with it; the parent's is the one it had, and still works */
	assert_int_equal(wait_backends("pgd_dbfork", 1, pids, 4), 1);
	assert_int_equal(pids[0], parent_pid);
	assert_int_equal(login("dbfork", "plain@example.org", "plain pw", NULL), PAM_SUCCESS);
	assert_int_equal(backends("pgd_dbfork", pids, 4), 1);
	assert_int_equal(pids[0], parent_pid);
}

static int count_in_server_log(const char *needle)
{
	char path[512];
	char *text, *p;
	int n = 0;

	snprintf(path, sizeof(path), "%s/server.log", pgd_test_env("PGD_TEST_PGDIR"));
	text = pgd_test_read_file(path);
	for (p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

static void test_killed_connection_is_replaced(void **state)
{
	int pids[4], old;
	char sql[128];
	PGresult *res;

	(void)state;
	assert_int_equal(login("dbkill", "plain@example.org", "plain pw", NULL), PAM_SUCCESS);
	assert_int_equal(backends("pgd_dbkill", pids, 4), 1);
	old = pids[0];
	/* as a server restart, failover or idle_session_timeout would do */
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", old);
	res = PQexec(admin, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	assert_int_equal(wait_backends("pgd_dbkill", 0, pids, 4), 0);
	/* the same login reconnects and answers */
	assert_int_equal(login("dbkill", "plain@example.org", "plain pw", NULL), PAM_SUCCESS);
	assert_int_equal(backends("pgd_dbkill", pids, 4), 1);
	assert_int_not_equal(pids[0], old);
}

static void test_refused_query_is_not_retried(void **state)
{
	const char *marker = "invalid byte sequence for encoding";
	int pids[4], before_pid, before = 0;
	bool local = strcmp(pgd_test_env("PGD_TEST_EXTERNAL"), "0") == 0;
	char *log = NULL;

	(void)state;
	assert_int_equal(login("dbkill", "plain@example.org", "plain pw", NULL), PAM_SUCCESS);
	assert_int_equal(backends("pgd_dbkill", pids, 4), 1);
	before_pid = pids[0];
	if (local)
		before = count_in_server_log(marker);
	/* username_chars is empty here: the byte reaches the server, which refuses it */
	assert_int_equal(login("dbkill", "caf\xe9@example.org", "x", &log), PAM_AUTHINFO_UNAVAIL);
	assert_non_null(strstr(log, marker));
	free(log);
	/* same connection, and the server saw the query once */
	assert_int_equal(backends("pgd_dbkill", pids, 4), 1);
	assert_int_equal(pids[0], before_pid);
	if (local)
		assert_int_equal(count_in_server_log(marker), before + 1);
	assert_int_equal(login("dbkill", "plain@example.org", "plain pw", NULL), PAM_SUCCESS);
}

static int setup(void **state)
{
	(void)state;
	admin = pgd_test_admin();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(admin);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_connection_for_many_logins),
	    cmocka_unit_test(test_no_cache_closes_each_connection),
	    cmocka_unit_test(test_fork_leaves_the_parent_connection_alone),
	    cmocka_unit_test(test_killed_connection_is_replaced),
	    cmocka_unit_test(test_refused_query_is_not_retried),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL)
		return pgd_test_run_services(argv, services, sizeof(services) / sizeof(services[0]),
		                             "");
	return cmocka_run_group_tests(tests, setup, teardown);
}
