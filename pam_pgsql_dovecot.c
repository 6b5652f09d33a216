// SPDX-License-Identifier: MIT
/*
 * The PAM entry points, where a login enters and leaves. The flow runs one way through the
 * folders:
 *   entry (here: what PAM knows) -> login/ (one login, name to verdict) -> conf/ (what to do)
 *   -> query/ (bound values) -> db/ (the row) -> hash.c + hash/ (the verdict)
 * and back here, where the outcome becomes one PAM code and one log line. Only this file
 * includes PAM headers; every byte a log line quotes goes through util/printable.h.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "conf/conf.h"
#include "db/db.h"
#include "login/login.h"
#include "util/pin.h"
#include "util/printable.h"
#include "util/secret.h"
#include "util/str.h"

/* pam_set_data key: who authenticated in this transaction and what the row said, for acct_mgmt. */
#define AUTHENTICATED "pam_pgsql_dovecot_authenticated"
#define FAIL_DELAY_USEC 2000000U
/* Failures of rehash, session and audit queries: at most one log line per this many seconds. */
#define SIDE_LOG_INTERVAL 60

/* What a PAM call was asked to do: the same outcome maps to different codes. */
enum op {
	OP_AUTH,
	OP_ACCOUNT,
	OP_PASSWORD,
};

static const char *const op_names[] = {"authentication", "account", "password change"};

static const char *get_item_str(pam_handle_t *pamh, int type)
{
	const void *item = NULL;

	if (pam_get_item(pamh, type, &item) != PAM_SUCCESS)
		return NULL;
	return item;
}

/* pam_unix's failure line, which log scanners such as fail2ban read; why may be NULL. */
static void log_failure(pam_handle_t *pamh, const char *user, const char *why)
{
	char u[160], rhost[160], ruser[160], tty[160], logname[160];

	pam_syslog(pamh, LOG_NOTICE,
	           "authentication failure; logname=%s uid=%u euid=%u tty=%s ruser=%s rhost=%s "
	           "user=%s%s%s%s",
	           pgd_printable_word(getlogin(), logname, sizeof(logname)), (unsigned)getuid(),
	           (unsigned)geteuid(),
	           pgd_printable_word(get_item_str(pamh, PAM_TTY), tty, sizeof(tty)),
	           pgd_printable_word(get_item_str(pamh, PAM_RUSER), ruser, sizeof(ruser)),
	           pgd_printable_word(get_item_str(pamh, PAM_RHOST), rhost, sizeof(rhost)),
	           pgd_printable_word(user, u, sizeof(u)), why != NULL ? " (" : "",
	           why != NULL ? why : "", why != NULL ? ")" : "");
}

/* pam_set_data key: pam_end of this transaction tells db/conn.c (whether to keep the connection).
 */
#define TRANSACTION "pam_pgsql_dovecot_transaction"

static void transaction_end(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)data;
	if (!(error_status & PAM_DATA_REPLACE))
		pgd_db_transaction_ended();
}

/* Loads the conf; on failure logs one line and returns the PAM code to give back. */
static int load_conf(pam_handle_t *pamh, struct pgd_conf *conf, int argc, const char **argv)
{
	char err[512];
	enum pgd_conf_result r = pgd_conf_init(conf);

	if (r == PGD_CONF_OK)
		r = pgd_conf_load(conf, argc, argv, err, sizeof(err));
	switch (r) {
	case PGD_CONF_OK: {
		static char marker;
		const void *seen;
		char path[1024];

		if (pam_get_data(pamh, TRANSACTION, &seen) != PAM_SUCCESS)
			pam_set_data(pamh, TRANSACTION, &marker, transaction_end);
		if (conf->debug)
			pam_syslog(pamh, LOG_DEBUG, "conf %s: %s",
			           pgd_printable(conf->path, path, sizeof(path)),
			           pgd_conf_dialect_name(conf->dialect));
		if (conf->pin_modules) {
			int pinned = pgd_pin_modules();

			if (conf->debug && pinned > 0)
				pam_syslog(pamh, LOG_DEBUG,
				           "pin_modules: %d PAM modules kept loaded", pinned);
		}
		return PAM_SUCCESS;
	}
	case PGD_CONF_INVALID:
		pam_syslog(pamh, LOG_ERR, "configuration error: %s", err);
		pgd_conf_free(conf);
		return PAM_SERVICE_ERR;
	case PGD_CONF_NOMEM:
		break;
	}
	pam_syslog(pamh, LOG_CRIT, "out of memory");
	pgd_conf_free(conf);
	return PAM_BUF_ERR;
}

/* The one switch from a login's outcome to a PAM code, each case with its log line. */
static int report(pam_handle_t *pamh, const struct pgd_conf *conf, enum pgd_outcome out,
                  const struct pgd_login *login, enum op op)
{
	char u[160], d[400], why[440], scheme[sizeof(login->scheme) * 4];
	const char *detail =
	    login->detail[0] != '\0' ? pgd_printable(login->detail, d, sizeof(d)) : NULL;
	bool account = op == OP_ACCOUNT;

	pgd_printable_word(login->user, u, sizeof(u));
	switch (out) {
	case PGD_LOGIN_OK:
		if (conf->debug)
			pam_syslog(pamh, LOG_DEBUG, "%s ok for user=%s%s%s%s", op_names[op], u,
			           login->scheme[0] != '\0' ? " scheme=" : "",
			           pgd_printable_word(login->scheme, scheme, sizeof(scheme)),
			           login->cached ? " (verify cache: no hash computed)" : "");
		return PAM_SUCCESS;
	case PGD_WRONG_PASSWORD:
		log_failure(pamh, login->user, detail);
		return PAM_AUTH_ERR;
	case PGD_EMPTY_PASSWORD:
		log_failure(pamh, login->user,
		            detail != NULL ? detail : "empty password refused without nullok");
		return PAM_AUTH_ERR;
	case PGD_BAD_STORED_HASH:
		pam_syslog(pamh, LOG_ERR, "cannot verify user=%s: %s", u, detail);
		return PAM_AUTH_ERR;
	case PGD_NOLOGIN:
		if (account) {
			pam_syslog(pamh, LOG_NOTICE, "account disabled (nologin) for user=%s%s%s%s",
			           u, detail != NULL ? " (" : "", detail != NULL ? detail : "",
			           detail != NULL ? ")" : "");
			return PAM_PERM_DENIED;
		}
		/* the password was right (a wrong one says nothing of nologin): the reason too */
		snprintf(why, sizeof(why), "account disabled: nologin%s%s",
		         detail != NULL ? ", reason: " : "", detail != NULL ? detail : "");
		log_failure(pamh, login->user, why);
		return PAM_AUTH_ERR;
	case PGD_NET_REFUSED:
		if (account) {
			pam_syslog(pamh, LOG_NOTICE, "account refused for user=%s: %s", u, detail);
			return PAM_PERM_DENIED;
		}
		log_failure(pamh, login->user, detail);
		return PAM_AUTH_ERR;
	case PGD_ROW_REFUSED:
		if (account) {
			pam_syslog(pamh, LOG_NOTICE, "account refused for user=%s: %s", u, detail);
			return PAM_PERM_DENIED;
		}
		log_failure(pamh, login->user, detail);
		return PAM_AUTH_ERR;
	case PGD_ACCT_EXPIRED:
		pam_syslog(pamh, LOG_NOTICE, "account expired for user=%s", u);
		return PAM_ACCT_EXPIRED;
	case PGD_PASSWORD_EXPIRED:
		pam_syslog(pamh, LOG_NOTICE, "password expired for user=%s: a new one is needed",
		           u);
		return PAM_NEW_AUTHTOK_REQD;
	case PGD_UNKNOWN_USER:
		/* detail, when set, is a hint (login.c: a bare name, a query that uses the domain)
		 */
		if (account) {
			pam_syslog(pamh, LOG_NOTICE, "account check: user unknown user=%s%s%s", u,
			           detail != NULL ? "; " : "", detail != NULL ? detail : "");
		} else {
			snprintf(why, sizeof(why), "user unknown%s%s", detail != NULL ? "; " : "",
			         detail != NULL ? detail : "");
			log_failure(pamh, login->user, why);
		}
		return PAM_USER_UNKNOWN;
	case PGD_BAD_USERNAME:
		if (account)
			pam_syslog(pamh, LOG_NOTICE, "account check: %s", detail);
		else
			log_failure(pamh, login->user, detail);
		return PAM_USER_UNKNOWN;
	case PGD_DB_DOWN:
		/* No detail: inside the back-off window of a failure already logged. */
		if (detail != NULL)
			pam_syslog(pamh, LOG_ERR, "database unavailable: %s", detail);
		else if (conf->debug)
			pam_syslog(pamh, LOG_DEBUG, "database unavailable: not retrying yet");
		return op == OP_PASSWORD ? PAM_AUTHTOK_ERR : PAM_AUTHINFO_UNAVAIL;
	case PGD_DB_ERROR:
		pam_syslog(pamh, LOG_ERR, "database error: %s", detail);
		return op == OP_PASSWORD ? PAM_AUTHTOK_ERR : PAM_AUTHINFO_UNAVAIL;
	case PGD_UPDATE_FAILED:
		pam_syslog(pamh, LOG_ERR, "password not changed for user=%s: %s", u, detail);
		return PAM_AUTHTOK_ERR;
	case PGD_OUTAGE_CACHED:
		/* verify_cache_stale_if_error: the one line of this login says both things */
		if (op == OP_AUTH) {
			pam_syslog(pamh, LOG_NOTICE,
			           "authentication ok for user=%s from the verify cache during a "
			           "database outage (verify_cache_stale_if_error): database "
			           "unavailable%s%s",
			           u, detail != NULL ? ": " : "", detail != NULL ? detail : "");
			return PAM_SUCCESS;
		}
		pam_syslog(pamh, LOG_ERR, "database unavailable%s%s", detail != NULL ? ": " : "",
		           detail != NULL ? detail : "");
		return op == OP_PASSWORD ? PAM_AUTHTOK_ERR : PAM_AUTHINFO_UNAVAIL;
	case PGD_LOGIN_CONF_ERROR:
		pam_syslog(pamh, LOG_ERR, "configuration error: %s", detail);
		return PAM_SERVICE_ERR;
	case PGD_RENAMED:
		/* the password was right; the row names another user than the caller will use */
		pam_syslog(pamh, LOG_ERR, "%s refused: %s", op_names[op], detail);
		return PAM_SERVICE_ERR;
	case PGD_LOGIN_NOMEM:
		break;
	}
	pam_syslog(pamh, LOG_CRIT, "out of memory");
	return PAM_BUF_ERR;
}

/*
 * Rehash, session and audit queries never change a login's answer; when one of them fails, one
 * line per SIDE_LOG_INTERVAL seconds and per query says so.
 */
enum side {
	SIDE_REHASH,
	SIDE_AUTH_SUCCESS,
	SIDE_AUTH_FAILURE,
	SIDE_SESSION_OPEN,
	SIDE_SESSION_CLOSE,
	SIDE_COUNT,
};

static const char *const side_names[] = {"rehash", "auth_success_query", "auth_failure_query",
                                         "session_open_query", "session_close_query"};

/* Per process, shared by the threads of a threaded caller: side_lock guards both arrays. */
static pthread_mutex_t side_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t side_last[SIDE_COUNT];
static unsigned long side_quiet[SIDE_COUNT];

static void side_failure(pam_handle_t *pamh, enum side what, const struct pgd_login *login)
{
	time_t now = time(NULL);
	unsigned long quiet = 0;
	bool report = false;
	char d[300];

	pthread_mutex_lock(&side_lock);
	if (side_last[what] != 0 && now - side_last[what] < SIDE_LOG_INTERVAL) {
		side_quiet[what]++;
	} else {
		report = true;
		quiet = side_quiet[what];
		side_last[what] = now;
		side_quiet[what] = 0;
	}
	pthread_mutex_unlock(&side_lock);
	if (report)
		pam_syslog(pamh, LOG_WARNING, "%s failed (the login's answer stands): %s%s",
		           side_names[what], pgd_printable(login->detail, d, sizeof(d)),
		           quiet > 0 ? " (and earlier failures not logged)" : "");
}

/*
 * What authenticate leaves for acct_mgmt in the same transaction, and what it is bound to:
 * everything that decided which row was read (the conf's server, query and name rules, the
 * conf file named, what the pam.d line states of the connection, and the login's user,
 * service and remote host; login/binding.c).
 */
struct authenticated {
	struct pgd_login_binding binding;
	bool account_expired;
	bool password_expired;
};

static void free_authenticated(pam_handle_t *pamh, void *data, int error_status)
{
	struct authenticated *a = data;

	(void)pamh;
	(void)error_status;
	pgd_login_binding_free(&a->binding);
	pgd_wipe(a, sizeof(*a));
	free(a);
}

static void remember(pam_handle_t *pamh, const struct pgd_conf *conf, const struct pgd_login *login)
{
	struct authenticated *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return;
	a->account_expired = login->account_expired;
	a->password_expired = login->password_expired;
	if (!pgd_login_binding_make(&a->binding, conf, login) ||
	    pam_set_data(pamh, AUTHENTICATED, a, free_authenticated) != PAM_SUCCESS)
		free_authenticated(pamh, a, 0);
}

/*
 * What authenticate read, if acct_mgmt on conf for login may answer from it: same binding.
 * Another conf, user or remote host looks the user up again.
 */
static const struct authenticated *remembered(pam_handle_t *pamh, const struct pgd_conf *conf,
                                              const struct pgd_login *login)
{
	const void *data = NULL;
	const struct authenticated *a;

	if (pam_get_data(pamh, AUTHENTICATED, &data) != PAM_SUCCESS || data == NULL)
		return NULL;
	a = data;
	return pgd_login_binding_matches(&a->binding, conf, login) ? a : NULL;
}

/* Fills the login's inputs from PAM; returns PAM_SUCCESS or the code to give back. */
static int start_login(pam_handle_t *pamh, struct pgd_login *login)
{
	const char *user = NULL;
	int rc = pam_get_user(pamh, &user, NULL);

	if (rc != PAM_SUCCESS || !pgd_str_set(user)) {
		pam_syslog(pamh, LOG_NOTICE, "cannot determine the user name");
		return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
	}
	login->user = user;
	login->service = get_item_str(pamh, PAM_SERVICE);
	login->rhost = get_item_str(pamh, PAM_RHOST);
	return PAM_SUCCESS;
}

/* A password from the application (item is PAM_AUTHTOK or PAM_OLDAUTHTOK). */
static int get_password(pam_handle_t *pamh, int item, const char **password)
{
	int rc = pam_get_authtok(pamh, item, password, NULL);

	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "cannot get the password: %s", pam_strerror(pamh, rc));
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
	}
	return PAM_SUCCESS;
}

/* After authenticate: the audit query of its result, and the upgrade of a weak hash. */
static void after_authenticate(pam_handle_t *pamh, const struct pgd_conf *conf,
                               struct pgd_login *login, const char *password, int rc)
{
	const char *audit = rc == PAM_SUCCESS ? conf->auth_success_query
	                    : rc == PAM_AUTH_ERR || rc == PAM_USER_UNKNOWN
	                        ? conf->auth_failure_query
	                        : NULL;
	char u[160], d[1600];

	if (rc == PAM_SUCCESS && conf->rehash) {
		login->detail[0] = '\0';
		if (pgd_login_rehash(conf, login, password) != PGD_LOGIN_OK)
			side_failure(pamh, SIDE_REHASH, login);
		else if (login->detail[0] != '\0')
			pam_syslog(pamh, LOG_INFO, "rehash for user=%s: %s",
			           pgd_printable_word(login->user, u, sizeof(u)),
			           pgd_printable(login->detail, d, sizeof(d)));
	}
	if (pgd_str_set(audit) && login->canonical != NULL) {
		login->detail[0] = '\0';
		if (pgd_login_run(conf, login, audit) != PGD_LOGIN_OK)
			side_failure(
			    pamh, rc == PAM_SUCCESS ? SIDE_AUTH_SUCCESS : SIDE_AUTH_FAILURE, login);
	}
}

/* allow_rename: PAM_USER becomes the new name (saslauthd never reads it back; sshd refuses). */
static int set_renamed(pam_handle_t *pamh, const struct pgd_login *login)
{
	char from[160], to[160];
	int rc = pam_set_item(pamh, PAM_USER, login->renamed);

	pam_syslog(pamh, rc == PAM_SUCCESS ? LOG_NOTICE : LOG_ERR,
	           "user=%s renamed to %s by the row (allow_rename): PAM_USER %s",
	           pgd_printable_word(login->canonical, from, sizeof(from)),
	           pgd_printable_word(login->renamed, to, sizeof(to)),
	           rc == PAM_SUCCESS ? "set" : "not set");
	return rc == PAM_SUCCESS ? PAM_SUCCESS : PAM_SERVICE_ERR;
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pgd_conf conf;
	struct pgd_login login = {0};
	const char *password = NULL;
	bool disallow_null;
	int rc;

	rc = load_conf(pamh, &conf, argc, argv);
	if (rc != PAM_SUCCESS)
		return rc;
	/* The application's "no empty password" wins over the pam.d line's nullok, as in
	 * pam_unix (sshd sets it under PermitEmptyPasswords no). */
	disallow_null = (flags & PAM_DISALLOW_NULL_AUTHTOK) != 0 && conf.nullok;
	if (disallow_null)
		conf.nullok = false;
	rc = start_login(pamh, &login);
	if (rc == PAM_SUCCESS)
		rc = get_password(pamh, PAM_AUTHTOK, &password);
	if (rc == PAM_SUCCESS) {
		enum pgd_outcome out;

		login.outage_ok = true;
		out = pgd_login_verify(&conf, &login, password);
		if (out == PGD_EMPTY_PASSWORD && disallow_null)
			snprintf(login.detail, sizeof(login.detail),
			         "empty password refused: the application set "
			         "PAM_DISALLOW_NULL_AUTHTOK");
		rc = report(pamh, &conf, out, &login, OP_AUTH);
		/* During an outage the rehash and the audit query could not reach the database
		 * either: not tried, and their failures not logged. */
		if (out != PGD_OUTAGE_CACHED)
			after_authenticate(pamh, &conf, &login, password, rc);
	}
	/*
	 * The delay slows password guessing; a database outage is no guess, and a saslauthd
	 * worker sleeping through it would only hold up the next requests.
	 */
	if ((rc == PAM_AUTH_ERR || rc == PAM_USER_UNKNOWN) && !conf.nodelay)
		(void)pam_fail_delay(pamh, FAIL_DELAY_USEC);
	if (rc == PAM_SUCCESS)
		remember(pamh, &conf, &login);
	/* last: setting PAM_USER frees the name login.user points to */
	if (rc == PAM_SUCCESS && login.renamed != NULL)
		rc = set_renamed(pamh, &login);
	pgd_login_free(&login);
	pgd_conf_free(&conf);
	return rc;
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pgd_conf conf;
	struct pgd_login login = {0};
	int rc;

	(void)flags;
	rc = load_conf(pamh, &conf, argc, argv);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = start_login(pamh, &login);
	if (rc == PAM_SUCCESS) {
		const struct authenticated *a =
		    pgd_str_set(conf.account_query) ? NULL : remembered(pamh, &conf, &login);
		enum pgd_outcome out;

		/* saslauthd's acct_mgmt right after authenticate on the same conf: no second
		 * query */
		if (a != NULL) {
			struct pgd_login seen = {.account_expired = a->account_expired,
			                         .password_expired = a->password_expired};

			out = pgd_login_account_from(&seen);
		} else {
			out = pgd_login_lookup(&conf, &login);
		}
		rc = report(pamh, &conf, out, &login, OP_ACCOUNT);
	}
	pgd_login_free(&login);
	pgd_conf_free(&conf);
	return rc;
}

/*
 * The prelim pass checks the old password; the update pass checks it again (as pam_unix does:
 * the row may have changed between the passes) and stores a hash of the new one.
 */
int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pgd_conf conf;
	struct pgd_login login = {0};
	const char *old_password = NULL, *new_password = NULL;
	int rc;

	rc = load_conf(pamh, &conf, argc, argv);
	if (rc != PAM_SUCCESS)
		return rc;
	if (!pgd_str_set(conf.password_update_query)) {
		pam_syslog(pamh, LOG_ERR, "configuration error: password_update_query not set");
		pgd_conf_free(&conf);
		return PAM_SERVICE_ERR;
	}
	rc = start_login(pamh, &login);
	if (rc == PAM_SUCCESS)
		rc = get_password(pamh, PAM_OLDAUTHTOK, &old_password);
	if (rc == PAM_SUCCESS && (flags & PAM_PRELIM_CHECK) != 0) {
		rc = report(pamh, &conf, pgd_login_verify(&conf, &login, old_password), &login,
		            OP_PASSWORD);
	} else if (rc == PAM_SUCCESS && (flags & PAM_UPDATE_AUTHTOK) != 0) {
		rc = get_password(pamh, PAM_AUTHTOK, &new_password);
		if (rc == PAM_SUCCESS)
			rc = report(
			    pamh, &conf,
			    pgd_login_change_password(&conf, &login, old_password, new_password),
			    &login, OP_PASSWORD);
		if (rc == PAM_SUCCESS) {
			char u[160], scheme[160];

			pam_syslog(pamh, LOG_NOTICE, "password changed for user=%s (%s)",
			           pgd_printable_word(login.user, u, sizeof(u)),
			           pgd_printable_word(conf.update_scheme, scheme, sizeof(scheme)));
		}
	}
	pgd_login_free(&login);
	pgd_conf_free(&conf);
	return rc;
}

/* The session queries: logged when they fail, and the session goes on. */
static int session(pam_handle_t *pamh, int argc, const char **argv, bool open)
{
	struct pgd_conf conf;
	struct pgd_login login = {0};
	const char *query;
	int rc;

	rc = load_conf(pamh, &conf, argc, argv);
	if (rc != PAM_SUCCESS)
		return rc;
	query = open ? conf.session_open_query : conf.session_close_query;
	if (pgd_str_set(query) && start_login(pamh, &login) == PAM_SUCCESS &&
	    pgd_login_run(&conf, &login, query) != PGD_LOGIN_OK)
		side_failure(pamh, open ? SIDE_SESSION_OPEN : SIDE_SESSION_CLOSE, &login);
	pgd_login_free(&login);
	pgd_conf_free(&conf);
	return PAM_SUCCESS;
}

int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return session(pamh, argc, argv, true);
}

int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return session(pamh, argc, argv, false);
}
