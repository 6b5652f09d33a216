// SPDX-License-Identifier: MIT
/* One login from name to verdict: conf -> query -> db -> hash. No PAM here. */
#include "login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "hash.h"
#include "query.h"
#include "secret.h"

static enum pgd_outcome from_db(enum pgd_db_result r)
{
	switch (r) {
	case PGD_DB_OK:
		return PGD_LOGIN_OK;
	case PGD_DB_NO_ROW:
		return PGD_UNKNOWN_USER;
	case PGD_DB_UNAVAILABLE:
		return PGD_DB_DOWN;
	case PGD_DB_NOMEM:
		return PGD_LOGIN_NOMEM;
	case PGD_DB_QUERY_FAILED:
	case PGD_DB_BAD_RESULT:
		break;
	}
	return PGD_DB_ERROR;
}

/* Normalizes the name and reads its row; on PGD_LOGIN_OK the caller frees *row. */
static enum pgd_outcome fetch_row(const struct pgd_conf *conf, struct pgd_login *login,
				  struct pgd_row *row)
{
	struct pgd_vars vars = {.service = login->service, .rip = login->rhost};
	struct pgd_db_options db_opts = {.cache = conf->connection_cache,
					 .query_timeout_sec = (unsigned)conf->query_timeout};
	struct pgd_query q = {0};
	enum pgd_outcome out;
	enum pgd_db_result dbr;

	memset(row, 0, sizeof(*row));
	switch (pgd_user_normalize(login->user, conf->username_format, conf->username_chars,
				   conf->default_domain, &vars, &login->canonical, login->detail,
				   sizeof(login->detail))) {
	case PGD_USER_OK:
		break;
	case PGD_USER_INVALID:
		return PGD_BAD_USERNAME;
	case PGD_USER_NOMEM:
		return PGD_LOGIN_NOMEM;
	}
	vars.user = login->canonical;
	switch (pgd_query_bind(conf->password_query, &vars, &q, login->detail,
			       sizeof(login->detail))) {
	case PGD_QUERY_OK:
		break;
	case PGD_QUERY_INVALID:
		return PGD_LOGIN_CONF_ERROR;
	case PGD_QUERY_NOMEM:
		return PGD_LOGIN_NOMEM;
	}
	dbr = pgd_db_lookup(conf->connect, &db_opts, &q, row, login->detail,
			    sizeof(login->detail));
	pgd_query_free(&q);
	out = from_db(dbr);
	if (out != PGD_LOGIN_OK)
		pgd_row_free(row);
	return out;
}

static enum pgd_outcome from_hash(enum pgd_hash_result r)
{
	switch (r) {
	case PGD_HASH_MATCH:
		return PGD_LOGIN_OK;
	case PGD_HASH_MISMATCH:
		return PGD_WRONG_PASSWORD;
	case PGD_HASH_NOMEM:
		return PGD_LOGIN_NOMEM;
	case PGD_HASH_MALFORMED:
	case PGD_HASH_UNSUPPORTED:
	case PGD_HASH_TOO_COSTLY:
		break;
	}
	return PGD_BAD_STORED_HASH;
}

static enum pgd_outcome check_hash(const struct pgd_conf *conf, struct pgd_login *login,
				   const struct pgd_row *row, const char *password)
{
	struct pgd_hash_policy policy = {
		.default_scheme = conf->default_pass_scheme,
		.max_crypt_rounds = conf->max_crypt_rounds,
		.max_bcrypt_cost = conf->max_bcrypt_cost,
		.login_user = login->canonical,
	};
	struct pgd_hash_info info = {.scheme = ""};
	enum pgd_hash_result r;

	if (row->password == NULL || row->password[0] == '\0') {
		snprintf(login->detail, sizeof(login->detail), "stored password is %s",
			 row->password == NULL ? "NULL" : "empty");
		return PGD_BAD_STORED_HASH;
	}
	r = pgd_hash_verify(row->password, password, &policy, &info);
	snprintf(login->scheme, sizeof(login->scheme), "%s", info.scheme);
	if (r != PGD_HASH_MATCH && r != PGD_HASH_MISMATCH)
		snprintf(login->detail, sizeof(login->detail), "stored hash refused: %s%s%s",
			 pgd_hash_result_str(r), info.detail[0] != '\0' ? ": " : "", info.detail);
	return from_hash(r);
}

enum pgd_outcome pgd_login_verify(const struct pgd_conf *conf, struct pgd_login *login,
				  const char *password)
{
	struct pgd_row row;
	enum pgd_outcome out;
	size_t pwlen = strnlen(password, PGD_MAX_PASSWORD_LEN + 1);

	if (pwlen > PGD_MAX_PASSWORD_LEN) {
		snprintf(login->detail, sizeof(login->detail), "password longer than %d bytes",
			 PGD_MAX_PASSWORD_LEN);
		return PGD_WRONG_PASSWORD;
	}
	if (pwlen == 0 && !conf->nullok)
		return PGD_EMPTY_PASSWORD;
	out = fetch_row(conf, login, &row);
	if (out != PGD_LOGIN_OK)
		return out;
	out = check_hash(conf, login, &row, password);
	/* A disabled account is refused only after the password was checked, as in Dovecot. */
	if (out == PGD_LOGIN_OK && row.nologin)
		out = PGD_NOLOGIN;
	pgd_row_free(&row);
	return out;
}

enum pgd_outcome pgd_login_lookup(const struct pgd_conf *conf, struct pgd_login *login)
{
	struct pgd_row row;
	enum pgd_outcome out = fetch_row(conf, login, &row);

	if (out != PGD_LOGIN_OK)
		return out;
	if (row.nologin)
		out = PGD_NOLOGIN;
	pgd_row_free(&row);
	return out;
}

void pgd_login_free(struct pgd_login *login)
{
	free(login->canonical);
	login->canonical = NULL;
}
