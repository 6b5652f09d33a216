// SPDX-License-Identifier: MIT
/*
 * What conf.c (the option table and its setter) shares with load.c (the module arguments and
 * the check of the whole), cache.c (the cache of loaded confs) and the conf fuzzer; not for
 * other callers.
 */
#ifndef PGD_CONF_IMPL_H
#define PGD_CONF_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

/* Where a key may be given. */
#define PGD_FROM_FILE 0x1u
#define PGD_FROM_ARG 0x2u

/*
 * The one setter. from says where the key came from (PGD_FROM_FILE, PGD_FROM_ARG, or both for
 * a trusted caller); value NULL means a bare module argument ("debug"). Messages name the key
 * but never a string value: any of them may be a misplaced secret.
 */
enum pgd_conf_result pgd_conf_set_from(struct pgd_conf *conf, const char *key, const char *value,
                                       unsigned from, char *err, size_t errlen);

/* Dovecot 2.4's dovecot.conf tree (reader.h): fills conf from path's text and its includes,
 * as they are (the fuzzer reads it so). */
enum pgd_conf_result pgd_conf_read_v24(struct pgd_conf *conf, const char *path, const char *text,
                                       size_t len, char *err, size_t errlen);

/* The same for a conf that is to be a Dovecot 2.4 one: its defaults differ from 2.3's and are
 * set first (once), so that the tree and the module arguments override them. */
enum pgd_conf_result pgd_conf_load_v24(struct pgd_conf *conf, const char *path, const char *text,
                                       size_t len, char *err, size_t errlen);

/*
 * Reads the conf file at path (safely, conf_file.h) in the dialect its content says; with
 * only_v24 (the dovecot_config key) a file that is not a Dovecot 2.4 dovecot.conf is refused.
 */
enum pgd_conf_result pgd_conf_read_path(struct pgd_conf *conf, const char *path, bool only_v24,
                                        char *err, size_t errlen);

/* pgd_conf_load without its cache (cache.c): every file read and parsed (load.c). */
enum pgd_conf_result pgd_conf_load_files(struct pgd_conf *conf, int argc, const char **argv,
                                         char *err, size_t errlen);

#endif
