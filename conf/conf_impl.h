// SPDX-License-Identifier: MIT
/* What conf.c shares with the file opener and the two grammar readers; not for other callers. */
#ifndef PGD_CONF_IMPL_H
#define PGD_CONF_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

/* Where a key may be given. */
#define PGD_FROM_FILE 0x1u
#define PGD_FROM_ARG 0x2u

void pgd_conf_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records path as the file holding the database password (struct pgd_conf's secret_path). */
enum pgd_conf_result pgd_conf_note_secret(struct pgd_conf *conf, const char *path);

/* A copy of s for a message: printable ASCII only ('?' for the rest), cut to fit out. */
const char *pgd_conf_printable(const char *s, char *out, size_t outlen);

/*
 * The one setter. from says where the key came from (PGD_FROM_FILE, PGD_FROM_ARG, or both for
 * a trusted caller); value NULL means a bare module argument ("debug"). Messages name the key
 * but never a string value: any of them may be a misplaced secret.
 */
enum pgd_conf_result pgd_conf_set_from(struct pgd_conf *conf, const char *key, const char *value,
                                       unsigned from, char *err, size_t errlen);

/*
 * Reads the file at path like pam-u2f's open_safely: absolute path, final component not a
 * symlink, a regular file owned by root (or by the effective uid, for tests and the admin
 * command), not group/world-writable, at most PGD_MAX_CONF_SIZE bytes. On success *buf is a
 * heap buffer of PGD_MAX_CONF_SIZE + 1 bytes holding *len bytes and a NUL; the caller wipes
 * and frees it.
 */
enum pgd_conf_result pgd_conf_read_file(const char *path, char **buf, size_t *len, char *err,
                                        size_t errlen);

/*
 * Resolves an include pattern (or a "<file" name) of the file at from: an absolute pattern
 * stays, a relative one is taken from from's directory, as Dovecot's fix_relative_path does.
 * Returns a heap string or NULL when out of memory.
 */
char *pgd_conf_relative_path(const char *from, const char *pattern);

/* Which grammar a conf file text is written in, from its content alone. */
enum pgd_conf_dialect pgd_conf_detect(const char *text, size_t len);

/* Dovecot 2.4's dovecot.conf tree (conf_v24.c): fills conf from path and its includes. */
enum pgd_conf_result pgd_conf_read_v24(struct pgd_conf *conf, const char *path, const char *text,
                                       size_t len, char *err, size_t errlen);

#endif
