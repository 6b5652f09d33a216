// SPDX-License-Identifier: MIT
/*
 * Inside db/: what its files share. conninfo.c opens a connection that nothing in the caller's
 * environment steers; exec.c runs (or prepares) one query on a connection and reads its row;
 * stmts.c names the statements prepared on a connection and remembers them; conn.c keeps the
 * per-process connections and is the only one that calls the others.
 * Not a public interface: db/db.h is.
 */
#ifndef PGD_DB_IMPL_H
#define PGD_DB_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "db/db.h"

/* CLOCK_MONOTONIC in milliseconds: every deadline of db/ counts in it. */
static inline int64_t pgd_db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* conninfo.c */

/*
 * What libpq would take from the caller's environment or home folder (PGHOST, PGSERVICE,
 * PGPASSFILE, $HOME/.pgpass, $HOME/.postgresql/root.crt, ...) is given an explicit value
 * instead, so that libpq never looks there: the connection depends on the conninfo and on the
 * password database only, and the environment is never changed (other threads may be reading
 * it). A keyword the conninfo leaves out gets, in this order: our default (pgd_db_defaults); for
 * the files libpq would look for in the home folder, the same file in the home folder of the
 * effective user as the password database has it (/root for root, whatever $HOME says); libpq's
 * compiled-in default; else the empty string, which libpq reads as "not set" without looking at
 * the environment. Every keyword the linked libpq knows is covered, as PQconninfoParse lists them
 * with the variable each one falls back to.
 */
struct pgd_db_default {
	const char *keyword;
	const char *value; /* NULL: a file in the home folder, named by home_file */
	const char *home_file;
};
#define PGD_DB_N_DEFAULTS 15
extern const struct pgd_db_default pgd_db_defaults[PGD_DB_N_DEFAULTS];

/*
 * The complete conninfo for conninfo: every keyword libpq would look up in the environment or
 * the home folder has a value (connect_timeout, when conninfo has none, timeout_sec). NULL with
 * err set when conninfo is malformed, names a service (libpq finds service files through
 * PGSERVICEFILE and $HOME), or memory ran out. The caller frees the result with
 * pgd_free_secret (it may hold the database password).
 */
char *pgd_db_full_conninfo(const char *conninfo, unsigned timeout_sec, char *err, size_t errlen);

/* exec.c */

/*
 * Sends q on conn and waits for its result until deadline (pgd_db_now_ms): as the statement
 * stmt prepared on conn from q->sql (pgd_db_prepare), or, stmt NULL, as q->sql itself. *res gets
 * the first result (the caller clears it with pgd_db_clear; a refused query's result stays there
 * for its SQLSTATE); *timed_out tells a deadline from a broken connection. PGD_DB_OK,
 * PGD_DB_QUERY_FAILED (the server refused q) or PGD_DB_UNAVAILABLE, with err set on failure
 * (never a bound value of a secret query); err may be NULL with errlen 0.
 */
enum pgd_db_result pgd_db_run(PGconn *conn, const struct pgd_query *q, const char *stmt,
                              int64_t deadline, PGresult **res, bool *timed_out, char *err,
                              size_t errlen);

/* Prepares q->sql on conn as the statement named stmt; results as pgd_db_run. */
enum pgd_db_result pgd_db_prepare(PGconn *conn, const struct pgd_query *q, const char *stmt,
                                  int64_t deadline, PGresult **res, bool *timed_out, char *err,
                                  size_t errlen);

/*
 * Reads the single row of a successful result into *row (zeroed by the caller), err untouched
 * unless it fails: pgd_db_read_row without its resets, for a caller that made them.
 */
enum pgd_db_result pgd_db_fill_row(const PGresult *res, bool password_optional, struct pgd_row *row,
                                   char *err, size_t errlen);

/* stmts.c */

/*
 * The statements prepared on one connection, by their SQL text. A statement's name is "pgd_" and
 * the first 16 bytes of the SHA-256 of its text in hex, computed once when it is prepared: the
 * same text gets the same name in every process, so that through a pooler that hands a client
 * another server connection (PgBouncer in transaction mode) a name found there is the same
 * statement, never another query's.
 */
#define PGD_DB_STMT_NAME_LEN (4 + 32 + 1)
#define PGD_DB_MAX_STMTS 16 /* a conf has 7 queries; past this, new texts run unprepared */
struct pgd_db_stmts {
	char *sql[PGD_DB_MAX_STMTS]; /* heap */
	char names[PGD_DB_MAX_STMTS][PGD_DB_STMT_NAME_LEN];
	unsigned n;
	bool off; /* the connection lost one (a pooler): nothing is prepared on it any more */
};

/* name := the statement name of sql; false when the digest failed (then run sql unprepared). */
bool pgd_db_stmt_name(const char *sql, char name[PGD_DB_STMT_NAME_LEN]);

/* The name of the statement prepared from sql on the connection s belongs to, or NULL. */
const char *pgd_db_stmts_find(const struct pgd_db_stmts *s, const char *sql);

/* Notes that sql is prepared as name; false (nothing noted) when s is full or out of memory. */
bool pgd_db_stmts_add(struct pgd_db_stmts *s, const char *sql, const char *name);

/* Forgets every statement (the connection is gone) and zeroes s. */
void pgd_db_stmts_clear(struct pgd_db_stmts *s);

#endif
