// SPDX-License-Identifier: MIT
/*
 * One login from name to verdict, without PAM: the entry points fill a struct pgd_login, call
 * one function here and map the outcome to one PAM code and one log line. login.c reads the
 * row and verifies the password (authenticate, account); change.c writes (chauthtok, rehash,
 * the session and audit queries); both bind through pgd_login_bind. allow_nets is nets.h, the
 * verified-login cache verify_cache.h.
 */
#ifndef PGD_LOGIN_H
#define PGD_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "db/db.h"
#include "query/query.h"

/* What became of one login; the entry points map each to one PAM code and one log line. */
enum pgd_outcome {
	PGD_LOGIN_OK,         /* the password matches (or, for a lookup, the user may log in) */
	PGD_WRONG_PASSWORD,   /* also an over-long password */
	PGD_EMPTY_PASSWORD,   /* refused without nullok, before any database work */
	PGD_BAD_STORED_HASH,  /* NULL/empty, malformed, unknown scheme or over the cost cap */
	PGD_NOLOGIN,          /* the row has a nologin column */
	PGD_UNKNOWN_USER,     /* no row */
	PGD_BAD_USERNAME,     /* refused before any database work: empty, too long, bad byte */
	PGD_DB_DOWN,          /* cannot connect or the connection broke */
	PGD_DB_ERROR,         /* query refused by the server, or a result we cannot use */
	PGD_LOGIN_CONF_ERROR, /* the conf is unusable for this login (e.g. a bad username_format) */
	PGD_LOGIN_NOMEM,
	PGD_NET_REFUSED,      /* allow_nets does not list the remote address */
	PGD_ROW_REFUSED,      /* the row sets fail, or check_client_*_fp (no client certificate) */
	PGD_ACCT_EXPIRED,     /* account_expired is true */
	PGD_PASSWORD_EXPIRED, /* password_expired is true: a new password is needed */
	PGD_UPDATE_FAILED,    /* password_update_query changed no row, or no hash could be made */
	/* the database could not be reached (as PGD_DB_DOWN / PGD_DB_ERROR), and the password
	 * matched a verified-login cache entry the database confirmed less than
	 * verify_cache_stale_if_error seconds ago: authenticate succeeds, detail says why the
	 * database failed. Only when login->outage_ok. */
	PGD_OUTAGE_CACHED,
	/* the row's user, username or domain column renames the login (pgd_login_renamed) and
	 * allow_rename is off, or the new name is unusable; detail names both names */
	PGD_RENAMED,
};

/* One login: the caller fills the inputs, pgd_login_* fill the outputs. */
struct pgd_login {
	/* inputs, not owned */
	const char *user;    /* as the application gave it to PAM */
	const char *service; /* PAM_SERVICE */
	const char *rhost;   /* PAM_RHOST, may be NULL */
	/* verify_cache_stale_if_error may answer this login (authenticate only: never a
	 * password change, which must reach the database anyway) */
	bool outage_ok;
	/* outputs, owned; free with pgd_login_free */
	char *canonical;      /* the name after default_domain and username_format */
	char *stored;         /* the stored value the password matched; secret */
	bool stored_noscheme; /* it came from password_noscheme: rehash leaves it alone */
	bool account_expired; /* what the row said, for acct_mgmt after authenticate */
	bool password_expired;
	bool cached;      /* the verified-login cache answered, without the slow hash */
	char *renamed;    /* allow_rename: the name the row renamed canonical to; else NULL */
	char scheme[32];  /* scheme of the stored hash, when one was read */
	char detail[384]; /* why, for the log line; never a secret */
};

/*
 * Checks password for login->user: normalize the name, bind the query, read the row, verify
 * the hash as Dovecot would. The password is not kept.
 */
enum pgd_outcome pgd_login_verify(const struct pgd_conf *conf, struct pgd_login *login,
                                  const char *password);

/*
 * Looks the user up without a password (acct_mgmt) with account_query, or password_query when
 * it is not set: OK, UNKNOWN_USER, ACCT_EXPIRED, NOLOGIN, NET_REFUSED, PASSWORD_EXPIRED or a
 * failure.
 */
enum pgd_outcome pgd_login_lookup(const struct pgd_conf *conf, struct pgd_login *login);

/* acct_mgmt right after a successful authenticate of the same user: what its row said. */
enum pgd_outcome pgd_login_account_from(const struct pgd_login *authenticated);

/*
 * chauthtok: checks old_password as pgd_login_verify does, then stores a hash of new_password
 * (update_scheme, update_rounds) through password_update_query. The passwords are not kept.
 */
enum pgd_outcome pgd_login_change_password(const struct pgd_conf *conf, struct pgd_login *login,
                                           const char *old_password, const char *new_password);

/*
 * After a successful pgd_login_verify with rehash = yes: when the stored hash is weaker than
 * update_scheme/update_rounds, replaces it with a new hash of password, only if the row still
 * holds it. Returns OK when nothing needed doing or the hash was replaced, else a failure with
 * login->detail saying why; a failure never changes the login's answer.
 */
enum pgd_outcome pgd_login_rehash(const struct pgd_conf *conf, struct pgd_login *login,
                                  const char *password);

/* Runs one of the session or audit queries for login (whose name was normalized, or is). */
enum pgd_outcome pgd_login_run(const struct pgd_conf *conf, struct pgd_login *login,
                               const char *query);

void pgd_login_free(struct pgd_login *login);

/*
 * The name Dovecot ends a login with after reading row: canonical renamed by each of the row's
 * user, username and domain columns in result order (pgd_user_rename). *out is the caller's to
 * free; *column (may be NULL) names the last column that changed the name, or NULL when none
 * did (then *out equals canonical). PGD_USER_INVALID with err set when a step leaves an empty,
 * too long or control-byte name.
 */
enum pgd_user_result pgd_login_renamed(const char *canonical, const struct pgd_row *row, char **out,
                                       const char **column, char *err, size_t errlen);

/*
 * After the password matched (or, for acct_mgmt, the row was read): PGD_LOGIN_OK when row leaves
 * login->canonical as it is, or renames it and allow_rename is set (the new name then in
 * login->renamed); PGD_RENAMED with detail naming both names otherwise (rename.c).
 */
enum pgd_outcome pgd_login_check_rename(const struct pgd_conf *conf, struct pgd_login *login,
                                        const struct pgd_row *row);

/* Shared by login.c and change.c: the database options conf sets; a db result as an outcome. */
struct pgd_db_options pgd_login_db_options(const struct pgd_conf *conf);
enum pgd_outcome pgd_login_from_db(enum pgd_db_result r);

/*
 * Shared by login.c and change.c: binds tmpl for login into *q, which the caller frees with
 * pgd_query_free (on failure it is left empty). The name is normalized first when login->canonical
 * is not set yet (default_domain, username_chars, username_format: pgd_user_normalize), and stays
 * in login->canonical; %u is that name, %{orig_user} login->user as given, %s the service, %r the
 * remote host, %{hash} hash (NULL outside a password write). Returns PGD_LOGIN_OK,
 * PGD_BAD_USERNAME, PGD_LOGIN_CONF_ERROR (the template) or PGD_LOGIN_NOMEM, with detail set.
 */
enum pgd_outcome pgd_login_bind(const struct pgd_conf *conf, struct pgd_login *login,
                                const char *tmpl, const char *hash, struct pgd_query *q);

/*
 * binding.c: what ties an answer to the login it was made for (authenticate's row, reused by
 * acct_mgmt): conf's lookup digest (conf.h) and copies of the login's user, service and
 * remote host.
 */
struct pgd_login_binding {
	unsigned char conf[PGD_CONF_DIGEST_LEN];
	char *user, *service, *rhost; /* heap copies; NULL where the login had none */
};

/* *b := the binding of login under conf; false (and nothing in *b to free) when out of memory
 * or conf has no lookup digest. Otherwise the caller frees it with pgd_login_binding_free. */
bool pgd_login_binding_make(struct pgd_login_binding *b, const struct pgd_conf *conf,
                            const struct pgd_login *login);

/* Was b made for this login's user, service and remote host under a conf that reads the same
 * row (the same lookup digest)? */
bool pgd_login_binding_matches(const struct pgd_login_binding *b, const struct pgd_conf *conf,
                               const struct pgd_login *login);

/* Frees b's copies and zeroes it. */
void pgd_login_binding_free(struct pgd_login_binding *b);

#endif
