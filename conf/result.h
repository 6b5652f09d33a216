// SPDX-License-Identifier: MIT
/*
 * What every part of conf/ answers and shares with its callers: the result of reading or
 * setting, the two dialects a conf file may be written in, the size cap of one file, and the
 * setter through which a reader hands what it read to the option table. The readers
 * (reader.h) include this rather than conf.h: they know the keys of their dialect, never the
 * table or struct pgd_conf, so they never call back into conf.c, which passes the setter in.
 */
#ifndef PGD_CONF_RESULT_H
#define PGD_CONF_RESULT_H

#include <stddef.h>

/* The conf file may not be larger than this. */
#define PGD_MAX_CONF_SIZE (64 * 1024)

/* The grammar of the conf file: Dovecot 2.3's dovecot-sql.conf.ext or 2.4's dovecot.conf tree. */
enum pgd_conf_dialect {
	PGD_DIALECT_V23,
	PGD_DIALECT_V24,
};

enum pgd_conf_result {
	PGD_CONF_OK,
	PGD_CONF_INVALID, /* err holds one line naming file and line, or the argument */
	PGD_CONF_NOMEM,
};

struct pgd_conf_setter {
	/* Sets a conf file key; err (errlen bytes) gets a message that names the key but never
	 * the value, which may be a misplaced secret. */
	enum pgd_conf_result (*set)(void *ctx, const char *key, const char *value, char *err,
	                            size_t errlen);
	/* Records path as the file whose text holds the database password. */
	enum pgd_conf_result (*secret_file)(void *ctx, const char *path);
	void *ctx;
};

#endif
