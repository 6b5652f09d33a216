// SPDX-License-Identifier: MIT
/*
 * What a login writes: a new password (chauthtok), a stronger hash of the same password
 * (rehash), and the session and audit queries. No PAM here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "hash.h"
#include "hash/stored_cost.h"
#include "login/login.h"
#include "query/query.h"
#include "login/verify_cache.h"
#include "util/secret.h"
#include "util/str.h"

/* What a password write sends: a new stored value and password_update_query bound with it. */
struct update {
	char *hash; /* in update_scheme; secret */
	struct pgd_query query;
};

/* Makes u from password (u is then the caller's to free with update_free, also on failure). */
static enum pgd_outcome update_prepare(const struct pgd_conf *conf, struct pgd_login *login,
                                       const char *password, struct update *u)
{
	enum pgd_hash_result r;

	*u = (struct update){0};
	r = pgd_hash_generate(conf->update_scheme, password, conf->update_rounds, &u->hash);
	if (r == PGD_HASH_NOMEM)
		return PGD_LOGIN_NOMEM;
	if (r != PGD_HASH_MATCH) {
		snprintf(login->detail, sizeof(login->detail), "cannot make a %s hash: %s",
		         conf->update_scheme, pgd_hash_result_str(r));
		return PGD_UPDATE_FAILED;
	}
	return pgd_login_bind(conf, login, conf->password_update_query, u->hash, &u->query);
}

static void update_free(struct update *u)
{
	pgd_query_free(&u->query);
	pgd_free_secret(u->hash);
	*u = (struct update){0};
}

/* Every write goes to update_connect when it is set (a primary behind read replicas). */
static const char *write_conninfo(const struct pgd_conf *conf)
{
	return pgd_str_set(conf->update_connect) ? conf->update_connect : conf->connect;
}

enum pgd_outcome pgd_login_change_password(const struct pgd_conf *conf, struct pgd_login *login,
                                           const char *old_password, const char *new_password)
{
	struct pgd_db_options opts = pgd_login_db_options(conf);
	struct update u = {0};
	enum pgd_outcome out;
	long changed = 0;

	if (!pgd_str_set(conf->password_update_query)) {
		snprintf(login->detail, sizeof(login->detail), "password_update_query not set");
		return PGD_LOGIN_CONF_ERROR;
	}
	out = pgd_login_verify(conf, login, old_password);
	if (out != PGD_LOGIN_OK)
		return out;
	if (new_password[0] == '\0' || strlen(new_password) > PGD_MAX_PASSWORD_LEN) {
		snprintf(login->detail, sizeof(login->detail), "new password %s",
		         new_password[0] == '\0' ? "is empty" : "is too long");
		return PGD_UPDATE_FAILED;
	}
	out = update_prepare(conf, login, new_password, &u);
	if (out == PGD_LOGIN_OK) {
		out = pgd_login_from_db(pgd_db_exec(write_conninfo(conf), &opts, &u.query, &changed,
		                                    login->detail, sizeof(login->detail)));
		if (out == PGD_LOGIN_OK && changed != 1) {
			snprintf(login->detail, sizeof(login->detail),
			         "password_update_query changed %ld rows, expected one", changed);
			out = PGD_UPDATE_FAILED;
		}
		/* the old password's entry can no longer match: do not keep its MAC around */
		pgd_vcache_forget(login->canonical);
	}
	update_free(&u);
	return out;
}

enum pgd_outcome pgd_login_rehash(const struct pgd_conf *conf, struct pgd_login *login,
                                  const char *password)
{
	struct pgd_db_options opts = pgd_login_db_options(conf);
	struct pgd_hash_policy policy = pgd_conf_hash_policy(conf, login->user);
	struct pgd_rehash_target target = pgd_conf_rehash_target(conf);
	struct pgd_query check = {0};
	struct update u = {0};
	enum pgd_outcome out;

	if (!conf->rehash || login->stored == NULL)
		return PGD_LOGIN_OK;
	/* the audit command's count of upgradable values asks the same question */
	policy.noscheme = login->stored_noscheme;
	if (pgd_hash_rehash_verdict(login->stored, &policy, &target) != PGD_REHASH_UPGRADE)
		return PGD_LOGIN_OK;
	out = pgd_login_bind(conf, login, conf->password_query, NULL, &check);
	if (out == PGD_LOGIN_OK)
		out = update_prepare(conf, login, password, &u);
	if (out == PGD_LOGIN_OK) {
		switch (pgd_db_swap(write_conninfo(conf), &opts, &check, login->stored, &u.query,
		                    login->detail, sizeof(login->detail))) {
		case PGD_DB_SWAPPED:
			snprintf(login->detail, sizeof(login->detail), "%s hash replaced by %s",
			         login->scheme, conf->update_scheme);
			break;
		case PGD_DB_CHANGED:
			/* someone else changed it since we read it: theirs stands */
			login->detail[0] = '\0';
			break;
		case PGD_DB_SWAP_FAILED:
			out = PGD_UPDATE_FAILED;
			break;
		}
	}
	pgd_query_free(&check);
	update_free(&u);
	return out;
}

enum pgd_outcome pgd_login_run(const struct pgd_conf *conf, struct pgd_login *login,
                               const char *query)
{
	struct pgd_db_options opts = pgd_login_db_options(conf);
	struct pgd_query q = {0};
	enum pgd_outcome out;

	/* a session without authenticate: the name is normalized here, as for a lookup */
	out = pgd_login_bind(conf, login, query, NULL, &q);
	if (out == PGD_LOGIN_OK)
		out = pgd_login_from_db(pgd_db_exec(write_conninfo(conf), &opts, &q, NULL,
		                                    login->detail, sizeof(login->detail)));
	pgd_query_free(&q);
	return out;
}
