// SPDX-License-Identifier: MIT
/* The safe open of conf files and of the files they include, and which dialect a text is in. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf_file.h"
#include "util/err.h"
#include "util/printable.h"
#include "util/secret.h"

static const char *errno_str(int e, char *buf, size_t n)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(e, buf, n);
#else
	if (strerror_r(e, buf, n) != 0)
		snprintf(buf, n, "error %d", e);
	return buf;
#endif
}

/*
 * The recorder of this thread's loads (pgd_conf_record_files), as thread-specific data rather
 * than _Thread_local: a dlopen()ed module's _Thread_local block is dynamic TLS, which
 * LeakSanitizer's tracer crashes on at exit (glibc 2.36), and valgrind reads no better.
 */
static pthread_once_t recorder_once = PTHREAD_ONCE_INIT;
static pthread_key_t recorder_key;
static bool recorder_ok;

static void recorder_init(void)
{
	recorder_ok = pthread_key_create(&recorder_key, NULL) == 0;
}

void pgd_conf_record_files(struct pgd_conf_files *rec)
{
	pthread_once(&recorder_once, recorder_init);
	/* without a key nothing is recorded, and cache.c then finds the load uncacheable */
	if (recorder_ok)
		(void)pthread_setspecific(recorder_key, rec);
	else if (rec != NULL)
		rec->uncacheable = true;
}

/* Notes in the recorder that path, as st says, was read (a file) or listed (a folder, dir). */
static void record(const char *path, const struct stat *st, bool dir)
{
	struct pgd_conf_files *recorder;
	struct pgd_conf_file_id *id;

	pthread_once(&recorder_once, recorder_init);
	recorder = recorder_ok ? pthread_getspecific(recorder_key) : NULL;
	if (recorder == NULL || recorder->uncacheable)
		return;
	if (recorder->n >= PGD_CONF_MAX_IDS || path == NULL) {
		recorder->uncacheable = true;
		return;
	}
	id = &recorder->ids[recorder->n];
	id->path = strdup(path);
	if (id->path == NULL) {
		recorder->uncacheable = true;
		return;
	}
	id->dir = dir;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
	recorder->n++;
}

void pgd_conf_record_dir(const char *dir)
{
	struct stat st;

	/* stat, not lstat: a symlinked folder's target is what the glob listed */
	if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		record(NULL, NULL, true);
	else
		record(dir, &st, true);
}

bool pgd_conf_check_dir(const char *dir, struct pgd_conf_file_id *id)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return false;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	id->ctime = st.st_ctim;
	return true;
}

/*
 * The checks the safe open makes of what a stat says, in one place for both of its uses: st is
 * the fstat of a file opened with O_NOFOLLOW (a load) or the lstat of path (the cache's check
 * of a file already loaded; conf/cache.c). Not a symlink, a regular file, owned by root or the
 * effective uid, not group or world writable, not over the size cap; err says which check
 * failed, naming path.
 */
static bool acceptable(const char *path, const struct stat *st, char *err, size_t errlen)
{
	const char *why = NULL;
	char shown[256], text[64];

	if (S_ISLNK(st->st_mode)) {
		why = "is a symlink"; /* what the O_NOFOLLOW open says of one (ELOOP) */
	} else if (!S_ISREG(st->st_mode)) {
		why = "not a regular file";
	} else if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(text, sizeof(text), "not owned by root or uid %u", (unsigned)geteuid());
		why = geteuid() == 0 ? "not owned by root" : text;
	} else if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		why = "group or world writable";
	} else if (st->st_size > PGD_MAX_CONF_SIZE) {
		snprintf(text, sizeof(text), "larger than %d bytes", PGD_MAX_CONF_SIZE);
		why = text;
	}
	if (why == NULL)
		return true;
	pgd_set_err(err, errlen, "%s: %s", pgd_printable(path, shown, sizeof(shown)), why);
	return false;
}

/* The safe open's checks of the path itself: absolute (a relative one would be the caller's
 * working directory's). */
static bool absolute(const char *path, char *err, size_t errlen)
{
	char shown[256];

	if (path[0] == '/')
		return true;
	pgd_set_err(err, errlen, "%s: not an absolute path",
	            pgd_printable(path, shown, sizeof(shown)));
	return false;
}

/* err := why path could not be opened or stat'ed (errno e); ELOOP is the final component
 * being a symlink, under O_NOFOLLOW and AT_SYMLINK_NOFOLLOW alike. */
static void path_error(const char *path, int e, char *err, size_t errlen)
{
	char shown[256], ebuf[128];

	pgd_printable(path, shown, sizeof(shown));
	if (e == ELOOP)
		pgd_set_err(err, errlen, "%s: is a symlink", shown);
	else
		pgd_set_err(err, errlen, "%s: %s", shown, errno_str(e, ebuf, sizeof(ebuf)));
}

/* Reads fd into b (PGD_MAX_CONF_SIZE + 1 bytes) up to one byte past the cap, so that a file that
 * grew since fstat is still refused. Returns how many bytes, or -1 with errno set. */
static ssize_t read_capped(int fd, char *b)
{
	size_t got = 0;
	ssize_t n;

	while (got <= PGD_MAX_CONF_SIZE) {
		n = read(fd, b + got, PGD_MAX_CONF_SIZE + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Opens path safely and checks it (acceptable); *st gets its fstat. -1 with err set when
 * refused. */
static int open_safely(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd;

	if (!absolute(path, err, errlen))
		return -1;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the login. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		path_error(path, errno, err, errlen);
		return -1;
	}
	if (fstat(fd, st) != 0) {
		path_error(path, errno, err, errlen);
		close(fd);
		return -1;
	}
	if (!acceptable(path, st, err, errlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

enum pgd_conf_result pgd_conf_check_file(const char *path, struct pgd_conf_file_id *id, char *err,
                                         size_t errlen)
{
	struct stat st;

	if (!absolute(path, err, errlen))
		return PGD_CONF_INVALID;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		path_error(path, errno, err, errlen);
		return PGD_CONF_INVALID;
	}
	if (!acceptable(path, &st, err, errlen))
		return PGD_CONF_INVALID;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	id->ctime = st.st_ctim;
	return PGD_CONF_OK;
}

enum pgd_conf_result pgd_conf_read_file(const char *path, char **buf, size_t *len, char *err,
                                        size_t errlen)
{
	char shown[256], ebuf[128];
	struct stat st;
	ssize_t got;
	char *b;
	int fd, e;

	*buf = NULL;
	*len = 0;
	pgd_printable(path, shown, sizeof(shown));
	fd = open_safely(path, &st, err, errlen);
	if (fd < 0)
		return PGD_CONF_INVALID;
	b = malloc(PGD_MAX_CONF_SIZE + 1);
	if (b == NULL) {
		close(fd);
		pgd_set_err(err, errlen, "out of memory");
		return PGD_CONF_NOMEM;
	}
	got = read_capped(fd, b);
	e = errno;
	close(fd);
	if (got < 0)
		pgd_set_err(err, errlen, "%s: %s", shown, errno_str(e, ebuf, sizeof(ebuf)));
	else if (got > PGD_MAX_CONF_SIZE)
		pgd_set_err(err, errlen, "%s: larger than %d bytes", shown, PGD_MAX_CONF_SIZE);
	if (got < 0 || got > PGD_MAX_CONF_SIZE) {
		/* how much a failed read wrote is not known: all of it */
		pgd_conf_free_file(b, PGD_MAX_CONF_SIZE);
		return PGD_CONF_INVALID;
	}
	*buf = b;
	*len = (size_t)got;
	record(path, &st, false);
	return PGD_CONF_OK;
}

void pgd_conf_free_file(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	/* what was read and its NUL: the rest of the block was never written */
	pgd_wipe(buf, (len < PGD_MAX_CONF_SIZE ? len : PGD_MAX_CONF_SIZE) + 1);
	free(buf);
}

char *pgd_conf_relative_path(const char *from, const char *pattern)
{
	const char *slash = strrchr(from, '/');
	size_t dir_len = slash != NULL ? (size_t)(slash - from) : 0;
	size_t n = strlen(pattern);
	char *out;

	if (pattern[0] == '/' || slash == NULL)
		return strdup(pattern);
	out = malloc(dir_len + 1 + n + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, from, dir_len);
	out[dir_len] = '/';
	memcpy(out + dir_len + 1, pattern, n + 1);
	return out;
}

/* Settings only a Dovecot 2.4 file has at its top level; a 2.3 file never names them (our
 * own dovecot_config is not one of them). */
static bool v24_key(const char *key, size_t n)
{
	static const char *const words[] = {"dovecot_config_version", "dovecot_storage_version",
	                                    "sql_driver"};
	static const char *const prefixes[] = {"passdb_", "auth_", "pgsql_", "!include"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (n == strlen(words[i]) && memcmp(key, words[i], n) == 0)
			return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pn = strlen(prefixes[i]);

		if (n >= pn && memcmp(key, prefixes[i], pn) == 0)
			return true;
	}
	return false;
}

/*
 * A 2.4 file: its first setting is dovecot_config_version or another 2.4 name (a file of the
 * include tree such as conf.d/auth-sql.conf.ext), or it holds a block or an !include, which the
 * flat 2.3 grammar has not. Anything else is read as 2.3, whose reader names a bad line.
 */
enum pgd_conf_dialect pgd_conf_detect(const char *text, size_t len)
{
	size_t pos = 0;
	bool first = true;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		size_t b = pos, e = end, k;

		pos = end + 1;
		while (b < e && (text[b] == ' ' || text[b] == '\t'))
			b++;
		if (b == e || text[b] == '#')
			continue;
		while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r'))
			e--;
		for (k = b; k < e && text[k] != ' ' && text[k] != '\t' && text[k] != '='; k++)
			;
		if (first && v24_key(text + b, k - b))
			return PGD_DIALECT_V24;
		first = false;
		if (text[e - 1] == '{' || (e - b == 1 && text[b] == '}') ||
		    (k - b >= 8 && memcmp(text + b, "!include", 8) == 0))
			return PGD_DIALECT_V24;
	}
	return PGD_DIALECT_V23;
}
