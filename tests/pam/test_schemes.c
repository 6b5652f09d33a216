// SPDX-License-Identifier: MIT
/*
 * Every scheme through the whole path: real libpam (pam_wrapper) loads the module, which reads
 * the row from a real PostgreSQL. For each scheme this build knows, the first doveadm-made vector
 * that matches (the .tsv files of tests/vectors) becomes one user of table "schemes"; its password
 * must log in, and a wrong one must not. Costs above the module's default caps are refused.
 *
 * Environment: PGD_MODULE, PGD_TEST_ADMIN, PGD_TEST_CONNINFO, PGD_VECTORS,
 * PAM_WRAPPER_SERVICE_DIR (see tests/pam/meson.build).
 */
#include <errno.h>
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

#include "hash.h"
#include "pam_test_util.h"
#include "vector_hex.h"

#define SERVICE "schemes"
#define CONF                                                                                       \
	"driver = pgsql\nconnect = %CONNECT%\n"                                                    \
	"password_query = SELECT userid AS user, password FROM schemes WHERE userid = '%u'\n"
/* DIGEST-MD5 hashes the login name in: its row must be the one made for this name. */
#define DIGEST_USER "bob@example.org"
#define MAX_ROWS 64

struct scheme_row {
	char name[64];
	char user[128];
	char password[512];
	char stored[1024];
};

static struct scheme_row rows[MAX_ROWS];
static size_t n_rows;

/* "{NAME}..." exactly, in Dovecot's spelling */
static bool has_scheme(const char *stored, const char *name)
{
	size_t n = strlen(name);

	return stored[0] == '{' && strncmp(stored + 1, name, n) == 0 && stored[n + 1] == '}';
}

/* The first usable matching row of file for scheme name; with_user: the file has a login field */
static bool pick(const char *file, bool with_user, const char *name, struct scheme_row *out)
{
	char path[4096], line[8192];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", pgd_test_env("PGD_VECTORS"), file);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *field[4], *end = strchr(line, '\n');
		int nf = with_user ? 4 : 3;
		const char *user;

		if (end != NULL)
			*end = '\0';
		if (line[0] == '#' || strncmp(line, "match\t", 6) != 0)
			continue;
		field[0] = line;
		for (int i = 1; i < nf; i++) {
			field[i] = strchr(field[i - 1], '\t');
			if (field[i] == NULL)
				fail_msg("%s: short line", path);
			*field[i]++ = '\0';
		}
		user = with_user ? field[2] : "";
		/* "{PLAIN-TRUNC}0-" lets every password in: no use for a wrong-password check */
		if (field[1][0] == '\0' || !has_scheme(field[nf - 1], name) ||
		    strncmp(field[nf - 1], "{PLAIN-TRUNC}0-", 15) == 0 ||
		    (user[0] != '\0' && strcmp(user, DIGEST_USER) != 0) ||
		    strlen(field[nf - 1]) >= sizeof(out->stored) ||
		    !pgd_vector_unhex(field[1], out->password, sizeof(out->password)))
			continue;
		snprintf(out->stored, sizeof(out->stored), "%s", field[nf - 1]);
		found = true;
	}
	fclose(f);
	return found;
}

/* One matching vector per scheme this build knows, from the vector files. */
static void collect_rows(void)
{
	const char *name;

	for (size_t i = 0; (name = pgd_hash_scheme_name(i)) != NULL; i++) {
		struct scheme_row *r = &rows[n_rows];

		if (n_rows == MAX_ROWS)
			fail_msg("too many schemes");
		/* Dovecot 2.4's, unknown to the 2.3 conf and vectors here: tests/dovecot has it. */
		if (strcmp(name, "ARGON2") == 0)
			continue;
		if (!pick("all-schemes.tsv", true, name, r) &&
		    !pick("crypt-schemes.tsv", false, name, r))
			fail_msg("no matching vector for %s", name);
		snprintf(r->name, sizeof(r->name), "%s", name);
		if (strcmp(name, "DIGEST-MD5") == 0) {
			snprintf(r->user, sizeof(r->user), "%s", DIGEST_USER);
		} else {
			snprintf(r->user, sizeof(r->user), "s-%s", name);
			for (char *p = r->user; *p != '\0'; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
		}
		n_rows++;
	}
}

static void exec_ok(PGconn *conn, PGresult *res, const char *what)
{
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", what, PQerrorMessage(conn));
	PQclear(res);
}

/* Table "schemes": one user per scheme, and rows the module must refuse. */
static int setup(void **state)
{
	PGconn *conn = pgd_test_admin();

	(void)state;
	exec_ok(conn,
	        PQexec(conn,
	               "DROP TABLE IF EXISTS schemes; "
	               "CREATE TABLE schemes (userid text PRIMARY KEY, password text NOT NULL); "
	               "GRANT SELECT ON schemes TO PUBLIC;"),
	        "create table");
	for (size_t i = 0; i < n_rows; i++) {
		const char *params[2] = {rows[i].user, rows[i].stored};

		exec_ok(conn,
		        PQexecParams(conn, "INSERT INTO schemes VALUES ($1, $2)", 2, NULL, params,
		                     NULL, NULL, 0),
		        rows[i].name);
	}
	/* costs above the module's default caps, and what Dovecot no longer knows */
	exec_ok(
	    conn,
	    PQexec(conn,
	           "INSERT INTO schemes VALUES "
	           "('costly-argon2', '{ARGON2ID}$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHQ$"
	           "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'), "
	           "('costly-pbkdf2', '{PBKDF2}$1$salt$4294967295$"
	           "0000000000000000000000000000000000000000'), "
	           "('costly-otp', '{OTP}sha1 -1 seed 0011223344556677'), "
	           "('zero-pbkdf2', '{PBKDF2}$1$salt$0$0000000000000000000000000000000000000000'), "
	           "('gone-ntlm', '{NTLM}8846f7eaee8fb117ad06bdd830b7586c');"),
	    "insert refused rows");
	PQfinish(conn);
	return 0;
}

/* The right password logs in, a wrong one does not, and the log never shows the password. */
static void test_scheme(void **state)
{
	const struct scheme_row *r = *state;
	char wrong[600];
	char *log = NULL;
	int rc = pgd_test_login(SERVICE, r->user, r->password, PAMTEST_AUTHENTICATE, &log);

	if (rc != PAM_SUCCESS)
		fail_msg("%s: right password gives %s; log: %s", r->name, pam_strerror(NULL, rc),
		         log);
	if (strlen(r->password) >= 3 && strstr(log, r->password) != NULL)
		fail_msg("%s: the password appears in the log", r->name);
	free(log);
	snprintf(wrong, sizeof(wrong), "%s-wrong", r->password);
	rc = pgd_test_login(SERVICE, r->user, wrong, PAMTEST_AUTHENTICATE, &log);
	/* PLAIN-TRUNC lets a longer password in when its start matches: Dovecot does too */
	if (strcmp(r->name, "PLAIN-TRUNC") == 0)
		assert_int_equal(rc, PAM_SUCCESS);
	else if (rc != PAM_AUTH_ERR)
		fail_msg("%s: wrong password gives %s; log: %s", r->name, pam_strerror(NULL, rc),
		         log);
	free(log);
	rc = pgd_test_login(SERVICE, r->user, "x", PAMTEST_AUTHENTICATE, NULL);
	if (rc != PAM_AUTH_ERR)
		fail_msg("%s: password x gives %s", r->name, pam_strerror(NULL, rc));
}

static void test_refused_rows(void **state)
{
	static const struct {
		const char *user, *log;
	} cases[] = {
	    {"costly-argon2", "above cap"},
	    {"costly-pbkdf2", "above cap"},
	    {"costly-otp", "cap"},
	    {"zero-pbkdf2", "rounds 0"},
	    {"gone-ntlm", "unknown scheme NTLM"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *log = NULL;
		int rc =
		    pgd_test_login(SERVICE, cases[i].user, "secret", PAMTEST_AUTHENTICATE, &log);

		if (rc != PAM_AUTH_ERR)
			fail_msg("%s: got %s", cases[i].user, pam_strerror(NULL, rc));
		if (strstr(log, cases[i].log) == NULL)
			fail_msg("%s: log lacks \"%s\": %s", cases[i].user, cases[i].log, log);
		free(log);
	}
}

/* pam_wrapper copies PAM_WRAPPER_SERVICE_DIR when the process starts: write the pam.d file
 * first, then run the tests in a child started afterwards (as test_pam.c does). */
static int run_in_child(char **argv)
{
	pgd_test_write_service(SERVICE, "", CONF, 0600, 0);
	return pgd_test_run_in_child(argv);
}

int main(int argc, char **argv)
{
	/* Entries past the last row stay empty (no name, no function): cmocka passes them over. */
	struct CMUnitTest tests[MAX_ROWS + 1] = {0};
	size_t n = 0;

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL)
		return run_in_child(argv);
	collect_rows();
	/* one TAP line per scheme */
	for (size_t i = 0; i < n_rows; i++)
		tests[n++] = (struct CMUnitTest){
		    .name = rows[i].name, .test_func = test_scheme, .initial_state = &rows[i]};
	tests[n++] =
	    (struct CMUnitTest){.name = "test_refused_rows", .test_func = test_refused_rows};
	return cmocka_run_group_tests_name("schemes", tests, setup, NULL);
}
