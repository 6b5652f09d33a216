// SPDX-License-Identifier: MIT
/* One login from name to verdict: conf -> query -> db -> hash. No PAM here. */
#include "login/login.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db.h"
#include "hash.h"
#include "hash/hash_policy.h"
#include "login/nets.h"
#include "query/query.h"
#include "util/sha256.h"
#include "login/verify_cache.h"
#include "util/secret.h"
#include "util/str.h"

#include <openssl/evp.h>

/* The source of a row as verify_cache.h takes it: the hex SHA-256 of server, query and values. */
#define SOURCE_LEN (2 * 32 + 1)

struct pgd_db_options pgd_login_db_options(const struct pgd_conf *conf)
{
	static const enum pgd_db_prepare prepare[] = {
	    [PGD_PREPARE_AUTO] = PGD_DB_PREPARE_AUTO,
	    [PGD_PREPARE_YES] = PGD_DB_PREPARE_YES,
	    [PGD_PREPARE_NO] = PGD_DB_PREPARE_NO,
	};

	return (struct pgd_db_options){.cache = conf->connection_cache,
	                               .prepare = prepare[conf->prepare],
	                               .query_timeout_sec = (unsigned)conf->query_timeout};
}

enum pgd_outcome pgd_login_from_db(enum pgd_db_result r)
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

/* Feeds s with its length first (0 for NULL, length + 1 otherwise: NULL and "" differ). */
static bool digest_field(EVP_MD_CTX *ctx, const char *s)
{
	uint64_t n = s != NULL ? (uint64_t)strlen(s) + 1 : 0;

	return EVP_DigestUpdate(ctx, &n, sizeof(n)) == 1 &&
	       (n <= 1 || EVP_DigestUpdate(ctx, s, (size_t)(n - 1)) == 1);
}

/*
 * What a row is read from, for the verified-login cache: the SHA-256 of the conninfo and the
 * bound query (SQL text and every value), as hex in out (SOURCE_LEN bytes; "" on failure, which
 * no entry matches with an outage MAC since remember is then given none).
 */
static void row_source(const char *conninfo, const struct pgd_query *q, char out[SOURCE_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, pgd_sha256(), NULL) == 1 &&
	          digest_field(ctx, conninfo) && digest_field(ctx, q->sql);

	for (int i = 0; ok && i < q->nparams; i++)
		ok = digest_field(ctx, q->values[i]);
	ok = ok && EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == sizeof(md);
	EVP_MD_CTX_free(ctx);
	out[0] = '\0';
	for (size_t i = 0; ok && i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
		out[2 * i + 2] = '\0';
	}
	pgd_wipe(md, sizeof(md));
}

/*
 * pgd_login_bind, with password for %w / %{password} (NULL but for password_query under
 * password_in_query): a query bound with it is secret (db/exec.c logs no server message that
 * could quote it), its values wiped when freed. A template using the password bound without one
 * is refused (conf/load.c lets it only into password_query, which only authenticate runs with
 * one).
 */
static enum pgd_outcome bind_query(const struct pgd_conf *conf, struct pgd_login *login,
                                   const char *tmpl, const char *hash, const char *password,
                                   struct pgd_query *q)
{
	char protocol[64];
	struct pgd_vars vars = {.service =
	                            pgd_service_protocol(conf->service_protocols, login->service,
	                                                 protocol, sizeof(protocol)),
	                        .rip = login->rhost,
	                        .orig_user = login->user,
	                        .secured = pgd_secured_value(conf->secured),
	                        .mechanism = conf->mechanism,
	                        .protocols = conf->service_protocols};

	*q = (struct pgd_query){0};
	if (login->canonical == NULL) {
		switch (pgd_user_normalize(login->user, conf->username_format, conf->username_chars,
		                           conf->default_domain, &vars, &login->canonical,
		                           login->detail, sizeof(login->detail))) {
		case PGD_USER_OK:
			break;
		case PGD_USER_INVALID:
			return PGD_BAD_USERNAME;
		case PGD_USER_NOMEM:
			return PGD_LOGIN_NOMEM;
		}
	}
	vars.user = login->canonical;
	vars.hash = hash;
	vars.password = password;
	if (password == NULL && pgd_query_uses_password(tmpl)) {
		snprintf(login->detail, sizeof(login->detail),
		         "the query uses the password (%%w, %%{password}), which only authenticate "
		         "has: set account_query (and no rehash) with password_in_query");
		return PGD_LOGIN_CONF_ERROR;
	}
	switch (pgd_query_bind(tmpl, &vars, q, login->detail, sizeof(login->detail))) {
	case PGD_QUERY_OK:
		q->secret = q->secret || password != NULL;
		return PGD_LOGIN_OK;
	case PGD_QUERY_INVALID:
		return PGD_LOGIN_CONF_ERROR;
	case PGD_QUERY_NOMEM:
		break;
	}
	return PGD_LOGIN_NOMEM;
}

enum pgd_outcome pgd_login_bind(const struct pgd_conf *conf, struct pgd_login *login,
                                const char *tmpl, const char *hash, struct pgd_query *q)
{
	return bind_query(conf, login, tmpl, hash, NULL, q);
}

/*
 * Reads the login's row with tmpl (pgd_login_bind); on PGD_LOGIN_OK the caller frees *row.
 * source (may be NULL) gets what the row is read from (row_source) once the query is bound,
 * whatever the database then answers; *dbr (may be NULL) what the database said.
 */
static enum pgd_outcome fetch_row(const struct pgd_conf *conf, struct pgd_login *login,
                                  const char *tmpl, const char *password, struct pgd_row *row,
                                  char *source, enum pgd_db_result *dbr_out)
{
	struct pgd_db_options db_opts = pgd_login_db_options(conf);
	struct pgd_query q;
	enum pgd_outcome out;
	enum pgd_db_result dbr;

	memset(row, 0, sizeof(*row));
	if (dbr_out != NULL)
		*dbr_out = PGD_DB_OK;
	out = bind_query(conf, login, tmpl, NULL, password, &q);
	if (out != PGD_LOGIN_OK)
		return out;
	db_opts.password_optional = tmpl != conf->password_query;
	if (source != NULL)
		row_source(conf->connect, &q, source);
	dbr = pgd_db_lookup(conf->connect, &db_opts, &q, row, login->detail, sizeof(login->detail));
	pgd_query_free(&q);
	if (dbr_out != NULL)
		*dbr_out = dbr;
	/* saslauthd without -r keeps the realm apart: the name arrives bare and %d is empty */
	if (dbr == PGD_DB_NO_ROW && strchr(login->canonical, '@') == NULL &&
	    pgd_query_uses_domain(tmpl))
		snprintf(login->detail, sizeof(login->detail),
		         "the name has no @domain and the query uses the domain (%%d, %%{user | "
		         "domain}): saslauthd without -r passes the realm apart from the name");
	out = pgd_login_from_db(dbr);
	if (out != PGD_LOGIN_OK)
		pgd_row_free(row);
	return out;
}

/*
 * A hash of the default scheme at its default cost, made once per process (the module is
 * linked -z nodelete, so pam_end does not unload it), that a login without a usable stored hash
 * is verified against: an unknown user then costs what a known one costs. Regenerated only if
 * a conf names another default scheme. Not a secret, but wiped like one.
 */
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static char *dummy_hash;
static char dummy_scheme[64];

static void verify_dummy(const struct pgd_conf *conf, const char *password)
{
	const char *scheme = conf->default_pass_scheme != NULL ? conf->default_pass_scheme : "MD5";
	struct pgd_hash_policy policy = pgd_conf_hash_policy(conf, NULL);
	char copy[256] = "";

	pthread_mutex_lock(&dummy_lock);
	if (dummy_hash == NULL || strcmp(dummy_scheme, scheme) != 0) {
		char *made = NULL;

		/* Making it costs one hash of that scheme and cost: this login's verification
		 * (a one-login process such as su must not pay twice). */
		if (strlen(scheme) < sizeof(dummy_scheme) &&
		    pgd_hash_generate(scheme, "pam_pgsql_dovecot timing dummy", 0, &made) ==
		        PGD_HASH_MATCH) {
			pgd_free_secret(dummy_hash);
			dummy_hash = made;
			snprintf(dummy_scheme, sizeof(dummy_scheme), "%s", scheme);
		}
	} else if (strlen(dummy_hash) < sizeof(copy)) {
		memcpy(copy, dummy_hash, strlen(dummy_hash) + 1);
	}
	pthread_mutex_unlock(&dummy_lock);
	/* Verified outside the lock: threads do not queue behind each other's hashing. */
	if (copy[0] != '\0')
		(void)pgd_hash_verify(copy, password, &policy, NULL);
	pgd_wipe(copy, sizeof(copy));
}

__attribute__((destructor)) static void free_dummy(void)
{
	pgd_free_secret(dummy_hash);
	dummy_hash = NULL;
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

/*
 * The policy a stored value of row is verified under, by the full hash and by the verified-login
 * cache alike. Dovecot verifies with the name as the client gave it (original_username):
 * DIGEST-MD5 hashes it in.
 */
static struct pgd_hash_policy login_policy(const struct pgd_conf *conf,
                                           const struct pgd_login *login, const struct pgd_row *row)
{
	struct pgd_hash_policy policy = pgd_conf_hash_policy(conf, login->user);

	policy.noscheme = row->password_noscheme;
	return policy;
}

static enum pgd_outcome check_hash(const struct pgd_conf *conf, struct pgd_login *login,
                                   const struct pgd_row *row, const char *password)
{
	struct pgd_hash_policy policy = login_policy(conf, login, row);
	struct pgd_hash_info info = {.scheme = ""};
	enum pgd_hash_result r;

	if (!pgd_str_set(row->password)) {
		verify_dummy(conf, password);
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

/*
 * The verified-login cache (verify_cache_ttl, verify_cache.h): consulted after the row was
 * read, so a changed stored value misses. Besides user, stored value and password, the MAC
 * covers the whole policy the full hash runs under (login_policy: default scheme, noscheme,
 * cost caps, the name as the client gave it, the Dovecot release and auth_allow_weak_schemes),
 * so that another conf's rules, or this conf's rules after a change, never reuse an entry, and
 * what the row was read from (row_source: server, query, bound values). OTP is never cached:
 * each of its passwords is good once.
 */
static bool vcache_hit(const struct pgd_conf *conf, struct pgd_login *login,
                       const struct pgd_row *row, const char *source, const char *password)
{
	struct pgd_hash_policy policy;
	struct pgd_vcache_login view;

	if (conf->verify_cache_ttl == 0 || !pgd_str_set(row->password))
		return false;
	policy = login_policy(conf, login, row);
	view = (struct pgd_vcache_login){.user = login->canonical,
	                                 .stored = row->password,
	                                 .policy = &policy,
	                                 .source = source,
	                                 .password = password};
	login->cached = pgd_vcache_hit(conf->verify_cache_ttl, conf->verify_cache_size, &view,
	                               login->scheme, sizeof(login->scheme));
	return login->cached;
}

/*
 * verify_cache_stale_if_error: what an outage lookup binds an entry to. No row, so no stored
 * value and no password_noscheme (the query, which names that column, is in source).
 */
static struct pgd_vcache_login outage_view(const struct pgd_login *login,
                                           const struct pgd_hash_policy *policy, const char *source,
                                           const char *password)
{
	return (struct pgd_vcache_login){
	    .user = login->canonical, .policy = policy, .source = source, .password = password};
}

/*
 * Whether a login without its row may be let in from this row's entry: only when nothing in
 * the row restricts the account beyond the password (nologin refuses before an entry is made;
 * allow_nets depends on the remote address; the expiry columns are what acct_mgmt answers
 * from after authenticate). A login during an outage checks none of them.
 */
static bool row_unrestricted(const struct pgd_row *row)
{
	return !row->nologin && row->allow_nets == NULL && row->allow_real_nets == NULL &&
	       !row->account_expired && !row->password_expired;
}

/*
 * After the verdict: a full verification that succeeded is remembered (able to answer during an
 * outage when verify_cache_stale_if_error is set and the row restricts nothing), a failure
 * forgets; a hit whose row now restricts the account no longer answers during an outage.
 */
static void vcache_after(const struct pgd_conf *conf, const struct pgd_login *login,
                         const struct pgd_row *row, const char *source, const char *password,
                         enum pgd_outcome out)
{
	struct pgd_hash_policy policy, conf_policy;
	struct pgd_vcache_login view, outage;
	bool stale_ok;

	if (conf->verify_cache_ttl == 0)
		return;
	if (out != PGD_LOGIN_OK) {
		pgd_vcache_forget(login->canonical);
		return;
	}
	stale_ok =
	    conf->verify_cache_stale_if_error > 0 && row_unrestricted(row) && source[0] != '\0';
	if (login->cached) {
		if (!row_unrestricted(row))
			pgd_vcache_forget_outage(login->canonical);
		return;
	}
	if (row->nopassword || row->password == NULL || strcasecmp(login->scheme, "OTP") == 0)
		return;
	policy = login_policy(conf, login, row);
	conf_policy = pgd_conf_hash_policy(conf, login->user);
	view = (struct pgd_vcache_login){.user = login->canonical,
	                                 .stored = row->password,
	                                 .policy = &policy,
	                                 .source = source,
	                                 .password = password};
	outage = outage_view(login, &conf_policy, source, password);
	pgd_vcache_remember(conf->verify_cache_ttl, conf->verify_cache_size, &view,
	                    stale_ok ? &outage : NULL, conf->verify_cache_stale_if_error,
	                    login->scheme);
}

/* The database could not be reached: what its server said, not what a row said. */
static bool unreachable(enum pgd_db_result r)
{
	return r == PGD_DB_UNAVAILABLE || r == PGD_DB_QUERY_FAILED;
}

/*
 * verify_cache_stale_if_error: out (PGD_DB_DOWN or PGD_DB_ERROR) becomes PGD_OUTAGE_CACHED when
 * the password matches the user's entry, made under this conf's policy from this source and
 * confirmed by the database less than verify_cache_stale_if_error seconds ago. Any other login
 * keeps out: a wrong password, an unknown user, an old entry; and no entry is dropped (the
 * database cannot say the password is wrong).
 */
static enum pgd_outcome outage_answer(const struct pgd_conf *conf, struct pgd_login *login,
                                      const char *source, const char *password,
                                      enum pgd_outcome out)
{
	struct pgd_hash_policy policy = pgd_conf_hash_policy(conf, login->user);
	struct pgd_vcache_login view = outage_view(login, &policy, source, password);

	if (!login->outage_ok || conf->verify_cache_ttl == 0 ||
	    conf->verify_cache_stale_if_error == 0 || login->canonical == NULL || source[0] == '\0')
		return out;
	if (!pgd_vcache_hit_outage(conf->verify_cache_stale_if_error, &view, login->scheme,
	                           sizeof(login->scheme)))
		return out;
	login->cached = true;
	return PGD_OUTAGE_CACHED;
}

/*
 * The row fields by which Dovecot fails a lookup whatever the password: allow_nets and
 * allow_real_nets (both against PAM_RHOST: behind saslauthd, sshd or su no proxy stands
 * between, so the real remote address is the remote address), fail, and the check_client_*_fp
 * of Dovecot >= 2.4.2, which need a TLS client certificate no PAM caller can show.
 */
static enum pgd_outcome row_fields(const struct pgd_row *row, struct pgd_login *login)
{
	char why[sizeof(login->detail) - 16];

	if (row->allow_nets != NULL &&
	    !pgd_nets_allow(row->allow_nets, login->rhost, login->detail, sizeof(login->detail)))
		return PGD_NET_REFUSED;
	if (row->allow_real_nets != NULL &&
	    !pgd_nets_allow(row->allow_real_nets, login->rhost, why, sizeof(why))) {
		/* pgd_nets_allow names allow_nets */
		snprintf(login->detail, sizeof(login->detail), "allow_real_nets%s",
		         strncmp(why, "allow_nets", 10) == 0 ? why + 10 : why);
		return PGD_NET_REFUSED;
	}
	if (row->fail) {
		snprintf(login->detail, sizeof(login->detail), "the row sets fail");
		return PGD_ROW_REFUSED;
	}
	if (row->client_fp != NULL) {
		snprintf(login->detail, sizeof(login->detail),
		         "the row sets %s: a login through PAM has no TLS client certificate",
		         row->client_fp);
		return PGD_ROW_REFUSED;
	}
	return PGD_LOGIN_OK;
}

enum pgd_outcome pgd_login_verify(const struct pgd_conf *conf, struct pgd_login *login,
                                  const char *password)
{
	struct pgd_row row;
	enum pgd_outcome out;
	enum pgd_db_result dbr;
	char source[SOURCE_LEN] = "";
	size_t pwlen = strnlen(password, PGD_MAX_PASSWORD_LEN + 1);
	bool sql_verifies;

	if (pwlen > PGD_MAX_PASSWORD_LEN) {
		snprintf(login->detail, sizeof(login->detail), "password longer than %d bytes",
		         PGD_MAX_PASSWORD_LEN);
		return PGD_WRONG_PASSWORD;
	}
	if (pwlen == 0 && !conf->nullok)
		return PGD_EMPTY_PASSWORD;
	/* password_in_query: the SQL server verifies the password (%w, %{password}); such a
	 * login never meets the verified-login cache, whose source would digest the password */
	sql_verifies = conf->password_in_query && pgd_query_uses_password(conf->password_query);
	out = fetch_row(conf, login, conf->password_query, sql_verifies ? password : NULL, &row,
	                conf->verify_cache_ttl > 0 && !sql_verifies ? source : NULL, &dbr);
	/* Unknown users cost one verification too, so that time does not tell who exists. */
	if (out == PGD_UNKNOWN_USER)
		verify_dummy(conf, password);
	if (out != PGD_LOGIN_OK && unreachable(dbr) && !sql_verifies)
		out = outage_answer(conf, login, source, password, out);
	if (out != PGD_LOGIN_OK)
		return out;
	/* Dovecot's nopassword takes any password; only where the admin said so (with
	 * password_in_query, the row only exists when the server verified the password). */
	if (row.nopassword && (conf->allow_nopassword || sql_verifies) &&
	    pgd_hash_nopassword_applies(conf->dialect == PGD_DIALECT_V24 ? 24 : 23, row.password))
		out = PGD_LOGIN_OK;
	else if (!sql_verifies && vcache_hit(conf, login, &row, source, password))
		out = PGD_LOGIN_OK;
	else
		out = check_hash(conf, login, &row, password);
	/* A disabled account is refused only after the password was checked, as in Dovecot. */
	if (out == PGD_LOGIN_OK && row.nologin) {
		out = PGD_NOLOGIN;
		if (row.reason != NULL)
			snprintf(login->detail, sizeof(login->detail), "%s", row.reason);
	}
	if (out == PGD_LOGIN_OK)
		out = row_fields(&row, login);
	if (out == PGD_LOGIN_OK)
		out = pgd_login_check_rename(conf, login, &row);
	if (out == PGD_LOGIN_OK) {
		login->account_expired = row.account_expired;
		login->password_expired = row.password_expired;
		if (row.password != NULL && !row.nopassword) {
			login->stored = strdup(row.password);
			login->stored_noscheme = row.password_noscheme;
			if (login->stored == NULL)
				out = PGD_LOGIN_NOMEM;
		}
	}
	if (!sql_verifies)
		vcache_after(conf, login, &row, source, password, out);
	pgd_row_free(&row);
	return out;
}

/* What a row says about an account, in pam_unix's order of checks. */
static enum pgd_outcome account_state(const struct pgd_row *row, struct pgd_login *login)
{
	enum pgd_outcome out;

	if (row->account_expired)
		return PGD_ACCT_EXPIRED;
	if (row->nologin) {
		if (row->reason != NULL)
			snprintf(login->detail, sizeof(login->detail), "%s", row->reason);
		return PGD_NOLOGIN;
	}
	out = row_fields(row, login);
	if (out != PGD_LOGIN_OK)
		return out;
	if (row->password_expired)
		return PGD_PASSWORD_EXPIRED;
	return PGD_LOGIN_OK;
}

enum pgd_outcome pgd_login_lookup(const struct pgd_conf *conf, struct pgd_login *login)
{
	struct pgd_row row;
	const char *tmpl =
	    pgd_str_set(conf->account_query) ? conf->account_query : conf->password_query;
	enum pgd_outcome out = fetch_row(conf, login, tmpl, NULL, &row, NULL, NULL);

	if (out != PGD_LOGIN_OK)
		return out;
	out = account_state(&row, login);
	if (out == PGD_LOGIN_OK)
		out = pgd_login_check_rename(conf, login, &row);
	pgd_row_free(&row);
	return out;
}

enum pgd_outcome pgd_login_account_from(const struct pgd_login *authenticated)
{
	if (authenticated->account_expired)
		return PGD_ACCT_EXPIRED;
	if (authenticated->password_expired)
		return PGD_PASSWORD_EXPIRED;
	return PGD_LOGIN_OK;
}

void pgd_login_free(struct pgd_login *login)
{
	free(login->canonical);
	login->canonical = NULL;
	free(login->renamed);
	login->renamed = NULL;
	pgd_free_secret(login->stored);
	login->stored = NULL;
}
