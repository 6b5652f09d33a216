// SPDX-License-Identifier: MIT
/*
 * The PAM entry points: read what PAM knows, run one login (login.c), and turn its outcome
 * into one PAM code and one log line. Nothing else includes PAM headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "conf.h"
#include "login.h"

/* pam_set_data key: the PAM_USER that authenticated in this transaction, for acct_mgmt. */
#define AUTHENTICATED_USER "pam_pgsql_dovecot_authenticated_user"
#define FAIL_DELAY_USEC 2000000U

/* Copies s into buf for a log line: printable ASCII kept, anything else as \xNN, truncated. */
static const char *sanitize(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && n + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
	}
	buf[n] = '\0';
	return buf;
}

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
	char u[160], rhost[160], ruser[160], tty[160];
	const char *logname = getlogin();

	pam_syslog(pamh, LOG_NOTICE,
		   "authentication failure; logname=%s uid=%u euid=%u tty=%s ruser=%s rhost=%s "
		   "user=%s%s%s%s",
		   logname != NULL ? logname : "", (unsigned)getuid(), (unsigned)geteuid(),
		   sanitize(get_item_str(pamh, PAM_TTY), tty, sizeof(tty)),
		   sanitize(get_item_str(pamh, PAM_RUSER), ruser, sizeof(ruser)),
		   sanitize(get_item_str(pamh, PAM_RHOST), rhost, sizeof(rhost)),
		   sanitize(user, u, sizeof(u)), why != NULL ? " (" : "", why != NULL ? why : "",
		   why != NULL ? ")" : "");
}

/* Loads the conf; on failure logs one line and returns the PAM code to give back. */
static int load_conf(pam_handle_t *pamh, struct pgd_conf *conf, int argc, const char **argv)
{
	char err[512];
	enum pgd_conf_result r = pgd_conf_init(conf);

	if (r == PGD_CONF_OK)
		r = pgd_conf_load(conf, argc, argv, err, sizeof(err));
	switch (r) {
	case PGD_CONF_OK:
		return PAM_SUCCESS;
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
		  const struct pgd_login *login, bool account)
{
	char u[160];

	switch (out) {
	case PGD_LOGIN_OK:
		if (conf->debug)
			pam_syslog(pamh, LOG_DEBUG, "%s ok for user=%s%s%s",
				   account ? "account" : "authentication",
				   sanitize(login->user, u, sizeof(u)),
				   login->scheme[0] != '\0' ? " scheme=" : "", login->scheme);
		return PAM_SUCCESS;
	case PGD_WRONG_PASSWORD:
		log_failure(pamh, login->user, login->detail[0] != '\0' ? login->detail : NULL);
		return PAM_AUTH_ERR;
	case PGD_EMPTY_PASSWORD:
		log_failure(pamh, login->user, "empty password refused without nullok");
		return PAM_AUTH_ERR;
	case PGD_BAD_STORED_HASH:
		pam_syslog(pamh, LOG_ERR, "cannot verify user=%s: %s",
			   sanitize(login->user, u, sizeof(u)), login->detail);
		return PAM_AUTH_ERR;
	case PGD_NOLOGIN:
		if (account) {
			pam_syslog(pamh, LOG_NOTICE, "account disabled (nologin) for user=%s",
				   sanitize(login->user, u, sizeof(u)));
			return PAM_PERM_DENIED;
		}
		log_failure(pamh, login->user, "account disabled: nologin");
		return PAM_AUTH_ERR;
	case PGD_UNKNOWN_USER:
		if (account)
			pam_syslog(pamh, LOG_NOTICE, "account check: user unknown user=%s",
				   sanitize(login->user, u, sizeof(u)));
		else
			log_failure(pamh, login->user, "user unknown");
		return PAM_USER_UNKNOWN;
	case PGD_BAD_USERNAME:
		if (account)
			pam_syslog(pamh, LOG_NOTICE, "account check: %s", login->detail);
		else
			log_failure(pamh, login->user, login->detail);
		return PAM_USER_UNKNOWN;
	case PGD_DB_DOWN:
		/* No detail: inside the back-off window of a failure already logged. */
		if (login->detail[0] != '\0')
			pam_syslog(pamh, LOG_ERR, "database unavailable: %s", login->detail);
		else if (conf->debug)
			pam_syslog(pamh, LOG_DEBUG, "database unavailable: not retrying yet");
		return PAM_AUTHINFO_UNAVAIL;
	case PGD_DB_ERROR:
		pam_syslog(pamh, LOG_ERR, "database error: %s", login->detail);
		return PAM_AUTHINFO_UNAVAIL;
	case PGD_LOGIN_CONF_ERROR:
		pam_syslog(pamh, LOG_ERR, "configuration error: %s", login->detail);
		return PAM_SERVICE_ERR;
	case PGD_LOGIN_NOMEM:
		break;
	}
	pam_syslog(pamh, LOG_CRIT, "out of memory");
	return PAM_BUF_ERR;
}

static void free_string(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

/* Remembers who authenticated, so that acct_mgmt in the same transaction needs no query. */
static void remember_user(pam_handle_t *pamh, const char *user)
{
	char *copy = strdup(user);

	if (copy != NULL && pam_set_data(pamh, AUTHENTICATED_USER, copy, free_string) != PAM_SUCCESS)
		free(copy);
}

/* Fills the login's inputs from PAM; returns PAM_SUCCESS or the code to give back. */
static int start_login(pam_handle_t *pamh, struct pgd_login *login)
{
	const char *user = NULL;
	int rc = pam_get_user(pamh, &user, NULL);

	if (rc != PAM_SUCCESS || user == NULL || user[0] == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "cannot determine the user name");
		return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
	}
	login->user = user;
	login->service = get_item_str(pamh, PAM_SERVICE);
	login->rhost = get_item_str(pamh, PAM_RHOST);
	return PAM_SUCCESS;
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pgd_conf conf;
	struct pgd_login login = {0};
	const char *password = NULL;
	int rc;

	(void)flags;
	rc = load_conf(pamh, &conf, argc, argv);
	if (rc != PAM_SUCCESS)
		return rc;
	if (!conf.nodelay)
		(void)pam_fail_delay(pamh, FAIL_DELAY_USEC);
	rc = start_login(pamh, &login);
	if (rc == PAM_SUCCESS) {
		rc = pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL);
		if (rc != PAM_SUCCESS) {
			pam_syslog(pamh, LOG_NOTICE, "cannot get the password: %s",
				   pam_strerror(pamh, rc));
			rc = rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
		} else {
			rc = report(pamh, &conf, pgd_login_verify(&conf, &login, password), &login,
				    false);
		}
	}
	if (rc == PAM_SUCCESS)
		remember_user(pamh, login.user);
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
	const void *authenticated = NULL;
	int rc;

	(void)flags;
	rc = load_conf(pamh, &conf, argc, argv);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = start_login(pamh, &login);
	if (rc == PAM_SUCCESS) {
		if (pam_get_data(pamh, AUTHENTICATED_USER, &authenticated) == PAM_SUCCESS &&
		    strcmp(authenticated, login.user) == 0)
			rc = report(pamh, &conf, PGD_LOGIN_OK, &login, true);
		else
			rc = report(pamh, &conf, pgd_login_lookup(&conf, &login), &login, true);
	}
	pgd_login_free(&login);
	pgd_conf_free(&conf);
	return rc;
}
