// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.4's dovecot.conf tree, as read by Dovecot 2.4.1's src/config/config-parser.c
 * (config_parse_line): "key = value", "type [name] {", "}", "!include" and "!include_try" with
 * globs relative to the including file, quoted keys and values, "key = <file", a line continued
 * with '\'. Only what a login needs is taken:
 *   sql_driver, pgsql NAME { host, parameters { libpq keywords } } (several blocks: one
 *   multi-host conninfo), passdb NAME { driver, query, default_password_scheme } of driver sql,
 *   the root passdb_sql_query and passdb_default_password_scheme, auth_username_format,
 *   auth_default_domain, auth_username_chars, auth_allow_weak_schemes, dovecot_config_version;
 *   and for the audit command the iterate_query of userdb NAME { driver = sql } (or the root
 *   userdb_sql_iterate_query), which lists the users.
 * Every other setting and block is read past. Files are opened as the conf file is
 * (pgd_conf_read_file), at most MAX_DEPTH deep, MAX_FILES files and MAX_TOTAL bytes in all.
 */
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/conf_impl.h"
#include "hash/hash_policy.h"
#include "util/secret.h"

#define MAX_DEPTH 8
#define MAX_FILES 128
#define MAX_TOTAL (1024 * 1024)
#define MAX_SECTIONS 32
#define MAX_HOSTS 16
#define MAX_PARAMS 32

enum kind {
	K_ROOT,
	K_PASSDB,
	K_USERDB,
	K_PGSQL,
	K_PARAMS,
	K_OTHER, /* a block of another part of Dovecot: read past */
};

struct section {
	enum kind kind;
	char type[32];
	char name[64]; /* "passdb NAME {": printable, for messages */
};

struct param {
	char *key;
	char *value; /* secret: may be the password */
};

struct host {
	char *name;
	char *host; /* host = inside the block or its parameters: overrides the name */
	struct param params[MAX_PARAMS];
	size_t nparams;
};

struct passdb {
	char *driver;
	char *query;
	char *scheme;
	bool master; /* master = yes: consulted only for master logins, which PAM has none of */
};

struct reader {
	struct pgd_conf *conf;
	char *err;
	size_t errlen;
	unsigned files;
	size_t total;
	unsigned depth;
	const char *open_paths[MAX_DEPTH + 1]; /* the files being read, outermost first */
	struct section stack[MAX_SECTIONS];
	unsigned top; /* stack[0] is the root */
	struct host hosts[MAX_HOSTS];
	size_t nhosts;
	struct passdb cur; /* the passdb block being read */
	struct passdb sql; /* the first passdb of driver sql */
	bool have_sql;
	char *udriver;      /* the driver of the userdb block being read */
	char *uiterate;     /* its iterate_query */
	char *iterate;      /* the iterate_query of the first userdb of driver sql that has one */
	char *root_iterate; /* userdb_sql_iterate_query outside any block */
	char *root_query;   /* passdb_sql_query outside any block */
	char *root_scheme;  /* passdb_default_password_scheme outside any block */
	char *driver;       /* sql_driver */
	char *version;      /* dovecot_config_version */
};

/* "name line N" prefix for messages, printable. */
struct where {
	const char *path;
	unsigned line;
};

static void where_err(struct reader *rd, const struct where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void where_err(struct reader *rd, const struct where *w, const char *fmt, ...)
{
	char msg[256], shown[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* msg may quote a key of the file: keep it printable, as the path. */
	pgd_conf_printable(msg, msg, sizeof(msg));
	pgd_conf_err(rd->err, rd->errlen, "%s line %u: %s",
	             pgd_conf_printable(w->path, shown, sizeof(shown)), w->line, msg);
}

static bool nomem(struct reader *rd)
{
	pgd_conf_err(rd->err, rd->errlen, "out of memory");
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Dovecot's str_unescape. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			s++;
			if (*s == '\0')
				break;
		}
		*d++ = *s;
	}
	*d = '\0';
}

static bool replace(struct reader *rd, char **field, const char *value, bool secret)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return nomem(rd);
	if (secret)
		pgd_free_secret(*field);
	else
		free(*field);
	*field = copy;
	return true;
}

enum line_type {
	L_SKIP,
	L_KEYVALUE,
	L_KEYFILE,
	L_KEYVARIABLE,
	L_SECTION_BEGIN,
	L_SECTION_END,
	L_INCLUDE,
	L_INCLUDE_TRY,
	L_ERROR,
};

struct line {
	enum line_type type;
	const char *key;
	const char *value;
};

/* config_parse_line() of Dovecot 2.4.1 on one logical line (comment not yet cut). */
static void parse_line(char *line, struct line *out)
{
	char *key, *p;
	size_t len;

	*out = (struct line){L_SKIP, NULL, NULL};
	while (is_space(*line))
		line++;
	if (*line == '#' || *line == '\0')
		return;
	for (p = line; *p != '\0'; p++) {
		if (*p == '\'' || *p == '"') {
			char quote = *p;

			for (p++; *p != quote && *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '\0')
				break;
		} else if (*p == '#') {
			*p = '\0';
			break;
		}
	}
	len = strlen(line);
	while (len > 0 && is_space(line[len - 1]))
		len--;
	line[len] = '\0';

	key = line;
	if (*key == '"') {
		key++;
		line++;
		while (*line != '\0') {
			if (*line == '\\' && line[1] != '\0') {
				line += 2;
			} else if (*line == '"') {
				*line++ = '\0';
				break;
			} else {
				line++;
			}
		}
	} else {
		while (!is_space(*line) && *line != '\0' && *line != '=')
			line++;
	}
	if (is_space(*line)) {
		*line++ = '\0';
		while (is_space(*line))
			line++;
	}
	out->key = key;
	out->value = line;
	if (strcmp(key, "!include") == 0) {
		out->type = L_INCLUDE;
		return;
	}
	if (strcmp(key, "!include_try") == 0) {
		out->type = L_INCLUDE_TRY;
		return;
	}
	if (*line == '=') {
		*line++ = '\0';
		while (is_space(*line))
			line++;
		if (*line == '<') {
			while (is_space(line[1]))
				line++;
			out->value = line + 1;
			out->type = L_KEYFILE;
			return;
		}
		if (*line != '\'' && *line != '"' && strchr(line, '$') != NULL) {
			out->value = line;
			out->type = L_KEYVARIABLE;
			return;
		}
		len = strlen(line);
		if (len > 0 && ((*line == '"' && line[len - 1] == '"') ||
		                (*line == '\'' && line[len - 1] == '\''))) {
			line[len - 1] = '\0';
			line++;
			unescape(line);
		}
		out->value = line;
		out->type = L_KEYVALUE;
		return;
	}
	if (strcmp(key, "}") == 0 && *line == '\0') {
		out->type = L_SECTION_END;
		return;
	}
	if (line == key) {
		/* a lone word: no '=' and no '{' */
		out->value = "Expecting '='";
		out->type = L_ERROR;
		return;
	}
	line[-1] = '\0';
	if (*line == '{') {
		out->value = "";
	} else {
		if (*line != '"') {
			out->value = line;
			while (!is_space(*line) && *line != '\0')
				line++;
			if (*line != '\0') {
				*line++ = '\0';
				while (is_space(*line))
					line++;
			}
		} else {
			char *value = ++line;

			while (*line != '"' && *line != '\0')
				line++;
			if (*line == '"') {
				*line++ = '\0';
				while (is_space(*line))
					line++;
				unescape(value);
				out->value = value;
			}
		}
		if (strcmp(key, "group") == 0) {
			/* group @name value { : the value is a second word */
			while (!is_space(*line) && *line != '\0' && *line != '{')
				line++;
			while (is_space(*line))
				line++;
		}
		if (*line != '{') {
			out->value = "Expecting '{'";
			out->type = L_ERROR;
			return;
		}
	}
	if (line[1] != '\0') {
		out->value = "Garbage after '{'";
		out->type = L_ERROR;
		return;
	}
	out->type = L_SECTION_BEGIN;
}

static bool read_tree(struct reader *rd, const char *path, const char *text, size_t len);

/* !include / !include_try: the pattern relative to the including file, globbed, sorted. */
static bool do_include(struct reader *rd, const struct where *w, const char *pattern, bool try)
{
	char *full = pgd_conf_relative_path(w->path, pattern);
	glob_t g;
	int gr;
	bool ok = true;

	if (full == NULL)
		return nomem(rd);
	if (rd->depth >= MAX_DEPTH) {
		where_err(rd, w, "includes nested deeper than %d", MAX_DEPTH);
		free(full);
		return false;
	}
	gr = glob(full, GLOB_BRACE, NULL, &g);
	free(full);
	if (gr == GLOB_NOMATCH) {
		if (try)
			return true;
		where_err(rd, w, "!include: no file matches");
		return false;
	}
	if (gr != 0) {
		where_err(rd, w, "!include: glob failed");
		return false;
	}
	for (size_t i = 0; i < g.gl_pathc && ok; i++) {
		char *buf = NULL;
		size_t n = 0;
		enum pgd_conf_result r;

		if (++rd->files > MAX_FILES) {
			where_err(rd, w, "more than %d included files", MAX_FILES);
			ok = false;
			break;
		}
		for (unsigned d = 0; d <= rd->depth; d++) {
			if (rd->open_paths[d] != NULL &&
			    strcmp(rd->open_paths[d], g.gl_pathv[i]) == 0) {
				char shown[200];

				where_err(rd, w, "recursive include of %s",
				          pgd_conf_printable(g.gl_pathv[i], shown, sizeof(shown)));
				ok = false;
			}
		}
		if (!ok)
			break;
		r = pgd_conf_read_file(g.gl_pathv[i], &buf, &n, rd->err, rd->errlen);
		if (r != PGD_CONF_OK) {
			/* Dovecot's include_try skips only files it cannot open; a file it could
			 * open but we refuse (owner, mode, symlink) is still refused. */
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", rd->err != NULL ? rd->err : "");
			where_err(rd, w, "include %s", msg);
			ok = false;
			break;
		}
		rd->total += n;
		if (rd->total > MAX_TOTAL) {
			where_err(rd, w, "the files of the include tree are larger than %d bytes",
			          MAX_TOTAL);
			ok = false;
		} else {
			rd->depth++;
			rd->open_paths[rd->depth] = g.gl_pathv[i];
			ok = read_tree(rd, g.gl_pathv[i], buf, n);
			rd->open_paths[rd->depth] = NULL;
			rd->depth--;
		}
		pgd_wipe(buf, PGD_MAX_CONF_SIZE + 1);
		free(buf);
	}
	globfree(&g);
	return ok;
}

/*
 * The value of a key we take: plain, "<file" (read safely, kept as it is, trailing newline
 * included, as Dovecot does) or a $ENV:/$SET: variable (refused: the caller's environment is
 * not the admin's). *out is a heap string the caller owns (secret).
 */
static bool take_value(struct reader *rd, const struct where *w, const struct line *ln, char **out)
{
	*out = NULL;
	if (ln->type == L_KEYFILE) {
		char *path = pgd_conf_relative_path(w->path, ln->value);
		char *buf = NULL;
		size_t n = 0;
		char msg[256];

		if (path == NULL)
			return nomem(rd);
		if (pgd_conf_read_file(path, &buf, &n, msg, sizeof(msg)) != PGD_CONF_OK) {
			free(path);
			where_err(rd, w, "%s = <file: %s", ln->key, msg);
			return false;
		}
		free(path);
		if (memchr(buf, '\0', n) != NULL) {
			pgd_wipe(buf, PGD_MAX_CONF_SIZE + 1);
			free(buf);
			where_err(rd, w, "%s = <file: NUL byte in file", ln->key);
			return false;
		}
		buf[n] = '\0';
		*out = strdup(buf);
		pgd_wipe(buf, PGD_MAX_CONF_SIZE + 1);
		free(buf);
		return *out != NULL ? true : nomem(rd);
	}
	if (ln->type == L_KEYVARIABLE &&
	    (strstr(ln->value, "$ENV:") != NULL || strstr(ln->value, "$SET:") != NULL)) {
		where_err(rd, w,
		          "%s: $ENV: and $SET: values are not supported here; write the value",
		          ln->key);
		return false;
	}
	*out = strdup(ln->value);
	return *out != NULL ? true : nomem(rd);
}

/* Strips a 2.4 prefix from a key read inside a passdb block: "passdb_sql_query" is "query". */
static const char *passdb_key(const char *key)
{
	if (strncmp(key, "passdb_sql_", 11) == 0)
		return key + 11;
	if (strncmp(key, "passdb_", 7) == 0)
		return key + 7;
	if (strncmp(key, "sql_", 4) == 0 && strcmp(key, "sql_driver") != 0)
		return key + 4;
	return key;
}

/* The same for a key read inside a userdb block: "userdb_sql_iterate_query" is "iterate_query". */
static const char *userdb_key(const char *key)
{
	if (strncmp(key, "userdb_sql_", 11) == 0)
		return key + 11;
	if (strncmp(key, "userdb_", 7) == 0)
		return key + 7;
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
static bool passdb_flag(struct reader *rd, const struct where *w, const struct line *ln,
                        const char *k)
{
	char shown[64];
	bool on;

	if (ln->type != L_KEYVALUE || !v24_bool(ln->value, &on)) {
		where_err(rd, w, "%s: Invalid boolean value: %s (use yes or no)", k,
		          pgd_conf_printable(ln->value, shown, sizeof(shown)));
		return false;
	}
	if (strcmp(k, "master") == 0) {
		rd->cur.master = on;
		return true;
	}
	if (on) {
		where_err(
		    rd, w,
		    "passdb %s: deny = yes is not supported: this module cannot refuse the users "
		    "a deny passdb lists (name a file without it in dovecot_config)",
		    rd->stack[rd->top].name);
		return false;
	}
	return true;
}

/* Root settings that go straight to the option table. */
static const struct {
	const char *v24;
	const char *ours;
} root_keys[] = {
    {"auth_username_format", "username_format"},
    {"auth_default_domain", "default_domain"},
    {"auth_username_chars", "username_chars"},
    {"auth_allow_weak_schemes", "allow_weak_schemes"},
};

static bool set_ours(struct reader *rd, const struct where *w, const char *ours, const char *value)
{
	char msg[256];

	if (pgd_conf_set_from(rd->conf, ours, value, PGD_FROM_FILE, msg, sizeof(msg)) !=
	    PGD_CONF_OK) {
		where_err(rd, w, "%s", msg);
		return false;
	}
	return true;
}

/* The password parameter at w: the file holding it is w's, or the one its "<file" names. */
static bool note_secret(struct reader *rd, const struct where *w, const struct line *ln)
{
	char *path =
	    ln->type == L_KEYFILE ? pgd_conf_relative_path(w->path, ln->value) : strdup(w->path);
	bool ok = path != NULL && pgd_conf_note_secret(rd->conf, path) == PGD_CONF_OK;

	free(path);
	return ok ? true : nomem(rd);
}

static bool key_line(struct reader *rd, const struct where *w, const struct line *ln)
{
	struct section *s = &rd->stack[rd->top];
	char *value = NULL;
	bool ok = true;

	switch (s->kind) {
	case K_ROOT: {
		size_t i;
		const char *ours = NULL;

		/* Dovecot 2.4 refuses these too: a 2.3 file given 2.4 blocks or includes. */
		if (strcmp(ln->key, "driver") == 0 || strcmp(ln->key, "connect") == 0 ||
		    strcmp(ln->key, "password_query") == 0 ||
		    strcmp(ln->key, "default_pass_scheme") == 0) {
			where_err(rd, w,
			          "'%s' is a Dovecot 2.3 dovecot-sql.conf.ext key; a Dovecot 2.4 "
			          "file has sql_driver, pgsql HOST { parameters { } } and "
			          "passdb sql { query }",
			          ln->key);
			return false;
		}
		for (i = 0; i < sizeof(root_keys) / sizeof(root_keys[0]); i++)
			if (strcmp(ln->key, root_keys[i].v24) == 0)
				ours = root_keys[i].ours;
		if (ours == NULL && strcmp(ln->key, "dovecot_config_version") != 0 &&
		    strcmp(ln->key, "sql_driver") != 0 &&
		    strcmp(ln->key, "passdb_sql_query") != 0 &&
		    strcmp(ln->key, "passdb_default_password_scheme") != 0 &&
		    strcmp(ln->key, "userdb_sql_iterate_query") != 0)
			return true;
		if (!take_value(rd, w, ln, &value))
			return false;
		if (ours != NULL)
			ok = set_ours(rd, w, ours, value);
		else if (strcmp(ln->key, "dovecot_config_version") == 0)
			ok = replace(rd, &rd->version, value, false);
		else if (strcmp(ln->key, "sql_driver") == 0)
			ok = replace(rd, &rd->driver, value, false);
		else if (strcmp(ln->key, "passdb_sql_query") == 0)
			ok = replace(rd, &rd->root_query, value, false);
		else if (strcmp(ln->key, "userdb_sql_iterate_query") == 0)
			ok = replace(rd, &rd->root_iterate, value, false);
		else
			ok = replace(rd, &rd->root_scheme, value, false);
		break;
	}
	case K_PASSDB: {
		const char *k = passdb_key(ln->key);
		char **field = NULL;

		if (strcmp(k, "driver") == 0)
			field = &rd->cur.driver;
		else if (strcmp(k, "query") == 0)
			field = &rd->cur.query;
		else if (strcmp(k, "default_password_scheme") == 0)
			field = &rd->cur.scheme;
		else if (strcmp(k, "sql_driver") == 0)
			field = &rd->driver;
		else if (strcmp(k, "master") == 0 || strcmp(k, "deny") == 0)
			return passdb_flag(rd, w, ln, k);
		if (field == NULL)
			return true;
		if (!take_value(rd, w, ln, &value))
			return false;
		ok = replace(rd, field, value, false);
		break;
	}
	case K_USERDB: {
		const char *k = userdb_key(ln->key);
		char **field = NULL;

		if (strcmp(k, "driver") == 0)
			field = &rd->udriver;
		else if (strcmp(k, "iterate_query") == 0)
			field = &rd->uiterate;
		if (field == NULL)
			return true;
		if (!take_value(rd, w, ln, &value))
			return false;
		ok = replace(rd, field, value, false);
		break;
	}
	case K_PGSQL:
	case K_PARAMS: {
		struct host *h = &rd->hosts[rd->nhosts - 1];
		const char *k = ln->key;

		if (s->kind == K_PGSQL) {
			if (strncmp(k, "pgsql_", 6) == 0)
				k += 6;
			if (strcmp(k, "host") != 0)
				return true; /* connection_limit and the like */
		}
		if (!take_value(rd, w, ln, &value))
			return false;
		if (strcmp(k, "host") == 0) {
			ok = replace(rd, &h->host, value, true);
			break;
		}
		if (strcmp(k, "password") == 0 && !note_secret(rd, w, ln)) {
			pgd_free_secret(value);
			return false;
		}
		for (const char *c = k; *c != '\0'; c++) {
			if (!((*c >= 'a' && *c <= 'z') || *c == '_')) {
				where_err(rd, w, "pgsql parameter name is not a libpq keyword");
				pgd_free_secret(value);
				return false;
			}
		}
		for (size_t i = 0; i < h->nparams; i++) {
			if (strcmp(h->params[i].key, k) == 0) {
				ok = replace(rd, &h->params[i].value, value, true);
				pgd_free_secret(value);
				return ok;
			}
		}
		if (h->nparams >= MAX_PARAMS) {
			where_err(rd, w, "more than %d pgsql parameters", MAX_PARAMS);
			pgd_free_secret(value);
			return false;
		}
		h->params[h->nparams].key = strdup(k);
		h->params[h->nparams].value = strdup(value);
		if (h->params[h->nparams].key == NULL || h->params[h->nparams].value == NULL) {
			free(h->params[h->nparams].key);
			pgd_free_secret(h->params[h->nparams].value);
			ok = nomem(rd);
		} else {
			h->nparams++;
		}
		break;
	}
	case K_OTHER:
		return true;
	}
	pgd_free_secret(value);
	return ok;
}

static void passdb_free(struct passdb *p)
{
	free(p->driver);
	free(p->query);
	free(p->scheme);
	*p = (struct passdb){0};
}

static bool section_begin(struct reader *rd, const struct where *w, const struct line *ln)
{
	struct section *s = &rd->stack[rd->top];
	enum kind kind = K_OTHER;

	if (rd->top + 1 >= MAX_SECTIONS) {
		where_err(rd, w, "blocks nested deeper than %d", MAX_SECTIONS);
		return false;
	}
	if (strcmp(ln->key, "passdb") == 0) {
		if (s->kind != K_ROOT) {
			where_err(rd, w,
			          "a passdb block inside '%s' is not supported: this module reads "
			          "the passdb of the top level only",
			          s->type);
			return false;
		}
		kind = K_PASSDB;
		passdb_free(&rd->cur);
		/* The driver defaults to the block's name (passdb sql { }). */
		if (!replace(rd, &rd->cur.driver, ln->value, false))
			return false;
	} else if (strcmp(ln->key, "userdb") == 0 && s->kind == K_ROOT) {
		/* only for its iterate_query; the driver defaults to the block's name */
		kind = K_USERDB;
		free(rd->uiterate);
		rd->uiterate = NULL;
		if (!replace(rd, &rd->udriver, ln->value, false))
			return false;
	} else if (strcmp(ln->key, "pgsql") == 0 && (s->kind == K_ROOT || s->kind == K_PASSDB)) {
		struct host *h;

		if (*ln->value == '\0') {
			where_err(rd, w, "a pgsql block needs a host name (pgsql HOST {)");
			return false;
		}
		if (rd->nhosts >= MAX_HOSTS) {
			where_err(rd, w, "more than %d pgsql blocks", MAX_HOSTS);
			return false;
		}
		h = &rd->hosts[rd->nhosts++];
		*h = (struct host){0};
		h->name = strdup(ln->value);
		if (h->name == NULL)
			return nomem(rd);
		kind = K_PGSQL;
	} else if (strcmp(ln->key, "parameters") == 0 && s->kind == K_PGSQL) {
		kind = K_PARAMS;
	}
	rd->top++;
	rd->stack[rd->top].kind = kind;
	snprintf(rd->stack[rd->top].type, sizeof(rd->stack[rd->top].type), "%s", ln->key);
	pgd_conf_printable(rd->stack[rd->top].type, rd->stack[rd->top].type,
	                   sizeof(rd->stack[rd->top].type));
	pgd_conf_printable(ln->value, rd->stack[rd->top].name, sizeof(rd->stack[rd->top].name));
	return true;
}

static bool section_end(struct reader *rd, const struct where *w)
{
	if (rd->top == 0) {
		where_err(rd, w, "Unexpected '}'");
		return false;
	}
	if (rd->stack[rd->top].kind == K_PASSDB) {
		if (!rd->cur.master && rd->cur.driver != NULL &&
		    strcmp(rd->cur.driver, "sql") == 0) {
			if (rd->have_sql) {
				where_err(rd, w,
				          "a second passdb of driver sql: this module reads one");
				return false;
			}
			rd->sql = rd->cur;
			rd->cur = (struct passdb){0};
			rd->have_sql = true;
		}
		passdb_free(&rd->cur);
	}
	if (rd->stack[rd->top].kind == K_USERDB) {
		if (rd->iterate == NULL && rd->uiterate != NULL && rd->udriver != NULL &&
		    strcmp(rd->udriver, "sql") == 0) {
			rd->iterate = rd->uiterate;
			rd->uiterate = NULL;
		}
		free(rd->uiterate);
		rd->uiterate = NULL;
	}
	rd->top--;
	return true;
}

/*
 * Reads one file's text: lines joined at a trailing '\' (Dovecot 2.4 drops a blank that the
 * join would double), includes followed where they stand. Blocks may open in one file and
 * close in another, as in Dovecot.
 */
static bool read_tree(struct reader *rd, const char *path, const char *text, size_t len)
{
	char *line = malloc(len + 1), *full = malloc(len + 2);
	size_t pos = 0, full_len = 0;
	struct where w = {path, 0};
	unsigned start = 0;
	bool ok = true, continued = false;

	if (line == NULL || full == NULL) {
		free(line);
		free(full);
		return nomem(rd);
	}
	while (pos < len && ok) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		struct line ln;
		char *p;

		w.line++;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL ? 1 : 0);
		if (memchr(line, '\0', n) != NULL) {
			where_err(rd, &w, "NUL byte in line");
			ok = false;
			break;
		}
		for (p = line; is_space(*p); p++)
			;
		/* Dovecot skips blank and comment lines, also inside a continued line. */
		if (*p == '#' || *p == '\0')
			continue;
		/* Cut the comment and trailing blanks first, as config_parse_line does, so that
		 * the continuation test sees the line's real end. */
		{
			char *q;

			for (q = p; *q != '\0'; q++) {
				if (*q == '\'' || *q == '"') {
					char quote = *q;

					for (q++; *q != quote && *q != '\0'; q++)
						if (*q == '\\' && q[1] != '\0')
							q++;
					if (*q == '\0')
						break;
				} else if (*q == '#') {
					*q = '\0';
					break;
				}
			}
			n = strlen(p);
			while (n > 0 && is_space(p[n - 1]))
				n--;
			p[n] = '\0';
		}
		if (!continued)
			start = w.line;
		if (n > 0 && p[n - 1] == '\\') {
			n--;
			while (n > 0 && is_space(p[n - 1]))
				n--;
			if (n > 0) {
				memcpy(full + full_len, p, n);
				full_len += n;
				full[full_len++] = ' ';
			}
			continued = true;
			continue;
		}
		if (continued) {
			memcpy(full + full_len, p, n + 1);
			p = full;
			full_len = 0;
			continued = false;
		}
		{
			struct where lw = {path, start};

			parse_line(p, &ln);
			switch (ln.type) {
			case L_SKIP:
				break;
			case L_ERROR:
				where_err(rd, &lw, "%s", ln.value);
				ok = false;
				break;
			case L_KEYVALUE:
			case L_KEYFILE:
			case L_KEYVARIABLE:
				ok = key_line(rd, &lw, &ln);
				break;
			case L_SECTION_BEGIN:
				ok = section_begin(rd, &lw, &ln);
				break;
			case L_SECTION_END:
				ok = section_end(rd, &lw);
				break;
			case L_INCLUDE:
			case L_INCLUDE_TRY:
				ok = do_include(rd, &lw, ln.value, ln.type == L_INCLUDE_TRY);
				break;
			}
		}
	}
	if (ok && continued) {
		struct where lw = {path, start};

		where_err(rd, &lw, "file ends inside a continued line");
		ok = false;
	}
	pgd_wipe(line, len + 1);
	pgd_wipe(full, len + 2);
	free(line);
	free(full);
	return ok;
}

/* Appends a libpq conninfo value, single-quoted with \ and ' escaped. */
static void add_conn(char *out, size_t *o, const char *key, const char *value)
{
	if (*o > 0)
		out[(*o)++] = ' ';
	memcpy(out + *o, key, strlen(key));
	*o += strlen(key);
	out[(*o)++] = '=';
	out[(*o)++] = '\'';
	for (const char *c = value; *c != '\0'; c++) {
		if (*c == '\\' || *c == '\'')
			out[(*o)++] = '\\';
		out[(*o)++] = *c;
	}
	out[(*o)++] = '\'';
	out[*o] = '\0';
}

static const char *param_of(const struct host *h, const char *key)
{
	for (size_t i = 0; i < h->nparams; i++)
		if (strcmp(h->params[i].key, key) == 0)
			return h->params[i].value;
	return NULL;
}

/*
 * The pgsql blocks as one libpq conninfo: host (the block name unless host= says otherwise)
 * and port become comma lists; every other parameter must be the same in every block, since
 * libpq's multi-host form shares them.
 */
static bool build_conninfo(struct reader *rd, const char *path)
{
	size_t cap = 64, o = 0;
	char *ci, shown[200];
	bool any_port = false;

	pgd_conf_printable(path, shown, sizeof(shown));
	for (size_t i = 0; i < rd->nhosts; i++) {
		const struct host *h = &rd->hosts[i];

		cap += 2 * strlen(h->host != NULL ? h->host : h->name) + 16;
		for (size_t j = 0; j < h->nparams; j++)
			cap += strlen(h->params[j].key) + 2 * strlen(h->params[j].value) + 8;
		if (param_of(h, "port") != NULL)
			any_port = true;
		if (i == 0)
			continue;
		for (size_t j = 0; j < h->nparams; j++) {
			const char *k = h->params[j].key, *v0 = param_of(&rd->hosts[0], k);

			if (strcmp(k, "port") == 0)
				continue;
			if (v0 == NULL || strcmp(v0, h->params[j].value) != 0) {
				pgd_conf_err(
				    rd->err, rd->errlen,
				    "%s: pgsql blocks differ in '%s': several blocks are read "
				    "as one multi-host connection and must share it",
				    shown, k);
				return false;
			}
		}
		if (h->nparams - (param_of(h, "port") != NULL) !=
		    rd->hosts[0].nparams - (param_of(&rd->hosts[0], "port") != NULL)) {
			pgd_conf_err(
			    rd->err, rd->errlen,
			    "%s: pgsql blocks differ in their parameters: several blocks are "
			    "read as one multi-host connection and must share them",
			    shown);
			return false;
		}
	}
	ci = malloc(cap);
	if (ci == NULL)
		return nomem(rd);
	ci[0] = '\0';
	{
		char *hosts = calloc(1, cap), *ports = calloc(1, cap);
		size_t ho = 0, po = 0;

		if (hosts == NULL || ports == NULL) {
			free(hosts);
			free(ports);
			free(ci);
			return nomem(rd);
		}
		for (size_t i = 0; i < rd->nhosts; i++) {
			const char *hn =
			    rd->hosts[i].host != NULL ? rd->hosts[i].host : rd->hosts[i].name;
			const char *pt = param_of(&rd->hosts[i], "port");

			if (i > 0) {
				hosts[ho++] = ',';
				ports[po++] = ',';
			}
			memcpy(hosts + ho, hn, strlen(hn));
			ho += strlen(hn);
			if (pt == NULL)
				pt = "5432";
			memcpy(ports + po, pt, strlen(pt));
			po += strlen(pt);
		}
		add_conn(ci, &o, "host", hosts);
		if (any_port)
			add_conn(ci, &o, "port", ports);
		free(hosts);
		free(ports);
	}
	for (size_t j = 0; j < rd->hosts[0].nparams; j++) {
		if (strcmp(rd->hosts[0].params[j].key, "port") == 0)
			continue;
		add_conn(ci, &o, rd->hosts[0].params[j].key, rd->hosts[0].params[j].value);
	}
	{
		char msg[256];
		enum pgd_conf_result r =
		    pgd_conf_set_from(rd->conf, "connect", ci, PGD_FROM_FILE, msg, sizeof(msg));

		pgd_free_secret(ci);
		if (r != PGD_CONF_OK) {
			pgd_conf_err(rd->err, rd->errlen, "%s", msg);
			return false;
		}
	}
	return true;
}

static void reader_free(struct reader *rd)
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

static bool finish(struct reader *rd, const char *path)
{
	char msg[256];
	const char *query = rd->have_sql && rd->sql.query != NULL ? rd->sql.query : rd->root_query;
	const char *scheme =
	    rd->have_sql && rd->sql.scheme != NULL ? rd->sql.scheme : rd->root_scheme;
	const char *iterate = rd->iterate != NULL ? rd->iterate : rd->root_iterate;

	if (rd->top != 0) {
		char shown[200];

		pgd_conf_err(rd->err, rd->errlen, "%s: the file ends inside a '%s' block",
		             pgd_conf_printable(path, shown, sizeof(shown)),
		             rd->stack[rd->top].type);
		return false;
	}
	if (rd->driver != NULL && pgd_conf_set_from(rd->conf, "driver", rd->driver, PGD_FROM_FILE,
	                                            msg, sizeof(msg)) != PGD_CONF_OK)
		goto bad;
	if (query != NULL && pgd_conf_set_from(rd->conf, "password_query", query, PGD_FROM_FILE,
	                                       msg, sizeof(msg)) != PGD_CONF_OK)
		goto bad;
	if (iterate != NULL && pgd_conf_set_from(rd->conf, "iterate_query", iterate, PGD_FROM_FILE,
	                                         msg, sizeof(msg)) != PGD_CONF_OK)
		goto bad;
	/* Without a default_password_scheme the release the file declares decides. */
	if (scheme == NULL)
		scheme = pgd_hash_default_scheme_v24(rd->version);
	if (pgd_conf_set_from(rd->conf, "default_pass_scheme", scheme, PGD_FROM_FILE, msg,
	                      sizeof(msg)) != PGD_CONF_OK)
		goto bad;
	if (rd->version != NULL &&
	    pgd_conf_set_from(rd->conf, "dovecot_config_version", rd->version, PGD_FROM_FILE, msg,
	                      sizeof(msg)) != PGD_CONF_OK)
		goto bad;
	if (rd->nhosts > 0 && !build_conninfo(rd, path))
		return false;
	return true;
bad:
	pgd_conf_err(rd->err, rd->errlen, "%s", msg);
	return false;
}

enum pgd_conf_result pgd_conf_read_v24(struct pgd_conf *conf, const char *path, const char *text,
                                       size_t len, char *err, size_t errlen)
{
	struct reader rd = {.conf = conf, .err = err, .errlen = errlen, .files = 1, .total = len};
	bool ok;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rd.open_paths[0] = path;
	rd.stack[0].kind = K_ROOT;
	snprintf(rd.stack[0].type, sizeof(rd.stack[0].type), "(top)");
	ok = read_tree(&rd, path, text, len) && finish(&rd, path);
	reader_free(&rd);
	if (ok)
		return PGD_CONF_OK;
	return err != NULL && strcmp(err, "out of memory") == 0 ? PGD_CONF_NOMEM : PGD_CONF_INVALID;
}
