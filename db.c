// SPDX-License-Identifier: MIT
/* The only file that speaks libpq. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "secret.h"

/* Copies the first line of a libpq message into err, printable bytes only. */
static void set_err(char *err, size_t errlen, const char *prefix, const char *msg)
{
	size_t n;

	if (errlen == 0)
		return;
	n = (size_t)snprintf(err, errlen, "%s", prefix);
	if (n >= errlen)
		return;
	for (; msg != NULL && *msg != '\0' && *msg != '\n' && n + 1 < errlen; msg++)
		err[n++] = (*msg >= 0x20 && *msg < 0x7f) ? *msg : '?';
	err[n] = '\0';
}

/*
 * Opens a connection. The conninfo comes last so that what it sets wins over our defaults;
 * expand_dbname lets it be a full "host=... dbname=..." string or a postgresql:// URI.
 */
static PGconn *connect_db(const char *conninfo)
{
	const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
				    NULL};
	const char *const values[] = {PGD_DEFAULT_CONNECT_TIMEOUT, "pam_pgsql_dovecot", conninfo,
				      NULL};

	return PQconnectdbParams(keys, values, 1);
}

static char *dup_value(const PGresult *res, int col, bool *nomem)
{
	char *s;

	if (col < 0 || PQgetisnull(res, 0, col))
		return NULL;
	s = strdup(PQgetvalue(res, 0, col));
	if (s == NULL)
		*nomem = true;
	return s;
}

/* Reads the single row of a successful result into *row. */
static enum pgd_db_result read_row(const PGresult *res, struct pgd_row *row, char *err,
				   size_t errlen)
{
	int ntuples = PQntuples(res);
	int pw_col = PQfnumber(res, "password");
	int nologin_col = PQfnumber(res, "nologin");
	bool nomem = false;

	if (pw_col < 0) {
		snprintf(err, errlen, "password_query returned no 'password' column");
		return PGD_DB_BAD_RESULT;
	}
	if (ntuples == 0)
		return PGD_DB_NO_ROW;
	if (ntuples > 1) {
		snprintf(err, errlen, "password_query returned %d rows, expected one", ntuples);
		return PGD_DB_BAD_RESULT;
	}
	row->password = dup_value(res, pw_col, &nomem);
	row->user = dup_value(res, PQfnumber(res, "user"), &nomem);
	row->nologin = nologin_col >= 0 && !PQgetisnull(res, 0, nologin_col);
	if (nomem) {
		pgd_row_free(row);
		return PGD_DB_NOMEM;
	}
	return PGD_DB_OK;
}

enum pgd_db_result pgd_db_lookup(const char *conninfo, const struct pgd_query *q,
				 struct pgd_row *row, char *err, size_t errlen)
{
	enum pgd_db_result result;
	PGconn *conn;
	PGresult *res;

	memset(row, 0, sizeof(*row));
	if (errlen > 0)
		err[0] = '\0';
	conn = connect_db(conninfo);
	if (conn == NULL)
		return PGD_DB_NOMEM;
	if (PQstatus(conn) != CONNECTION_OK) {
		set_err(err, errlen, "cannot connect: ", PQerrorMessage(conn));
		PQfinish(conn);
		return PGD_DB_UNAVAILABLE;
	}
	res = PQexecParams(conn, q->sql, q->nparams, NULL, (const char *const *)q->values, NULL,
			   NULL, 0);
	if (res == NULL) {
		set_err(err, errlen, "query failed: ", PQerrorMessage(conn));
		result = PQstatus(conn) == CONNECTION_OK ? PGD_DB_NOMEM : PGD_DB_UNAVAILABLE;
	} else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_err(err, errlen, "query failed: ", PQresultErrorMessage(res));
		result = PQstatus(conn) == CONNECTION_OK ? PGD_DB_QUERY_FAILED : PGD_DB_UNAVAILABLE;
	} else {
		result = read_row(res, row, err, errlen);
	}
	/* The result holds the stored hash: wipe its values before libpq frees them. */
	if (res != NULL) {
		for (int r = 0; r < PQntuples(res); r++)
			for (int c = 0; c < PQnfields(res); c++)
				pgd_wipe(PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
		PQclear(res);
	}
	PQfinish(conn);
	return result;
}

void pgd_row_free(struct pgd_row *row)
{
	pgd_free_secret(row->password);
	free(row->user);
	memset(row, 0, sizeof(*row));
}
