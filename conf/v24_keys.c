// SPDX-License-Identifier: MIT
/*
 * The sections and keys of a Dovecot 2.4 tree: which blocks matter (passdb, userdb, pgsql and
 * its parameters), what each key inside them means, and, once the tree is read, what the
 * reader hands to the option table through its setter. Every other block and key is read past.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_file.h"
#include "conf/v24_impl.h"
#include "hash/hash_policy.h"
#include "util/err.h"
#include "util/printable.h"
#include "util/secret.h"

/* Every argument that comes from the file went through util/printable.h. */
bool pgd_v24_err(struct pgd_v24_reader *rd, const struct pgd_v24_where *w, const char *fmt, ...)
{
	char msg[256], shown[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pgd_set_err(rd->err, rd->errlen, "%s line %u: %s",
	            pgd_printable(w->path, shown, sizeof(shown)), w->line, msg);
	return false;
}

bool pgd_v24_nomem(struct pgd_v24_reader *rd)
{
	pgd_set_err(rd->err, rd->errlen, "out of memory");
	return false;
}

/* Puts the heap string value at *field, freeing (and, for a secret, wiping) what was there. */
static void keep(char **field, char *value, bool secret)
{
	if (secret)
		pgd_free_secret(*field);
	else
		free(*field);
	*field = value;
}

static bool keep_copy(struct pgd_v24_reader *rd, char **field, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return pgd_v24_nomem(rd);
	keep(field, copy, false);
	return true;
}

/* "key = <file": the file's text, read safely and kept as it is, trailing newline included, as
 * Dovecot does. */
static char *file_value(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln)
{
	char *path = pgd_conf_relative_path(w->path, ln->value);
	char *buf = NULL, *out, msg[256], key[64];
	size_t n = 0;

	if (path == NULL) {
		pgd_v24_nomem(rd);
		return NULL;
	}
	pgd_printable(ln->key, key, sizeof(key));
	if (pgd_conf_read_file(path, &buf, &n, msg, sizeof(msg)) != PGD_CONF_OK) {
		free(path);
		pgd_v24_err(rd, w, "%s = <file: %s", key, msg);
		return NULL;
	}
	free(path);
	if (memchr(buf, '\0', n) != NULL) {
		pgd_conf_free_file(buf, n);
		pgd_v24_err(rd, w, "%s = <file: NUL byte in file", key);
		return NULL;
	}
	buf[n] = '\0';
	out = strdup(buf);
	pgd_conf_free_file(buf, n);
	if (out == NULL)
		pgd_v24_nomem(rd);
	return out;
}

/*
 * The value of a key we take: plain, "<file" or a $ENV:/$SET: variable (refused: the caller's
 * environment is not the admin's). Returns a heap string the caller owns (secret), or NULL
 * with err set.
 */
static char *take_value(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln)
{
	char *out, key[64];

	if (ln->type == L_KEYFILE)
		return file_value(rd, w, ln);
	if (ln->type == L_KEYVARIABLE &&
	    (strstr(ln->value, "$ENV:") != NULL || strstr(ln->value, "$SET:") != NULL)) {
		pgd_v24_err(rd, w,
		            "%s: $ENV: and $SET: values are not supported here; write the value",
		            pgd_printable(ln->key, key, sizeof(key)));
		return NULL;
	}
	out = strdup(ln->value);
	if (out == NULL)
		pgd_v24_nomem(rd);
	return out;
}

/* Takes the line's value into *field (the reader's own copy). */
static bool take_into(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                      const struct pgd_v24_line *ln, char **field, bool secret)
{
	char *value = take_value(rd, w, ln);

	if (value == NULL)
		return false;
	keep(field, value, secret);
	return true;
}

/* Strips a 2.4 prefix from a key read inside a passdb (userdb) block: "passdb_sql_query" is
 * "query", as "userdb_sql_iterate_query" is "iterate_query"; "sql_query" too. */
static const char *block_key(const char *key, const char *block)
{
	size_t n = strlen(block);

	if (strncmp(key, block, n) == 0 && key[n] == '_') {
		key += n + 1;
		return strncmp(key, "sql_", 4) == 0 ? key + 4 : key;
	}
	if (strncmp(key, "sql_", 4) == 0 && strcmp(key, "sql_driver") != 0)
		return key + 4;
	return key;
}

/* Dovecot 2.4's str_parse_get_bool(): yes, y or 1 (case aside) is true, no is false. */
static bool v24_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "y") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0)
		*out = false;
	else
		return false;
	return true;
}

/*
 * master and deny inside a passdb block. A master passdb answers only master logins
 * ("user*master"), so the users' passdb is the one a login meets: it is skipped. A deny
 * passdb refuses the users it finds, which this module cannot do: refused, not ignored, or a
 * user Dovecot denies would log in here.
 */
static bool passdb_flag(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln, const char *k)
{
	char shown[64];
	bool on;

	if (ln->type != L_KEYVALUE || !v24_bool(ln->value, &on))
		return pgd_v24_err(rd, w, "%s: Invalid boolean value: %s (use yes or no)", k,
		                   pgd_printable(ln->value, shown, sizeof(shown)));
	if (strcmp(k, "master") == 0) {
		rd->cur.master = on;
		return true;
	}
	if (on)
		return pgd_v24_err(
		    rd, w,
		    "passdb %s: deny = yes is not supported: this module cannot refuse the users "
		    "a deny passdb lists (name a file without it in dovecot_config)",
		    rd->stack[rd->top].name);
	return true;
}

#define KEPT(f) offsetof(struct pgd_v24_reader, f)

/* Root settings: those that go straight to the option table (ours), and those the reader
 * keeps until the whole tree is read (kept, an offset in struct pgd_v24_reader). */
static const struct {
	const char *v24;
	const char *ours;
	size_t kept;
} root_keys[] = {
    {"auth_username_format", "username_format", 0},
    {"auth_default_domain", "default_domain", 0},
    {"auth_username_chars", "username_chars", 0},
    {"auth_allow_weak_schemes", "allow_weak_schemes", 0},
    {"dovecot_config_version", NULL, KEPT(version)},
    {"sql_driver", NULL, KEPT(driver)},
    {"passdb_sql_query", NULL, KEPT(root_query)},
    {"passdb_default_password_scheme", NULL, KEPT(root_scheme)},
    {"userdb_sql_iterate_query", NULL, KEPT(root_iterate)},
};

/* Hands key and value to the option table; a refusal is the file's error at w. */
static bool set_ours(struct pgd_v24_reader *rd, const struct pgd_v24_where *w, const char *ours,
                     const char *value)
{
	char msg[256];

	if (rd->set->set(rd->set->ctx, ours, value, msg, sizeof(msg)) != PGD_CONF_OK)
		return pgd_v24_err(rd, w, "%s", msg);
	return true;
}

static bool key_root(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                     const struct pgd_v24_line *ln)
{
	char *value;
	bool ok, taken;

	if (!pgd_v24_passdb_key(rd, w, ln, true, &taken))
		return false;
	if (taken)
		return true;
	/* Dovecot 2.4 refuses these too: a 2.3 file given 2.4 blocks or includes. */
	if (strcmp(ln->key, "driver") == 0 || strcmp(ln->key, "connect") == 0 ||
	    strcmp(ln->key, "password_query") == 0 || strcmp(ln->key, "default_pass_scheme") == 0)
		return pgd_v24_err(rd, w,
		                   "'%s' is a Dovecot 2.3 dovecot-sql.conf.ext key; a Dovecot 2.4 "
		                   "file has sql_driver, pgsql HOST { parameters { } } and "
		                   "passdb sql { query }",
		                   ln->key);
	for (size_t i = 0; i < sizeof(root_keys) / sizeof(root_keys[0]); i++) {
		if (strcmp(ln->key, root_keys[i].v24) != 0)
			continue;
		if (root_keys[i].ours == NULL)
			return take_into(rd, w, ln, (char **)((char *)rd + root_keys[i].kept),
			                 false);
		value = take_value(rd, w, ln);
		if (value == NULL)
			return false;
		ok = set_ours(rd, w, root_keys[i].ours, value);
		pgd_free_secret(value);
		return ok;
	}
	return true;
}

static bool key_passdb(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                       const struct pgd_v24_line *ln)
{
	const char *k = block_key(ln->key, "passdb");
	bool taken;

	if (!pgd_v24_passdb_key(rd, w, ln, false, &taken))
		return false;
	if (taken)
		return true;
	if (strcmp(k, "driver") == 0)
		return take_into(rd, w, ln, &rd->cur.driver, false);
	if (strcmp(k, "query") == 0)
		return take_into(rd, w, ln, &rd->cur.query, false);
	if (strcmp(k, "default_password_scheme") == 0)
		return take_into(rd, w, ln, &rd->cur.scheme, false);
	if (strcmp(k, "sql_driver") == 0)
		return take_into(rd, w, ln, &rd->driver, false);
	if (strcmp(k, "master") == 0 || strcmp(k, "deny") == 0)
		return passdb_flag(rd, w, ln, k);
	return true;
}

static bool key_userdb(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                       const struct pgd_v24_line *ln)
{
	const char *k = block_key(ln->key, "userdb");

	if (strcmp(k, "driver") == 0)
		return take_into(rd, w, ln, &rd->udriver, false);
	if (strcmp(k, "iterate_query") == 0)
		return take_into(rd, w, ln, &rd->uiterate, false);
	return true;
}

/* The password parameter at w: the file holding it is w's, or the one its "<file" names. */
static bool note_secret(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln)
{
	char *path =
	    ln->type == L_KEYFILE ? pgd_conf_relative_path(w->path, ln->value) : strdup(w->path);
	bool ok = path != NULL && rd->set->secret_file(rd->set->ctx, path) == PGD_CONF_OK;

	free(path);
	return ok ? true : pgd_v24_nomem(rd);
}

/* One libpq parameter k of the block h; takes value (a secret) in every case. */
static bool add_param(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                      struct pgd_v24_host *h, const char *k, char *value)
{
	struct pgd_v24_param *p;

	for (const char *c = k; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || *c == '_')) {
			pgd_free_secret(value);
			return pgd_v24_err(rd, w, "pgsql parameter name is not a libpq keyword");
		}
	}
	for (size_t i = 0; i < h->nparams; i++) {
		if (strcmp(h->params[i].key, k) == 0) {
			keep(&h->params[i].value, value, true);
			return true;
		}
	}
	if (h->nparams >= PGD_V24_MAX_PARAMS) {
		pgd_free_secret(value);
		return pgd_v24_err(rd, w, "more than %d pgsql parameters", PGD_V24_MAX_PARAMS);
	}
	p = &h->params[h->nparams];
	p->key = strdup(k);
	if (p->key == NULL) {
		pgd_free_secret(value);
		return pgd_v24_nomem(rd);
	}
	p->value = value;
	h->nparams++;
	return true;
}

/* pgsql HOST { host = } and its parameters { libpq keywords }. */
static bool key_pgsql(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                      const struct pgd_v24_line *ln, enum pgd_v24_kind kind)
{
	struct pgd_v24_host *h = &rd->hosts[rd->nhosts - 1];
	const char *k = ln->key;
	char *value;

	if (kind == K_PGSQL) {
		if (strncmp(k, "pgsql_", 6) == 0)
			k += 6;
		if (strcmp(k, "host") != 0)
			return true; /* connection_limit and the like */
	}
	if (strcmp(k, "host") == 0)
		return take_into(rd, w, ln, &h->host, true);
	value = take_value(rd, w, ln);
	if (value == NULL)
		return false;
	if (strcmp(k, "password") == 0 && !note_secret(rd, w, ln)) {
		pgd_free_secret(value);
		return false;
	}
	return add_param(rd, w, h, k, value);
}

bool pgd_v24_key_line(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                      const struct pgd_v24_line *ln)
{
	enum pgd_v24_kind kind = rd->stack[rd->top].kind;

	switch (kind) {
	case K_ROOT:
		return key_root(rd, w, ln);
	case K_PASSDB:
		return key_passdb(rd, w, ln);
	case K_USERDB:
		return key_userdb(rd, w, ln);
	case K_PGSQL:
	case K_PARAMS:
		return key_pgsql(rd, w, ln, kind);
	case K_OTHER:
		return pgd_v24_filter_key(rd, w, ln);
	}
	return true;
}

static void passdb_free(struct pgd_v24_passdb *p)
{
	free(p->driver);
	free(p->query);
	free(p->scheme);
	*p = (struct pgd_v24_passdb){0};
}

/* passdb NAME {: the driver defaults to the block's name (passdb sql { }). */
static bool begin_passdb(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                         const struct pgd_v24_line *ln)
{
	const struct pgd_v24_section *s = &rd->stack[rd->top];

	if (s->kind != K_ROOT)
		return pgd_v24_err(rd, w,
		                   "a passdb block inside '%s' is not supported: this module reads "
		                   "the passdb of the top level only",
		                   s->type);
	passdb_free(&rd->cur);
	pgd_v24_passdb_begin(rd, w);
	return keep_copy(rd, &rd->cur.driver, ln->value);
}

/* userdb NAME {, read only for its iterate_query; the driver defaults to the block's name. */
static bool begin_userdb(struct pgd_v24_reader *rd, const struct pgd_v24_line *ln)
{
	free(rd->uiterate);
	rd->uiterate = NULL;
	return keep_copy(rd, &rd->udriver, ln->value);
}

static bool begin_pgsql(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln)
{
	struct pgd_v24_host *h;

	if (*ln->value == '\0')
		return pgd_v24_err(rd, w, "a pgsql block needs a host name (pgsql HOST {)");
	if (rd->nhosts >= PGD_V24_MAX_HOSTS)
		return pgd_v24_err(rd, w, "more than %d pgsql blocks", PGD_V24_MAX_HOSTS);
	h = &rd->hosts[rd->nhosts++];
	*h = (struct pgd_v24_host){0};
	h->name = strdup(ln->value);
	return h->name != NULL ? true : pgd_v24_nomem(rd);
}

bool pgd_v24_section_begin(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                           const struct pgd_v24_line *ln)
{
	enum pgd_v24_kind in = rd->stack[rd->top].kind, kind = K_OTHER;
	struct pgd_v24_section *s;
	bool ok = true;

	if (rd->top + 1 >= PGD_V24_MAX_SECTIONS)
		return pgd_v24_err(rd, w, "blocks nested deeper than %d", PGD_V24_MAX_SECTIONS);
	if (!pgd_v24_passdb_section(rd, w, ln, in))
		return false;
	if (strcmp(ln->key, "passdb") == 0) {
		kind = K_PASSDB;
		ok = begin_passdb(rd, w, ln);
	} else if (strcmp(ln->key, "userdb") == 0 && in == K_ROOT) {
		kind = K_USERDB;
		ok = begin_userdb(rd, ln);
	} else if (strcmp(ln->key, "pgsql") == 0 && (in == K_ROOT || in == K_PASSDB)) {
		kind = K_PGSQL;
		ok = begin_pgsql(rd, w, ln);
	} else if (strcmp(ln->key, "parameters") == 0 && in == K_PGSQL) {
		kind = K_PARAMS;
	}
	if (!ok)
		return false;
	s = &rd->stack[++rd->top];
	s->kind = kind;
	pgd_printable(ln->key, s->type, sizeof(s->type));
	pgd_printable(ln->value, s->name, sizeof(s->name));
	return true;
}

/* The passdb block ends: the first of driver sql that is not a master passdb is the users'. */
static bool end_passdb(struct pgd_v24_reader *rd, const struct pgd_v24_where *w)
{
	if (!pgd_v24_passdb_end(rd))
		return false;
	if (!rd->cur.master && rd->cur.driver != NULL && strcmp(rd->cur.driver, "sql") == 0) {
		if (rd->have_sql)
			return pgd_v24_err(rd, w,
			                   "a second passdb of driver sql: this module reads one");
		rd->sql = rd->cur;
		rd->cur = (struct pgd_v24_passdb){0};
		rd->have_sql = true;
	}
	passdb_free(&rd->cur);
	return true;
}

/* The userdb block ends: the first of driver sql with an iterate_query gives the audit's. */
static void end_userdb(struct pgd_v24_reader *rd)
{
	if (rd->iterate == NULL && rd->uiterate != NULL && rd->udriver != NULL &&
	    strcmp(rd->udriver, "sql") == 0) {
		rd->iterate = rd->uiterate;
		rd->uiterate = NULL;
	}
	free(rd->uiterate);
	rd->uiterate = NULL;
}

bool pgd_v24_section_end(struct pgd_v24_reader *rd, const struct pgd_v24_where *w)
{
	if (rd->top == 0)
		return pgd_v24_err(rd, w, "Unexpected '}'");
	if (rd->stack[rd->top].kind == K_PASSDB && !end_passdb(rd, w))
		return false;
	if (rd->stack[rd->top].kind == K_USERDB)
		end_userdb(rd);
	rd->top--;
	return true;
}

/* Hands one setting to the option table; msg gets the refusal. */
static bool hand_over(struct pgd_v24_reader *rd, const char *key, const char *value, char *msg,
                      size_t msglen)
{
	return value == NULL || rd->set->set(rd->set->ctx, key, value, msg, msglen) == PGD_CONF_OK;
}

bool pgd_v24_finish(struct pgd_v24_reader *rd, const char *path)
{
	char msg[256], shown[200];
	const char *query = rd->have_sql && rd->sql.query != NULL ? rd->sql.query : rd->root_query;
	const char *scheme =
	    rd->have_sql && rd->sql.scheme != NULL ? rd->sql.scheme : rd->root_scheme;
	const char *iterate = rd->iterate != NULL ? rd->iterate : rd->root_iterate;

	if (rd->top != 0) {
		pgd_set_err(rd->err, rd->errlen, "%s: the file ends inside a '%s' block",
		            pgd_printable(path, shown, sizeof(shown)), rd->stack[rd->top].type);
		return false;
	}
	/* Without a default_password_scheme the release the file declares decides. */
	if (scheme == NULL)
		scheme = pgd_hash_default_scheme_v24(rd->version);
	if (!hand_over(rd, "driver", rd->driver, msg, sizeof(msg)) ||
	    !hand_over(rd, "password_query", query, msg, sizeof(msg)) ||
	    !hand_over(rd, "iterate_query", iterate, msg, sizeof(msg)) ||
	    !hand_over(rd, "default_pass_scheme", scheme, msg, sizeof(msg)) ||
	    !hand_over(rd, "dovecot_config_version", rd->version, msg, sizeof(msg))) {
		pgd_set_err(rd->err, rd->errlen, "%s", msg);
		return false;
	}
	if (rd->nhosts > 0)
		return pgd_v24_conninfo(rd->hosts, rd->nhosts, rd->set, path, rd->err, rd->errlen);
	return true;
}

void pgd_v24_reader_free(struct pgd_v24_reader *rd)
{
	for (size_t i = 0; i < rd->nhosts; i++) {
		free(rd->hosts[i].name);
		pgd_free_secret(rd->hosts[i].host);
		for (size_t j = 0; j < rd->hosts[i].nparams; j++) {
			free(rd->hosts[i].params[j].key);
			pgd_free_secret(rd->hosts[i].params[j].value);
		}
	}
	passdb_free(&rd->cur);
	passdb_free(&rd->sql);
	free(rd->udriver);
	free(rd->uiterate);
	free(rd->iterate);
	free(rd->root_iterate);
	free(rd->root_query);
	free(rd->root_scheme);
	free(rd->driver);
	free(rd->version);
}
