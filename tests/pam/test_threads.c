// SPDX-License-Identifier: MIT
/*
 * Threaded callers (FreeRADIUS rlm_pam, JVM and Go services): several threads of one process
 * log in at once through the real libpam. Every login must get its own right answer, the
 * threads share one cached connection, and the module never changes the environment while
 * other threads read it. Also run in the sanitizer build (suite memcheck).
 *
 * Environment: as test_pam (PGD_MODULE, PGD_TEST_ADMIN, PGD_TEST_CONNINFO,
 * PAM_WRAPPER_SERVICE_DIR).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

#define QUERY "password_query = SELECT password FROM users WHERE userid = '%n' AND domain = '%d'\n"
#define THREADS 8
#define LOGINS 200
/*
 * A thread stops early after BUDGET_MS (with at least MIN_LOGINS done): the plain and ASan
 * builds do every login, valgrind (10 to 50 times slower) a bounded part of them.
 */
#define BUDGET_MS 40000
#define MIN_LOGINS 10

static const struct pgd_test_service services[] = {
    /* query_timeout: under valgrind a connect (SCRAM) takes seconds, and the threads queue */
    {"thrcache", "driver = pgsql\nconnect = %CONNECT% application_name=pgd_thrcache\n"
                 "query_timeout = 120\n" QUERY},
    {"thrnocache", "driver = pgsql\nconnect = %CONNECT% application_name=pgd_thrnocache\n"
                   "query_timeout = 120\nconnection_cache = no\n" QUERY},
    /* every thread's first logins look for modules to keep loaded at once (util/pin.c) */
    {"thrpin", "driver = pgsql\nconnect = %CONNECT% application_name=pgd_thrpin\n"
               "query_timeout = 120\npin_modules = yes\n" QUERY},
    /* audit queries that always fail: every login reports a side failure */
    {"thrside",
     "driver = pgsql\nconnect = %CONNECT% application_name=pgd_thrside\n"
     "query_timeout = 120\n" QUERY "auth_success_query = UPDATE pgd_no_such_table SET x = '%n'\n"
     "auth_failure_query = UPDATE pgd_no_such_table SET x = '%n'\n"},
};

/* What each login sends and must get back; the threads go through it from different rows. */
static const struct {
	const char *user, *password;
	int expected;
} cases[] = {
    {"plain@example.org", "plain pw", PAM_SUCCESS},
    {"plain@example.org", "plain PW", PAM_AUTH_ERR},
    {"md5@example.org", "md5 pw", PAM_SUCCESS},
    {"md5@example.org", "wrong", PAM_AUTH_ERR},
    {"nobody@example.org", "plain pw", PAM_USER_UNKNOWN},
    {"carol@example.org", "carol pw", PAM_SUCCESS},
    {"carol@example.org", "carol", PAM_AUTH_ERR},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

struct worker {
	pthread_t thread;
	const char *service;
	int index, logins;
	int done;        /* logins made */
	int wrong;       /* logins that got another code than expected */
	char first[200]; /* the first of them */
};

/* One PAM transaction (pam_start, authenticate, pam_end); -1 when libpamtest itself failed. */
static int authenticate(const char *service, const char *user, const char *password)
{
	const char *answers[] = {password, NULL};
	struct pamtest_conv_data conv = {.in_echo_off = answers};
	struct pam_testcase t[] = {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)};
	enum pamtest_err err = run_pamtest(service, user, &conv, t, NULL);

	if (err != PAMTEST_ERR_OK && err != PAMTEST_ERR_CASE)
		return -1;
	return t[0].op_rv;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	int64_t end = now_ms() + BUDGET_MS;

	for (int i = 0; i < w->logins && (i < MIN_LOGINS || now_ms() < end); i++, w->done++) {
		size_t c = (size_t)(w->index * 3 + i) % NCASES;
		int got = authenticate(w->service, cases[c].user, cases[c].password);

		if (got != cases[c].expected && w->wrong++ == 0)
			snprintf(w->first, sizeof(w->first),
			         "login %d of thread %d: %s gave %d, not %d", i, w->index,
			         cases[c].user, got, cases[c].expected);
	}
	return NULL;
}

/*
 * Runs threads x logins on service; returns how many logins got a wrong answer. With log_out
 * not NULL, *log_out gets what was logged (free it).
 */
static int stress_log(const char *service, int threads, int logins, char **log_out)
{
	struct worker w[THREADS];
	int wrong = 0, done = 0, saved, fd;
	char *log;

	assert_true(threads <= THREADS);
	saved = pgd_test_capture_start(&fd); /* thousands of log lines: shown only on failure */
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){.service = service, .index = i, .logins = logins};
		assert_int_equal(pthread_create(&w[i].thread, NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].wrong > 0)
			print_message("# %s (and %d more in this thread)\n", w[i].first,
			              w[i].wrong - 1);
		wrong += w[i].wrong;
		done += w[i].done;
	}
	print_message("# %s: %d threads made %d logins (of %d)\n", service, threads, done,
	              threads * logins);
	log = pgd_test_capture_end(saved, fd);
	if (wrong > 0) {
		char *err = strstr(log, "SYSLOG(3): ");

		print_message("# %d of %d logins answered wrong; first error logged: %.300s\n",
		              wrong, threads * logins, err != NULL ? err : "(none)");
	}
	if (log_out != NULL)
		*log_out = log;
	else
		free(log);
	return wrong;
}

static int stress(const char *service, int threads, int logins)
{
	return stress_log(service, threads, logins, NULL);
}

static int backends(const char *app)
{
	PGconn *admin = pgd_test_admin();
	const char *params[] = {app};
	PGresult *res;
	int n = -1;

	/* a backend that just said goodbye may still be listed for a moment */
	for (int i = 0; i < 50; i++) {
		res = PQexecParams(
		    admin, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", 1,
		    NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fail_msg("pg_stat_activity: %s", PQerrorMessage(admin));
		n = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (n <= 1)
			break;
		usleep(100000);
	}
	PQfinish(admin);
	return n;
}

/* 8 threads x 200 logins on the cached connection: each answered right, one backend. */
static void test_threads_share_one_connection(void **state)
{
	(void)state;
	assert_int_equal(stress("thrcache", THREADS, LOGINS), 0);
	assert_int_equal(backends("pgd_thrcache"), 1);
	/* and the process goes on working alone */
	assert_int_equal(authenticate("thrcache", "plain@example.org", "plain pw"), PAM_SUCCESS);
}

/* pin_modules in every thread's logins: each answered right, the process goes on working. */
static void test_threads_pin_modules(void **state)
{
	(void)state;
	assert_int_equal(stress("thrpin", THREADS, LOGINS / 4), 0);
	assert_int_equal(authenticate("thrpin", "plain@example.org", "plain pw"), PAM_SUCCESS);
}

/* A connection per login (connect, query, close), 4 threads at once. */
static void test_threads_without_cache(void **state)
{
	(void)state;
	assert_int_equal(stress("thrnocache", 4, 40), 0);
	assert_int_equal(backends("pgd_thrnocache"), 0);
}

/*
 * Failing audit queries in every thread: the answers stand, and the report of those failures
 * (one line per interval, shared by the threads) is counted without a data race (TSan build).
 */
static void test_threads_side_failures(void **state)
{
	char *log = NULL;

	(void)state;
	assert_int_equal(stress_log("thrside", THREADS, 25, &log), 0);
	assert_non_null(strstr(log, "_query failed (the login's answer stands)"));
	free(log);
}

static atomic_bool watching;
static atomic_long missed, looks;

/* Reads the environment as another thread of the caller would, all the time. */
static void *watch_env(void *arg)
{
	(void)arg;
	while (atomic_load(&watching)) {
		const char *v = getenv("PGAPPNAME");

		if (v == NULL || strcmp(v, "decoy") != 0)
			atomic_fetch_add(&missed, 1);
		atomic_fetch_add(&looks, 1);
	}
	return NULL;
}

/*
 * While logins connect, another thread reads PGAPPNAME: it must see it every time (the module
 * must not take PG* variables out of the environment and put them back), and the variables,
 * pointing elsewhere, must not steer the connections.
 */
static void test_environment_left_alone(void **state)
{
	pthread_t watcher;

	(void)state;
	setenv("PGAPPNAME", "decoy", 1);
	setenv("PGHOSTADDR", "192.0.2.1", 1); /* TEST-NET-1: nothing answers there */
	setenv("PGOPTIONS", "-c search_path=nowhere", 1);
	setenv("PGDATABASE", "postgres", 1);
	atomic_store(&watching, true);
	assert_int_equal(pthread_create(&watcher, NULL, watch_env, NULL), 0);
	assert_int_equal(stress("thrnocache", 1, 80), 0); /* one: only the environment races */
	atomic_store(&watching, false);
	pthread_join(watcher, NULL);
	unsetenv("PGAPPNAME");
	unsetenv("PGHOSTADDR");
	unsetenv("PGOPTIONS");
	unsetenv("PGDATABASE");
	print_message("# the watcher read the environment %ld times, missed PGAPPNAME %ld times\n",
	              atomic_load(&looks), atomic_load(&missed));
	assert_true(atomic_load(&looks) > 0);
	assert_int_equal(atomic_load(&missed), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads_share_one_connection),
	    cmocka_unit_test(test_threads_without_cache),
	    cmocka_unit_test(test_threads_pin_modules),
	    cmocka_unit_test(test_threads_side_failures),
	    cmocka_unit_test(test_environment_left_alone),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL)
		return pgd_test_run_services(argv, services, sizeof(services) / sizeof(services[0]),
		                             "");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
