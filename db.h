// SPDX-License-Identifier: MIT
#ifndef PGD_DB_H
#define PGD_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "query.h"

enum pgd_db_result {
	PGD_DB_OK,           /* exactly one row */
	PGD_DB_NO_ROW,       /* no such user */
	PGD_DB_UNAVAILABLE,  /* could not connect, timed out, or the connection broke */
	PGD_DB_QUERY_FAILED, /* the server refused the query (syntax, permission, data) */
	PGD_DB_BAD_RESULT,   /* more than one row, or no password column */
	PGD_DB_NOMEM,
};

/* What a password_query row says about a user; the columns are read by name, as Dovecot does. */
struct pgd_row {
	char *password; /* NULL when the column is SQL NULL; secret */
	char *user;     /* the "user" column, NULL when absent or NULL */
	bool nologin;   /* a non-NULL "nologin" column, whatever its value (Dovecot 2.3) */
};

struct pgd_db_options {
	bool cache;                 /* keep the connection for this process's next lookup */
	unsigned query_timeout_sec; /* deadline for the query; also connect_timeout if unset */
};

/*
 * Runs q on the server named by conninfo and reads the single row into *row, which the caller
 * frees with pgd_row_free whatever the result.
 *
 * With opts->cache the connection stays open for the next call of the same process with the
 * same conninfo; a connection inherited through fork() is never used nor closed in a way the
 * parent would notice. A connection found broken is reopened and the query sent once more; a
 * query refused by the server is not. After a failed connect, calls fail at once for a short,
 * growing back-off window. The caller's PG* environment variables are not consulted.
 *
 * On failure err (errlen bytes) holds one line from libpq or about the result; it never holds
 * the conninfo or any value of the row. It is empty for a failure inside the back-off window,
 * which the first failure already reported (rate-limited logging).
 */
enum pgd_db_result pgd_db_lookup(const char *conninfo, const struct pgd_db_options *opts,
				 const struct pgd_query *q, struct pgd_row *row, char *err,
				 size_t errlen);

/* Frees and wipes what pgd_db_lookup put in *row, and zeroes it. */
void pgd_row_free(struct pgd_row *row);

#endif
