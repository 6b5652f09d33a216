// SPDX-License-Identifier: MIT
/*
 * No raw byte from a row, a file or a user reaches syslog: the real module under pam_wrapper,
 * with control bytes, an escape sequence, newline, carriage return, DEL, bytes 0x80-0xff (C1
 * controls and a right-to-left override among them) and a backslash in the user name, the PAM
 * items, a row's reason, allow_nets and password fields, the conf file's path, key and value,
 * and a server error message that quotes a row. Every captured line must hold printable ASCII
 * only (0x20-0x7e), and where the entry point quotes the hostile bytes itself (user=, rhost=,
 * tty=, ruser=, the reason, the conf path), their \xNN form must be there.
 *
 * Environment: PGD_MODULE, PGD_TEST_ADMIN (creates the rawbytes_users table),
 * PGD_TEST_CONNINFO, PAM_WRAPPER_SERVICE_DIR; pam_wrapper at PAM_WRAPPER_DEBUGLEVEL=2.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

/* Every kind of hostile byte; valid UTF-8, so that a UTF8 server stores it as it is. */
#define HOSTILE                                                                                    \
	"a\x01"                                                                                    \
	"b\x1b[31mc\nd\re\x7f"                                                                     \
	"f\xc3\xa9g\xc2\x9bh\xe2\x80\xaei\\j"
/* HOSTILE through util/printable.h */
#define HOSTILE_SHOWN                                                                              \
	"a\\x01b\\x1b[31mc\\x0ad\\x0de\\x7ff\\xc3\\xa9g\\xc2\\x9bh\\xe2\\x80\\xaei\\x5cj"
/* HOSTILE for one line of a conf file: no newline, no carriage return */
#define HOSTILE_LINE                                                                               \
	"a\x01"                                                                                    \
	"b\x1b[31mc\x7f"                                                                           \
	"f\xc3\xa9g\xc2\x9bh\xe2\x80\xaei\\j"
/* A conf folder name: no newline (it ends a pam.d line), no blank (it splits the arguments) */
#define DIR_HOSTILE "d\x01\x1b[2J\x7f\xc3\xa9\\"
#define DIR_SHOWN "d\\x01\\x1b[2J\\x7f\\xc3\\xa9\\x5c"

#define PW "rb pw"
#define QUERY                                                                                      \
	"SELECT userid || '@' || domain AS user, password, nologin, reason, allow_nets "           \
	"FROM rawbytes_users WHERE userid = '%n' AND domain = '%d'"
#define CONF_HEAD "driver = pgsql\nconnect = %CONNECT%\n"
#define GOOD_CONF CONF_HEAD "password_query = " QUERY "\n"

struct fixture {
	const char *userid, *password, *nologin, *reason, *allow_nets;
};

static const struct fixture fixtures[] = {
    {"good", "{PLAIN}" PW, NULL, NULL, NULL},
    {"reason", "{PLAIN}" PW, "Y", HOSTILE, NULL},
    {"nets", "{PLAIN}" PW, NULL, NULL, "10.0.0.0/8,192.0.2.1"},
    {"hostnets", "{PLAIN}" PW, NULL, NULL, "10.0.0.0/8," HOSTILE},
    {"stored", "{SHA512" HOSTILE "}x", NULL, NULL, NULL},
    {"plain", "{PLAIN}" HOSTILE, NULL, NULL, NULL},
};

struct service {
	const char *name;
	bool hostile_dir; /* the conf sits in a folder named DIR_HOSTILE */
	const char *conf;
};

static const struct service services[] = {
    {"rb", false, GOOD_CONF},
    {"rb-path", true, GOOD_CONF},
    {"rb-key", true, GOOD_CONF "unknown_" HOSTILE_LINE "_key = 1\n"},
    {"rb-value", true,
     "driver = pg" HOSTILE_LINE "\nconnect = %CONNECT%\npassword_query = " QUERY "\n"},
    /* the server's error quotes the row: invalid input syntax for type integer: "a..." */
    {"rb-server", false,
     CONF_HEAD "password_query = SELECT reason::int AS password FROM rawbytes_users "
               "WHERE userid = 'reason' AND '%u' <> ''\n"},
    {"rb-session", false,
     GOOD_CONF "session_open_query = SELECT reason::int FROM rawbytes_users "
               "WHERE userid = 'reason' AND '%u' <> ''\n"},
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

enum op { AUTH, ACCOUNT, SESSION };

struct row {
	const char *what;
	const char *service;
	const char *user;
	const char *password;
	enum op op;
	int expected;
	/* what the log must hold: the \xNN form where the entry point quotes the bytes itself,
	 * otherwise the fixed words of the line whose quote another part of the module made */
	const char *shown;
	const char *rhost, *ruser, *tty;
};

#define USER_HOSTILE HOSTILE "@example.org"

static const struct row rows[] = {
    {"user name", "rb", USER_HOSTILE, PW, AUTH, PAM_USER_UNKNOWN,
     "user=" HOSTILE_SHOWN "@example.org"},
    {"user name, acct_mgmt", "rb", USER_HOSTILE, PW, ACCOUNT, PAM_USER_UNKNOWN, "account check: "},
    {"PAM items: rhost, ruser, tty", "rb", "good@example.org", "wrong", AUTH, PAM_AUTH_ERR,
     "tty=" HOSTILE_SHOWN " ruser=" HOSTILE_SHOWN " rhost=" HOSTILE_SHOWN " ", HOSTILE, HOSTILE,
     HOSTILE},
    {"row: nologin reason, authenticate", "rb", "reason@example.org", PW, AUTH, PAM_AUTH_ERR,
     "account disabled: nologin, reason: " HOSTILE_SHOWN ")"},
    {"row: nologin reason, acct_mgmt", "rb", "reason@example.org", PW, ACCOUNT, PAM_PERM_DENIED,
     "account disabled (nologin) for user=reason@example.org (" HOSTILE_SHOWN ")"},
    {"row: allow_nets against a hostile rhost", "rb", "nets@example.org", PW, AUTH, PAM_AUTH_ERR,
     "remote host " HOSTILE_SHOWN " is not an IP address", HOSTILE},
    {"row: hostile allow_nets", "rb", "hostnets@example.org", PW, AUTH, PAM_AUTH_ERR, "allow_nets",
     "192.0.2.7"},
    {"row: hostile stored value", "rb", "stored@example.org", PW, AUTH, PAM_AUTH_ERR,
     "cannot verify user=stored@example.org"},
    {"row: hostile PLAIN value, right password", "rb", "plain@example.org", HOSTILE, AUTH,
     PAM_SUCCESS, "authentication ok for user=plain@example.org"},
    {"row: hostile PLAIN value, wrong password", "rb", "plain@example.org", PW, AUTH, PAM_AUTH_ERR,
     "authentication failure"},
    {"conf: path", "rb-path", "good@example.org", PW, AUTH, PAM_SUCCESS,
     "/" DIR_SHOWN "/rb-path.conf: "},
    {"conf: key", "rb-key", "good@example.org", PW, AUTH, PAM_SERVICE_ERR, "configuration error: "},
    {"conf: value", "rb-value", "good@example.org", PW, AUTH, PAM_SERVICE_ERR,
     "configuration error: "},
    {"server error quoting a row", "rb-server", "good@example.org", PW, AUTH, PAM_AUTHINFO_UNAVAIL,
     "database error: "},
    {"server error quoting a row, session query", "rb-session", "good@example.org", PW, SESSION,
     PAM_SUCCESS, "session_open_query failed"},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ------------------------------------------------------------------------------------------ */

static char work_dir[] = "/tmp/pgd-rawbytes.XXXXXX";

/* Where service s keeps its conf. */
static void conf_path(const struct service *s, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s/%s.conf", work_dir, s->hostile_dir ? "/" : "",
	         s->hostile_dir ? DIR_HOSTILE : "", s->name);
}

static void write_services(void)
{
	const char *module = pgd_test_env("PGD_MODULE");
	char dir[512], path[1024], svc_path[1024], line[4096];

	if (mkdtemp(work_dir) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(dir, sizeof(dir), "%s/%s", work_dir, DIR_HOSTILE);
	if (mkdir(dir, 0700) != 0)
		fail_msg("mkdir: %s", strerror(errno));
	for (size_t i = 0; i < NSERVICES; i++) {
		char *text = pgd_test_fill_conf(services[i].conf);

		conf_path(&services[i], path, sizeof(path));
		pgd_test_write_file(path, text, 0600);
		free(text);
		snprintf(svc_path, sizeof(svc_path), "%s/%s",
		         pgd_test_env("PAM_WRAPPER_SERVICE_DIR"), services[i].name);
		snprintf(line, sizeof(line),
		         "auth required %s conf=%s nodelay debug\n"
		         "account required %s conf=%s debug\n"
		         "session required %s conf=%s debug\n",
		         module, path, module, path, module, path);
		pgd_test_write_file(svc_path, line, 0644);
	}
}

static void remove_services(void)
{
	char path[1024];

	for (size_t i = 0; i < NSERVICES; i++) {
		snprintf(path, sizeof(path), "%s/%s", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"),
		         services[i].name);
		unlink(path);
		conf_path(&services[i], path, sizeof(path));
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", work_dir, DIR_HOSTILE);
	rmdir(path);
	rmdir(work_dir);
}

/*
 * The table of fixtures: dropped, then with load created and filled (as PGD_TEST_ADMIN). The
 * child that runs the tests loads it, the parent drops it after.
 */
static void fixtures_table(bool load)
{
	static const char *const ddl[] = {
	    "DROP TABLE IF EXISTS rawbytes_users",
	    "CREATE TABLE rawbytes_users (userid text NOT NULL, domain text NOT NULL, "
	    "password text, nologin text, reason text, allow_nets text)",
	    "GRANT SELECT ON rawbytes_users TO PUBLIC",
	};
	size_t nddl = load ? sizeof(ddl) / sizeof(ddl[0]) : 1;
	size_t n = nddl + (load ? sizeof(fixtures) / sizeof(fixtures[0]) : 0);
	PGconn *conn = PQconnectdb(pgd_test_env("PGD_TEST_ADMIN"));
	bool ok = PQstatus(conn) == CONNECTION_OK;

	for (size_t i = 0; ok && i < n; i++) {
		const struct fixture *f = &fixtures[i < nddl ? 0 : i - nddl];
		const char *values[] = {f->userid, f->password, f->nologin, f->reason,
		                        f->allow_nets};
		PGresult *res = i < nddl
		                    ? PQexec(conn, ddl[i])
		                    : PQexecParams(conn,
		                                   "INSERT INTO rawbytes_users "
		                                   "VALUES ($1, 'example.org', $2, $3, $4, $5)",
		                                   5, NULL, values, NULL, NULL, 0);

		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
	}
	if (!ok)
		fail_msg("fixtures: %s", PQerrorMessage(conn));
	PQfinish(conn);
}

static int group_setup(void **state)
{
	(void)state;
	fixtures_table(true);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

static int answer(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF &&
		    (r[i].resp = strdup(data)) == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* One PAM operation with the row's items; the PAM code, and the module's log in *log. */
static int run_op(const struct row *r, char **log)
{
	struct pam_conv conv = {answer, (void *)(uintptr_t)r->password};
	pam_handle_t *pamh = NULL;
	int saved, file_fd, rc;

	saved = pgd_test_capture_start(&file_fd);
	rc = pam_start(r->service, r->user, &conv, &pamh);
	if (rc == PAM_SUCCESS && r->rhost != NULL)
		rc = pam_set_item(pamh, PAM_RHOST, r->rhost);
	if (rc == PAM_SUCCESS && r->ruser != NULL)
		rc = pam_set_item(pamh, PAM_RUSER, r->ruser);
	if (rc == PAM_SUCCESS && r->tty != NULL)
		rc = pam_set_item(pamh, PAM_TTY, r->tty);
	if (rc == PAM_SUCCESS)
		rc = r->op == AUTH      ? pam_authenticate(pamh, 0)
		     : r->op == ACCOUNT ? pam_acct_mgmt(pamh, 0)
		                        : pam_open_session(pamh, 0);
	if (pamh != NULL)
		pam_end(pamh, rc);
	*log = pgd_test_capture_end(saved, file_fd);
	return rc;
}

/* Every byte of log is printable ASCII, or the newline that ends a line. */
static void check_printable(const char *log, const char *what)
{
	for (const unsigned char *p = (const unsigned char *)log; *p != '\0'; p++) {
		if ((*p < 0x20 || *p > 0x7e) && *p != '\n')
			fail_msg("%s: raw byte 0x%02x at offset %td of the log:\n%s", what, *p,
			         (const char *)p - log, log);
	}
}

static void run_row(void **state)
{
	const struct row *r = *state;
	char *log = NULL;
	int rc = run_op(r, &log);

	if (rc != r->expected)
		fail_msg("%s: got %s, expected %s; log:\n%s", r->what, pam_strerror(NULL, rc),
		         pam_strerror(NULL, r->expected), log);
	check_printable(log, r->what);
	if (strstr(log, r->shown) == NULL)
		fail_msg("%s: the log lacks \"%s\":\n%s", r->what, r->shown, log);
	free(log);
}

int main(int argc, char **argv)
{
	struct CMUnitTest tests[NROWS];
	int status;

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL) {
		/* pam_wrapper copies the service folder at start: write it, then run in a child */
		write_services();
		status = pgd_test_run_in_child(argv);
		remove_services();
		fixtures_table(false);
		return status;
	}
	for (size_t i = 0; i < NROWS; i++)
		tests[i] = (struct CMUnitTest){
		    .name = rows[i].what,
		    .test_func = run_row,
		    .initial_state = (void *)(uintptr_t)&rows[i],
		};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
