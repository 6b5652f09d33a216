// SPDX-License-Identifier: MIT
/*
 * The only file that speaks libpq: one cached connection per process, a deadline on every
 * query, a back-off after a failed connect, one retry when a connection broke under us.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "secret.h"

extern char **environ;

/* Back-off after a failed connect: 250 ms, doubled per failure, at most 1 s. */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 1000

/*
 * The per-process state. The module is linked -z nodelete, so it outlives pam_end(). pid is
 * the process that opened conn: after fork() the child finds another pid and drops conn
 * without touching the socket it shares with the parent.
 */
static struct {
	PGconn *conn;
	pid_t pid;
	char *conninfo; /* what conn and the back-off belong to; secret */
	int64_t retry_at_ms;
	unsigned backoff_ms;
	unsigned long refused; /* lookups refused inside back-off windows since the last report */
} cache;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies the first line of a libpq message into err after prefix, printable bytes only. */
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
 * libpq fills every parameter the conninfo leaves out from PGHOST, PGPORT, PGOPTIONS,
 * PGSERVICE, PGSSLMODE, ... In su or sudo those belong to the user. While a connection is
 * opened they are taken out of the environment, and put back (the same strings) after.
 */
struct hidden_env {
	char **saved;
	size_t n;
};

static bool env_hide(struct hidden_env *h)
{
	size_t count = 0, i = 0;

	h->n = 0;
	h->saved = NULL;
	for (char **e = environ; e != NULL && *e != NULL; e++)
		count += strncmp(*e, "PG", 2) == 0;
	if (count == 0)
		return true;
	h->saved = calloc(count, sizeof(*h->saved));
	if (h->saved == NULL)
		return false;
	while (environ != NULL && environ[i] != NULL) {
		char *entry = environ[i];
		char name[128];
		size_t len = strcspn(entry, "=");

		if (strncmp(entry, "PG", 2) != 0 || entry[len] != '=' || len >= sizeof(name) ||
		    h->n == count) {
			i++;
			continue;
		}
		memcpy(name, entry, len);
		name[len] = '\0';
		h->saved[h->n++] = entry;
		unsetenv(name); /* moves the later entries down: look at index i again */
	}
	return true;
}

static void env_restore(struct hidden_env *h)
{
	for (size_t i = 0; i < h->n; i++)
		putenv(h->saved[i]);
	free(h->saved);
	h->saved = NULL;
	h->n = 0;
}

/*
 * Opens a connection. Our defaults come first and the conninfo last, so that whatever it sets
 * wins; expand_dbname lets it be a "host=... dbname=..." string or a postgresql:// URI.
 */
static PGconn *connect_db(const char *conninfo, unsigned timeout_sec, char *err, size_t errlen)
{
	char timeout[16];
	const char *const keys[] = {
	    "connect_timeout", "fallback_application_name", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "gssencmode", "dbname",
	    NULL};
	const char *values[] = {timeout, "pam_pgsql_dovecot", "1", "30", "10", "3", "10000",
				"disable", conninfo, NULL};
	struct hidden_env env;
	PGconn *conn;

	snprintf(timeout, sizeof(timeout), "%u", timeout_sec);
	if (!env_hide(&env))
		return NULL;
	conn = PQconnectdbParams(keys, values, 1);
	env_restore(&env);
	if (conn != NULL && PQstatus(conn) != CONNECTION_OK) {
		set_err(err, errlen, "cannot connect: ", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/*
 * A connection opened by another process (we are a fork()ed child): its socket is shared with
 * the parent, so nothing may be sent on it. /dev/null takes the socket's place, and PQfinish
 * then says goodbye to /dev/null and frees the rest.
 */
static void drop_inherited(PGconn *conn)
{
	int fd = PQsocket(conn);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (nul < 0)
		return; /* cannot do it safely: forget it (a small leak in this child only) */
	if (fd >= 0 && dup2(nul, fd) < 0) {
		close(nul);
		return;
	}
	close(nul);
	PQfinish(conn);
}

static void release(void)
{
	if (cache.conn != NULL) {
		if (cache.pid == getpid())
			PQfinish(cache.conn);
		else
			drop_inherited(cache.conn);
	}
	cache.conn = NULL;
}

/* Makes the cache belong to conninfo in this process. */
static bool cache_select(const char *conninfo)
{
	if (cache.conn != NULL && cache.pid != getpid())
		release();
	if (cache.conninfo != NULL && strcmp(cache.conninfo, conninfo) == 0)
		return true;
	release();
	pgd_free_secret(cache.conninfo);
	memset(&cache, 0, sizeof(cache));
	cache.conninfo = strdup(conninfo);
	return cache.conninfo != NULL;
}

/* The cached connection if it is fit for a query, else a new one (NULL: err says why). */
static PGconn *get_conn(const struct pgd_db_options *opts, bool *reused, char *err,
			size_t errlen)
{
	PGconn *conn;
	int64_t now;

	*reused = false;
	if (cache.conn != NULL) {
		if (PQstatus(cache.conn) == CONNECTION_OK &&
		    PQtransactionStatus(cache.conn) == PQTRANS_IDLE) {
			*reused = true;
			return cache.conn;
		}
		release();
	}
	now = now_ms();
	if (now < cache.retry_at_ms) {
		/* the failure that opened this window was reported; stay quiet until it ends */
		cache.refused++;
		if (errlen > 0)
			err[0] = '\0';
		return NULL;
	}
	conn = connect_db(cache.conninfo, opts->query_timeout_sec, err, errlen);
	if (conn == NULL) {
		cache.backoff_ms = cache.backoff_ms == 0 ? BACKOFF_MIN_MS : cache.backoff_ms * 2;
		if (cache.backoff_ms > BACKOFF_MAX_MS)
			cache.backoff_ms = BACKOFF_MAX_MS;
		cache.retry_at_ms = now_ms() + cache.backoff_ms;
		if (cache.refused > 0 && errlen > 0) {
			size_t n = strlen(err);

			snprintf(err + n, errlen - n, " (and %lu lookups refused since)",
				 cache.refused);
		}
		cache.refused = 0;
		return NULL;
	}
	cache.backoff_ms = 0;
	cache.retry_at_ms = 0;
	cache.refused = 0;
	cache.conn = conn;
	cache.pid = getpid();
	return conn;
}

/* The result holds the stored hash: wipe its values before libpq frees them. */
static void clear_result(PGresult *res)
{
	if (res == NULL)
		return;
	for (int r = 0; r < PQntuples(res); r++)
		for (int c = 0; c < PQnfields(res); c++)
			pgd_wipe(PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
	PQclear(res);
}

/*
 * Sends q and waits for its result until deadline. *res gets the first result; *timed_out
 * tells a deadline from a broken connection.
 */
static enum pgd_db_result run_query(PGconn *conn, const struct pgd_query *q, int64_t deadline,
				    PGresult **res, bool *timed_out, char *err, size_t errlen)
{
	PGresult *r;

	*res = NULL;
	*timed_out = false;
	if (!PQsendQueryParams(conn, q->sql, q->nparams, NULL, (const char *const *)q->values,
			       NULL, NULL, 0)) {
		set_err(err, errlen, "query failed: ", PQerrorMessage(conn));
		return PQstatus(conn) == CONNECTION_OK ? PGD_DB_QUERY_FAILED : PGD_DB_UNAVAILABLE;
	}
	for (;;) {
		while (PQisBusy(conn)) {
			struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
			int64_t left = deadline - now_ms();
			int n = left > 0 ? poll(&p, 1, (int)left) : 0;

			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0) {
				*timed_out = true;
				clear_result(*res);
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
			clear_result(r);
		if (PQstatus(conn) != CONNECTION_OK)
			break;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		set_err(err, errlen, "connection lost: ", PQerrorMessage(conn));
		clear_result(*res);
		*res = NULL;
		return PGD_DB_UNAVAILABLE;
	}
	if (*res == NULL) {
		set_err(err, errlen, "query failed: ", PQerrorMessage(conn));
		return PGD_DB_QUERY_FAILED;
	}
	if (PQresultStatus(*res) != PGRES_TUPLES_OK) {
		set_err(err, errlen, "query failed: ", PQresultErrorMessage(*res));
		return PGD_DB_QUERY_FAILED;
	}
	return PGD_DB_OK;
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

enum pgd_db_result pgd_db_lookup(const char *conninfo, const struct pgd_db_options *opts,
				 const struct pgd_query *q, struct pgd_row *row, char *err,
				 size_t errlen)
{
	int64_t deadline = now_ms() + (int64_t)opts->query_timeout_sec * 1000;
	enum pgd_db_result result = PGD_DB_UNAVAILABLE;
	PGresult *res = NULL;

	memset(row, 0, sizeof(*row));
	if (errlen > 0)
		err[0] = '\0';
	if (!cache_select(conninfo))
		return PGD_DB_NOMEM;
	/* A connection that broke while idle (server restart, idle timeout) is opened anew and
	 * the query sent once more; a query the server refused, or one that timed out, is not. */
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused, timed_out;
		PGconn *conn = get_conn(opts, &reused, err, errlen);

		if (conn == NULL)
			return PGD_DB_UNAVAILABLE;
		result = run_query(conn, q, deadline, &res, &timed_out, err, errlen);
		if (result == PGD_DB_UNAVAILABLE) {
			release();
			if (reused && !timed_out)
				continue;
		}
		break;
	}
	if (result == PGD_DB_OK)
		result = read_row(res, row, err, errlen);
	clear_result(res);
	if (!opts->cache)
		release();
	return result;
}

void pgd_row_free(struct pgd_row *row)
{
	pgd_free_secret(row->password);
	free(row->user);
	memset(row, 0, sizeof(*row));
}
