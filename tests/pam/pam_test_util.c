// SPDX-License-Identifier: MIT
#include "pam_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/pam_appl.h>

static char conf_dir[] = "/tmp/pgd-pam-test.XXXXXX";
static int conf_dir_made;

const char *pgd_test_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		fail_msg("environment variable %s is not set", name);
	return v;
}

char *pgd_test_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)
		fail_msg("cannot read %s", path);
	fclose(f);
	return buf;
}

void pgd_test_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		fail_msg("cannot write %s", path);
	close(fd);
}

/* text with every %CONNECT% replaced by the module's conninfo */
char *pgd_test_fill_conf(const char *text)
{
	const char *conninfo = pgd_test_env("PGD_TEST_CONNINFO");
	size_t cap = strlen(text) + 8 * strlen(conninfo) + 1;
	char *out = calloc(1, cap);
	const char *p = text, *hit;

	assert_non_null(out);
	while ((hit = strstr(p, "%CONNECT%")) != NULL) {
		strncat(out, p, (size_t)(hit - p));
		strcat(out, conninfo);
		p = hit + strlen("%CONNECT%");
	}
	strcat(out, p);
	return out;
}

void pgd_test_write_service(const char *name, const char *args, const char *conf, mode_t mode,
                            int no_conf)
{
	const char *module = pgd_test_env("PGD_MODULE");
	char conf_path[256], svc_path[512], line[2048];

	/* Not "does it still end in X": one name in 62 that mkdtemp makes does. */
	if (!conf_dir_made) {
		if (mkdtemp(conf_dir) == NULL)
			fail_msg("mkdtemp failed");
		conf_dir_made = 1;
	}
	snprintf(conf_path, sizeof(conf_path), "%s/%s%s.conf", conf_dir, name,
	         no_conf ? "-missing" : "");
	if (!no_conf) {
		char *text = pgd_test_fill_conf(conf);

		pgd_test_write_file(conf_path, text, mode);
		free(text);
	}
	snprintf(svc_path, sizeof(svc_path), "%s/%s", pgd_test_env("PAM_WRAPPER_SERVICE_DIR"),
	         name);
	snprintf(line, sizeof(line),
	         "auth required %s conf=%s nodelay %s\naccount required %s conf=%s %s\n"
	         "password required %s conf=%s %s\nsession required %s conf=%s %s\n",
	         module, conf_path, args, module, conf_path, args, module, conf_path, args, module,
	         conf_path, args);
	pgd_test_write_file(svc_path, line, 0644);
}

void pgd_test_write_services(const struct pgd_test_service *services, size_t n, const char *args)
{
	for (size_t i = 0; i < n; i++)
		pgd_test_write_service(services[i].name, args, services[i].conf, 0600, 0);
}

static void remove_confs(void)
{
	DIR *dir = opendir(conf_dir);
	struct dirent *e;

	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(dir), e->d_name, 0);
	closedir(dir);
	rmdir(conf_dir);
}

int pgd_test_run_in_child(char **argv)
{
	int status;
	pid_t pid;

	setenv("PGD_TEST_CHILD", "1", 1);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = 1 << 8;
	remove_confs();
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Sends stderr to a fresh temporary file; returns the saved stderr and the file's fd. */
int pgd_test_run_services(char **argv, const struct pgd_test_service *services, size_t n,
                          const char *args)
{
	pgd_test_write_services(services, n, args);
	return pgd_test_run_in_child(argv);
}

int pgd_test_capture_start(int *file_fd)
{
	char path[] = "/tmp/pgd-pam-log.XXXXXX";
	int saved;

	fflush(stderr);
	*file_fd = mkstemp(path);
	if (*file_fd < 0)
		fail_msg("mkstemp failed");
	unlink(path);
	saved = dup(STDERR_FILENO);
	dup2(*file_fd, STDERR_FILENO);
	return saved;
}

char *pgd_test_capture_end(int saved, int file_fd)
{
	off_t len;
	char *buf;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = lseek(file_fd, 0, SEEK_END);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	if (len > 0 && pread(file_fd, buf, (size_t)len, 0) != len)
		fail_msg("cannot read the captured log");
	close(file_fd);
	return buf;
}

int pgd_test_login(const char *service, const char *user, const char *password, enum pamtest_ops op,
                   char **log)
{
	const char *answers[] = {password, NULL};
	struct pamtest_conv_data conv = {.in_echo_off = answers};
	struct pam_testcase tests[] = {pam_test(op, PAM_SUCCESS)};
	int saved, file_fd;
	char *text;
	enum pamtest_err perr;

	saved = pgd_test_capture_start(&file_fd);
	perr = run_pamtest(service, user, &conv, tests, NULL);
	text = pgd_test_capture_end(saved, file_fd);
	if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_CASE)
		fail_msg("run_pamtest: %s", pamtest_strerror(perr));
	if (log != NULL)
		*log = text;
	else
		free(text);
	return tests[0].op_rv;
}

int pgd_test_auth_marked(const char *service, const char *user, const char *password,
                         const char *marker, bool *seen, char **log)
{
	char *text = NULL;
	int rc = pgd_test_login(service, user, password, PAMTEST_AUTHENTICATE, &text);

	if (seen != NULL)
		*seen = strstr(text, marker) != NULL;
	/* whatever happened, the password is not in the log */
	if (password[0] != '\0' && strstr(text, password) != NULL)
		fail_msg("the password is in the log: %s", text);
	if (log != NULL)
		*log = text;
	else
		free(text);
	return rc;
}

int pgd_test_auth_then_acct(const char *service, const char *user, const char *password,
                            int auth_expected, int acct_expected)
{
	const char *answers[] = {password, NULL};
	struct pamtest_conv_data conv = {.in_echo_off = answers};
	struct pam_testcase tests[] = {
	    pam_test(PAMTEST_AUTHENTICATE, auth_expected),
	    pam_test(PAMTEST_ACCOUNT, acct_expected),
	};
	enum pamtest_err perr = run_pamtest(service, user, &conv, tests, NULL);

	if (perr != PAMTEST_ERR_OK) {
		print_message("%s: authenticate gave %d, acct_mgmt gave %d (%s)\n", user,
		              tests[0].op_rv, tests[1].op_rv, pamtest_strerror(perr));
		return -1;
	}
	return 0;
}

PGconn *pgd_test_admin(void)
{
	PGconn *conn = PQconnectdb(pgd_test_env("PGD_TEST_ADMIN"));

	if (PQstatus(conn) != CONNECTION_OK)
		fail_msg("cannot connect as admin: %s", PQerrorMessage(conn));
	return conn;
}

void pgd_test_sql(PGconn *conn, const char *text)
{
	PGresult *res = PQexec(conn, text);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", text, PQerrorMessage(conn));
	PQclear(res);
}

void pgd_test_admin_sql(const char *text)
{
	PGconn *conn = pgd_test_admin();

	pgd_test_sql(conn, text);
	PQfinish(conn);
}

char *pgd_test_column(PGconn *conn, const char *table, const char *userid, const char *col)
{
	char q[256];
	PGresult *res;
	char *v;

	snprintf(q, sizeof(q), "SELECT %s FROM %s WHERE userid = '%s'", col, table, userid);
	res = PQexec(conn, q);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fail_msg("%s: %s", q, PQerrorMessage(conn));
	v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	assert_non_null(v);
	return v;
}

void pgd_test_set_stored(PGconn *conn, const char *table, const char *userid, const char *stored)
{
	const char *params[2] = {stored, userid};
	char q[256];
	PGresult *res;

	snprintf(q, sizeof(q),
	         "INSERT INTO %s (userid, password) VALUES ($2, $1) "
	         "ON CONFLICT (userid) DO UPDATE SET password = $1",
	         table);
	res = PQexecParams(conn, q, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("setting %s's password in %s: %s", userid, table, PQerrorMessage(conn));
	PQclear(res);
}

char *pgd_test_v24_pgsql(void)
{
	PQconninfoOption *opts = PQconninfoParse(pgd_test_env("PGD_TEST_CONNINFO"), NULL);
	char params[1024] = "", *text = malloc(2048);
	const char *host = "localhost";

	assert_non_null(opts);
	assert_non_null(text);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		size_t n = strlen(params);

		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else
			snprintf(params + n, sizeof(params) - n, "    %s = %s\n", o->keyword,
			         o->val);
	}
	snprintf(text, 2048, "sql_driver = pgsql\npgsql %s {\n  parameters {\n%s  }\n}\n", host,
	         params);
	PQconninfoFree(opts);
	return text;
}
