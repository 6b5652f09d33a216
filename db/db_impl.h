// SPDX-License-Identifier: MIT
/*
 * Inside db/: what its three files share. conninfo.c opens a connection that nothing in the
 * caller's environment steers; exec.c runs one query on a connection and reads its row;
 * conn.c keeps the per-process connections and is the only one that calls the other two.
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
 * Sends q on conn and waits for its result until deadline (pgd_db_now_ms). *res gets the first
 * result (the caller clears it with pgd_db_clear); *timed_out tells a deadline from a broken
 * connection. PGD_DB_OK, PGD_DB_QUERY_FAILED (the server refused q) or PGD_DB_UNAVAILABLE, with
 * err set on failure (never a bound value of a secret query); err may be NULL with errlen 0.
 */
enum pgd_db_result pgd_db_run(PGconn *conn, const struct pgd_query *q, int64_t deadline,
                              PGresult **res, bool *timed_out, char *err, size_t errlen);

/*
 * Reads the single row of a successful result into *row (zeroed by the caller), err untouched
 * unless it fails: pgd_db_read_row without its resets, for a caller that made them.
 */
enum pgd_db_result pgd_db_fill_row(const PGresult *res, bool password_optional, struct pgd_row *row,
                                   char *err, size_t errlen);

#endif
