// SPDX-License-Identifier: MIT
/*
 * One query on one connection: sending it with its bound values, waiting for it until a
 * deadline, telling a refused query from a broken connection, saying why in a line that never
 * quotes a secret, and reading the row by Dovecot's column names.
 */
#include "db/db_impl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/printable.h"
#include "util/secret.h"

void pgd_db_message(char *err, size_t errlen, const char *prefix, const char *msg)
{
	size_t n;

	if (errlen == 0)
		return;
	n = (size_t)snprintf(err, errlen, "%s", prefix);
	if (n >= errlen)
		return;
	pgd_printable_n(msg, msg != NULL ? strcspn(msg, "\n") : 0, err + n, errlen - n,
	                PGD_PRINT_BLANKS);
}

void pgd_db_clear(PGresult *res)
{
	if (res == NULL)
		return;
	for (int r = 0; r < PQntuples(res); r++)
		for (int c = 0; c < PQnfields(res); c++)
			pgd_wipe(PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
	PQclear(res);
}

/* The SQLSTATEs a write is likely to meet, named for a line that cannot quote the message. */
static const struct {
	const char *code, *name;
} sqlstates[] = {
    {"22001", "string_data_right_truncation"},
    {"22P02", "invalid_text_representation"},
    {"23502", "not_null_violation"},
    {"23503", "foreign_key_violation"},
    {"23505", "unique_violation"},
    {"23514", "check_violation"},
    {"25006", "read_only_sql_transaction"},
    {"40001", "serialization_failure"},
    {"40P01", "deadlock_detected"},
    {"42501", "insufficient_privilege"},
    {"42601", "syntax_error"},
    {"42703", "undefined_column"},
    {"42883", "undefined_function"},
    {"42P01", "undefined_table"},
    {"57014", "query_canceled"},
    {"P0001", "raise_exception"},
};

/*
 * err := prefix + msg, what libpq or the server said of q. For a query that binds a secret
 * (q->secret) and an error the server sent (res has a SQLSTATE), only the SQLSTATE and the
 * names the server gives (schema, table, column, type, constraint): its message, DETAIL and
 * CONTEXT may quote a bound value (`invalid input syntax for type integer: "{SHA512-CRYPT}..."`,
 * a trigger's RAISE) or the whole row (`Failing row contains (...)`). An error libpq found
 * itself has no SQLSTATE and quotes no value: its message is kept.
 */
static void query_error(char *err, size_t errlen, const char *prefix, const struct pgd_query *q,
                        const PGresult *res, const char *msg)
{
	static const struct {
		int field;
		const char *label;
	} names[] = {
	    {PG_DIAG_SCHEMA_NAME, "schema"},         {PG_DIAG_TABLE_NAME, "table"},
	    {PG_DIAG_COLUMN_NAME, "column"},         {PG_DIAG_DATATYPE_NAME, "type"},
	    {PG_DIAG_CONSTRAINT_NAME, "constraint"},
	};
	const char *state =
	    q->secret && res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *name = NULL;
	char line[512];
	size_t n;

	if (state == NULL) {
		pgd_db_message(err, errlen, prefix, msg);
		return;
	}
	for (size_t i = 0; i < sizeof(sqlstates) / sizeof(sqlstates[0]); i++)
		if (strcmp(sqlstates[i].code, state) == 0)
			name = sqlstates[i].name;
	n = (size_t)snprintf(line, sizeof(line), "SQLSTATE %s%s%s%s", state,
	                     name != NULL ? " (" : "", name != NULL ? name : "",
	                     name != NULL ? ")" : "");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n < sizeof(line); i++) {
		const char *v = PQresultErrorField(res, names[i].field);

		if (v != NULL)
			n += (size_t)snprintf(line + n, sizeof(line) - n, ", %s \"%s\"",
			                      names[i].label, v);
	}
	if (n < sizeof(line))
		snprintf(line + n, sizeof(line) - n,
		         " (message not logged: it may quote the new hash)");
	pgd_db_message(err, errlen, prefix, line);
}

/* Waits until deadline for the results of what was just sent for q (pgd_db_run's contract). */
static enum pgd_db_result wait_result(PGconn *conn, const struct pgd_query *q, int64_t deadline,
                                      PGresult **res, bool *timed_out, char *err, size_t errlen)
{
	PGresult *r;

	for (;;) {
		while (PQisBusy(conn)) {
			struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
			int64_t left = deadline - pgd_db_now_ms();
			int n = left > 0 ? poll(&p, 1, (int)left) : 0;

			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0) {
				*timed_out = true;
				pgd_db_clear(*res);
				*res = NULL;
				snprintf(err, errlen, "query timed out");
				return PGD_DB_UNAVAILABLE;
			}
			if (n < 0 || !PQconsumeInput(conn))
				break; /* PQgetResult reports the broken connection */
		}
		r = PQgetResult(conn);
		if (r == NULL)
			break;
		if (*res == NULL)
			*res = r;
		else
			pgd_db_clear(r);
		if (PQstatus(conn) != CONNECTION_OK)
			break;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		/* the first result, when an error, is the server's first word on q */
		query_error(err, errlen, "connection lost: ", q, *res, PQerrorMessage(conn));
		pgd_db_clear(*res);
		*res = NULL;
		return PGD_DB_UNAVAILABLE;
	}
	if (*res == NULL) {
		pgd_db_message(err, errlen, "query failed: ", PQerrorMessage(conn));
		return PGD_DB_QUERY_FAILED;
	}
	if (PQresultStatus(*res) != PGRES_TUPLES_OK && PQresultStatus(*res) != PGRES_COMMAND_OK) {
		query_error(err, errlen, "query failed: ", q, *res, PQresultErrorMessage(*res));
		return PGD_DB_QUERY_FAILED;
	}
	return PGD_DB_OK;
}

enum pgd_db_result pgd_db_run(PGconn *conn, const struct pgd_query *q, const char *stmt,
                              int64_t deadline, PGresult **res, bool *timed_out, char *err,
                              size_t errlen)
{
	const char *const *values = (const char *const *)q->values;
	int sent;

	*res = NULL;
	*timed_out = false;
	if (stmt != NULL)
		sent = PQsendQueryPrepared(conn, stmt, q->nparams, values, NULL, NULL, 0);
	else
		sent = PQsendQueryParams(conn, q->sql, q->nparams, NULL, values, NULL, NULL, 0);
	if (!sent) {
		pgd_db_message(err, errlen, "query failed: ", PQerrorMessage(conn));
		return PQstatus(conn) == CONNECTION_OK ? PGD_DB_QUERY_FAILED : PGD_DB_UNAVAILABLE;
	}
	return wait_result(conn, q, deadline, res, timed_out, err, errlen);
}

enum pgd_db_result pgd_db_prepare(PGconn *conn, const struct pgd_query *q, const char *stmt,
                                  int64_t deadline, PGresult **res, bool *timed_out, char *err,
                                  size_t errlen)
{
	*res = NULL;
	*timed_out = false;
	/* no types given: the server infers them, as for PQsendQueryParams */
	if (!PQsendPrepare(conn, stmt, q->sql, 0, NULL)) {
		pgd_db_message(err, errlen, "query failed: ", PQerrorMessage(conn));
		return PQstatus(conn) == CONNECTION_OK ? PGD_DB_QUERY_FAILED : PGD_DB_UNAVAILABLE;
	}
	return wait_result(conn, q, deadline, res, timed_out, err, errlen);
}

static char *dup_value(const PGresult *res, const char *column, bool *nomem)
{
	int col = PQfnumber(res, column);
	char *s;

	if (col < 0 || PQgetisnull(res, 0, col))
		return NULL;
	s = strdup(PQgetvalue(res, 0, col));
	if (s == NULL)
		*nomem = true;
	return s;
}

/* Dovecot's extra fields count when present and not NULL, whatever their value. */
static bool present(const PGresult *res, const char *column)
{
	int col = PQfnumber(res, column);

	return col >= 0 && !PQgetisnull(res, 0, col);
}

/* Our own flags read a boolean: PostgreSQL's 't', or true, y, yes, 1, on in any case. */
static bool truthy(const PGresult *res, const char *column)
{
	static const char *const yes[] = {"t", "true", "y", "yes", "1", "on"};
	int col = PQfnumber(res, column);

	if (col < 0 || PQgetisnull(res, 0, col))
		return false;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(PQgetvalue(res, 0, col), yes[i]) == 0)
			return true;
	return false;
}

/* The columns Dovecot renames the login from, in result order (db.h, struct pgd_row). */
static bool read_renames(const PGresult *res, struct pgd_row *row, bool *nomem)
{
	static const char *const fields[] = {"user", "username", "domain"};

	for (int c = 0; c < PQnfields(res); c++) {
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			if (strcmp(PQfname(res, c), fields[f]) != 0 || PQgetisnull(res, 0, c))
				continue;
			if (row->nrenames == PGD_ROW_MAX_RENAMES)
				return false;
			row->renames[row->nrenames].field = fields[f];
			row->renames[row->nrenames].value = strdup(PQgetvalue(res, 0, c));
			if (row->renames[row->nrenames++].value == NULL)
				*nomem = true;
		}
	}
	return true;
}

/* Dovecot 2.4.2's channel-binding fields: a login without that client certificate fails. */
static const char *const fp_columns[] = {"check_client_fp", "check_client_cert_fp",
                                         "check_client_pubkey_fp"};

enum pgd_db_result pgd_db_fill_row(const PGresult *res, bool password_optional, struct pgd_row *row,
                                   char *err, size_t errlen)
{
	int ntuples = PQntuples(res);
	bool nomem = false;

	if (!password_optional && PQfnumber(res, "password") < 0 &&
	    PQfnumber(res, "password_noscheme") < 0) {
		snprintf(err, errlen,
		         "password_query returned no 'password' column (nor 'password_noscheme')");
		return PGD_DB_BAD_RESULT;
	}
	for (int c = 0; c < PQnfields(res); c++) {
		size_t n = strlen(row->columns);

		snprintf(row->columns + n, sizeof(row->columns) - n, "%s%s", c > 0 ? ", " : "",
		         PQfname(res, c));
	}
	if (ntuples == 0)
		return PGD_DB_NO_ROW;
	if (ntuples > 1) {
		snprintf(err, errlen, "the query returned %d rows, expected one", ntuples);
		return PGD_DB_BAD_RESULT;
	}
	/* Dovecot's password_noscheme: the value is in default_pass_scheme even when it starts
	 * with "{" (a plaintext password that looks like a prefix). */
	row->password_noscheme = PQfnumber(res, "password_noscheme") >= 0;
	row->password =
	    dup_value(res, row->password_noscheme ? "password_noscheme" : "password", &nomem);
	row->user = dup_value(res, "user", &nomem);
	row->reason = dup_value(res, "reason", &nomem);
	row->allow_nets = dup_value(res, "allow_nets", &nomem);
	row->allow_real_nets = dup_value(res, "allow_real_nets", &nomem);
	row->fail = present(res, "fail");
	for (size_t i = 0; i < sizeof(fp_columns) / sizeof(fp_columns[0]); i++)
		if (row->client_fp == NULL && present(res, fp_columns[i]))
			row->client_fp = fp_columns[i];
	row->nologin = present(res, "nologin");
	row->nopassword = present(res, "nopassword");
	row->account_expired = truthy(res, "account_expired");
	row->password_expired = truthy(res, "password_expired");
	if (!read_renames(res, row, &nomem)) {
		snprintf(err, errlen, "the row has more than %d user, username and domain columns",
		         PGD_ROW_MAX_RENAMES);
		pgd_row_free(row);
		return PGD_DB_BAD_RESULT;
	}
	if (nomem) {
		pgd_row_free(row);
		return PGD_DB_NOMEM;
	}
	return PGD_DB_OK;
}

enum pgd_db_result pgd_db_read_row(const struct pg_result *res, bool password_optional,
                                   struct pgd_row *row, char *err, size_t errlen)
{
	memset(row, 0, sizeof(*row));
	if (errlen > 0)
		err[0] = '\0';
	return pgd_db_fill_row(res, password_optional, row, err, errlen);
}

void pgd_row_free(struct pgd_row *row)
{
	pgd_free_secret(row->password);
	free(row->user);
	free(row->reason);
	free(row->allow_nets);
	for (int i = 0; i < row->nrenames; i++)
		free(row->renames[i].value);
	free(row->allow_real_nets);
	memset(row, 0, sizeof(*row));
}
