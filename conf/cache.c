// SPDX-License-Identifier: MIT
/*
 * The per-process cache of loaded confs (pgd_conf_load): a conf is read and parsed by load.c
 * (pgd_conf_load_files) once, and its files are checked at every later load.
 */
#include "conf/conf.h"
#include "conf/conf_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf_file.h"

#define FIELD(f) offsetof(struct pgd_conf, f)

/*
 * The cache of loaded confs: a process that serves many logins (a saslauthd worker) reads and
 * parses its conf once, not at every login. An entry belongs to the module arguments (and the
 * effective uid, which the owner check depends on) and holds what each file the load read was:
 * device, inode, size, mtime and ctime. Every load still checks each of those files as a first
 * load would (absolute path, no symlink, regular file, owner, mode, size), from one lstat
 * (conf_file.c's pgd_conf_check_file: the safe open's own checks) and compares; any
 * difference, or any refused check, makes it a first load again, with that load's errors. The
 * one check of a first load not made again is the open's read permission: the file's mode,
 * owner and ACL are those it was read with (its ctime is the same) and the effective uid is
 * part of the key, so only a process that changed its groups or capabilities between two
 * loads could tell. Not
 * cached: a load that read a file changed less than RACY_NS before (a change within the
 * timestamps' granularity would go unseen; a file is cached once it has been left alone that
 * long), and one that read more than PGD_CONF_MAX_IDS files. An include tree (Dovecot 2.4's, or
 * 2.3's dovecot_conf) is cached with the folders its globs and include_try listed: a file added,
 * removed or renamed in one changes its mtime; a glob in a folder part of an include's path
 * makes the tree uncacheable. Guarded by a lock
 * (threaded callers); a fork()ed child keeps the entries, which stay right for it.
 */
#define CACHE_SLOTS 4
#define RACY_NS (2LL * 1000000000)

struct cached {
	char *key; /* NULL: a free slot */
	size_t keylen;
	struct pgd_conf_files files;
	struct pgd_conf conf;
	unsigned long used; /* for least-recently-used replacement */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached slots[CACHE_SLOTS];
static unsigned long clock_used;
static atomic_ulong cache_hits;

/* The strings of struct pgd_conf, which a cached conf's copy duplicates. */
static const size_t string_fields[] = {
    FIELD(path),
    FIELD(config_version),
    FIELD(secret_path),
    FIELD(driver),
    FIELD(connect),
    FIELD(password_query),
    FIELD(default_pass_scheme),
    FIELD(username_format),
    FIELD(username_chars),
    FIELD(default_domain),
    FIELD(service_protocols),
    FIELD(secured),
    FIELD(mechanism),
    FIELD(account_query),
    FIELD(iterate_query),
    FIELD(password_update_query),
    FIELD(update_scheme),
    FIELD(session_open_query),
    FIELD(session_close_query),
    FIELD(auth_success_query),
    FIELD(auth_failure_query),
    FIELD(update_connect),
};
#define N_STRINGS (sizeof(string_fields) / sizeof(string_fields[0]))
/* A string field added to struct pgd_conf must be added above, or a copy would share it. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct pgd_conf) == 344,
               "struct pgd_conf changed: list its strings in string_fields (conf/cache.c)");

static char **string_at(struct pgd_conf *conf, size_t i)
{
	return (char **)((char *)conf + string_fields[i]);
}

/* *dst := a deep copy of *src; dst's old contents are not freed. */
static enum pgd_conf_result copy_conf(struct pgd_conf *dst, const struct pgd_conf *src)
{
	*dst = *src;
	for (size_t i = 0; i < N_STRINGS; i++)
		*string_at(dst, i) = NULL;
	for (size_t i = 0; i < N_STRINGS; i++) {
		const char *v = *string_at((struct pgd_conf *)(uintptr_t)src, i);

		if (v != NULL && (*string_at(dst, i) = strdup(v)) == NULL) {
			pgd_conf_free(dst);
			return PGD_CONF_NOMEM;
		}
	}
	return PGD_CONF_OK;
}

/* "euid\0argv[0]\0argv[1]\0...": what an entry belongs to; NULL when out of memory. */
static char *cache_key(int argc, const char **argv, size_t *len)
{
	char head[32];
	size_t n = (size_t)snprintf(head, sizeof(head), "%u", (unsigned)geteuid()) + 1, at;
	char *key;

	for (int i = 0; i < argc; i++)
		n += (argv[i] != NULL ? strlen(argv[i]) : 1) + 1;
	key = malloc(n);
	if (key == NULL)
		return NULL;
	memcpy(key, head, strlen(head) + 1);
	at = strlen(head) + 1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i] != NULL ? argv[i] : "\001";
		size_t an = strlen(a) + 1;

		memcpy(key + at, a, an);
		at += an;
	}
	*len = n;
	return key;
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Does every file of e pass the safe open's checks (as one lstat sees them), and every folder
 * its includes listed stay a folder, and each still look as it did when read? */
static bool still_valid(const struct cached *e)
{
	for (unsigned i = 0; i < e->files.n; i++) {
		const struct pgd_conf_file_id *then = &e->files.ids[i];
		struct pgd_conf_file_id now;
		char msg[256];
		bool seen = then->dir ? pgd_conf_check_dir(then->path, &now)
		                      : pgd_conf_check_file(then->path, &now, msg, sizeof(msg)) ==
		                            PGD_CONF_OK;

		if (!seen || now.dev != then->dev || now.ino != then->ino ||
		    now.size != then->size || !same_time(now.mtime, then->mtime) ||
		    !same_time(now.ctime, then->ctime))
			return false;
	}
	return true;
}

static void free_files(struct pgd_conf_files *files)
{
	for (unsigned i = 0; i < files->n && i < PGD_CONF_MAX_IDS; i++)
		free(files->ids[i].path);
	memset(files, 0, sizeof(*files));
}

static void drop(struct cached *e)
{
	free(e->key);
	free_files(&e->files);
	pgd_conf_free(&e->conf);
	memset(e, 0, sizeof(*e));
}

/* Was any file changed less than RACY_NS ago (or has a time in the future)? */
static bool racy(const struct pgd_conf_files *files)
{
	struct timespec now;
	int64_t now_ns;

	clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	for (unsigned i = 0; i < files->n; i++) {
		const struct timespec t[2] = {files->ids[i].mtime, files->ids[i].ctime};

		for (int k = 0; k < 2; k++)
			if ((int64_t)t[k].tv_sec * 1000000000 + t[k].tv_nsec > now_ns - RACY_NS)
				return true;
	}
	return false;
}

/* *conf := the cached copy for key when it is still good; else false (a stale entry goes). */
static bool cache_get(const char *key, size_t keylen, struct pgd_conf *conf)
{
	bool hit = false;

	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct cached *e = &slots[i];

		if (e->key == NULL || e->keylen != keylen || memcmp(e->key, key, keylen) != 0)
			continue;
		if (!still_valid(e)) {
			drop(e);
			break;
		}
		pgd_conf_free(conf);
		hit = copy_conf(conf, &e->conf) == PGD_CONF_OK;
		if (!hit)
			pgd_conf_init(conf);
		e->used = ++clock_used;
		break;
	}
	pthread_mutex_unlock(&cache_lock);
	if (hit)
		atomic_fetch_add(&cache_hits, 1);
	return hit;
}

/* Keeps a copy of conf, which files made, for key (taken); the least recently used goes. */
static void cache_put(char *key, size_t keylen, struct pgd_conf_files *files,
                      const struct pgd_conf *conf)
{
	struct cached *e = &slots[0];

	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (slots[i].key != NULL && slots[i].keylen == keylen &&
		    memcmp(slots[i].key, key, keylen) == 0) {
			e = &slots[i];
			break;
		}
		if (slots[i].used < e->used)
			e = &slots[i];
	}
	drop(e);
	if (copy_conf(&e->conf, conf) == PGD_CONF_OK) {
		e->key = key;
		e->keylen = keylen;
		e->files = *files;
		e->used = ++clock_used;
		key = NULL;
		memset(files, 0, sizeof(*files));
	} else {
		memset(&e->conf, 0, sizeof(e->conf));
	}
	pthread_mutex_unlock(&cache_lock);
	free(key);
	free_files(files);
}

unsigned long pgd_conf_cache_hits(void)
{
	return atomic_load(&cache_hits);
}

enum pgd_conf_result pgd_conf_load(struct pgd_conf *conf, int argc, const char **argv, char *err,
                                   size_t errlen)
{
	struct pgd_conf_files files = {0};
	enum pgd_conf_result r;
	size_t keylen = 0;
	char *key = cache_key(argc, argv, &keylen);

	if (key != NULL && cache_get(key, keylen, conf)) {
		free(key);
		return PGD_CONF_OK;
	}
	pgd_conf_record_files(&files);
	r = pgd_conf_load_files(conf, argc, argv, err, errlen);
	pgd_conf_record_files(NULL);
	if (r == PGD_CONF_OK && key != NULL && !files.uncacheable && !racy(&files)) {
		cache_put(key, keylen, &files, conf);
		return r;
	}
	free(key);
	free_files(&files);
	return r;
}

/* At exit the cached confs (the database password among them) are wiped. */
__attribute__((destructor)) static void cache_at_exit(void)
{
	if (pthread_mutex_trylock(&cache_lock) != 0)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++)
		drop(&slots[i]);
	pthread_mutex_unlock(&cache_lock);
}

static void cache_fork_prepare(void)
{
	pthread_mutex_lock(&cache_lock);
}

static void cache_fork_done(void)
{
	pthread_mutex_unlock(&cache_lock);
}

__attribute__((constructor)) static void cache_fork_handlers(void)
{
	pthread_atfork(cache_fork_prepare, cache_fork_done, cache_fork_done);
}
