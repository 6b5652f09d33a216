// SPDX-License-Identifier: MIT
/*
 * The audit's libpq part: a read-only session in pipeline mode (libpq >= 14). The lookups of a
 * batch are all sent before the first answer is read, so 100,000 users cost about as many
 * server executions and not as many network round trips.
 */
#include "audit.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/db.h"
#include "util/secret.h"

/* Queries in flight at once: bounds libpq's buffers (ours) whatever the batch size. */
#define WINDOW 256
#define CURSOR "pgd_audit_users"

/* The lookups' SQL texts, prepared once: each user then costs an execution, not a parse. */
#define MAX_PREPARED 8

struct pgd_audit_db {
	PGconn *conn;
	int timeout_ms;
	bool ended; /* the cursor ran out */
	char *prepared[MAX_PREPARED];
	size_t nprepared;
};

struct pgd_audit_db *pgd_audit_open(const char *conninfo, unsigned timeout_sec, char *err,
                                    size_t errlen)
{
	struct pgd_audit_db *db = calloc(1, sizeof(*db));
	PGresult *res;
	bool ro;

	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->timeout_ms = (int)timeout_sec * 1000;
	db->conn = pgd_db_connect(conninfo, timeout_sec, err, errlen);
	if (db->conn == NULL) {
		free(db);
		return NULL;
	}
	/* default_transaction_read_only for the session: every statement after this runs in a
	 * read-only transaction, whatever the queries of the conf do */
	res = PQexec(db->conn, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgd_db_message(err, errlen,
		               "cannot make the session read-only: ", PQresultErrorMessage(res));
		PQclear(res);
		pgd_audit_close(db);
		return NULL;
	}
	PQclear(res);
	res = PQexec(db->conn, "SHOW transaction_read_only");
	ro = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	     strcmp(PQgetvalue(res, 0, 0), "on") == 0;
	PQclear(res);
	if (!ro) {
		snprintf(err, errlen, "the server does not confirm a read-only transaction");
		pgd_audit_close(db);
		return NULL;
	}
	if (!PQenterPipelineMode(db->conn) || PQsetnonblocking(db->conn, 1) != 0) {
		pgd_db_message(err, errlen,
		               "cannot enter pipeline mode: ", PQerrorMessage(db->conn));
		pgd_audit_close(db);
		return NULL;
	}
	return db;
}

void pgd_audit_close(struct pgd_audit_db *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	for (size_t i = 0; i < db->nprepared; i++)
		free(db->prepared[i]);
	free(db);
}

/* What one statement run through the pipeline answered. */
struct refused {
	char msg[256];
	bool ok;
	char tuples[32];
};

static void note_status(void *ctx, size_t i, struct pg_result *res)
{
	struct refused *r = ctx;
	ExecStatusType st = PQresultStatus(res);

	(void)i;
	r->ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!r->ok)
		pgd_db_message(r->msg, sizeof(r->msg), "", PQresultErrorMessage(res));
	else
		snprintf(r->tuples, sizeof(r->tuples), "%s", PQcmdTuples(res));
}

bool pgd_audit_list(struct pgd_audit_db *db, const struct pgd_query *q, long *total, char *err,
                    size_t errlen)
{
	static char move_all[] = "MOVE FORWARD ALL IN " CURSOR,
	            rewind[] = "MOVE ABSOLUTE 0 IN " CURSOR;
	const struct pgd_query moves[] = {{.sql = move_all}, {.sql = rewind}};
	struct pgd_query declare = *q;
	struct refused r = {.ok = false};
	size_t len = strlen(q->sql) + 64;
	bool ok;

	*total = -1;
	declare.sql = malloc(len);
	if (declare.sql == NULL) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	/* WITH HOLD: the list outlives each lookup's own transaction, materialized by the server */
	snprintf(declare.sql, len, "DECLARE " CURSOR " SCROLL CURSOR WITH HOLD FOR %s", q->sql);
	ok = pgd_audit_run(db, &declare, 1, false, note_status, &r, err, errlen);
	free(declare.sql);
	if (!ok)
		return false;
	if (!r.ok) {
		pgd_db_message(err, errlen, "iterate query: ", r.msg);
		return false;
	}
	if (!pgd_audit_run(db, &moves[0], 1, false, note_status, &r, err, errlen))
		return false;
	if (r.ok)
		*total = strtol(r.tuples, NULL, 10);
	if (!pgd_audit_run(db, &moves[1], 1, false, note_status, &r, err, errlen))
		return false;
	if (!r.ok) {
		pgd_db_message(err, errlen, "iterate query: ", r.msg);
		return false;
	}
	return true;
}

static char *row_name(const PGresult *res, int row)
{
	int user = PQfnumber(res, "user"), name = PQfnumber(res, "username"),
	    domain = PQfnumber(res, "domain");
	const char *u, *d;
	size_t len;
	char *out;

	if (user >= 0 && !PQgetisnull(res, row, user))
		return strdup(PQgetvalue(res, row, user));
	if (name < 0 || PQgetisnull(res, row, name))
		return NULL;
	u = PQgetvalue(res, row, name);
	/* an empty domain adds nothing: "cyradmin", not "cyradmin@" */
	if (domain < 0 || PQgetisnull(res, row, domain) || PQgetvalue(res, row, domain)[0] == '\0')
		return strdup(u);
	d = PQgetvalue(res, row, domain);
	len = strlen(u) + strlen(d) + 2;
	out = malloc(len);
	if (out != NULL)
		snprintf(out, len, "%s@%s", u, d);
	return out;
}

struct batch {
	struct refused status;
	char **names;
	size_t n, *skipped;
	bool columns, nomem;
	int rows;
};

static void take_names(void *ctx, size_t i, struct pg_result *res)
{
	struct batch *b = ctx;

	note_status(&b->status, i, res);
	if (!b->status.ok)
		return;
	b->columns = PQfnumber(res, "user") >= 0 || PQfnumber(res, "username") >= 0;
	b->rows = PQntuples(res);
	if (!b->columns || b->rows == 0)
		return;
	b->names = calloc((size_t)b->rows, sizeof(*b->names));
	if (b->names == NULL) {
		b->nomem = true;
		return;
	}
	for (int r = 0; r < b->rows; r++) {
		char *name = row_name(res, r);

		if (name == NULL)
			(*b->skipped)++;
		else
			b->names[b->n++] = name;
	}
}

bool pgd_audit_next(struct pgd_audit_db *db, size_t max, char ***names, size_t *n, size_t *skipped,
                    char *err, size_t errlen)
{
	char sql[96];
	const struct pgd_query fetch = {.sql = sql};
	struct batch b = {.skipped = skipped};

	*names = NULL;
	*n = 0;
	while (!db->ended && *n == 0) {
		snprintf(sql, sizeof(sql), "FETCH FORWARD %zu FROM " CURSOR, max);
		memset(&b, 0, sizeof(b));
		b.skipped = skipped;
		if (!pgd_audit_run(db, &fetch, 1, false, take_names, &b, err, errlen))
			return false;
		if (!b.status.ok) {
			pgd_db_message(err, errlen, "iterate query: ", b.status.msg);
			return false;
		}
		if (b.nomem) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		if (!b.columns) {
			snprintf(err, errlen,
			         "iterate query returns neither a 'user' nor a 'username' column");
			pgd_audit_free_names(b.names, b.n);
			return false;
		}
		if (b.rows == 0)
			db->ended = true;
		*names = b.names;
		*n = b.n;
	}
	return true;
}

void pgd_audit_free_names(char **names, size_t n)
{
	for (size_t i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

/* Waits until the socket can be read (or written, when want_write); false on a timeout. */
static bool wait_socket(PGconn *conn, bool want_write, int timeout_ms)
{
	struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN | (want_write ? POLLOUT : 0)};
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/*
 * The name of q's prepared statement ("pgd_audit_N"), preparing it (through the pipeline, and
 * waiting for the answer) the first time its SQL is seen; -1 when the table of names is full
 * or the server refused (the query is then sent unprepared and its error, if any, reported).
 */
static int prepared(struct pgd_audit_db *db, const struct pgd_query *q, char *err, size_t errlen)
{
	char name[32];
	bool ok = false, synced = false;

	for (size_t i = 0; i < db->nprepared; i++)
		if (strcmp(db->prepared[i], q->sql) == 0)
			return (int)i;
	if (db->nprepared == MAX_PREPARED)
		return -1;
	snprintf(name, sizeof(name), "pgd_audit_%zu", db->nprepared);
	if (!PQsendPrepare(db->conn, name, q->sql, q->nparams, NULL) || !PQpipelineSync(db->conn)) {
		pgd_db_message(err, errlen, "cannot send a query: ", PQerrorMessage(db->conn));
		return -2;
	}
	while (!synced) {
		PGresult *r;

		if (PQflush(db->conn) < 0 || !PQconsumeInput(db->conn)) {
			pgd_db_message(err, errlen, "connection lost: ", PQerrorMessage(db->conn));
			return -2;
		}
		if (PQisBusy(db->conn)) {
			if (!wait_socket(db->conn, false, db->timeout_ms)) {
				snprintf(err, errlen, "the server did not answer");
				return -2;
			}
			continue;
		}
		r = PQgetResult(db->conn);
		if (r == NULL)
			continue;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
			synced = true;
		else if (PQresultStatus(r) == PGRES_COMMAND_OK)
			ok = true;
		PQclear(r);
	}
	if (!ok)
		return -1;
	db->prepared[db->nprepared] = strdup(q->sql);
	return db->prepared[db->nprepared] != NULL ? (int)db->nprepared++ : -1;
}

bool pgd_audit_run(struct pgd_audit_db *db, const struct pgd_query *qs, size_t n, bool prepare,
                   pgd_audit_fn fn, void *ctx, char *err, size_t errlen)
{
	PGconn *conn = db->conn;
	PGresult *cur = NULL; /* the answer of query `done`, until its sync arrives */
	size_t sent = 0, done = 0;
	int *stmt = NULL;

	if (errlen > 0)
		err[0] = '\0';
	/* prepared while nothing is in flight: the answers are read in order */
	if (prepare && n > 0) {
		stmt = calloc(n, sizeof(*stmt));
		if (stmt == NULL) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		for (size_t k = 0; k < n; k++) {
			stmt[k] = prepared(db, &qs[k], err, errlen);
			if (stmt[k] == -2) {
				free(stmt);
				return false;
			}
		}
	}
	while (done < n) {
		int flush, nulls = 0;
		bool progressed = false;

		for (; sent < n && sent - done < WINDOW; sent++) {
			const char *const *values = (const char *const *)qs[sent].values;
			int p = stmt != NULL ? stmt[sent] : -1;
			char name[32];
			int queued;

			snprintf(name, sizeof(name), "pgd_audit_%d", p);
			queued = p >= 0 ? PQsendQueryPrepared(conn, name, qs[sent].nparams, values,
			                                      NULL, NULL, 0)
			                : PQsendQueryParams(conn, qs[sent].sql, qs[sent].nparams,
			                                    NULL, values, NULL, NULL, 0);
			if (!queued || !PQpipelineSync(conn)) {
				pgd_db_message(err, errlen,
				               "cannot send a query: ", PQerrorMessage(conn));
				pgd_db_clear(cur);
				free(stmt);
				return false;
			}
		}
		flush = PQflush(conn);
		if (flush < 0 || !PQconsumeInput(conn)) {
			pgd_db_message(err, errlen, "connection lost: ", PQerrorMessage(conn));
			pgd_db_clear(cur);
			free(stmt);
			return false;
		}
		while (done < sent && !PQisBusy(conn) && nulls < 2) {
			PGresult *r = PQgetResult(conn);

			if (r == NULL) {
				nulls++; /* the end of one query's results */
				continue;
			}
			nulls = 0;
			if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
				PQclear(r);
				fn(ctx, done, cur);
				pgd_db_clear(cur);
				cur = NULL;
				done++;
				progressed = true;
			} else if (cur == NULL) {
				cur = r;
			} else {
				pgd_db_clear(r);
			}
		}
		if (PQstatus(conn) != CONNECTION_OK) {
			pgd_db_message(err, errlen, "connection lost: ", PQerrorMessage(conn));
			pgd_db_clear(cur);
			free(stmt);
			return false;
		}
		if (done < n && !progressed && !wait_socket(conn, flush == 1, db->timeout_ms)) {
			snprintf(err, errlen, "the server did not answer for %d s",
			         db->timeout_ms / 1000);
			pgd_db_clear(cur);
			free(stmt);
			return false;
		}
	}
	free(stmt);
	return true;
}
