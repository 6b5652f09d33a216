// SPDX-License-Identifier: MIT
/*
 * The two grammar readers, one per dialect: each hands what it reads to the setter it is given
 * (result.h), so that both fill the one option table without knowing it.
 */
#ifndef PGD_CONF_READER_H
#define PGD_CONF_READER_H

#include <stddef.h>

#include "conf/result.h"

/*
 * Dovecot 2.3's dovecot-sql.conf.ext (conf_v23.c): flat "key = value" lines in text (len
 * bytes, need not be NUL-terminated), each handed to set. name is used in messages ("NAME
 * line N: ..."); when not NULL it is also the file reported as holding connect.
 */
enum pgd_conf_result pgd_v23_read(const struct pgd_conf_setter *set, const char *name,
                                  const char *text, size_t len, char *err, size_t errlen);

/*
 * Dovecot 2.4's dovecot.conf tree (v24_*.c): the file at path, whose text is given, and its
 * includes. What a login needs is handed to set once the whole tree is read.
 */
enum pgd_conf_result pgd_v24_read(const struct pgd_conf_setter *set, const char *path,
                                  const char *text, size_t len, char *err, size_t errlen);

/*
 * Dovecot 2.3's dovecot.conf tree (v23_tree.c, with the 2.4 reader's lexer): the auth settings
 * (auth_username_format, auth_default_realm, auth_username_chars) are handed to set; a passdb
 * or setting that would change a login and that the module does not apply is an error with
 * its file and line; the users' sql passdb must read sql_path (its args).
 */
enum pgd_conf_result pgd_v23_tree_read(const struct pgd_conf_setter *set, const char *path,
                                       const char *text, size_t len, const char *sql_path,
                                       char *err, size_t errlen);

#endif
