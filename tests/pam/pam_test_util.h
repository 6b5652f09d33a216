// SPDX-License-Identifier: MIT
#ifndef PGD_PAM_TEST_UTIL_H
#define PGD_PAM_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libpamtest.h>
#include <libpq-fe.h>

/* The value of an environment variable the test needs; fails the test when unset. */
const char *pgd_test_env(const char *name);

/* A whole file as a NUL-terminated heap string; fails the test when unreadable. */
char *pgd_test_read_file(const char *path);

/* Writes text to path with mode (created or truncated); fails the test when it cannot. */
void pgd_test_write_file(const char *path, const char *text, mode_t mode);

/* text with every %CONNECT% replaced by $PGD_TEST_CONNINFO; free it. */
char *pgd_test_fill_conf(const char *text);

/*
 * Writes pam.d file NAME in $PAM_WRAPPER_SERVICE_DIR with auth and account lines for the module
 * (conf=, nodelay, then args), and its conf file (text with %CONNECT% replaced by
 * $PGD_TEST_CONNINFO) with the given mode in a private folder. no_conf: conf= names a missing file.
 */
void pgd_test_write_service(const char *name, const char *args, const char *conf, mode_t mode,
                            int no_conf);

/* One pam.d service of a test and its conf text (%CONNECT% for the module's conninfo). */
struct pgd_test_service {
	const char *name;
	const char *conf;
};

/* pgd_test_write_service for each of the n services, with args, mode 0600. */
void pgd_test_write_services(const struct pgd_test_service *services, size_t n, const char *args);

/*
 * pam_wrapper copies PAM_WRAPPER_SERVICE_DIR when the process starts: a test writes its pam.d
 * files, then runs itself again in a child (PGD_TEST_CHILD=1) with argv, and returns the
 * child's exit status after removing the conf files.
 */
int pgd_test_run_in_child(char **argv);

/* pgd_test_write_services, then pgd_test_run_in_child. */
int pgd_test_run_services(char **argv, const struct pgd_test_service *services, size_t n,
                          const char *args);

/* Sends stderr (where pam_wrapper logs) to a temporary file; returns the saved stderr. */
int pgd_test_capture_start(int *file_fd);

/* Puts stderr back and returns what was logged since pgd_test_capture_start; free it. */
char *pgd_test_capture_end(int saved, int file_fd);

/*
 * Runs one PAM operation (PAMTEST_AUTHENTICATE, PAMTEST_ACCOUNT, PAM_SETCRED) for user with
 * password answering the prompt, and returns the PAM code. If log is not NULL, *log receives what
 * the module logged (pam_wrapper's stderr at PAM_WRAPPER_DEBUGLEVEL); free it.
 */
int pgd_test_login(const char *service, const char *user, const char *password, enum pamtest_ops op,
                   char **log);

/*
 * One authenticate through pgd_test_login that fails the test when the password is in the
 * module's log. *seen (may be NULL) tells whether the log holds marker; *log (may be NULL)
 * receives the log (free it). Returns the PAM code.
 */
int pgd_test_auth_marked(const char *service, const char *user, const char *password,
                         const char *marker, bool *seen, char **log);

/* authenticate then acct_mgmt in one transaction; 0 when both gave the expected codes. */
int pgd_test_auth_then_acct(const char *service, const char *user, const char *password,
                            int auth_expected, int acct_expected);

/* The superuser connection ($PGD_TEST_ADMIN); fails the test when it cannot connect. */
PGconn *pgd_test_admin(void);

/* Runs text (statements, no parameters) on conn; fails the test unless it succeeded. */
void pgd_test_sql(PGconn *conn, const char *text);

/* pgd_test_sql on a connection of its own, closed after. */
void pgd_test_admin_sql(const char *text);

/* Column col of table's row whose userid is userid, as text ("" for NULL); free it. */
char *pgd_test_column(PGconn *conn, const char *table, const char *userid, const char *col);

/* Inserts (userid, stored) into table, or sets the password of userid's row to stored. */
void pgd_test_set_stored(PGconn *conn, const char *table, const char *userid, const char *stored);

/*
 * Dovecot 2.4's "sql_driver = pgsql" and block "pgsql HOST { parameters { ... } }" for
 * $PGD_TEST_CONNINFO (host localhost when it names none); free it.
 */
char *pgd_test_v24_pgsql(void);

#endif
