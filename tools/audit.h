// SPDX-License-Identifier: MIT
#ifndef PGD_AUDIT_H
#define PGD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "query/query.h"

/*
 * The audit's database side: one read-only connection in libpq's pipeline mode, a cursor over
 * the user list, and batches of lookups sent without waiting for each answer.
 */
struct pgd_audit_db;
struct pg_result;

/*
 * Connects as the module does (pgd_db_connect), makes every transaction of the session
 * read-only and checks that the server agrees, then enters pipeline mode. NULL with err set.
 */
struct pgd_audit_db *pgd_audit_open(const char *conninfo, unsigned timeout_sec, char *err,
                                    size_t errlen);
void pgd_audit_close(struct pgd_audit_db *db);

/*
 * Opens a cursor (held on the server, so our memory does not grow with the table) over the
 * bound iterate query, and counts its rows into *total. False with err set.
 */
bool pgd_audit_list(struct pgd_audit_db *db, const struct pgd_query *q, long *total, char *err,
                    size_t errlen);

/*
 * The next at most max login names of the list: each row's "user" column, else "username"
 * with "@domain" when a "domain" column is neither NULL nor empty (Dovecot's iterate). *names
 * (count in *n) is the caller's to free with pgd_audit_free_names; *n = 0 at the end. Rows without
 * a name count in *skipped. False with err set.
 */
bool pgd_audit_next(struct pgd_audit_db *db, size_t max, char ***names, size_t *n, size_t *skipped,
                    char *err, size_t errlen);
void pgd_audit_free_names(char **names, size_t n);

/* Called for each query, in order: res is its result (a status of PGRES_FATAL_ERROR or
 * PGRES_PIPELINE_ABORTED when the server refused it); res is wiped and freed after. */
typedef void (*pgd_audit_fn)(void *ctx, size_t i, struct pg_result *res);

/*
 * Sends the n queries in a pipeline, each in a transaction of its own (a refused query does
 * not abort the others), keeping at most a window of them in flight, and calls fn with each
 * result in order. With prepare, each distinct SQL text is prepared once per connection and
 * executed with its values (a few distinct texts: the lookup queries). False (err set) when the
 * connection broke or the server stopped answering for timeout_sec.
 */
bool pgd_audit_run(struct pgd_audit_db *db, const struct pgd_query *qs, size_t n, bool prepare,
                   pgd_audit_fn fn, void *ctx, char *err, size_t errlen);

#endif
