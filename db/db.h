// SPDX-License-Identifier: MIT
/*
 * The database family, the only one that speaks libpq: a lookup's row, a statement, the
 * compare-and-swap of a password, on a per-process connection that nothing in the caller's
 * environment steers (db/conninfo.c, db/exec.c, db/conn.c).
 */
#ifndef PGD_DB_H
#define PGD_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "query/query.h"

enum pgd_db_result {
	PGD_DB_OK,           /* exactly one row */
	PGD_DB_NO_ROW,       /* no such user */
	PGD_DB_UNAVAILABLE,  /* could not connect, timed out, or the connection broke */
	PGD_DB_QUERY_FAILED, /* the server refused the query (syntax, permission, data) */
	PGD_DB_BAD_RESULT,   /* more than one row, no password column, too many renames */
	PGD_DB_NOMEM,
};

/* More user/username/domain columns than this in one row: PGD_DB_BAD_RESULT. */
#define PGD_ROW_MAX_RENAMES 4

/* What a password_query row says about a user; the columns are read by name, as Dovecot does. */
struct pgd_row {
	char *password;         /* NULL when the column is SQL NULL or absent; secret */
	bool password_noscheme; /* it came from a "password_noscheme" column: no {SCHEME} read */
	char *user;             /* the "user" column, NULL when absent or NULL */
	char *reason;           /* Dovecot's "reason" (why nologin), NULL when absent or NULL */
	char *allow_nets;       /* Dovecot's "allow_nets", NULL when absent or NULL */
	char *allow_real_nets;  /* Dovecot's "allow_real_nets", as allow_nets */
	bool fail;              /* a non-NULL "fail" column: Dovecot fails the lookup */
	/* the first of check_client_fp, check_client_cert_fp, check_client_pubkey_fp that is
	 * not NULL (Dovecot >= 2.4.2 refuses a login without that TLS client certificate) */
	const char *client_fp;
	bool nologin;          /* a non-NULL "nologin" column, whatever its value (Dovecot 2.3) */
	bool nopassword;       /* a non-NULL "nopassword" column, as nologin */
	bool account_expired;  /* "account_expired" is true (t, true, y, yes, 1, on) */
	bool password_expired; /* "password_expired" is true */
	/* The "user", "username" and "domain" columns that are not NULL, in result order: Dovecot
	 * renames the login from each in turn (pgd_login_renamed); a NULL one it skips. */
	struct {
		const char *field; /* "user", "username" or "domain" (static) */
		char *value;
	} renames[PGD_ROW_MAX_RENAMES];
	int nrenames;
	char columns[256]; /* the result's column names, comma-separated (for the check command) */
};

/*
 * Prepared statements (conf key prepare): on a connection the process keeps (see below), a query
 * text is prepared the first time it runs there and then executed by name, which spares the
 * server its parse and plan at every login. AUTO: when the connection turns out not to keep them
 * (a pooler in transaction mode that hands each transaction another server connection:
 * SQLSTATE 26000 for a statement not there, 42P05 for a name already there), the query is sent
 * once more unprepared, and so is every later one on that connection. YES: such an error, or a
 * plan the schema made stale (0A000), reconnects and sends the query once more, prepared; a second
 * one is the query's failure. NO: never prepared. A connection the process does not keep
 * (connection_cache no, or before its first transaction ended) never prepares (it would cost a
 * round trip), nor does pgd_db_swap (its statements run inside a transaction that an error would
 * abort).
 */
enum pgd_db_prepare {
	PGD_DB_PREPARE_AUTO,
	PGD_DB_PREPARE_YES,
	PGD_DB_PREPARE_NO,
};

struct pgd_db_options {
	bool cache; /* keep the connection for this process's next lookup (see below) */
	enum pgd_db_prepare prepare;
	unsigned query_timeout_sec; /* deadline for the query; also connect_timeout if unset */
	bool password_optional;     /* the row may lack a password column (account_query) */
};

/*
 * Runs q on the server named by conninfo and reads the single row into *row, which the caller
 * frees with pgd_row_free whatever the result.
 *
 * With opts->cache the connection stays open for the next call of the same process with the
 * same conninfo, once the process has ended a PAM transaction (pgd_db_transaction_ended);
 * before that it is closed after each call. A connection inherited through fork() is never
 * used nor closed in a way the parent would notice. A connection found broken is reopened and
 * the query sent once more; a query refused by the server is not. After a failed connect,
 * calls fail at once for a short, growing back-off window. libpq is given a value for every
 * keyword it would read from the environment or the home folder (db/conninfo.c), so
 * neither steers the connection; a conninfo naming a service, or PGSERVICE in the
 * environment, is refused (libpq would read a service file the caller can choose).
 *
 * Thread-safe: the threads of a process share one connection, one lookup at a time; a thread
 * waits for it until its own deadline.
 *
 * On failure err (errlen bytes) holds one line from libpq or about the result; it never holds
 * the conninfo or any value of the row. It is empty for a failure inside the back-off window,
 * which the first failure already reported (rate-limited logging).
 */
enum pgd_db_result pgd_db_lookup(const char *conninfo, const struct pgd_db_options *opts,
                                 const struct pgd_query *q, struct pgd_row *row, char *err,
                                 size_t errlen);

/*
 * Runs a statement that returns no row the caller needs (session and audit queries, a password
 * update); *affected (may be NULL) gets the number of rows it changed. Same connection,
 * deadline and retry as pgd_db_lookup.
 */
enum pgd_db_result pgd_db_exec(const char *conninfo, const struct pgd_db_options *opts,
                               const struct pgd_query *q, long *affected, char *err, size_t errlen);

enum pgd_db_swap_result {
	PGD_DB_SWAPPED,     /* the row held expected and now holds what update wrote */
	PGD_DB_CHANGED,     /* the row no longer holds expected (or is gone): nothing written */
	PGD_DB_SWAP_FAILED, /* err says why: connection, permission, read-only server, ... */
};

/*
 * In one REPEATABLE READ transaction: runs check (the password_query), and only if its row's
 * password equals expected, runs update, which must change exactly one row. A concurrent
 * change of the row makes the transaction fail rather than be overwritten.
 */
enum pgd_db_swap_result pgd_db_swap(const char *conninfo, const struct pgd_db_options *opts,
                                    const struct pgd_query *check, const char *expected,
                                    const struct pgd_query *update, char *err, size_t errlen);

/*
 * True, with err naming the variable, when the environment holds a variable that libpq reads
 * whatever the conninfo says (PGSERVICE, PGLOCALEDIR, PGTZ, PGDATESTYLE, PGGEQO): every
 * connect then fails with that message. Call it before any other libpq call.
 */
bool pgd_db_env_refused(char *err, size_t errlen);

/*
 * For the admin command's audit, which pipelines many lookups on a connection of its own: a
 * connection opened exactly as the module opens one (its defaults, nothing read from the
 * caller's environment), or NULL with err set; the caller PQfinish()es it. And one query's result
 * read into *row by the module's own rules (columns by name, one row); free *row with pgd_row_free.
 * struct pg_conn and struct pg_result are libpq's PGconn and PGresult.
 */
struct pg_conn;
struct pg_result;
struct pg_conn *pgd_db_connect(const char *conninfo, unsigned timeout_sec, char *err,
                               size_t errlen);
enum pgd_db_result pgd_db_read_row(const struct pg_result *res, bool password_optional,
                                   struct pgd_row *row, char *err, size_t errlen);

/* PQclear() after wiping every value (a result may hold stored hashes); NULL is a no-op. */
void pgd_db_clear(struct pg_result *res);

/* err = prefix then the first line of a libpq message, as util/printable.h shows it (\\xNN). */
void pgd_db_message(char *err, size_t errlen, const char *prefix, const char *msg);

/*
 * Tells that a PAM transaction of this process that used the database has ended (pam_end).
 * A process keeps its connection between lookups only once one has: a worker serving many
 * transactions (saslauthd, FreeRADIUS) pays one extra connect, while a process serving one
 * transaction for as long as it lives (sshd's per-connection process, su, sudo) holds no
 * connection between its lookups. Async-safe with respect to the lock (an atomic counter).
 */
void pgd_db_transaction_ended(void);

/* Frees and wipes what pgd_db_lookup put in *row, and zeroes it. */
void pgd_row_free(struct pgd_row *row);

#endif
