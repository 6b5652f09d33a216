// SPDX-License-Identifier: MIT
/*
 * Loading a conf: the module arguments (conf= first, then the file in either dialect, then the
 * other arguments), Dovecot 2.4's templates read as 2.4 reads them, and the check of the whole
 * (pgd_conf_validate) before a login may use it. The keys themselves are set by conf.c; the
 * per-process cache of loaded confs is cache.c's.
 */
#include "conf/conf.h"
#include "conf/conf_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf_file.h"
#include "hash.h"
#include "query/query.h"
#include "util/err.h"
#include "util/printable.h"
#include "util/secret.h"
#include "util/sha256.h"
#include "util/str.h"

#define FIELD(f) offsetof(struct pgd_conf, f)

_Static_assert(PGD_CONF_DIGEST_LEN == PGD_SHA256_LEN, "the lookup digest is a SHA-256");

/* Every template a conf holds: the queries (checked by pgd_query_check), username_format
 * (checked by pgd_expand) and iterate_query (the audit's: bound, and checked, when it runs; a
 * login never reads it). A 2.4 setup's are first read as Dovecot 2.4 reads them. */
static const struct {
	const char *name;
	size_t offset;
	bool query;
} templates[] = {
    {"password_query", FIELD(password_query), true},
    {"username_format", FIELD(username_format), false},
    {"account_query", FIELD(account_query), true},
    {"password_update_query", FIELD(password_update_query), true},
    {"session_open_query", FIELD(session_open_query), true},
    {"session_close_query", FIELD(session_close_query), true},
    {"auth_success_query", FIELD(auth_success_query), true},
    {"auth_failure_query", FIELD(auth_failure_query), true},
    {"iterate_query", FIELD(iterate_query), false},
};
#define N_TEMPLATES (sizeof(templates) / sizeof(templates[0]))

/* query.c's verdict on one template, as the conf's: an error names the file and the key. */
static enum pgd_conf_result template_verdict(enum pgd_query_result qr, const char *where,
                                             const char *key, const char *msg, char *err,
                                             size_t errlen)
{
	switch (qr) {
	case PGD_QUERY_OK:
		return PGD_CONF_OK;
	case PGD_QUERY_INVALID:
		pgd_set_err(err, errlen, "%s: %s: %s", where, key, msg);
		return PGD_CONF_INVALID;
	case PGD_QUERY_NOMEM:
		break;
	}
	pgd_set_err(err, errlen, "out of memory");
	return PGD_CONF_NOMEM;
}

static enum pgd_conf_result templates_v24(struct pgd_conf *conf, char *err, size_t errlen)
{
	char msg[256], shown[200];

	pgd_printable(conf->path != NULL ? conf->path : "(conf)", shown, sizeof(shown));
	for (size_t i = 0; i < N_TEMPLATES; i++) {
		char **field = (char **)((char *)conf + templates[i].offset);
		char *out = NULL;
		enum pgd_conf_result r;

		if (*field == NULL)
			continue;
		r = template_verdict(pgd_template_v24(*field, &out, msg, sizeof(msg)), shown,
		                     templates[i].name, msg, err, errlen);
		if (r != PGD_CONF_OK)
			return r;
		free(*field);
		*field = out;
	}
	return PGD_CONF_OK;
}

/* query/ marks a translated 2.4 expression with byte 0x01: no template as written may hold one. */
static enum pgd_conf_result templates_marked(const struct pgd_conf *conf, char *err, size_t errlen)
{
	char shown[200];

	for (size_t i = 0; i < N_TEMPLATES; i++) {
		const char *t = *(char *const *)((const char *)conf + templates[i].offset);

		if (t != NULL && strchr(t, '\x01') != NULL) {
			pgd_set_err(err, errlen, "%s: %s: control byte 0x01 in the template",
			            pgd_printable(conf->path != NULL ? conf->path : "(conf)", shown,
			                          sizeof(shown)),
			            templates[i].name);
			return PGD_CONF_INVALID;
		}
	}
	return PGD_CONF_OK;
}

/* Does text hold a dovecot_config_version line (a Dovecot 2.4 dovecot.conf)? */
static bool declares_v24(const char *text, size_t len)
{
	static const char key[] = "dovecot_config_version";
	size_t n = sizeof(key) - 1;

	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;

		while (pos < end && (text[pos] == ' ' || text[pos] == '\t'))
			pos++;
		if (end - pos > n && memcmp(text + pos, key, n) == 0 &&
		    (text[pos + n] == ' ' || text[pos + n] == '\t' || text[pos + n] == '='))
			return true;
		pos = end + 1;
	}
	return false;
}

/*
 * conf= names a file that does not exist: when its folder holds a Dovecot 2.4 dovecot.conf
 * (2.4 has no dovecot-sql.conf.ext; its SQL settings live in that tree), err gets a hint to
 * name it instead.
 */
static void hint_v24(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char candidate[4096], msg[256], shown[200], *buf = NULL;
	struct stat st;
	size_t len = 0, used;

	if (err == NULL || slash == NULL || lstat(path, &st) == 0 || errno != ENOENT)
		return;
	if ((size_t)snprintf(candidate, sizeof(candidate), "%.*s/dovecot.conf", (int)(slash - path),
	                     path) >= sizeof(candidate) ||
	    strcmp(candidate, path) == 0)
		return;
	if (pgd_conf_read_file(candidate, &buf, &len, msg, sizeof(msg)) != PGD_CONF_OK)
		return;
	if (declares_v24(buf, len)) {
		used = strlen(err);
		snprintf(err + used, errlen - used,
		         " (%s is a Dovecot 2.4 dovecot.conf, which holds the SQL settings in 2.4: "
		         "use conf=%s)",
		         pgd_printable(candidate, shown, sizeof(shown)), shown);
	}
	pgd_conf_free_file(buf, len);
}

static bool is_conf_arg(const char *arg)
{
	return strncmp(arg, "conf=", 5) == 0;
}

/* One module argument other than conf=: "key=value" or a bare "key". */
static enum pgd_conf_result set_argument(struct pgd_conf *conf, const char *arg, char *err,
                                         size_t errlen)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	enum pgd_conf_result r;
	char key[64], msg[256];

	/* Only the key is copied: the value may be a secret put in the wrong place. */
	if (n >= sizeof(key))
		n = sizeof(key) - 1;
	memcpy(key, arg, n);
	key[n] = '\0';
	r = pgd_conf_set_from(conf, key, eq != NULL ? eq + 1 : NULL, PGD_FROM_ARG, msg,
	                      sizeof(msg));
	if (r != PGD_CONF_OK)
		pgd_set_err(err, errlen, "%s", msg);
	return r;
}

/* conf->lookup_digest := the digest of the fields that decide which row a login reads (conf.h);
 * lookup_digest_set says whether it could be made (out of memory: no login is bound to it). */
static void set_lookup_digest(struct pgd_conf *conf)
{
	const char *const fields[] = {
	    conf->path,
	    conf->driver,
	    conf->connect,
	    conf->password_query,
	    conf->username_format,
	    conf->username_chars,
	    conf->default_domain,
	    conf->secured,
	    conf->mechanism,
	    conf->service_protocols,
	};

	conf->lookup_digest_set =
	    pgd_sha256_fields(fields, sizeof(fields) / sizeof(fields[0]), conf->lookup_digest);
	if (!conf->lookup_digest_set)
		pgd_wipe(conf->lookup_digest, sizeof(conf->lookup_digest));
}

enum pgd_conf_result pgd_conf_load_files(struct pgd_conf *conf, int argc, const char **argv,
                                         char *err, size_t errlen)
{
	const char *path = PGD_DEFAULT_CONF_PATH;
	enum pgd_conf_result r;

	/* conf= first, wherever it stands, so that every other argument overrides the file. */
	for (int i = 0; i < argc; i++) {
		if (argv[i] != NULL && is_conf_arg(argv[i]))
			path = argv[i] + 5;
	}
	if (*path == '\0') {
		pgd_set_err(err, errlen, "conf= needs a path");
		return PGD_CONF_INVALID;
	}
	r = pgd_conf_set_from(conf, "conf", path, PGD_FROM_ARG, err, errlen);
	if (r == PGD_CONF_OK) {
		r = pgd_conf_read_path(conf, path, false, err, errlen);
		if (r != PGD_CONF_OK)
			hint_v24(path, err, errlen);
	}
	for (int i = 0; i < argc && r == PGD_CONF_OK; i++) {
		if (argv[i] != NULL && !is_conf_arg(argv[i]))
			r = set_argument(conf, argv[i], err, errlen);
	}
	if (r == PGD_CONF_OK)
		r = templates_marked(conf, err, errlen);
	if (r == PGD_CONF_OK && conf->dialect == PGD_DIALECT_V24)
		r = templates_v24(conf, err, errlen);
	if (r == PGD_CONF_OK)
		r = pgd_conf_validate(conf, err, errlen);
	if (r == PGD_CONF_OK)
		set_lookup_digest(conf);
	return r;
}

/* A conf is refused: err gets "WHERE: what". */
static enum pgd_conf_result invalid(char *err, size_t errlen, const char *where, const char *what)
{
	pgd_set_err(err, errlen, "%s: %s", where, what);
	return PGD_CONF_INVALID;
}

/*
 * %w / %{password}: the password typed reaches the server only through password_query, bound,
 * and only when the conf says so; every other template refuses it (username_format's
 * pgd_expand refuses it itself).
 */
static enum pgd_conf_result check_password_var(const struct pgd_conf *conf, const char *where,
                                               char *err, size_t errlen)
{
	for (size_t i = 0; i < N_TEMPLATES; i++) {
		const char *q = *(char *const *)((const char *)conf + templates[i].offset);
		bool mine = templates[i].offset == FIELD(password_query);

		if (!pgd_str_set(q) || !pgd_query_uses_password(q))
			continue;
		pgd_set_err(err, errlen,
		            "%s: %s: %s is refused: the password must never reach the database "
		            "(%%w and %%{password} only in password_query, with password_in_query "
		            "= yes)",
		            where, templates[i].name,
		            strstr(q, "%{password}") ? "%{password}" : "%w");
		if (!mine || !conf->password_in_query)
			return PGD_CONF_INVALID;
	}
	if (conf->password_in_query && pgd_query_uses_password(conf->password_query) &&
	    conf->rehash)
		return invalid(err, errlen, where,
		               "rehash = yes cannot work with a password_query that verifies the "
		               "password (%w, %{password}): no stored hash is read");
	return PGD_CONF_OK;
}

/* Every query template through query.c's check. */
static enum pgd_conf_result check_queries(const struct pgd_conf *conf, const char *where, char *err,
                                          size_t errlen)
{
	char msg[256];

	for (size_t i = 0; i < N_TEMPLATES; i++) {
		const char *q = *(char *const *)((const char *)conf + templates[i].offset);
		enum pgd_conf_result r;

		if (!templates[i].query || !pgd_str_set(q))
			continue;
		r = template_verdict(pgd_query_check(q, msg, sizeof(msg)), where, templates[i].name,
		                     msg, err, errlen);
		if (r != PGD_CONF_OK)
			return r;
	}
	return PGD_CONF_OK;
}

/* update_scheme and default_pass_scheme name schemes hash.c knows. */
static enum pgd_conf_result check_schemes(const struct pgd_conf *conf, const char *where, char *err,
                                          size_t errlen)
{
	char shown[64];

	if (conf->update_scheme == NULL || !pgd_hash_scheme_known(conf->update_scheme)) {
		pgd_set_err(err, errlen, "%s: update_scheme '%s' is not a known scheme", where,
		            pgd_printable(conf->update_scheme, shown, sizeof(shown)));
		return PGD_CONF_INVALID;
	}
	if (!pgd_str_set(conf->default_pass_scheme))
		return invalid(err, errlen, where, "default_pass_scheme is empty");
	if (!pgd_hash_scheme_known(conf->default_pass_scheme)) {
		pgd_set_err(err, errlen, "%s: default_pass_scheme '%s' is not a known scheme",
		            where, pgd_printable(conf->default_pass_scheme, shown, sizeof(shown)));
		return PGD_CONF_INVALID;
	}
	return PGD_CONF_OK;
}

enum pgd_conf_result pgd_conf_validate(const struct pgd_conf *conf, char *err, size_t errlen)
{
	bool v24 = conf->dialect == PGD_DIALECT_V24;
	char shown[64], msg[256], where[256];
	enum pgd_conf_result r;
	char *tmp = NULL;

	pgd_printable(conf->path != NULL ? conf->path : "(conf)", where, sizeof(where));
	if (!pgd_str_set(conf->driver))
		return invalid(err, errlen, where, "driver not set (must be pgsql)");
	if (strcmp(conf->driver, "pgsql") != 0) {
		pgd_set_err(err, errlen, "%s: driver '%s' is not supported (must be pgsql)", where,
		            pgd_printable(conf->driver, shown, sizeof(shown)));
		return PGD_CONF_INVALID;
	}
	if (!pgd_str_set(conf->connect))
		return invalid(err, errlen, where,
		               v24 ? "no pgsql HOST { } block" : "connect not set");
	if (!pgd_str_set(conf->password_query))
		return invalid(err, errlen, where,
		               v24 ? "no passdb sql { query = ... }" : "password_query not set");
	r = check_queries(conf, where, err, errlen);
	if (r == PGD_CONF_OK)
		r = check_password_var(conf, where, err, errlen);
	if (r != PGD_CONF_OK)
		return r;
	if (conf->rehash && !pgd_str_set(conf->password_update_query))
		return invalid(err, errlen, where, "rehash = yes needs password_update_query");
	/* It answers from the verified-login cache: without one it would silently do nothing. */
	if (conf->verify_cache_stale_if_error > 0 && conf->verify_cache_ttl == 0)
		return invalid(err, errlen, where,
		               "verify_cache_stale_if_error needs verify_cache_ttl (the cache it "
		               "answers from)");
	r = check_schemes(conf, where, err, errlen);
	if (r != PGD_CONF_OK)
		return r;
	if (!pgd_service_map_check(conf->service_protocols, msg, sizeof(msg))) {
		pgd_set_err(err, errlen, "%s: %s", where, msg);
		return PGD_CONF_INVALID;
	}
	if (conf->secured != NULL && pgd_secured_value(conf->secured) == NULL) {
		pgd_set_err(err, errlen, "%s: secured '%s' is not no, tls or secured", where,
		            pgd_printable(conf->secured, shown, sizeof(shown)));
		return PGD_CONF_INVALID;
	}
	if (conf->mechanism != NULL && !pgd_mechanism_check(conf->mechanism)) {
		pgd_set_err(
		    err, errlen,
		    "%s: mechanism '%s' is not a SASL mechanism name (upper case, as PLAIN)", where,
		    pgd_printable(conf->mechanism, shown, sizeof(shown)));
		return PGD_CONF_INVALID;
	}
	r = template_verdict(pgd_expand(conf->username_format, NULL, &tmp, msg, sizeof(msg)), where,
	                     "username_format", msg, err, errlen);
	free(tmp);
	return r;
}
