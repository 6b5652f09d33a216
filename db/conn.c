// SPDX-License-Identifier: MIT
/*
 * The per-process connections: one cached connection per conninfo (two at most), shared by the
 * threads of the process one lookup at a time, noticed and never touched after fork(), closed
 * between the lookups of a process that has not yet ended a PAM transaction; a growing back-off
 * after a failed connect; one retry when a connection broke while idle; the lookup, the
 * statement and the compare-and-swap of a password (pgd_db_lookup, pgd_db_exec, pgd_db_swap);
 * the statements prepared on a kept connection, which a reconnect forgets.
 */
#include "db/db_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/secret.h"

/*
 * Back-off after a failed connect or a timed-out query: 250 ms, doubled per failure, at most
 * 1 s; a failure that took longer than that (a frozen server costs the whole timeout) opens
 * the longest window at once. Short enough that a server back in service is used again
 * within a second or so.
 */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 1000

/*
 * The per-process state. The module is linked -z nodelete, so it outlives pam_end(). pid is
 * the process that opened conn: after fork() the child finds another pid and drops conn
 * without touching the socket it shares with the parent.
 *
 * Threads of one process (FreeRADIUS, a JVM) share it: lock guards every field and conn,
 * from the first look at the cache to the last use of conn, so one lookup runs at a time per
 * process (a query on a warm connection takes a tenth of a millisecond; the hash is checked
 * outside). A waiting thread gives up at its own deadline. Around fork() the forking thread
 * holds lock, so that the child starts with the state whole and the lock free.
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * PAM transactions (pam_start .. pam_end) this process has ended since it started: until one
 * has, the connection is closed after each lookup (see pgd_db_transaction_ended).
 */
static atomic_ulong transactions_ended;

struct conn_slot {
	PGconn *conn;
	pid_t pid;
	char *conninfo; /* what conn and the back-off belong to; secret */
	int64_t retry_at_ms;
	unsigned backoff_ms;
	unsigned long refused; /* lookups refused inside back-off windows since the last report */
	struct pgd_db_stmts stmts; /* prepared on conn */
};

/*
 * cache is the slot in use; spare holds the process's other connection (update_connect's,
 * or the lookups' while a write runs), swapped in by cache_select: two conninfos, two
 * connections, each with its own back-off.
 */
static struct conn_slot cache, spare;

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
	pgd_db_stmts_clear(&cache.stmts);
}

static void swap_slots(void)
{
	struct conn_slot t = cache;

	cache = spare;
	spare = t;
}

/*
 * At exit the server gets a proper goodbye rather than a dropped socket; not while another
 * thread is still inside a lookup (the process is ending anyway).
 */
__attribute__((destructor)) static void close_at_exit(void)
{
	if (pthread_mutex_trylock(&lock) != 0)
		return;
	for (int i = 0; i < 2; i++) {
		release();
		pgd_free_secret(cache.conninfo);
		cache.conninfo = NULL;
		swap_slots();
	}
	pthread_mutex_unlock(&lock);
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void fork_done(void)
{
	pthread_mutex_unlock(&lock);
}

__attribute__((constructor)) static void register_fork_handlers(void)
{
	pthread_atfork(fork_prepare, fork_done, fork_done);
}

/*
 * Takes lock before deadline (CLOCK_MONOTONIC ms); false with err set when another thread
 * held it all that time. pthread_mutex_timedlock counts in CLOCK_REALTIME: a step of the wall
 * clock moves the wait, never past the holder's own deadline, after which it lets go.
 * (pthread_mutex_clocklock would not, but ThreadSanitizer does not see it.)
 */
static bool lock_until(int64_t deadline, char *err, size_t errlen)
{
	struct timespec ts;
	int64_t left = deadline - pgd_db_now_ms();
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (left > 0) {
		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	while ((rc = pthread_mutex_timedlock(&lock, &ts)) == EINTR)
		;
	if (rc == 0)
		return true;
	snprintf(err, errlen, "timed out waiting for the connection (another thread's lookup)");
	return false;
}

/* Makes the cache belong to conninfo in this process; the least recently used slot goes. */
static bool cache_select(const char *conninfo)
{
	if (cache.conn != NULL && cache.pid != getpid())
		release();
	if (cache.conninfo != NULL && strcmp(cache.conninfo, conninfo) == 0)
		return true;
	swap_slots();
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

/* Opens a back-off window after a failure that cost spent_ms. */
static void back_off(int64_t spent_ms)
{
	cache.backoff_ms = cache.backoff_ms == 0 ? BACKOFF_MIN_MS : cache.backoff_ms * 2;
	if (cache.backoff_ms > BACKOFF_MAX_MS || spent_ms >= BACKOFF_MAX_MS)
		cache.backoff_ms = BACKOFF_MAX_MS;
	cache.retry_at_ms = pgd_db_now_ms() + cache.backoff_ms;
}

/* The cached connection if it is fit for a query, else a new one (NULL: err says why). */
static PGconn *get_conn(const struct pgd_db_options *opts, bool *reused, char *err, size_t errlen)
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
	now = pgd_db_now_ms();
	if (now < cache.retry_at_ms) {
		/* the failure that opened this window was reported; stay quiet until it ends */
		cache.refused++;
		if (errlen > 0)
			err[0] = '\0';
		return NULL;
	}
	conn = pgd_db_connect(cache.conninfo, opts->query_timeout_sec, err, errlen);
	if (conn == NULL) {
		back_off(pgd_db_now_ms() - now);
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

/* Did the server refuse res with SQLSTATE state? */
static bool refused_with(const PGresult *res, const char *state)
{
	const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s != NULL && strcmp(s, state) == 0;
}

/* The connection does not keep prepared statements: q, and every later query on it, unprepared. */
static enum pgd_db_result unprepared(PGconn *conn, const struct pgd_query *q, int64_t deadline,
                                     PGresult **res, bool *timed_out, char *err, size_t errlen)
{
	cache.stmts.off = true;
	pgd_db_clear(*res);
	*res = NULL;
	if (errlen > 0)
		err[0] = '\0';
	return pgd_db_run(conn, q, NULL, deadline, res, timed_out, err, errlen);
}

/*
 * Runs q on conn (the cache's) as pgd_db_run does; as a statement prepared on conn the first
 * time its text runs there when mode allows it and conn is kept (db.h, enum pgd_db_prepare).
 * *stale: the server refused a prepared statement whose plan the schema made stale ("cached
 * plan must not change result type", SQLSTATE 0A000), or (mode yes) did not hold the statement
 * or held its name already (26000, 42P05): a new connection prepares it anew, once.
 */
static enum pgd_db_result run(PGconn *conn, const struct pgd_query *q, enum pgd_db_prepare mode,
                              bool keep, int64_t deadline, PGresult **res, bool *timed_out,
                              bool *stale, char *err, size_t errlen)
{
	char name[PGD_DB_STMT_NAME_LEN];
	const char *stmt;
	enum pgd_db_result r;

	*stale = false;
	if (mode == PGD_DB_PREPARE_NO || !keep || cache.stmts.off)
		return pgd_db_run(conn, q, NULL, deadline, res, timed_out, err, errlen);
	stmt = pgd_db_stmts_find(&cache.stmts, q->sql);
	if (stmt == NULL) {
		if (cache.stmts.n >= PGD_DB_MAX_STMTS || !pgd_db_stmt_name(q->sql, name))
			return pgd_db_run(conn, q, NULL, deadline, res, timed_out, err, errlen);
		r = pgd_db_prepare(conn, q, name, deadline, res, timed_out, err, errlen);
		if (r == PGD_DB_QUERY_FAILED && refused_with(*res, "42P05")) {
			if (mode == PGD_DB_PREPARE_AUTO)
				return unprepared(conn, q, deadline, res, timed_out, err, errlen);
			*stale = true;
		}
		if (r != PGD_DB_OK)
			return r;
		pgd_db_clear(*res);
		*res = NULL;
		/* not noted (out of memory): prepared again next time, 42P05 then ends it */
		pgd_db_stmts_add(&cache.stmts, q->sql, name);
		stmt = name;
	}
	r = pgd_db_run(conn, q, stmt, deadline, res, timed_out, err, errlen);
	if (r == PGD_DB_QUERY_FAILED && mode == PGD_DB_PREPARE_AUTO && refused_with(*res, "26000"))
		return unprepared(conn, q, deadline, res, timed_out, err, errlen);
	*stale = r == PGD_DB_QUERY_FAILED &&
	         (refused_with(*res, "0A000") || refused_with(*res, "26000"));
	return r;
}

/*
 * Runs q on the cached (or a new) connection before deadline, prepared as mode says. A
 * connection that broke while idle (server restart, idle timeout), or whose prepared statement
 * went stale, is opened anew and q sent once more; a query the server refused otherwise, or one
 * that timed out, is not.
 */
static enum pgd_db_result execute(const struct pgd_db_options *opts, enum pgd_db_prepare mode,
                                  const struct pgd_query *q, int64_t deadline, PGresult **res,
                                  char *err, size_t errlen)
{
	enum pgd_db_result result = PGD_DB_UNAVAILABLE;
	bool keep = opts->cache && atomic_load(&transactions_ended) > 0;

	*res = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused, timed_out, stale;
		PGconn *conn = get_conn(opts, &reused, err, errlen);

		if (conn == NULL)
			return PGD_DB_UNAVAILABLE;
		result = run(conn, q, mode, keep, deadline, res, &timed_out, &stale, err, errlen);
		if (result == PGD_DB_UNAVAILABLE) {
			release();
			if (timed_out)
				back_off((int64_t)opts->query_timeout_sec * 1000);
			else if (reused)
				continue;
		} else if (stale && attempt == 0) {
			pgd_db_clear(*res);
			*res = NULL;
			release();
			continue;
		}
		break;
	}
	return result;
}

/*
 * Takes the lock and makes the cache belong to conninfo; returns the deadline of this call, or
 * -1 (err set, lock not held) when the lock could not be had in time. *nomem with the lock held.
 */
static int64_t start(const char *conninfo, const struct pgd_db_options *opts, char *err,
                     size_t errlen, bool *nomem)
{
	int64_t deadline = pgd_db_now_ms() + (int64_t)opts->query_timeout_sec * 1000;

	if (errlen > 0)
		err[0] = '\0';
	*nomem = false;
	if (!lock_until(deadline, err, errlen))
		return -1;
	*nomem = !cache_select(conninfo);
	return deadline;
}

/* Ends a call that start() began. */
static void finish(const struct pgd_db_options *opts)
{
	if (!opts->cache || atomic_load(&transactions_ended) == 0)
		release();
	pthread_mutex_unlock(&lock);
}

/*
 * One call of pgd_db_lookup (row) or pgd_db_exec (affected, may be NULL): q on the cache that
 * belongs to conninfo, with the lock held from the first look at the cache to the last use of
 * the connection.
 */
static enum pgd_db_result call(const char *conninfo, const struct pgd_db_options *opts,
                               const struct pgd_query *q, struct pgd_row *row, long *affected,
                               char *err, size_t errlen)
{
	PGresult *res = NULL;
	enum pgd_db_result result;
	bool nomem;
	int64_t deadline = start(conninfo, opts, err, errlen, &nomem);

	if (deadline < 0)
		return PGD_DB_UNAVAILABLE;
	if (nomem) {
		finish(opts);
		return PGD_DB_NOMEM;
	}
	result = execute(opts, opts->prepare, q, deadline, &res, err, errlen);
	if (result == PGD_DB_OK && row != NULL)
		result = pgd_db_fill_row(res, opts->password_optional, row, err, errlen);
	else if (result == PGD_DB_OK && affected != NULL)
		*affected = strtol(PQcmdTuples(res), NULL, 10);
	pgd_db_clear(res);
	finish(opts);
	return result;
}

enum pgd_db_result pgd_db_lookup(const char *conninfo, const struct pgd_db_options *opts,
                                 const struct pgd_query *q, struct pgd_row *row, char *err,
                                 size_t errlen)
{
	memset(row, 0, sizeof(*row));
	return call(conninfo, opts, q, row, NULL, err, errlen);
}

enum pgd_db_result pgd_db_exec(const char *conninfo, const struct pgd_db_options *opts,
                               const struct pgd_query *q, long *affected, char *err, size_t errlen)
{
	if (affected != NULL)
		*affected = 0;
	return call(conninfo, opts, q, NULL, affected, err, errlen);
}

/* Ends the open transaction without its changes; a connection that cannot is dropped. */
static void abort_transaction(int64_t deadline)
{
	static char rollback[] = "ROLLBACK";
	const struct pgd_query rb = {.sql = rollback};
	PGresult *res = NULL;
	bool timed_out = false;

	if (cache.conn != NULL && PQstatus(cache.conn) == CONNECTION_OK &&
	    pgd_db_run(cache.conn, &rb, NULL, deadline, &res, &timed_out, NULL, 0) == PGD_DB_OK) {
		pgd_db_clear(res);
		return;
	}
	pgd_db_clear(res);
	release();
}

/* Runs one statement of an open transaction; aborts the transaction on failure. */
static bool in_transaction(const struct pgd_query *q, int64_t deadline, PGresult **res, char *err,
                           size_t errlen)
{
	bool timed_out;

	if (pgd_db_run(cache.conn, q, NULL, deadline, res, &timed_out, err, errlen) == PGD_DB_OK)
		return true;
	pgd_db_clear(*res);
	*res = NULL;
	if (timed_out)
		release();
	else
		abort_transaction(deadline);
	return false;
}

enum pgd_db_swap_result pgd_db_swap(const char *conninfo, const struct pgd_db_options *opts,
                                    const struct pgd_query *check, const char *expected,
                                    const struct pgd_query *update, char *err, size_t errlen)
{
	static char begin_sql[] = "BEGIN ISOLATION LEVEL REPEATABLE READ", commit_sql[] = "COMMIT";
	/* a deferred trigger or constraint of update's table fails at the commit */
	const struct pgd_query begin = {.sql = begin_sql},
	                       commit = {.sql = commit_sql, .secret = update->secret};
	enum pgd_db_swap_result out = PGD_DB_SWAP_FAILED;
	struct pgd_row row = {0};
	PGresult *res = NULL;
	bool nomem;
	int64_t deadline = start(conninfo, opts, err, errlen, &nomem);

	if (deadline < 0)
		return PGD_DB_SWAP_FAILED;
	if (nomem) {
		snprintf(err, errlen, "out of memory");
		finish(opts);
		return PGD_DB_SWAP_FAILED;
	}
	if (execute(opts, PGD_DB_PREPARE_NO, &begin, deadline, &res, err, errlen) != PGD_DB_OK)
		goto done;
	pgd_db_clear(res);
	res = NULL;
	if (!in_transaction(check, deadline, &res, err, errlen))
		goto done;
	if (pgd_db_fill_row(res, false, &row, err, errlen) != PGD_DB_OK || row.password == NULL ||
	    strcmp(row.password, expected) != 0) {
		out = PGD_DB_CHANGED;
		abort_transaction(deadline);
		goto done;
	}
	pgd_db_clear(res);
	res = NULL;
	if (!in_transaction(update, deadline, &res, err, errlen))
		goto done;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		snprintf(err, errlen, "password_update_query changed %s rows, expected one",
		         PQcmdTuples(res)[0] != '\0' ? PQcmdTuples(res) : "no");
		abort_transaction(deadline);
		goto done;
	}
	pgd_db_clear(res);
	res = NULL;
	if (in_transaction(&commit, deadline, &res, err, errlen))
		out = PGD_DB_SWAPPED;
done:
	pgd_db_clear(res);
	pgd_row_free(&row);
	finish(opts);
	return out;
}

void pgd_db_transaction_ended(void)
{
	atomic_fetch_add(&transactions_ended, 1);
}
