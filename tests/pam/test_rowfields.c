// SPDX-License-Identifier: MIT
/*
 * The row fields by which Dovecot fails a login whatever the password, through the real libpam
 * (under pam_wrapper) and the fixtures' users table: fail (any non-NULL value), allow_real_nets
 * (allow_nets against PAM_RHOST: no proxy stands between a PAM caller and us) and Dovecot
 * 2.4.2's check_client_fp, check_client_cert_fp, check_client_pubkey_fp (a PAM login has no TLS
 * client certificate: always refused). Each refusal is one log line naming the field, for
 * authenticate (PAM_AUTH_ERR) and acct_mgmt (PAM_PERM_DENIED) alike.
 *
 * Environment: as test_pam.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

#define ROW(cols)                                                                                  \
	"driver = pgsql\nconnect = %CONNECT%\npassword_query = SELECT password, " cols             \
	" FROM users WHERE userid = '%n' AND domain = '%d'\n"

static const struct pgd_test_service services[] = {
    {"fail", ROW("'y' AS fail")},
    {"failempty", ROW("'' AS fail")},
    {"failnull", ROW("NULL::text AS fail")},
    {"realnets", ROW("'192.0.2.0/24, 2001:db8::/32' AS allow_real_nets")},
    {"reallocal", ROW("'local' AS allow_real_nets")},
    {"realnull", ROW("NULL::text AS allow_real_nets")},
    /* both lists apply */
    {"bothnets", ROW("'192.0.2.0/24' AS allow_nets, '192.0.2.128/25' AS allow_real_nets")},
    {"fp", ROW("'ab:cd:ef' AS check_client_fp")},
    {"certfp", ROW("'ab:cd:ef' AS check_client_cert_fp")},
    {"pubkeyfp", ROW("'' AS check_client_pubkey_fp")},
    {"fpnull", ROW("NULL::text AS check_client_fp")},
};

#define USER "plain@example.org"
#define PW "plain pw"

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)msg;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		r[i].resp = strdup((const char *)data);
	*resp = r;
	return PAM_SUCCESS;
}

/* Lines the module logged: pam_wrapper's syslog lines, but for libpam's own ("_pam_..."). */
static int module_lines(const char *log)
{
	int n = 0;

	for (const char *p = log; (p = strstr(p, "SYSLOG(")) != NULL; p++) {
		const char *eol = strchr(p, '\n');
		const char *own = strstr(p, "): _pam_");

		if (own == NULL || (eol != NULL && own > eol))
			n++;
	}
	return n;
}

/*
 * One transaction: authenticate with password (acct_mgmt alone when password is NULL), from
 * rhost (may be NULL). Returns the PAM code; *log gets the log.
 */
static int run(const char *service, const char *rhost, const char *password, char **log)
{
	struct pam_conv conv = {.conv = converse, .appdata_ptr = (void *)(uintptr_t)password};
	pam_handle_t *pamh = NULL;
	int saved, fd, rc;

	saved = pgd_test_capture_start(&fd);
	assert_int_equal(pam_start(service, USER, &conv, &pamh), PAM_SUCCESS);
	if (rhost != NULL)
		pam_set_item(pamh, PAM_RHOST, rhost);
	rc =
	    password != NULL ? pam_authenticate(pamh, PAM_SILENT) : pam_acct_mgmt(pamh, PAM_SILENT);
	pam_end(pamh, rc);
	*log = pgd_test_capture_end(saved, fd);
	return rc;
}

static const struct {
	const char *service, *rhost;
	int auth, acct;
	const char *words; /* in the refusal's one line */
} cases[] = {
    {"fail", NULL, PAM_AUTH_ERR, PAM_PERM_DENIED, "the row sets fail"},
    {"fail", "192.0.2.9", PAM_AUTH_ERR, PAM_PERM_DENIED, "the row sets fail"},
    {"failempty", NULL, PAM_AUTH_ERR, PAM_PERM_DENIED, "the row sets fail"},
    {"failnull", NULL, PAM_SUCCESS, PAM_SUCCESS, NULL},
    {"realnets", "192.0.2.9", PAM_SUCCESS, PAM_SUCCESS, NULL},
    {"realnets", "2001:db8::1", PAM_SUCCESS, PAM_SUCCESS, NULL},
    {"realnets", "198.51.100.1", PAM_AUTH_ERR, PAM_PERM_DENIED,
     "allow_real_nets: 198.51.100.1 is not in the allowed networks"},
    {"realnets", NULL, PAM_AUTH_ERR, PAM_PERM_DENIED,
     "allow_real_nets: remote address not known and 'local' not listed"},
    {"reallocal", NULL, PAM_SUCCESS, PAM_SUCCESS, NULL},
    {"reallocal", "192.0.2.9", PAM_AUTH_ERR, PAM_PERM_DENIED, "allow_real_nets:"},
    {"realnull", "198.51.100.1", PAM_SUCCESS, PAM_SUCCESS, NULL},
    {"bothnets", "192.0.2.200", PAM_SUCCESS, PAM_SUCCESS, NULL},
    {"bothnets", "192.0.2.9", PAM_AUTH_ERR, PAM_PERM_DENIED,
     "allow_real_nets: 192.0.2.9 is not in the allowed networks"},
    {"bothnets", "198.51.100.1", PAM_AUTH_ERR, PAM_PERM_DENIED, "allow_nets: 198.51.100.1"},
    {"fp", NULL, PAM_AUTH_ERR, PAM_PERM_DENIED,
     "the row sets check_client_fp: a login through PAM has no TLS client certificate"},
    {"certfp", "192.0.2.9", PAM_AUTH_ERR, PAM_PERM_DENIED, "the row sets check_client_cert_fp"},
    {"pubkeyfp", NULL, PAM_AUTH_ERR, PAM_PERM_DENIED, "the row sets check_client_pubkey_fp"},
    {"fpnull", NULL, PAM_SUCCESS, PAM_SUCCESS, NULL},
};

static void check_one(size_t i, const char *op, int rc, int want, const char *log)
{
	if (rc != want)
		fail_msg("%s from %s, %s: %s, expected %s; log: %s", cases[i].service,
		         cases[i].rhost != NULL ? cases[i].rhost : "(no PAM_RHOST)", op,
		         pam_strerror(NULL, rc), pam_strerror(NULL, want), log);
	if (cases[i].words != NULL &&
	    (strstr(log, cases[i].words) == NULL || module_lines(log) != 1))
		fail_msg("%s, %s: no one line saying \"%s\": %s", cases[i].service, op,
		         cases[i].words, log);
}

static void test_row_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *log = NULL;
		int rc = run(cases[i].service, cases[i].rhost, PW, &log);

		check_one(i, "authenticate", rc, cases[i].auth, log);
		free(log);
		rc = run(cases[i].service, cases[i].rhost, NULL, &log);
		check_one(i, "acct_mgmt", rc, cases[i].acct, log);
		free(log);
	}
}

/* A wrong password is a wrong password, and says nothing of the row's fields. */
static void test_wrong_password_says_nothing_of_the_row(void **state)
{
	static const char *const refusing[] = {"fail", "realnets", "fp"};

	(void)state;
	for (size_t i = 0; i < sizeof(refusing) / sizeof(refusing[0]); i++) {
		char *log = NULL;

		assert_int_equal(run(refusing[i], NULL, "wrong", &log), PAM_AUTH_ERR);
		if (strstr(log, "the row sets") != NULL || strstr(log, "allow_real_nets") != NULL)
			fail_msg("%s: a wrong password told the row's fields: %s", refusing[i],
			         log);
		free(log);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_row_fields),
	    cmocka_unit_test(test_wrong_password_says_nothing_of_the_row),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") != NULL)
		return cmocka_run_group_tests(tests, NULL, NULL);
	return pgd_test_run_services(argv, services, sizeof(services) / sizeof(services[0]), "");
}
