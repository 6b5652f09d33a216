// SPDX-License-Identifier: MIT
#ifndef PGD_DB_H
#define PGD_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "query.h"

enum pgd_db_result {
	PGD_DB_OK,           /* exactly one row */
	PGD_DB_NO_ROW,       /* no such user */
	PGD_DB_UNAVAILABLE,  /* could not connect, or the connection broke */
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

/* Default connect_timeout (seconds) when the conninfo sets none. */
#define PGD_DEFAULT_CONNECT_TIMEOUT "5"

/*
 * Runs q on the server named by conninfo and reads the single row into *row, which the caller
 * frees with pgd_row_free whatever the result. On failure err (errlen bytes) holds one line
 * from libpq or about the result; it never holds the conninfo or any value of the row.
 */
enum pgd_db_result pgd_db_lookup(const char *conninfo, const struct pgd_query *q,
				 struct pgd_row *row, char *err, size_t errlen);

/* Frees and wipes what pgd_db_lookup put in *row, and zeroes it. */
void pgd_row_free(struct pgd_row *row);

#endif
