// SPDX-License-Identifier: MIT
/*
 * The files of conf/: the safe open every conf file and included file goes through, the path
 * of an include, and which dialect a text is written in (conf_file.c).
 */
#ifndef PGD_CONF_FILE_H
#define PGD_CONF_FILE_H

#include <stddef.h>

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
