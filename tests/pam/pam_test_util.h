// SPDX-License-Identifier: MIT
#ifndef PGD_PAM_TEST_UTIL_H
#define PGD_PAM_TEST_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include <libpamtest.h>

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

/*
 * pam_wrapper copies PAM_WRAPPER_SERVICE_DIR when the process starts: a test writes its pam.d
 * files, then runs itself again in a child (PGD_TEST_CHILD=1) with argv, and returns the
 * child's exit status after removing the conf files.
 */
int pgd_test_run_in_child(char **argv);

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

#endif
