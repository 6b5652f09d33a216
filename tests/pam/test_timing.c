// SPDX-License-Identifier: MIT
/*
 * Response time must not tell who exists, nor whose account has no usable hash: an unknown
 * user, a disabled (nologin) user, a user whose stored password is NULL, one whose stored
 * password is empty and a known user with a wrong password each cost one verification of the
 * configured scheme.
 *
 * The three arms run through the real libpam (under pam_wrapper) against the test PostgreSQL,
 * interleaved iteration by iteration in a rotating order (DESIGN.md: compare, don't clock).
 * Both the wall-clock medians and the medians of this process's CPU time must lie within 10%
 * of each other. Wall-clock time is what an attacker sees, but here a new PostgreSQL backend per
 * login (~20-70 ms on a loaded machine) dwarfs one hash (~1.5 ms); CPU time leaves the server
 * out: without the dummy hash the CPU medians differ by ~90%, with it by a few percent. The
 * stored hashes are SHA512-CRYPT at Dovecot's default 5000 rounds, the scheme the conf names
 * as default_pass_scheme. A failing measurement is repeated (ATTEMPTS): a noisy neighbour
 * spoils one, a real difference shows in each.
 *
 * Environment: as test_pam (PGD_MODULE, PGD_TEST_ADMIN, PGD_TEST_CONNINFO,
 * PAM_WRAPPER_SERVICE_DIR); PGD_TIMING_ITERATIONS overrides the iterations per arm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

#define DEFAULT_ITERATIONS 100
#define WARMUP 5
#define MAX_SPREAD 1.10
#define ATTEMPTS 3

/* doveadm pw -s SHA512-CRYPT (5000 rounds) of "correct horse battery" and of "bob pw". */
#define KNOWN_HASH                                                                                 \
	"{SHA512-CRYPT}$6$sDzYV3U2gPfN4Icd$WkQML6JqKwHQLgz6nmgbgKtLK3JKPoSqV/"                     \
	"AobeTVQecECZhhXL1YAmu35e/yQc3ZzQALV/oXRD6OID5svVEwE/"
#define NOLOGIN_HASH                                                                               \
	"{SHA512-CRYPT}$6$d99qvXer81Ea77Bd$.DkrJCdAhtNM.BtgsNrO1USgVD8wrGAAbaS.Vh/"                \
	"pKIQWQQEvE9s6tOtmPuzT9LHD1L0iaSdaVuevcgEuIiPHs1"

static const char fixtures[] =
    "DROP TABLE IF EXISTS timing_users;"
    "CREATE TABLE timing_users (userid text, domain text, password text, nologin text);"
    "GRANT SELECT ON timing_users TO PUBLIC;"
    "INSERT INTO timing_users VALUES ('known', 'example.org', '" KNOWN_HASH "', NULL);"
    "INSERT INTO timing_users VALUES ('off', 'example.org', '" NOLOGIN_HASH "', 'Y');"
    "INSERT INTO timing_users VALUES ('nullpw', 'example.org', NULL, NULL);"
    "INSERT INTO timing_users VALUES ('emptypw', 'example.org', '', NULL);";

/* %s: the conninfo; the rest is a usual conf. */
static const char conf_format[] =
    "driver = pgsql\n"
    "connect = %s\n"
    "default_pass_scheme = SHA512-CRYPT\n"
    "password_query = SELECT userid || '@' || domain AS user, password, nologin \\\n"
    "  FROM timing_users WHERE userid = '%%n' AND domain = '%%d'\n";

struct arm {
	const char *name;
	const char *user;
	const char *password;
	int expected;
};

/*
 * One password for all, as an attacker probing names would send: SHA-crypt's cost grows with
 * the password's length. It is the nologin user's right password (the account is refused only
 * after the hash was checked) and a wrong one for the known user.
 */
static const struct arm arms[] = {
    {"unknown user", "nobody@example.org", "bob pw", PAM_USER_UNKNOWN},
    {"nologin user", "off@example.org", "bob pw", PAM_AUTH_ERR},
    {"NULL stored", "nullpw@example.org", "bob pw", PAM_AUTH_ERR},
    {"empty stored", "emptypw@example.org", "bob pw", PAM_AUTH_ERR},
    {"wrong password", "known@example.org", "bob pw", PAM_AUTH_ERR},
};
#define NARMS (sizeof(arms) / sizeof(arms[0]))
/* Iterations come in blocks of ORDERS (see arm_at), each arm in each place once per block. */
#define ORDERS (2 * NARMS)

/*
 * The arm that runs in place j of iteration i: the list rotated by i, read forwards in one
 * block of NARMS iterations and backwards in the next. Over ORDERS iterations each arm runs in
 * each place equally often, and right after each other arm equally often.
 */
static size_t arm_at(size_t i, size_t j)
{
	size_t r = i % NARMS;

	return (i / NARMS) % 2 == 0 ? (r + j) % NARMS : (r + NARMS - 1 - j) % NARMS;
}

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 != 0 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One login of arm a: wall-clock and CPU time of this process (libpam, the module, libpq's
 * client side), in ms. */
static void time_login(const struct arm *a, double *wall, double *cpu)
{
	double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
	int rc = pgd_test_login("timing", a->user, a->password, PAMTEST_AUTHENTICATE, NULL);

	*cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	*wall = clock_ms(CLOCK_MONOTONIC) - w0;
	if (rc != a->expected)
		fail_msg("%s: got %s, expected %s", a->name, pam_strerror(NULL, rc),
		         pam_strerror(NULL, a->expected));
}

/* Largest over smallest of n values. */
static double spread(const double *v, size_t n)
{
	double lo = v[0], hi = v[0];

	for (size_t k = 1; k < n; k++) {
		lo = v[k] < lo ? v[k] : lo;
		hi = v[k] > hi ? v[k] : hi;
	}
	return hi / lo;
}

/*
 * One measurement: the median wall-clock and CPU time of each arm. Wall-clock time is what an
 * attacker sees, but on a loaded machine the PostgreSQL backend's start-up dominates it and
 * its noise; CPU time of this process leaves the server out and shows the hash plainly.
 */
static void measure(size_t iterations, double wall_med[NARMS], double cpu_med[NARMS])
{
	double *wall[NARMS], *cpu[NARMS], w, c;

	for (size_t k = 0; k < NARMS; k++) {
		wall[k] = calloc(iterations, sizeof(double));
		cpu[k] = calloc(iterations, sizeof(double));
		assert_non_null(wall[k]);
		assert_non_null(cpu[k]);
	}
	for (size_t i = 0; i < WARMUP; i++)
		for (size_t k = 0; k < NARMS; k++)
			time_login(&arms[k], &w, &c);
	for (size_t i = 0; i < iterations; i++)
		for (size_t j = 0; j < NARMS; j++) {
			size_t k = arm_at(i, j);

			time_login(&arms[k], &wall[k][i], &cpu[k][i]);
		}
	for (size_t k = 0; k < NARMS; k++) {
		wall_med[k] = median(wall[k], iterations);
		cpu_med[k] = median(cpu[k], iterations);
		free(wall[k]);
		free(cpu[k]);
	}
}

static void test_same_cost(void **state)
{
	const char *env = getenv("PGD_TIMING_ITERATIONS");
	size_t iterations = env != NULL ? strtoul(env, NULL, 10) : DEFAULT_ITERATIONS;
	double wall[NARMS], cpu[NARMS], sw = 0, sc = 0;

	(void)state;
	if (iterations < ORDERS)
		iterations = ORDERS;
	iterations -= iterations % ORDERS;
	for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
		measure(iterations, wall, cpu);
		sw = spread(wall, NARMS);
		sc = spread(cpu, NARMS);
		print_message("# attempt %d, %zu iterations per arm, medians in ms:\n", attempt,
		              iterations);
		for (size_t k = 0; k < NARMS; k++)
			print_message("#   %-15s wall-clock %8.3f  CPU %8.3f\n", arms[k].name,
			              wall[k], cpu[k]);
		print_message("#   spread: wall-clock %.1f%%, CPU %.1f%%\n", (sw - 1) * 100,
		              (sc - 1) * 100);
		if (sw <= MAX_SPREAD && sc <= MAX_SPREAD)
			break;
	}
	if (sw > MAX_SPREAD || sc > MAX_SPREAD)
		fail_msg("the medians differ by %.1f%% (wall-clock) and %.1f%% (CPU), more than "
		         "%.0f%%: response time tells who exists or has no usable hash",
		         (sw - 1) * 100, (sc - 1) * 100, (MAX_SPREAD - 1) * 100);
}

static int setup(void **state)
{
	(void)state;
	pgd_test_admin_sql(fixtures);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pgd_test_admin_sql("DROP TABLE IF EXISTS timing_users;");
	return 0;
}

/* pam_wrapper copies PAM_WRAPPER_SERVICE_DIR when the process starts: write it, then fork. */
static int run_in_child(char **argv)
{
	char conf[1024];

	/*
	 * The admin conninfo (unix socket, trust) rather than the module's (TCP, SCRAM): the
	 * SCRAM handshake's PBKDF2 and its noise would drown the one hash being compared.
	 */
	snprintf(conf, sizeof(conf), conf_format, pgd_test_env("PGD_TEST_ADMIN"));
	pgd_test_write_service("timing", "", conf, 0600, 0);
	return pgd_test_run_in_child(argv);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_cost),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL)
		return run_in_child(argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
