// SPDX-License-Identifier: MIT
/*
 * The only file that speaks libpq: one cached connection per process, a deadline on every
 * query, a back-off after a failed connect, one retry when a connection broke under us.
 */
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

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
};

/*
 * cache is the slot in use; spare holds the process's other connection (update_connect's,
 * or the lookups' while a write runs), swapped in by cache_select: two conninfos, two
 * connections, each with its own back-off.
 */
static struct conn_slot cache, spare;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pgd_db_message(char *err, size_t errlen, const char *prefix, const char *msg)
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
 * What libpq would take from the caller's environment or home folder (PGHOST, PGSERVICE,
 * PGPASSFILE, $HOME/.pgpass, $HOME/.postgresql/root.crt, ...) is given an explicit value
 * instead, so that libpq never looks there: the connection depends on the conninfo and on
 * the password database only, and the environment is never changed (other threads may be
 * reading it).
 *
 * A keyword the conninfo leaves out gets, in this order: our default (below); for the files
 * libpq would look for in the home folder, the same file in the home folder of the effective
 * user as the password database has it (/root for root, whatever $HOME says); libpq's
 * compiled-in default; else the empty string, which libpq reads as "not set" without looking
 * at the environment. Every keyword the linked libpq knows is covered, as PQconninfoParse
 * lists them with the variable each one falls back to.
 */
struct conn_default {
	const char *keyword;
	const char *value; /* NULL: a file in the home folder, named by home_file */
	const char *home_file;
};

static const struct conn_default conn_defaults[] = {
    {"fallback_application_name", "pam_pgsql_dovecot", NULL},
    {"application_name", "pam_pgsql_dovecot", NULL},
    {"keepalives", "1", NULL},
    {"keepalives_idle", "30", NULL},
    {"keepalives_interval", "10", NULL},
    {"keepalives_count", "3", NULL},
    {"tcp_user_timeout", "10000", NULL},
    {"gssencmode", "disable", NULL},
    {"sslcertmode", "allow",
     NULL}, /* libpq >= 16: its default, which it has no compiled entry for */
    /* libpq >= 16 reads an empty require_auth as a method nothing offers: every method it
     * knows is what unset means. */
    {"require_auth", "password,md5,gss,sspi,scram-sha-256,none", NULL},
    {"passfile", NULL, ".pgpass"},
    {"sslcert", NULL, ".postgresql/postgresql.crt"},
    {"sslkey", NULL, ".postgresql/postgresql.key"},
    {"sslrootcert", NULL, ".postgresql/root.crt"},
    {"sslcrl", NULL, ".postgresql/root.crl"},
};

/* A growing conninfo string; it may hold the database password, so it is wiped when freed. */
struct conninfo_buf {
	char *s;
	size_t len, cap;
	bool nomem;
};

static void buf_putc(struct conninfo_buf *b, char c)
{
	if (b->nomem)
		return;
	if (b->len + 2 > b->cap) {
		size_t cap = b->cap == 0 ? 512 : b->cap * 2;
		char *s = malloc(cap);

		if (s == NULL) {
			b->nomem = true;
			return;
		}
		if (b->s != NULL) {
			memcpy(s, b->s, b->len);
			pgd_wipe(b->s, b->cap);
			free(b->s);
		}
		b->s = s;
		b->cap = cap;
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

/* Appends " keyword='value'", quoted as libpq's conninfo parser reads it. */
static void buf_add(struct conninfo_buf *b, const char *keyword, const char *value)
{
	if (b->len > 0)
		buf_putc(b, ' ');
	for (const char *k = keyword; *k != '\0'; k++)
		buf_putc(b, *k);
	buf_putc(b, '=');
	buf_putc(b, '\'');
	for (const char *v = value; *v != '\0'; v++) {
		if (*v == '\'' || *v == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *v);
	}
	buf_putc(b, '\'');
}

/* The effective user's home folder from the password database, never from $HOME. */
static bool home_of_euid(char *home, size_t len)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found) != 0 || found == NULL ||
	    pw.pw_dir == NULL || pw.pw_dir[0] != '/' || strlen(pw.pw_dir) >= len)
		return false;
	snprintf(home, len, "%s", pw.pw_dir);
	return true;
}

static const struct conn_default *our_default(const char *keyword)
{
	for (size_t i = 0; i < sizeof(conn_defaults) / sizeof(conn_defaults[0]); i++)
		if (strcmp(conn_defaults[i].keyword, keyword) == 0)
			return &conn_defaults[i];
	return NULL;
}

/*
 * The complete conninfo for conninfo: every keyword libpq would look up in the environment
 * has a value. NULL with err set when conninfo is malformed, names a service (libpq finds
 * service files through PGSERVICEFILE and $HOME), or memory ran out. Wipe and free the result.
 */
static char *full_conninfo(const char *conninfo, unsigned timeout_sec, char *err, size_t errlen)
{
	struct conninfo_buf b = {0};
	char timeout[16], home[1024], path[1200];
	bool have_home = home_of_euid(home, sizeof(home));
	PQconninfoOption *opts;
	char *parse_err = NULL;
	bool service = false;

	snprintf(timeout, sizeof(timeout), "%u", timeout_sec);
	/* libpq's message about a malformed string quotes it, password and all: not in our log. */
	opts = PQconninfoParse(conninfo, &parse_err);
	PQfreemem(parse_err);
	if (opts == NULL) {
		snprintf(err, errlen, "cannot connect: the connect string is malformed");
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		const struct conn_default *d = our_default(o->keyword);
		const char *value = NULL;

		if (strcmp(o->keyword, "service") == 0) {
			/* left unset: libpq then reads PGSERVICE, refused by pgd_db_env_refused */
			service = o->val != NULL;
			continue;
		}
		if (o->val != NULL && o->val[0] != '\0')
			value = o->val;
		else if (strcmp(o->keyword, "connect_timeout") == 0)
			value = timeout;
		else if (d != NULL && d->value != NULL)
			value = d->value;
		else if (d != NULL) {
			/* under /dev/null nothing can exist: libpq finds no file, as without a home
			 */
			snprintf(path, sizeof(path), "%s/%s", have_home ? home : "/dev/null",
			         d->home_file);
			value = path;
		} else if (o->envvar == NULL)
			continue; /* nothing to fall back to: libpq reads nothing for it */
		else
			value = o->compiled != NULL ? o->compiled : "";
		buf_add(&b, o->keyword, value);
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (o->val != NULL)
			pgd_wipe(o->val, strlen(o->val));
	PQconninfoFree(opts);
	if (service || b.nomem || b.s == NULL) {
		if (service)
			snprintf(err, errlen,
			         "cannot connect: service= is not supported in connect "
			         "(write the service's parameters into connect)");
		else
			snprintf(err, errlen, "cannot connect: out of memory");
		if (b.s != NULL)
			pgd_wipe(b.s, b.cap);
		free(b.s);
		return NULL;
	}
	return b.s;
}

/*
 * The variables libpq 15 and 17 read whatever the conninfo says (every other PG* variable is
 * a conninfo keyword's fallback, given a value by full_conninfo), and what each would change.
 * Set to any value, even empty, they refuse the connection: the environment is never changed
 * (other threads may be reading it), and none of them has a value of ours that would win.
 */
static const struct {
	const char *name;
	const char *why;
} refused_env[] = {
    /* read when no service= is given: opens the file PGSERVICEFILE, PGSYSCONFDIR or $HOME
     * names (a FIFO there would hang the login) and takes host, user, ... from it */
    {"PGSERVICE", "libpq would read a service file"},
    /* the folder of libpq's message catalogue, bound at its first message: a translated
     * message is used as a printf format */
    {"PGLOCALEDIR", "libpq would read its message formats from that folder"},
    /* sent to the server as session settings in the startup packet, after (so over) any
     * options= of ours: now() and timestamp comparisons in the queries would change */
    {"PGTZ", "libpq would send it to the server as the session's TimeZone"},
    {"PGDATESTYLE", "libpq would send it to the server as the session's DateStyle"},
    {"PGGEQO", "libpq would send it to the server as the session's geqo"},
};

bool pgd_db_env_refused(char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(refused_env) / sizeof(refused_env[0]); i++)
		if (getenv(refused_env[i].name) != NULL) {
			snprintf(err, errlen, "cannot connect: %s is set in the environment (%s)",
			         refused_env[i].name, refused_env[i].why);
			return true;
		}
	return false;
}

/* Server notices (a trigger's RAISE NOTICE may quote the row) would go to the caller's stderr. */
static void drop_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * Opens a connection to what conninfo (a "host=... dbname=..." string or a postgresql:// URI)
 * names, with our defaults for what it leaves out. Checks the environment before the first
 * libpq call: libpq binds its message catalogue at its first message, even a parse error's.
 */
static PGconn *connect_db(const char *conninfo, unsigned timeout_sec, char *err, size_t errlen)
{
	PGconn *conn;
	char *full;

	if (pgd_db_env_refused(err, errlen))
		return NULL;
	full = full_conninfo(conninfo, timeout_sec, err, errlen);
	if (full == NULL)
		return NULL;
	conn = PQconnectdb(full);
	pgd_free_secret(full);
	if (conn == NULL)
		snprintf(err, errlen, "cannot connect: out of memory");
	if (conn != NULL && PQstatus(conn) != CONNECTION_OK) {
		pgd_db_message(err, errlen, "cannot connect: ", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	if (conn != NULL)
		PQsetNoticeProcessor(conn, drop_notice, NULL);
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
	int64_t left = deadline - now_ms();
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
	cache.retry_at_ms = now_ms() + cache.backoff_ms;
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
		back_off(now_ms() - now);
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
	if (!PQsendQueryParams(conn, q->sql, q->nparams, NULL, (const char *const *)q->values, NULL,
	                       NULL, 0)) {
		pgd_db_message(err, errlen, "query failed: ", PQerrorMessage(conn));
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

/* Reads the single row of a successful result into *row. */
static enum pgd_db_result read_row(const PGresult *res, bool password_optional, struct pgd_row *row,
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
	row->nologin = present(res, "nologin");
	row->nopassword = present(res, "nopassword");
	row->account_expired = truthy(res, "account_expired");
	row->password_expired = truthy(res, "password_expired");
	if (nomem) {
		pgd_row_free(row);
		return PGD_DB_NOMEM;
	}
	return PGD_DB_OK;
}

/*
 * Runs q on the cached (or a new) connection before deadline. A connection that broke while
 * idle (server restart, idle timeout) is opened anew and q sent once more; a query the server
 * refused, or one that timed out, is not.
 */
static enum pgd_db_result execute(const struct pgd_db_options *opts, const struct pgd_query *q,
                                  int64_t deadline, PGresult **res, char *err, size_t errlen)
{
	enum pgd_db_result result = PGD_DB_UNAVAILABLE;

	*res = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused, timed_out;
		PGconn *conn = get_conn(opts, &reused, err, errlen);

		if (conn == NULL)
			return PGD_DB_UNAVAILABLE;
		result = run_query(conn, q, deadline, res, &timed_out, err, errlen);
		if (result == PGD_DB_UNAVAILABLE) {
			release();
			if (timed_out)
				back_off((int64_t)opts->query_timeout_sec * 1000);
			else if (reused)
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
	int64_t deadline = now_ms() + (int64_t)opts->query_timeout_sec * 1000;

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

enum pgd_db_result pgd_db_lookup(const char *conninfo, const struct pgd_db_options *opts,
                                 const struct pgd_query *q, struct pgd_row *row, char *err,
                                 size_t errlen)
{
	PGresult *res = NULL;
	enum pgd_db_result result;
	bool nomem;
	int64_t deadline = start(conninfo, opts, err, errlen, &nomem);

	memset(row, 0, sizeof(*row));
	if (deadline < 0)
		return PGD_DB_UNAVAILABLE;
	if (nomem) {
		finish(opts);
		return PGD_DB_NOMEM;
	}
	result = execute(opts, q, deadline, &res, err, errlen);
	if (result == PGD_DB_OK)
		result = read_row(res, opts->password_optional, row, err, errlen);
	pgd_db_clear(res);
	finish(opts);
	return result;
}

enum pgd_db_result pgd_db_exec(const char *conninfo, const struct pgd_db_options *opts,
                               const struct pgd_query *q, long *affected, char *err, size_t errlen)
{
	PGresult *res = NULL;
	enum pgd_db_result result;
	bool nomem;
	int64_t deadline = start(conninfo, opts, err, errlen, &nomem);

	if (affected != NULL)
		*affected = 0;
	if (deadline < 0)
		return PGD_DB_UNAVAILABLE;
	if (nomem) {
		finish(opts);
		return PGD_DB_NOMEM;
	}
	result = execute(opts, q, deadline, &res, err, errlen);
	if (result == PGD_DB_OK && affected != NULL)
		*affected = strtol(PQcmdTuples(res), NULL, 10);
	pgd_db_clear(res);
	finish(opts);
	return result;
}

/* Ends the open transaction without its changes; a connection that cannot is dropped. */
static void abort_transaction(int64_t deadline)
{
	static char rollback[] = "ROLLBACK";
	const struct pgd_query rb = {.sql = rollback};
	PGresult *res = NULL;
	bool timed_out = false;

	if (cache.conn != NULL && PQstatus(cache.conn) == CONNECTION_OK &&
	    run_query(cache.conn, &rb, deadline, &res, &timed_out, NULL, 0) == PGD_DB_OK) {
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

	if (run_query(cache.conn, q, deadline, res, &timed_out, err, errlen) == PGD_DB_OK)
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
	if (execute(opts, &begin, deadline, &res, err, errlen) != PGD_DB_OK)
		goto done;
	pgd_db_clear(res);
	res = NULL;
	if (!in_transaction(check, deadline, &res, err, errlen))
		goto done;
	if (read_row(res, false, &row, err, errlen) != PGD_DB_OK || row.password == NULL ||
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

struct pg_conn *pgd_db_connect(const char *conninfo, unsigned timeout_sec, char *err, size_t errlen)
{
	return connect_db(conninfo, timeout_sec, err, errlen);
}

enum pgd_db_result pgd_db_read_row(const struct pg_result *res, bool password_optional,
                                   struct pgd_row *row, char *err, size_t errlen)
{
	memset(row, 0, sizeof(*row));
	if (errlen > 0)
		err[0] = '\0';
	return read_row(res, password_optional, row, err, errlen);
}

void pgd_row_free(struct pgd_row *row)
{
	pgd_free_secret(row->password);
	free(row->user);
	free(row->reason);
	free(row->allow_nets);
	memset(row, 0, sizeof(*row));
}

void pgd_db_transaction_ended(void)
{
	atomic_fetch_add(&transactions_ended, 1);
}
