// SPDX-License-Identifier: MIT
/*
 * The files of conf/: the safe open every conf file and included file goes through, the path
 * of an include, and which dialect a text is written in (conf_file.c).
 */
#ifndef PGD_CONF_FILE_H
#define PGD_CONF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "conf/result.h"

/*
 * Reads the file at path like pam-u2f's open_safely: absolute path, final component not a
 * symlink, a regular file owned by root (or by the effective uid, for tests and the admin
 * command), not group/world-writable, at most PGD_MAX_CONF_SIZE bytes. On success *buf is a
 * heap buffer of PGD_MAX_CONF_SIZE + 1 bytes holding *len bytes and a NUL; the caller hands it
 * to pgd_conf_free_file.
 */
enum pgd_conf_result pgd_conf_read_file(const char *path, char **buf, size_t *len, char *err,
                                        size_t errlen);

/* What a file was when it was read: a load's cache (load.c) is good while every file it read
 * still has the same one. */
struct pgd_conf_file_id {
	char *path; /* heap */
	bool dir;   /* a folder an include's glob or include_try listed, not a file read */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/*
 * The files a thread's loads read (pgd_conf_read_file), and the folders whose listing decided
 * which files an include read (pgd_conf_record_dir), for load.c's cache. Debian 13's stock
 * /etc/dovecot tree, as the guide leaves it, is about 20 of them.
 */
#define PGD_CONF_MAX_IDS 64
struct pgd_conf_files {
	struct pgd_conf_file_id ids[PGD_CONF_MAX_IDS];
	unsigned n;
	bool uncacheable; /* more files than ids, out of memory, an include whose folders are
	                   * globbed, or a folder that could not be stat'ed */
};

/* From now on pgd_conf_read_file in this thread notes what it read in *rec; NULL stops. */
void pgd_conf_record_files(struct pgd_conf_files *rec);

/*
 * Notes in this thread's recorder (if any) that an include listed the folder dir (a glob in the
 * last component, or an include_try that may find a file there later): what stat(2) says of it,
 * so that an entry added, removed or renamed there (which changes its mtime), or another folder
 * in its place, makes the cached load stale. NULL: the load cannot be cached (an include whose
 * folder part is globbed).
 */
void pgd_conf_record_dir(const char *dir);

/* What stat(2) says of the folder dir now, as pgd_conf_record_dir notes it (path not set);
 * false when it is not a folder or cannot be stat'ed. */
bool pgd_conf_check_dir(const char *dir, struct pgd_conf_file_id *id);

/*
 * The checks of pgd_conf_read_file on the file at path, without opening it (one lstat): on
 * success *id (path not set) says what the file is now. Same checks and errors, but for the
 * read permission the open needs, which a stat cannot see: cache.c compares *id's ctime with
 * that of the load which read the file, so the file's mode, owner and ACL are as they were
 * when it was read.
 */
enum pgd_conf_result pgd_conf_check_file(const char *path, struct pgd_conf_file_id *id, char *err,
                                         size_t errlen);

/*
 * Wipes and frees a buffer of pgd_conf_read_file holding len bytes (the file may hold a
 * password): those bytes and the NUL after them, never the unwritten rest of the 64 KiB block,
 * which would cost more than the parse. NULL is fine.
 */
void pgd_conf_free_file(char *buf, size_t len);

/*
 * Resolves an include pattern (or a "<file" name) of the file at from: an absolute pattern
 * stays, a relative one is taken from from's directory, as Dovecot's fix_relative_path does.
 * Returns a heap string or NULL when out of memory.
 */
char *pgd_conf_relative_path(const char *from, const char *pattern);

/* Which grammar a conf file text is written in, from its content alone. */
enum pgd_conf_dialect pgd_conf_detect(const char *text, size_t len);

#endif
