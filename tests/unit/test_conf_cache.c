// SPDX-License-Identifier: MIT
/*
 * The per-process cache of loaded confs (conf/cache.c): a conf left alone is parsed once and
 * answered from the cache afterwards; an edit (even one that keeps the size), a replaced file or
 * an included file's change is seen at the next load; the safe open's checks run at every load
 * (a file made group-writable is refused at once; a symlink, a FIFO or another owner in a cached
 * file's place is refused with a first load's error, and the one-lstat check of a cached file
 * refuses what the read refuses, with its words); other module arguments are another entry;
 * a Dovecot 2.4 include tree is cached, and a file added where its glob or include_try looks is
 * read at once; a glob in a folder part is never cached; threads load at once.
 */
#include <pthread.h>
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

#include "conf/conf.h"
#include "conf/conf_file.h"

static char dir[] = "/tmp/pgd-conf-cache.XXXXXX";
static char path[256], arg[300];

#define BASE "driver = pgsql\nconnect = host=/run/postgresql dbname=mail\n"
#define QUERY_A "password_query = SELECT password FROM users WHERE userid = '%u'\n"
#define QUERY_B "password_query = SELECT password FROM users WHERE userid = '%n'\n"

static void write_file(const char *p, const char *text, mode_t mode)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* The cache keeps no file changed in the last 2 s (a change within one timestamp tick). */
static void settle(void)
{
	usleep(2100 * 1000);
}

/* pgd_conf_load with argv; the result, *query a copy of its password_query (or NULL). */
static enum pgd_conf_result load(int argc, const char **argv, char **query, char *err,
                                 size_t errlen)
{
	struct pgd_conf conf;
	enum pgd_conf_result r;

	assert_int_equal(pgd_conf_init(&conf), PGD_CONF_OK);
	err[0] = '\0';
	r = pgd_conf_load(&conf, argc, argv, err, errlen);
	if (query != NULL)
		*query = r == PGD_CONF_OK ? strdup(conf.password_query) : NULL;
	pgd_conf_free(&conf);
	return r;
}

static void assert_query(const char *want)
{
	const char *argv[] = {arg};
	char err[512], *q = NULL;

	if (load(1, argv, &q, err, sizeof(err)) != PGD_CONF_OK)
		fail_msg("load: %s", err);
	assert_string_equal(q, want);
	free(q);
}

static void test_parsed_once_then_edits_seen(void **state)
{
	unsigned long hits;

	(void)state;
	write_file(path, BASE QUERY_A, 0600);
	settle();
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	hits = pgd_conf_cache_hits();
	for (int i = 0; i < 5; i++)
		assert_query("SELECT password FROM users WHERE userid = '%u'");
	assert_int_equal(pgd_conf_cache_hits(), hits + 5);
	/* the same size, another text: seen at once */
	write_file(path, BASE QUERY_B, 0600);
	assert_query("SELECT password FROM users WHERE userid = '%n'");
	assert_query("SELECT password FROM users WHERE userid = '%n'");
	assert_int_equal(pgd_conf_cache_hits(), hits + 5);
	/* replaced by another file (rename), then left alone: cached again */
	write_file("/tmp/pgd-conf-cache-new.conf", BASE QUERY_A, 0600);
	assert_int_equal(rename("/tmp/pgd-conf-cache-new.conf", path), 0);
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	settle();
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	assert_int_equal(pgd_conf_cache_hits(), hits + 6);
}

static void test_checks_run_at_every_load(void **state)
{
	const char *argv[] = {arg};
	char err[512];

	(void)state;
	write_file(path, BASE QUERY_A, 0600);
	settle();
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(load(1, argv, NULL, err, sizeof(err)), PGD_CONF_INVALID);
	assert_non_null(strstr(err, "group or world writable"));
	assert_int_equal(chmod(path, 0606), 0);
	assert_int_equal(load(1, argv, NULL, err, sizeof(err)), PGD_CONF_INVALID);
	assert_non_null(strstr(err, "group or world writable"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	/* a symlink in the file's place */
	assert_int_equal(rename(path, "/tmp/pgd-conf-cache-moved.conf"), 0);
	assert_int_equal(symlink("/tmp/pgd-conf-cache-moved.conf", path), 0);
	assert_int_equal(load(1, argv, NULL, err, sizeof(err)), PGD_CONF_INVALID);
	assert_non_null(strstr(err, "is a symlink"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(load(1, argv, NULL, err, sizeof(err)), PGD_CONF_INVALID);
	assert_int_equal(rename("/tmp/pgd-conf-cache-moved.conf", path), 0);
}

/* The conf at path, loaded once and then answered from the cache. */
static void cached_conf(void)
{
	unsigned long hits;

	write_file(path, BASE QUERY_A, 0600);
	settle();
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	hits = pgd_conf_cache_hits();
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	assert_int_equal(pgd_conf_cache_hits(), hits + 1);
}

/*
 * The load after a cached one is refused with the error a first load gives (the same text as
 * the load after it, which no cache entry answers any more), and nothing came from the cache.
 */
static void assert_refused_as_first_load(const char *why)
{
	const char *argv[] = {arg};
	char err[512], again[512];
	unsigned long hits = pgd_conf_cache_hits();

	assert_int_equal(load(1, argv, NULL, err, sizeof(err)), PGD_CONF_INVALID);
	if (strstr(err, why) == NULL)
		fail_msg("refused, but not for \"%s\": %s", why, err);
	assert_int_equal(load(1, argv, NULL, again, sizeof(again)), PGD_CONF_INVALID);
	assert_string_equal(err, again);
	assert_int_equal(pgd_conf_cache_hits(), hits);
}

/* A cached conf's file is checked with one lstat; a file the safe open refuses is refused. */
static void test_cached_file_refused_as_first_load(void **state)
{
	char moved[300];

	(void)state;
	snprintf(moved, sizeof(moved), "%s/moved.conf", dir);
	/* a symlink to the very file it replaces */
	cached_conf();
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(symlink(moved, path), 0);
	assert_refused_as_first_load("is a symlink");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(moved, path), 0);
	assert_query("SELECT password FROM users WHERE userid = '%u'");
	/* a FIFO in its place: refused, no hang */
	cached_conf();
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_refused_as_first_load("not a regular file");
	assert_int_equal(unlink(path), 0);
	/* owned by another user (root can give a file away) */
	cached_conf();
	if (geteuid() != 0) {
		skip();
		return;
	}
	assert_int_equal(chown(path, 12345, (gid_t)-1), 0);
	assert_refused_as_first_load("not owned by root");
	assert_int_equal(chown(path, 0, (gid_t)-1), 0);
	assert_query("SELECT password FROM users WHERE userid = '%u'");
}

/* The check of a cached file (one lstat) and the read of a first load agree on p. */
static void assert_check_says_what_read_says(const char *p, enum pgd_conf_result want,
                                             const char *why)
{
	struct pgd_conf_file_id id;
	char check_err[512] = "", read_err[512] = "", *buf = NULL;
	size_t len = 0;
	enum pgd_conf_result checked = pgd_conf_check_file(p, &id, check_err, sizeof(check_err));
	enum pgd_conf_result read = pgd_conf_read_file(p, &buf, &len, read_err, sizeof(read_err));

	pgd_conf_free_file(buf, len);
	if (checked != want || read != want)
		fail_msg("%s: check %d (%s), read %d (%s), want %d", p, checked, check_err, read,
		         read_err, want);
	assert_string_equal(check_err, read_err);
	if (why != NULL && strstr(read_err, why) == NULL)
		fail_msg("%s: refused, but not for \"%s\": %s", p, why, read_err);
}

static void test_check_and_read_refuse_alike(void **state)
{
	char p[300], big[PGD_MAX_CONF_SIZE + 2];

	(void)state;
	snprintf(p, sizeof(p), "%s/alike.conf", dir);
	write_file(p, BASE QUERY_A, 0600);
	assert_check_says_what_read_says(p, PGD_CONF_OK, NULL);
	assert_check_says_what_read_says("relative/alike.conf", PGD_CONF_INVALID,
	                                 "not an absolute path");
	assert_check_says_what_read_says("/nonexistent-pgd/alike.conf", PGD_CONF_INVALID,
	                                 "No such file or directory");
	assert_int_equal(chmod(p, 0620), 0);
	assert_check_says_what_read_says(p, PGD_CONF_INVALID, "group or world writable");
	assert_int_equal(chmod(p, 0602), 0);
	assert_check_says_what_read_says(p, PGD_CONF_INVALID, "group or world writable");
	assert_int_equal(chmod(p, 0600), 0);
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(p, big, 0600);
	assert_check_says_what_read_says(p, PGD_CONF_INVALID, "larger than");
	assert_check_says_what_read_says(dir, PGD_CONF_INVALID, "not a regular file");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(path, p), 0);
	assert_check_says_what_read_says(p, PGD_CONF_INVALID, "is a symlink");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_check_says_what_read_says(p, PGD_CONF_INVALID, "not a regular file");
	assert_int_equal(unlink(p), 0);
	if (geteuid() == 0) {
		write_file(p, BASE QUERY_A, 0600);
		assert_int_equal(chown(p, 12345, (gid_t)-1), 0);
		assert_check_says_what_read_says(p, PGD_CONF_INVALID, "not owned by root");
		assert_int_equal(unlink(p), 0);
	}
}

static void test_arguments_are_part_of_the_key(void **state)
{
	const char *plain[] = {arg}, *debug[] = {arg, "debug"};
	const char *over[] = {arg, "password_query=SELECT password FROM u WHERE n = '%u'"};
	char err[512], *q = NULL;

	(void)state;
	write_file(path, BASE QUERY_A, 0600);
	settle();
	for (int i = 0; i < 2; i++) {
		assert_int_equal(load(1, plain, &q, err, sizeof(err)), PGD_CONF_OK);
		assert_string_equal(q, "SELECT password FROM users WHERE userid = '%u'");
		free(q);
		assert_int_equal(load(2, over, &q, err, sizeof(err)), PGD_CONF_OK);
		assert_string_equal(q, "SELECT password FROM u WHERE n = '%u'");
		free(q);
		assert_int_equal(load(2, debug, &q, err, sizeof(err)), PGD_CONF_OK);
		free(q);
	}
}

/* A Dovecot 2.4 dovecot.conf's first lines: the version and the server. */
#define V24_HEAD                                                                                   \
	"dovecot_config_version = 2.4.1\nsql_driver = pgsql\n"                                     \
	"pgsql localhost {\n  parameters {\n    dbname = mail\n  }\n}\n"

/* Loads argv once; fails the test unless the result is want (and, when OK, query A). */
static void load_expect(const char **argv, enum pgd_conf_result want, const char *err_part)
{
	char err[512], *q = NULL;
	enum pgd_conf_result r = load(1, argv, &q, err, sizeof(err));

	if (r != want)
		fail_msg("load gave %d, not %d: %s", (int)r, (int)want, err);
	if (err_part != NULL && strstr(err, err_part) == NULL)
		fail_msg("'%s' not in: %s", err_part, err);
	if (r == PGD_CONF_OK)
		assert_string_equal(q, "SELECT password FROM users WHERE userid = '%u'");
	free(q);
}

/*
 * A Dovecot 2.4 tree with includes, as Debian's (a plain !include, a glob over a folder, an
 * !include_try of a missing file), is cached, and a file added where a glob or an include_try
 * looks is read at the next load: here a passdb pam, which every load refuses.
 */
static void test_dovecot_include_tree_cached(void **state)
{
	char main_path[300], inc_path[300], confd[300], fpath[400], text[1024], a[320];
	const char *argv[] = {a};
	unsigned long hits;

	(void)state;
	snprintf(main_path, sizeof(main_path), "%s/dovecot.conf", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/sql.conf.ext", dir);
	snprintf(confd, sizeof(confd), "%s/conf.d", dir);
	snprintf(a, sizeof(a), "conf=%s", main_path);
	assert_int_equal(mkdir(confd, 0755), 0);
	snprintf(text, sizeof(text), "%s",
	         V24_HEAD
	         "!include sql.conf.ext\n!include conf.d/*.conf\n!include_try local.conf\n");
	write_file(main_path, text, 0600);
	write_file(inc_path,
	           "passdb sql {\n  query = SELECT password FROM users WHERE userid = "
	           "'%{user}'\n}\n",
	           0600);
	snprintf(fpath, sizeof(fpath), "%s/10-a.conf", confd);
	write_file(fpath, "# nothing here\n", 0600);
	settle();
	hits = pgd_conf_cache_hits();
	for (int i = 0; i < 3; i++)
		load_expect(argv, PGD_CONF_OK, NULL);
	assert_int_equal(pgd_conf_cache_hits(), hits + 2);

	/* a file the glob now matches, at once */
	snprintf(fpath, sizeof(fpath), "%s/20-pam.conf", confd);
	write_file(fpath, "passdb pam {\n}\n", 0600);
	load_expect(argv, PGD_CONF_INVALID, "passdb pam");
	load_expect(argv, PGD_CONF_INVALID, "passdb pam");
	assert_int_equal(unlink(fpath), 0);
	load_expect(argv, PGD_CONF_OK, NULL);
	settle();
	load_expect(argv, PGD_CONF_OK, NULL);
	hits = pgd_conf_cache_hits();
	load_expect(argv, PGD_CONF_OK, NULL);
	assert_int_equal(pgd_conf_cache_hits(), hits + 1);

	/* the file an include_try names, created, at once */
	snprintf(fpath, sizeof(fpath), "%s/local.conf", dir);
	write_file(fpath, "passdb pam {\n}\n", 0600);
	load_expect(argv, PGD_CONF_INVALID, "passdb pam");
	assert_int_equal(unlink(fpath), 0);

	/* a glob in a folder part of the path: never cached */
	snprintf(text, sizeof(text), "%s",
	         V24_HEAD "!include sql.conf.ext\n!include conf.*/*.conf\n");
	write_file(main_path, text, 0600);
	settle();
	hits = pgd_conf_cache_hits();
	for (int i = 0; i < 3; i++)
		load_expect(argv, PGD_CONF_OK, NULL);
	assert_int_equal(pgd_conf_cache_hits(), hits);
	snprintf(fpath, sizeof(fpath), "%s/10-a.conf", confd);
	assert_int_equal(unlink(fpath), 0);
	assert_int_equal(rmdir(confd), 0);
}

static void *loader(void *p)
{
	const char *argv[] = {arg};
	char err[512], *q = NULL;
	intptr_t bad = 0;

	(void)p;
	for (int i = 0; i < 200; i++) {
		if (load(1, argv, &q, err, sizeof(err)) != PGD_CONF_OK ||
		    strcmp(q, "SELECT password FROM users WHERE userid = '%u'") != 0)
			bad++;
		free(q);
	}
	return (void *)bad;
}

static void test_threads(void **state)
{
	pthread_t t[8];

	(void)state;
	write_file(path, BASE QUERY_A, 0600);
	settle();
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, loader, NULL), 0);
	for (int i = 0; i < 8; i++) {
		void *bad;

		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((intptr_t)bad, 0);
	}
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/pam_pgsql_dovecot.conf", dir);
	snprintf(arg, sizeof(arg), "conf=%s", path);
	return 0;
}

static int teardown(void **state)
{
	char p[300];

	(void)state;
	unlink(path);
	snprintf(p, sizeof(p), "%s/dovecot.conf", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sql.conf.ext", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/moved.conf", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parsed_once_then_edits_seen),
	    cmocka_unit_test(test_checks_run_at_every_load),
	    cmocka_unit_test(test_cached_file_refused_as_first_load),
	    cmocka_unit_test(test_check_and_read_refuse_alike),
	    cmocka_unit_test(test_arguments_are_part_of_the_key),
	    cmocka_unit_test(test_dovecot_include_tree_cached),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
