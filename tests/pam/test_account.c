// SPDX-License-Identifier: MIT
/*
 * Accounts, password changes, upgrade on login, session and audit queries, through the real
 * libpam (under pam_wrapper) against the test's PostgreSQL, with a table of its own. New
 * hashes are checked with our verifier and with the real `doveadm pw -t`.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "db/db.h"
#include "hash.h"
#include "pam_test_util.h"
#include "query/query.h"

#define PW_QUERY                                                                                   \
	"password_query = SELECT userid AS user, password, "                                       \
	"CASE WHEN NOT active THEN 'y' END AS nologin, reason, nets AS allow_nets, "               \
	"CASE WHEN nopw THEN 'y' END AS nopassword, expired AS account_expired, "                  \
	"pw_expired AS password_expired FROM acct_users WHERE userid = '%n'\n"
#define ACCOUNT_QUERY                                                                              \
	"account_query = SELECT CASE WHEN NOT active THEN 'y' END AS nologin, reason, "            \
	"expired AS account_expired, pw_expired AS password_expired, nets AS allow_nets "          \
	"FROM acct_users WHERE userid = '%n'\n"
#define UPDATE_QUERY                                                                               \
	"password_update_query = UPDATE acct_users SET password = %{hash} WHERE userid = '%n'\n"
#define AUDIT                                                                                      \
	"auth_success_query = UPDATE acct_users SET last_login = now(), last_ip = '%r' "           \
	"WHERE userid = '%n'\n"                                                                    \
	"auth_failure_query = UPDATE acct_users SET failures = failures + 1 WHERE userid = '%n'\n" \
	"session_open_query = UPDATE acct_users SET sessions = sessions + 1 WHERE userid = '%n'\n" \
	"session_close_query = UPDATE acct_users SET sessions = sessions - 1 WHERE userid = "      \
	"'%n'\n"
#define BASE "driver = pgsql\nconnect = %CONNECT%\n" PW_QUERY UPDATE_QUERY

static const struct pgd_test_service services[] = {
    {"acct", BASE ACCOUNT_QUERY AUDIT},
    {"reuse", BASE},
    {"nopw", BASE "allow_nopassword = yes\n"},
    {"rehash", BASE "rehash = yes\n"},
    /* Dovecot 2.4.3's default scheme: a bare "$6$..." is a crypt value */
    {"rehashcrypt", BASE "rehash = yes\ndefault_pass_scheme = CRYPT\n"},
    {"rehashany", BASE "rehash = yes\nrehash_any_scheme = yes\n"},
    {"rehashro",
     "driver = pgsql\n"
     "connect = %CONNECT% options=-cdefault_transaction_read_only=on\n" PW_QUERY UPDATE_QUERY
     "rehash = yes\n"},
    {"brokenaudit", BASE "auth_success_query = UPDATE no_such_table SET x = 1\n"
                         "session_open_query = UPDATE no_such_table SET x = 1\n"},
    {"noupdate", "driver = pgsql\nconnect = %CONNECT%\n" PW_QUERY},
    /* writes the server refuses with a message that quotes the new hash: a trigger's RAISE
     * (and NOTICE) on acct_guarded, a hash bound to an integer column */
    {"guarded", "driver = pgsql\nconnect = %CONNECT%\n"
                "password_query = SELECT password FROM acct_guarded WHERE userid = '%n'\n"
                "password_update_query = UPDATE acct_guarded SET password = %{hash} "
                "WHERE userid = '%n'\n"},
    {"checked", "driver = pgsql\nconnect = %CONNECT%\n"
                "password_query = SELECT password FROM acct_checked WHERE userid = '%n'\n"
                "password_update_query = UPDATE acct_checked SET password = %{hash} "
                "WHERE userid = '%n'\n"},
    {"badtype", "driver = pgsql\nconnect = %CONNECT%\n" PW_QUERY
                "password_update_query = UPDATE acct_users SET failures = %{hash} "
                "WHERE userid = '%n'\n"},
    /* conf B reads the same table but says every account expired */
    {"expiring", "driver = pgsql\nconnect = %CONNECT%\n"
                 "password_query = SELECT userid AS user, password, true AS account_expired "
                 "FROM acct_users WHERE userid = '%n'\n"},
};

/*
 * pam.d stacks whose auth and account lines name different confs or arguments: the auth line
 * of one service above, the account line of another, plus arguments.
 */
static const struct {
	const char *name;
	const char *auth_from;
	const char *account_from;
	const char *account_args;
} stacks[] = {
    {"a-then-b", "reuse", "expiring", ""},
    {"a-then-a-format", "reuse", "reuse", " username_format=%Uu"},
    {"a-then-a-debug", "reuse", "reuse", " debug"},
};

static PGconn *admin;

static void sql(const char *text)
{
	pgd_test_sql(admin, text);
}

/* One column of a user's row, as text ("" for NULL); free it. */
static char *column(const char *userid, const char *col)
{
	return pgd_test_column(admin, "acct_users", userid, col);
}

/* Adds a user whose password is a fresh hash of password in scheme (or stored as given). */
static void add_user(const char *userid, const char *scheme, const char *password,
                     const char *extra_cols, const char *extra_vals)
{
	char *stored = NULL;
	char q[1024];
	const char *params[1];
	PGresult *res;

	if (scheme != NULL)
		assert_int_equal(pgd_hash_generate(scheme, password, 0, &stored), PGD_HASH_MATCH);
	params[0] = scheme != NULL ? stored : password;
	snprintf(q, sizeof(q), "INSERT INTO acct_users (userid, password%s) VALUES ('%s', $1%s)",
	         extra_cols, userid, extra_vals);
	res = PQexecParams(admin, q, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", q, PQerrorMessage(admin));
	PQclear(res);
	free(stored);
}

/*
 * Adds a user whose stored value is made by the real `doveadm pw -s scheme [-r rounds]`, with
 * the {SCHEME} prefix replaced by prefix (NULL: kept as doveadm wrote it, "": none).
 */
static void add_doveadm_user(const char *userid, const char *scheme, unsigned long rounds,
                             const char *password, const char *prefix)
{
	char cmd[512], line[512], stored[600], *body;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "doveadm pw -s %s -r %lu -p '%s'", scheme, rounds, password);
	if (rounds == 0)
		snprintf(cmd, sizeof(cmd), "doveadm pw -s %s -p '%s'", scheme, password);
	p = popen(cmd, "r");
	if (p == NULL || fgets(line, sizeof(line), p) == NULL || pclose(p) != 0)
		fail_msg("%s failed", cmd);
	line[strcspn(line, "\n")] = '\0';
	body = strchr(line, '}');
	if (line[0] != '{' || body == NULL)
		fail_msg("%s wrote no {SCHEME} value", cmd);
	if (prefix == NULL)
		snprintf(stored, sizeof(stored), "%s", line);
	else
		snprintf(stored, sizeof(stored), "%s%s", prefix, body + 1);
	add_user(userid, NULL, stored, "", "");
}

/* The conversation: answers every prompt in turn from a NULL-terminated list. */
struct answers {
	const char *const *list;
	size_t next;
};

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct answers *a = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (a->list[a->next] == NULL) {
			free(r);
			return PAM_CONV_ERR;
		}
		r[i].resp = strdup(a->list[a->next++]);
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* FLIP runs flip_sql on the admin connection, RHOST sets PAM_RHOST to flip_rhost. */
enum step { AUTH, ACCT, CHAUTHTOK, OPEN, CLOSE, FLIP, RHOST, USER, END };

/* The libpam call of each step that is one. */
static int (*const pam_call[])(pam_handle_t *, int) = {
    [AUTH] = pam_authenticate, [ACCT] = pam_acct_mgmt,      [CHAUTHTOK] = pam_chauthtok,
    [OPEN] = pam_open_session, [CLOSE] = pam_close_session,
};

static const char *flip_sql;
static const char *flip_rhost;
static const char *flip_user;

static void sql(const char *text);

/*
 * One PAM transaction: pam_start(service, user), PAM_RHOST = rhost (may be NULL), then each
 * step in order; rcs[i] gets step i's code. The log goes to *log when log is not NULL.
 */
static void transaction(const char *service, const char *user, const char *rhost,
                        const char *const *answers, const enum step *steps, int *rcs, char **log)
{
	struct answers a = {.list = answers};
	struct pam_conv conv = {.conv = converse, .appdata_ptr = &a};
	pam_handle_t *pamh = NULL;
	int saved, fd;

	saved = pgd_test_capture_start(&fd);
	assert_int_equal(pam_start(service, user, &conv, &pamh), PAM_SUCCESS);
	if (rhost != NULL)
		pam_set_item(pamh, PAM_RHOST, rhost);
	for (int i = 0; steps[i] != END; i++) {
		if (steps[i] == FLIP) {
			sql(flip_sql);
			rcs[i] = PAM_SUCCESS;
		} else if (steps[i] == RHOST) {
			rcs[i] = pam_set_item(pamh, PAM_RHOST, flip_rhost);
		} else if (steps[i] == USER) {
			rcs[i] = pam_set_item(pamh, PAM_USER, flip_user);
		} else {
			rcs[i] = pam_call[steps[i]](pamh, PAM_SILENT);
		}
	}
	pam_end(pamh, PAM_SUCCESS);
	if (log != NULL)
		*log = pgd_test_capture_end(saved, fd);
	else
		free(pgd_test_capture_end(saved, fd));
}

static int auth(const char *service, const char *user, const char *rhost, const char *password)
{
	const char *answers[] = {password, NULL};
	const enum step steps[] = {AUTH, END};
	int rc[1];

	transaction(service, user, rhost, answers, steps, rc, NULL);
	return rc[0];
}

static int auth_log(const char *service, const char *user, const char *rhost, const char *password,
                    char **log)
{
	const char *answers[] = {password, NULL};
	const enum step steps[] = {AUTH, END};
	int rc[1];

	transaction(service, user, rhost, answers, steps, rc, log);
	return rc[0];
}

/* How many lines of log hold needle. */
static int lines_with(const char *log, const char *needle)
{
	int n = 0;

	for (const char *line = log; line != NULL && *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

		if (memmem(line, len, needle, strlen(needle)) != NULL)
			n++;
		line = end != NULL ? end + 1 : NULL;
	}
	return n;
}

/* Lines the module logged: pam_wrapper's syslog lines, but for libpam's own ("_pam_..."). */
static int module_lines(const char *log)
{
	return lines_with(log, "SYSLOG(") - lines_with(log, "): _pam_");
}

/* authenticate + acct_mgmt in one transaction, as saslauthd does; returns acct_mgmt's code. */
static int auth_acct(const char *service, const char *user, const char *rhost, const char *password,
                     int auth_expected)
{
	const char *answers[] = {password, NULL};
	const enum step steps[] = {AUTH, ACCT, END};
	int rc[2];

	transaction(service, user, rhost, answers, steps, rc, NULL);
	assert_int_equal(rc[0], auth_expected);
	return rc[1];
}

static int acct_only(const char *service, const char *user, const char *rhost, char **log)
{
	const char *answers[] = {NULL};
	const enum step steps[] = {ACCT, END};
	int rc[1];

	transaction(service, user, rhost, answers, steps, rc, log);
	return rc[0];
}

static bool doveadm_verifies(const char *stored, const char *password)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "doveadm pw -t '%s' -p '%s' >/dev/null 2>&1", stored, password);
	return system(cmd) == 0;
}

static bool we_verify(const char *stored, const char *password)
{
	struct pgd_hash_policy policy = {.max_crypt_rounds = PGD_DEFAULT_MAX_CRYPT_ROUNDS,
	                                 .max_bcrypt_cost = PGD_DEFAULT_MAX_BCRYPT_COST};

	return pgd_hash_verify(stored, password, &policy, NULL) == PGD_HASH_MATCH;
}

static void test_account_query(void **state)
{
	char *log = NULL;

	(void)state;
	assert_int_equal(acct_only("acct", "ok", NULL, NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "expired", NULL, NULL), PAM_ACCT_EXPIRED);
	assert_int_equal(acct_only("acct", "pwexp", NULL, NULL), PAM_NEW_AUTHTOK_REQD);
	assert_int_equal(acct_only("acct", "disabled", NULL, &log), PAM_PERM_DENIED);
	assert_non_null(strstr(log, "moved to the new server"));
	free(log);
	assert_int_equal(acct_only("acct", "nobody", NULL, NULL), PAM_USER_UNKNOWN);
	/* allow_nets against PAM_RHOST */
	assert_int_equal(acct_only("acct", "nets", "192.0.2.9", NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "nets", "2001:db8::1", NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "nets", "::ffff:192.0.2.10", NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "nets", "198.51.100.1", &log), PAM_PERM_DENIED);
	assert_non_null(strstr(log, "198.51.100.1 is not in the allowed networks"));
	free(log);
	assert_int_equal(acct_only("acct", "nets", NULL, NULL), PAM_PERM_DENIED);
	assert_int_equal(acct_only("acct", "nets", "mail.example.org", NULL), PAM_PERM_DENIED);
	assert_int_equal(acct_only("acct", "netslocal", NULL, NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "netslocal", "", NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "netslocal", "192.0.2.9", NULL), PAM_PERM_DENIED);
	/* brackets and zone ids, as Dovecot reads them */
	assert_int_equal(acct_only("acct", "nets", "[2001:db8::1]", NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "nets", "fe80::1%eth0", NULL), PAM_PERM_DENIED);
	assert_int_equal(acct_only("acct", "linklocal", "fe80::1%eth0", NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "linklocal", "[fe80::1%2]", NULL), PAM_SUCCESS);
}

/*
 * "local" is no PAM_RHOST only: a host name (sshd with UseDNS yes), an IPv4 address in
 * brackets, an IPv6 address with a zone id or garbage is a remote host and matches nothing.
 */
static const char *const not_local[] = {
    "attacker.example.net",
    "[192.0.2.1]",
    "fe80::1%eth0",
    "garbage",
    "192.0.2.1:22",
    "localhost",
    "192.0.2.1\nFAKE: accepted",
};

static void test_local_is_no_remote_host(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(not_local) / sizeof(not_local[0]); i++) {
		char *log = NULL;
		int rc = acct_only("acct", "netslocal", not_local[i], &log);

		if (rc != PAM_PERM_DENIED)
			fail_msg("acct_mgmt from %s: %s; log: %s", not_local[i],
			         pam_strerror(NULL, rc), log);
		assert_int_equal(module_lines(log), 1);
		assert_null(strstr(log, "\nFAKE")); /* escaped, no forged line */
		assert_non_null(strstr(log, strchr(not_local[i], '%') != NULL
		                                ? "is not in the allowed networks"
		                                : "is not an IP address"));
		free(log);
		log = NULL;
		rc = auth_log("reuse", "netslocal", not_local[i], "netslocal pw", &log);
		if (rc != PAM_AUTH_ERR)
			fail_msg("authenticate from %s: %s; log: %s", not_local[i],
			         pam_strerror(NULL, rc), log);
		assert_int_equal(module_lines(log), 1);
		assert_null(strstr(log, "\nFAKE"));
		assert_non_null(strstr(log, "authentication failure;"));
		free(log);
	}
	/* a host name is refused where an address list would take any address, too */
	assert_int_equal(acct_only("acct", "anynet", "attacker.example.net", NULL),
	                 PAM_PERM_DENIED);
	assert_int_equal(acct_only("acct", "anynet", "203.0.113.9", NULL), PAM_SUCCESS);
	assert_int_equal(acct_only("acct", "anynet", NULL, NULL), PAM_SUCCESS);
}

/* Without account_query, acct_mgmt after authenticate uses what authenticate read. */
static void test_account_after_authenticate(void **state)
{
	(void)state;
	assert_int_equal(auth_acct("reuse", "ok", NULL, "ok pw", PAM_SUCCESS), PAM_SUCCESS);
	assert_int_equal(auth_acct("reuse", "expired", NULL, "expired pw", PAM_SUCCESS),
	                 PAM_ACCT_EXPIRED);
	assert_int_equal(auth_acct("reuse", "pwexp", NULL, "pwexp pw", PAM_SUCCESS),
	                 PAM_NEW_AUTHTOK_REQD);
	/* nologin and allow_nets already refuse the password, as in Dovecot */
	assert_int_equal(auth_acct("reuse", "disabled", NULL, "disabled pw", PAM_AUTH_ERR),
	                 PAM_PERM_DENIED);
	/* saslauthd never reaches acct_mgmt then: authenticate's one line carries the reason */
	{
		char *log = NULL;

		assert_int_equal(auth_log("reuse", "disabled", NULL, "disabled pw", &log),
		                 PAM_AUTH_ERR);
		if (strstr(log, "(account disabled: nologin, reason: moved to the new server)") ==
		        NULL ||
		    module_lines(log) != 1)
			fail_msg("nologin: no one line with the reason: %s", log);
		free(log);
		log = NULL;
		/* printable: a newline in the reason forges no line */
		assert_int_equal(auth_log("reuse", "disabledfake", NULL, "disabledfake pw", &log),
		                 PAM_AUTH_ERR);
		if (strstr(log, "reason: gone") == NULL || strstr(log, "\nFAKE") != NULL ||
		    module_lines(log) != 1)
			fail_msg("nologin reason with a newline: %s", log);
		free(log);
		log = NULL;
		/* a wrong password says nothing of nologin, nor of its reason */
		assert_int_equal(auth_log("reuse", "disabled", NULL, "wrong", &log), PAM_AUTH_ERR);
		if (strstr(log, "moved to the new server") != NULL ||
		    strstr(log, "nologin") != NULL)
			fail_msg("a wrong password told the reason: %s", log);
		free(log);
	}
	assert_int_equal(auth("reuse", "nets", "192.0.2.9", "nets pw"), PAM_SUCCESS);
	assert_int_equal(auth("reuse", "nets", "198.51.100.1", "nets pw"), PAM_AUTH_ERR);
	assert_int_equal(auth("reuse", "nets", "198.51.100.1", "wrong"), PAM_AUTH_ERR);
}

/*
 * What authenticate read is reused by acct_mgmt on the same conf only: another conf, other
 * lookup arguments, another PAM_RHOST or another PAM_USER look the user up again.
 */
static void test_account_bound_to_its_conf(void **state)
{
	const char *answers[] = {"ok pw", NULL};
	const enum step auth_acct_steps[] = {AUTH, ACCT, END};
	const enum step flip_steps[] = {AUTH, FLIP, ACCT, END};
	const enum step rhost_steps[] = {AUTH, FLIP, RHOST, ACCT, END};
	const enum step user_steps[] = {AUTH, USER, ACCT, END};
	int rc[4];

	(void)state;
	/* conf B alone says expired; after authenticate on conf A it still does */
	assert_int_equal(acct_only("expiring", "ok", NULL, NULL), PAM_ACCT_EXPIRED);
	transaction("a-then-b", "ok", NULL, answers, auth_acct_steps, rc, NULL);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_int_equal(rc[1], PAM_ACCT_EXPIRED);
	/* the same file with another username_format on the account line: its own lookup */
	assert_int_equal(acct_only("a-then-a-format", "ok", NULL, NULL), PAM_USER_UNKNOWN);
	transaction("a-then-a-format", "ok", NULL, answers, auth_acct_steps, rc, NULL);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_int_equal(rc[1], PAM_USER_UNKNOWN);
	/* the same conf (debug changes no lookup): the row authenticate read, even if the
	 * table changed since; the control shows the change is seen by a lookup */
	flip_sql = "UPDATE acct_users SET expired = true WHERE userid = 'flip'";
	answers[0] = "flip pw";
	transaction("a-then-a-debug", "flip", NULL, answers, flip_steps, rc, NULL);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_int_equal(rc[2], PAM_SUCCESS);
	assert_int_equal(acct_only("a-then-a-debug", "flip", NULL, NULL), PAM_ACCT_EXPIRED);
	sql("UPDATE acct_users SET expired = false WHERE userid = 'flip'");
	/* PAM_RHOST changed between the two: its own lookup */
	flip_rhost = "192.0.2.50";
	transaction("a-then-a-debug", "flip", NULL, answers, rhost_steps, rc, NULL);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_int_equal(rc[3], PAM_ACCT_EXPIRED);
	sql("UPDATE acct_users SET expired = false WHERE userid = 'flip'");
	/* PAM_USER changed between the two: the new user's own row */
	flip_user = "expired";
	answers[0] = "ok pw";
	transaction("a-then-a-debug", "ok", NULL, answers, user_steps, rc, NULL);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_int_equal(rc[2], PAM_ACCT_EXPIRED);
}

static void test_nopassword(void **state)
{
	(void)state;
	/* refused unless the conf allows it; then any password does */
	assert_int_equal(auth("reuse", "nopw", NULL, "anything"), PAM_AUTH_ERR);
	assert_int_equal(auth("nopw", "nopw", NULL, "anything"), PAM_SUCCESS);
	assert_int_equal(auth("nopw", "ok", NULL, "wrong"), PAM_AUTH_ERR);
}

static void test_chauthtok(void **state)
{
	const char *right[] = {"old pw", "new pw 2", "new pw 2", NULL};
	const char *wrong[] = {"not the old pw", "x1", "x1", NULL};
	const enum step steps[] = {CHAUTHTOK, END};
	char *before = column("change", "password"), *after, *log = NULL;
	int rc[1];

	(void)state;
	/* a wrong old password changes nothing */
	transaction("acct", "change", NULL, wrong, steps, rc, NULL);
	assert_int_equal(rc[0], PAM_AUTH_ERR);
	after = column("change", "password");
	assert_string_equal(after, before);
	free(after);
	/* no password_update_query: a configuration error */
	transaction("noupdate", "change", NULL, right, steps, rc, &log);
	assert_int_equal(rc[0], PAM_SERVICE_ERR);
	assert_non_null(strstr(log, "password_update_query not set"));
	free(log);
	/* the right one stores a SHA512-CRYPT hash Dovecot reads, never the plaintext */
	transaction("acct", "change", NULL, right, steps, rc, &log);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_null(strstr(log, "new pw 2"));
	free(log);
	after = column("change", "password");
	assert_true(strncmp(after, "{SHA512-CRYPT}$6$", 17) == 0);
	assert_null(strstr(after, "new pw 2"));
	assert_true(we_verify(after, "new pw 2"));
	assert_true(doveadm_verifies(after, "new pw 2"));
	assert_false(doveadm_verifies(after, "old pw"));
	free(after);
	free(before);
	assert_int_equal(auth("acct", "change", NULL, "new pw 2"), PAM_SUCCESS);
	assert_int_equal(auth("acct", "change", NULL, "old pw"), PAM_AUTH_ERR);
}

static void test_rehash(void **state)
{
	static const char *const weak[] = {"weak-plain-md5", "weak-md5-crypt", "weak-plain"};
	char *before, *after;

	(void)state;
	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		before = column(weak[i], "password");
		assert_int_equal(auth("rehash", weak[i], NULL, "weak pw"), PAM_SUCCESS);
		after = column(weak[i], "password");
		if (strncmp(after, "{SHA512-CRYPT}$6$", 17) != 0)
			fail_msg("%s: %s was not replaced: %s", weak[i], before, after);
		assert_true(we_verify(after, "weak pw"));
		assert_true(doveadm_verifies(after, "weak pw"));
		assert_int_equal(auth("rehash", weak[i], NULL, "weak pw"), PAM_SUCCESS);
		assert_int_equal(auth("rehash", weak[i], NULL, "wrong"), PAM_AUTH_ERR);
		free(before);
		free(after);
	}
	/* a hash as strong as update_scheme stays as it is; a failed login rehashes nothing */
	before = column("ok", "password");
	assert_int_equal(auth("rehash", "ok", NULL, "ok pw"), PAM_SUCCESS);
	after = column("ok", "password");
	assert_string_equal(before, after);
	free(before);
	free(after);
	before = column("weak-wrong", "password");
	assert_int_equal(auth("rehash", "weak-wrong", NULL, "wrong"), PAM_AUTH_ERR);
	after = column("weak-wrong", "password");
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* service's login of user with password succeeds; is the row then what it was? */
static bool login_keeps_row(const char *service, const char *user, const char *password)
{
	char *before = column(user, "password"), *after;
	bool same;

	assert_int_equal(auth(service, user, NULL, password), PAM_SUCCESS);
	after = column(user, "password");
	same = strcmp(before, after) == 0;
	if (!same)
		print_message("# %s: %s became %s\n", user, before, after);
	free(before);
	free(after);
	return same;
}

/*
 * Issue 18: rehash never trades a stronger value for update_scheme's 5000-round SHA512-CRYPT:
 * doveadm-made bcrypt cost 12, Argon2id, sha512crypt at 200000 rounds under {CRYPT} and bare
 * under default_pass_scheme = CRYPT stay as they are; MD5-CRYPT and 1000 rounds are upgraded.
 */
static void test_rehash_never_weakens(void **state)
{
	static const struct {
		const char *service, *user;
	} kept[] = {
	    {"rehash", "strong-blf12"},      {"rehash", "strong-crypt6"},
	    {"rehash", "strong-argon2"},     {"rehash", "strong-sha512"},
	    {"rehashcrypt", "strong-bare6"}, {"rehash", "other-sha256"},
	    {"rehashany", "any-crypt6"},     {"rehashany", "any-sha512"},
	};
	static const struct {
		const char *service, *user;
	} upgraded[] = {
	    {"rehash", "weak-doveadm-md5-crypt"}, {"rehash", "low-sha512"},
	    {"rehashcrypt", "low-bare6"},         {"rehashany", "any-blf12"},
	    {"rehashany", "other-sha256"},
	};
	char *after;

	(void)state;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		/* a build without libsodium refuses Argon2 */
		if (strcmp(kept[i].user, "strong-argon2") == 0 &&
		    !pgd_hash_scheme_known("ARGON2ID"))
			continue;
		if (!login_keeps_row(kept[i].service, kept[i].user, "strong pw"))
			fail_msg("%s: rehash replaced %s", kept[i].service, kept[i].user);
		/* and again: nothing left to do */
		assert_true(login_keeps_row(kept[i].service, kept[i].user, "strong pw"));
	}
	for (size_t i = 0; i < sizeof(upgraded) / sizeof(upgraded[0]); i++) {
		if (login_keeps_row(upgraded[i].service, upgraded[i].user, "strong pw"))
			fail_msg("%s: rehash kept %s", upgraded[i].service, upgraded[i].user);
		after = column(upgraded[i].user, "password");
		/* update_rounds 0: Dovecot's 5000, written without rounds= */
		if (strncmp(after, "{SHA512-CRYPT}$6$", 17) != 0 ||
		    strstr(after, "rounds=") != NULL)
			fail_msg("%s: %s", upgraded[i].user, after);
		assert_true(doveadm_verifies(after, "strong pw"));
		free(after);
		assert_true(login_keeps_row(upgraded[i].service, upgraded[i].user, "strong pw"));
	}
}

/* Eight logins of one weak user at once: all succeed and one strong hash remains. */
static void test_concurrent_rehash(void **state)
{
	int go[2], status, ok = 0;
	pid_t kids[8];
	char *after;

	(void)state;
	assert_int_equal(pipe(go), 0);
	fflush(NULL);
	for (int i = 0; i < 8; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			char c;

			close(go[1]);
			(void)read(go[0], &c, 1); /* all start when the pipe closes */
			_exit(auth("rehash", "concurrent", NULL, "weak pw") == PAM_SUCCESS ? 0 : 1);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 8; i++)
		if (waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	assert_int_equal(ok, 8);
	after = column("concurrent", "password");
	assert_true(strncmp(after, "{SHA512-CRYPT}$6$", 17) == 0);
	assert_true(we_verify(after, "weak pw"));
	free(after);
}

/* A row changed between our read and our write is not overwritten. */
static void test_swap_keeps_a_concurrent_change(void **state)
{
	struct pgd_db_options opts = {.cache = false, .query_timeout_sec = 5};
	struct pgd_vars vars = {.user = "swapped", .hash = "{PLAIN}ours"};
	struct pgd_query check = {0}, update = {0};
	char err[256], *after;

	(void)state;
	assert_int_equal(pgd_query_bind("SELECT password FROM acct_users WHERE userid = '%u'",
	                                &vars, &check, err, sizeof(err)),
	                 PGD_QUERY_OK);
	assert_int_equal(pgd_query_bind("UPDATE acct_users SET password = %{hash} "
	                                "WHERE userid = '%u'",
	                                &vars, &update, err, sizeof(err)),
	                 PGD_QUERY_OK);
	/* what we verified was {PLAIN}old; the row now says {PLAIN}theirs */
	assert_int_equal(pgd_db_swap(pgd_test_env("PGD_TEST_CONNINFO"), &opts, &check, "{PLAIN}old",
	                             &update, err, sizeof(err)),
	                 PGD_DB_CHANGED);
	after = column("swapped", "password");
	assert_string_equal(after, "{PLAIN}theirs");
	free(after);
	assert_int_equal(pgd_db_swap(pgd_test_env("PGD_TEST_CONNINFO"), &opts, &check,
	                             "{PLAIN}theirs", &update, err, sizeof(err)),
	                 PGD_DB_SWAPPED);
	after = column("swapped", "password");
	assert_string_equal(after, "{PLAIN}ours");
	free(after);
	pgd_query_free(&check);
	pgd_query_free(&update);
}

static void test_rehash_on_a_read_only_server(void **state)
{
	const char *answers[] = {"weak pw", NULL};
	const enum step steps[] = {AUTH, END};
	char *before = column("readonly", "password"), *after, *log = NULL;
	int rc[1];

	(void)state;
	transaction("rehashro", "readonly", NULL, answers, steps, rc, &log);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_non_null(strstr(log, "rehash failed (the login's answer stands)"));
	assert_non_null(strstr(log, "SQLSTATE 25006 (read_only_sql_transaction)"));
	assert_null(strstr(log, "weak pw"));
	free(log);
	after = column("readonly", "password");
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* What log must not hold when a write of a new hash failed: the hash, the passwords, the row. */
static void assert_no_secret(const char *log, const char *const *passwords)
{
	static const char *const never[] = {"{SHA512-CRYPT}", "$6$", "refused:", "new value",
	                                    "Failing row"};

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (strstr(log, never[i]) != NULL)
			fail_msg("the log holds \"%s\": %s", never[i], strstr(log, never[i]));
	for (size_t i = 0; passwords[i] != NULL; i++)
		if (strstr(log, passwords[i]) != NULL)
			fail_msg("the log holds the password \"%s\"", passwords[i]);
}

/*
 * A failed password_update_query is logged by its SQLSTATE and names: the server's message,
 * which quotes the bound hash here (a trigger's RAISE EXCEPTION and RAISE NOTICE, an invalid
 * integer), never reaches the log. Through chauthtok (one statement) and the rehash's
 * transaction (pgd_db_swap: its line is rate-limited per process, so the swap is called here
 * directly and its stderr captured).
 */
static void test_failed_write_quotes_no_hash(void **state)
{
	const char *guarded[] = {"guarded pw", "new secret pw", "new secret pw", NULL};
	const char *typed[] = {"typed pw", "new typed pw", "new typed pw", NULL};
	const char *checked[] = {"checked pw", "new checked pw", "new checked pw", NULL};
	const char *const passwords[] = {"guarded pw", "new secret pw",  "typed pw", "new typed pw",
	                                 "checked pw", "new checked pw", NULL};
	const enum step steps[] = {CHAUTHTOK, END};
	struct pgd_db_options opts = {.cache = false, .query_timeout_sec = 5};
	struct pgd_vars vars = {.user = "guarded", .hash = "{SHA512-CRYPT}$6$direct$x"};
	struct pgd_query check = {0}, update = {0};
	char err[256], *log = NULL, *after;
	int rc[1], saved, fd;

	(void)state;
	transaction("guarded", "guarded", NULL, guarded, steps, rc, &log);
	assert_int_equal(rc[0], PAM_AUTHTOK_ERR);
	if (strstr(log, "SQLSTATE P0001 (raise_exception)") == NULL)
		fail_msg("no SQLSTATE in: %s", log);
	assert_no_secret(log, passwords);
	free(log);
	/* a CHECK violation: its DETAIL quotes the whole row; the names are logged */
	transaction("checked", "checked", NULL, checked, steps, rc, &log);
	assert_int_equal(rc[0], PAM_AUTHTOK_ERR);
	if (strstr(log, "SQLSTATE 23514 (check_violation), schema \"public\", table "
	                "\"acct_checked\", constraint \"no_sha512\"") == NULL)
		fail_msg("no SQLSTATE and names in: %s", log);
	assert_no_secret(log, passwords);
	free(log);
	transaction("badtype", "typed", NULL, typed, steps, rc, &log);
	assert_int_equal(rc[0], PAM_AUTHTOK_ERR);
	if (strstr(log, "SQLSTATE 22P02 (invalid_text_representation)") == NULL)
		fail_msg("no SQLSTATE in: %s", log);
	assert_no_secret(log, passwords);
	free(log);
	after = column("typed", "failures");
	assert_string_equal(after, "0");
	free(after);

	assert_int_equal(pgd_query_bind("SELECT password FROM acct_guarded WHERE userid = '%u'",
	                                &vars, &check, err, sizeof(err)),
	                 PGD_QUERY_OK);
	assert_int_equal(pgd_query_bind("UPDATE acct_guarded SET password = %{hash} "
	                                "WHERE userid = '%u'",
	                                &vars, &update, err, sizeof(err)),
	                 PGD_QUERY_OK);
	saved = pgd_test_capture_start(&fd);
	assert_int_equal(pgd_db_swap(pgd_test_env("PGD_TEST_CONNINFO"), &opts, &check,
	                             "{PLAIN}guarded pw", &update, err, sizeof(err)),
	                 PGD_DB_SWAP_FAILED);
	log = pgd_test_capture_end(saved, fd);
	if (strstr(err, "SQLSTATE P0001") == NULL)
		fail_msg("no SQLSTATE in: %s", err);
	assert_no_secret(err, passwords);
	assert_no_secret(log, passwords); /* the trigger's NOTICE: not on the caller's stderr */
	free(log);
	pgd_query_free(&check);
	pgd_query_free(&update);
}

static void test_audit_and_session(void **state)
{
	const char *answers[] = {"ok pw", NULL};
	const enum step session[] = {AUTH, ACCT, OPEN, END};
	const enum step closing[] = {CLOSE, END};
	char *v, *log = NULL;
	int rc[3];

	(void)state;
	transaction("acct", "ok", "192.0.2.7", answers, session, rc, NULL);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_int_equal(rc[1], PAM_SUCCESS);
	assert_int_equal(rc[2], PAM_SUCCESS);
	v = column("ok", "last_ip");
	assert_string_equal(v, "192.0.2.7");
	free(v);
	v = column("ok", "last_login IS NOT NULL");
	assert_string_equal(v, "t");
	free(v);
	v = column("ok", "sessions");
	assert_string_equal(v, "1");
	free(v);
	transaction("acct", "ok", NULL, answers, closing, rc, NULL);
	assert_int_equal(rc[0], PAM_SUCCESS);
	v = column("ok", "sessions");
	assert_string_equal(v, "0");
	free(v);
	assert_int_equal(auth("acct", "ok", NULL, "wrong"), PAM_AUTH_ERR);
	assert_int_equal(auth("acct", "ok", NULL, "wrong"), PAM_AUTH_ERR);
	v = column("ok", "failures");
	assert_string_equal(v, "2");
	free(v);
	/* their failures never change the answer */
	transaction("brokenaudit", "ok", NULL, answers, session, rc, &log);
	assert_int_equal(rc[0], PAM_SUCCESS);
	assert_int_equal(rc[2], PAM_SUCCESS);
	assert_non_null(strstr(log, "auth_success_query failed"));
	assert_non_null(strstr(log, "no_such_table"));
	free(log);
}

static int setup(void **state)
{
	(void)state;
	admin = pgd_test_admin();
	sql("DROP TABLE IF EXISTS acct_users");
	sql("CREATE TABLE acct_users (userid text PRIMARY KEY, password text, "
	    "active boolean NOT NULL DEFAULT true, expired boolean NOT NULL DEFAULT false, "
	    "pw_expired boolean NOT NULL DEFAULT false, nets text, reason text, "
	    "nopw boolean NOT NULL DEFAULT false, last_login timestamptz, last_ip text, "
	    "failures int NOT NULL DEFAULT 0, sessions int NOT NULL DEFAULT 0)");
	sql("GRANT SELECT, UPDATE ON acct_users TO PUBLIC");
	add_user("ok", "SHA512-CRYPT", "ok pw", "", "");
	add_user("expired", "SHA512-CRYPT", "expired pw", ", expired", ", true");
	add_user("pwexp", "SHA512-CRYPT", "pwexp pw", ", pw_expired", ", true");
	add_user("disabled", "SHA512-CRYPT", "disabled pw", ", active, reason",
	         ", false, 'moved to the new server'");
	add_user("disabledfake", "SHA512-CRYPT", "disabledfake pw", ", active, reason",
	         ", false, E'gone\\nFAKE: accepted'");
	add_user("nets", "SHA512-CRYPT", "nets pw", ", nets", ", '192.0.2.0/24, 2001:db8::/32'");
	add_user("netslocal", "SHA512-CRYPT", "netslocal pw", ", nets", ", 'local'");
	add_user("linklocal", "SHA512-CRYPT", "linklocal pw", ", nets", ", 'fe80::/10'");
	add_user("anynet", "SHA512-CRYPT", "anynet pw", ", nets", ", 'local, 0.0.0.0/0, ::/0'");
	add_user("flip", "SHA512-CRYPT", "flip pw", "", "");
	add_user("nopw", NULL, NULL, ", nopw", ", true");
	add_user("change", "SHA512-CRYPT", "old pw", "", "");
	add_user("weak-plain-md5", "PLAIN-MD5", "weak pw", "", "");
	add_user("weak-md5-crypt", "MD5-CRYPT", "weak pw", "", "");
	add_user("weak-plain", "PLAIN", "weak pw", "", "");
	add_doveadm_user("strong-blf12", "BLF-CRYPT", 12, "strong pw", NULL);
	add_doveadm_user("strong-crypt6", "SHA512-CRYPT", 200000, "strong pw", "{CRYPT}");
	add_doveadm_user("strong-argon2", "ARGON2ID", 0, "strong pw", NULL);
	add_doveadm_user("strong-sha512", "SHA512-CRYPT", 200000, "strong pw", NULL);
	add_doveadm_user("strong-bare6", "SHA512-CRYPT", 200000, "strong pw", "");
	add_doveadm_user("other-sha256", "SHA256-CRYPT", 0, "strong pw", NULL);
	add_doveadm_user("any-crypt6", "SHA512-CRYPT", 200000, "strong pw", "{CRYPT}");
	add_doveadm_user("any-sha512", "SHA512-CRYPT", 5000, "strong pw", NULL);
	add_doveadm_user("any-blf12", "BLF-CRYPT", 12, "strong pw", NULL);
	add_doveadm_user("weak-doveadm-md5-crypt", "MD5-CRYPT", 0, "strong pw", NULL);
	add_doveadm_user("low-sha512", "SHA512-CRYPT", 1000, "strong pw", NULL);
	add_doveadm_user("low-bare6", "SHA512-CRYPT", 1000, "strong pw", "");
	add_user("weak-wrong", "MD5-CRYPT", "weak pw", "", "");
	add_user("concurrent", "MD5-CRYPT", "weak pw", "", "");
	add_user("readonly", "MD5-CRYPT", "weak pw", "", "");
	add_user("swapped", NULL, "{PLAIN}theirs", "", "");
	add_user("typed", "SHA512-CRYPT", "typed pw", "", "");
	sql("DROP TABLE IF EXISTS acct_guarded");
	sql("CREATE TABLE acct_guarded (userid text PRIMARY KEY, password text)");
	sql("GRANT SELECT, UPDATE ON acct_guarded TO PUBLIC");
	sql("INSERT INTO acct_guarded VALUES ('guarded', '{PLAIN}guarded pw')");
	sql("DROP TABLE IF EXISTS acct_checked");
	sql("CREATE TABLE acct_checked (userid text PRIMARY KEY, password text, "
	    "CONSTRAINT no_sha512 CHECK (password NOT LIKE '{SHA512-CRYPT}%'))");
	sql("GRANT SELECT, UPDATE ON acct_checked TO PUBLIC");
	sql("INSERT INTO acct_checked VALUES ('checked', '{PLAIN}checked pw')");
	sql("CREATE OR REPLACE FUNCTION acct_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
	    "BEGIN RAISE NOTICE 'new value %', NEW.password; "
	    "RAISE EXCEPTION 'refused: %', NEW.password; END $$");
	sql("CREATE TRIGGER acct_guard BEFORE UPDATE ON acct_guarded "
	    "FOR EACH ROW EXECUTE FUNCTION acct_guard()");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(admin);
	return 0;
}

/* The line of pam.d file service that starts with type, without its newline; free it. */
static char *stack_line(const char *service, const char *type)
{
	char path[1024], *text, *line, *end, *out;

	snprintf(path, sizeof(path), "%s/%s", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"), service);
	text = pgd_test_read_file(path);
	line = strstr(text, type);
	if (line == NULL || (line != text && line[-1] != '\n'))
		fail_msg("%s has no %s line", path, type);
	end = strchr(line, '\n');
	out = strndup(line, end != NULL ? (size_t)(end - line) : strlen(line));
	assert_non_null(out);
	free(text);
	return out;
}

/* pam.d file name: the auth line of auth_from, the account line of account_from plus args. */
static void write_stack(const char *name, const char *auth_from, const char *account_from,
                        const char *account_args)
{
	char *auth_line = stack_line(auth_from, "auth "),
	     *acct_line = stack_line(account_from, "account ");
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"), name);
	f = fopen(path, "w");
	if (f == NULL || fprintf(f, "%s\n%s%s\n", auth_line, acct_line, account_args) < 0 ||
	    fclose(f) != 0)
		fail_msg("cannot write %s", path);
	free(auth_line);
	free(acct_line);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_account_query),
	    cmocka_unit_test(test_account_after_authenticate),
	    cmocka_unit_test(test_local_is_no_remote_host),
	    cmocka_unit_test(test_account_bound_to_its_conf),
	    cmocka_unit_test(test_nopassword),
	    cmocka_unit_test(test_chauthtok),
	    cmocka_unit_test(test_rehash),
	    cmocka_unit_test(test_rehash_never_weakens),
	    cmocka_unit_test(test_concurrent_rehash),
	    cmocka_unit_test(test_swap_keeps_a_concurrent_change),
	    cmocka_unit_test(test_rehash_on_a_read_only_server),
	    cmocka_unit_test(test_failed_write_quotes_no_hash),
	    cmocka_unit_test(test_audit_and_session),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL) {
		pgd_test_write_services(services, sizeof(services) / sizeof(services[0]), "");
		for (size_t i = 0; i < sizeof(stacks) / sizeof(stacks[0]); i++)
			write_stack(stacks[i].name, stacks[i].auth_from, stacks[i].account_from,
			            stacks[i].account_args);
		return pgd_test_run_in_child(argv);
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
