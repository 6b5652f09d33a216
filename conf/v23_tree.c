// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3's dovecot.conf tree (the dovecot_conf key), read with the 2.4 reader's lexer
 * (v24_lex.c: blocks, !include, !include_try, quoted values) and the 2.3 line rules, for what
 * the auth process applies to a login beside the dovecot-sql.conf.ext the module reads:
 * - auth_username_format, auth_default_realm and auth_username_chars become username_format,
 *   default_domain and username_chars (the admin no longer copies them by hand);
 * - the passdb blocks, as Dovecot 2.3.19's src/auth reads them: the users' passdb is the one
 *   of driver sql that is not a master passdb, and its args must name the module's
 *   dovecot-sql.conf.ext; what else would change a login is an error with its file and line
 *   (v24_passdb.c: another passdb that is not a master one, such as 10-auth.conf's
 *   auth-system.conf.ext pam passdb or auth-deny.conf.ext; deny = yes; override_fields,
 *   default_fields, mechanisms, username_filter, skip and result_* rules that change the
 *   verdict; auth_username_translation, auth_policy_server_url; auth settings inside a
 *   protocol/local/remote filter).
 * Every other setting and block is read past.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/v24_impl.h"
#include "util/err.h"
#include "util/printable.h"

static const struct {
	const char *v23, *ours;
} auth_keys[] = {
    {"auth_username_format", "username_format"},
    {"auth_default_realm", "default_domain"},
    {"auth_username_chars", "username_chars"},
};

/* Dovecot 2.3's get_bool(): yes, y or 1 (case aside) is true, no is false. */
static bool v23_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "y") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "no") == 0)
		*out = false;
	else
		return false;
	return true;
}

static bool keep(struct pgd_v24_reader *rd, char **field, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return pgd_v24_nomem(rd);
	free(*field);
	*field = copy;
	return true;
}

static bool key_root(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                     const struct pgd_v24_line *ln)
{
	char msg[256], key[64];
	bool taken;

	if (strcmp(ln->key, "dovecot_config_version") == 0)
		return pgd_v24_err(
		    rd, w,
		    "a Dovecot 2.4 dovecot.conf: name it with conf= (dovecot_conf is "
		    "for a Dovecot 2.3 tree)");
	if (!pgd_v24_passdb_key(rd, w, ln, true, &taken))
		return false;
	if (taken)
		return true;
	for (size_t i = 0; i < sizeof(auth_keys) / sizeof(auth_keys[0]); i++) {
		if (strcmp(ln->key, auth_keys[i].v23) != 0)
			continue;
		if (ln->type != L_KEYVALUE)
			return pgd_v24_err(rd, w,
			                   "%s: a <file or $variable value is not supported here",
			                   pgd_printable(ln->key, key, sizeof(key)));
		if (rd->set->set(rd->set->ctx, auth_keys[i].ours, ln->value, msg, sizeof(msg)) !=
		    PGD_CONF_OK)
			return pgd_v24_err(rd, w, "%s", msg);
		return true;
	}
	return true;
}

static bool key_passdb(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                       const struct pgd_v24_line *ln)
{
	char shown[64];
	bool taken, on;

	if (!pgd_v24_passdb_key(rd, w, ln, false, &taken))
		return false;
	if (taken)
		return true;
	if (strcmp(ln->key, "driver") == 0)
		return keep(rd, &rd->cur.driver, ln->value);
	if (strcmp(ln->key, "args") == 0)
		return keep(rd, &rd->cur.query, ln->value);
	if (strcmp(ln->key, "master") != 0 && strcmp(ln->key, "deny") != 0)
		return true; /* name, pass, auth_verbose */
	if (ln->type != L_KEYVALUE || !v23_bool(ln->value, &on))
		return pgd_v24_err(rd, w, "%s: Invalid boolean value: %s (use yes or no)", ln->key,
		                   pgd_printable(ln->value, shown, sizeof(shown)));
	if (strcmp(ln->key, "master") == 0) {
		rd->cur.master = on;
		return true;
	}
	if (on)
		return pgd_v24_err(
		    rd, w,
		    "passdb %s: deny = yes is not supported: this module cannot refuse "
		    "the users a deny passdb lists",
		    rd->stack[rd->top].name);
	return true;
}

bool pgd_v23_key_line(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                      const struct pgd_v24_line *ln)
{
	switch (rd->stack[rd->top].kind) {
	case K_ROOT:
		return key_root(rd, w, ln);
	case K_PASSDB:
		return key_passdb(rd, w, ln);
	default:
		break;
	}
	return pgd_v24_filter_key(rd, w, ln);
}

static void passdb_clear(struct pgd_v24_passdb *p)
{
	free(p->driver);
	free(p->query);
	free(p->scheme);
	*p = (struct pgd_v24_passdb){0};
}

bool pgd_v23_section_begin(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                           const struct pgd_v24_line *ln)
{
	enum pgd_v24_kind in = rd->stack[rd->top].kind, kind = K_OTHER;
	struct pgd_v24_section *s;

	if (rd->top + 1 >= PGD_V24_MAX_SECTIONS)
		return pgd_v24_err(rd, w, "blocks nested deeper than %d", PGD_V24_MAX_SECTIONS);
	if (strcmp(ln->key, "passdb") == 0) {
		if (in != K_ROOT)
			return pgd_v24_err(
			    rd, w,
			    "a passdb block inside '%s' is not supported: this module "
			    "reads the passdb of the top level only",
			    rd->stack[rd->top].type);
		kind = K_PASSDB;
		passdb_clear(&rd->cur);
		pgd_v24_passdb_begin(rd, w);
	}
	s = &rd->stack[++rd->top];
	s->kind = kind;
	pgd_printable(ln->key, s->type, sizeof(s->type));
	pgd_printable(*ln->value != '\0' ? ln->value : "{}", s->name, sizeof(s->name));
	return true;
}

bool pgd_v23_section_end(struct pgd_v24_reader *rd, const struct pgd_v24_where *w)
{
	if (rd->top == 0)
		return pgd_v24_err(rd, w, "Unexpected '}'");
	if (rd->stack[rd->top].kind == K_PASSDB) {
		if (!pgd_v24_passdb_end(rd))
			return false;
		if (!rd->cur.master) {
			/* pgd_v24_passdb_end refused any other driver */
			if (rd->have_sql)
				return pgd_v24_err(
				    rd, w, "a second passdb of driver sql: this module reads one");
			rd->sql = rd->cur;
			rd->cur = (struct pgd_v24_passdb){0};
			rd->have_sql = true;
		}
		passdb_clear(&rd->cur);
	}
	rd->top--;
	return true;
}

bool pgd_v23_finish(struct pgd_v24_reader *rd, const char *path)
{
	char shown[200], a[200], b[200], real_args[PATH_MAX], real_sql[PATH_MAX];
	const char *args = rd->sql.query;

	pgd_printable(path, shown, sizeof(shown));
	if (rd->top != 0) {
		pgd_set_err(rd->err, rd->errlen, "%s: the file ends inside a '%s' block", shown,
		            rd->stack[rd->top].type);
		return false;
	}
	if (!rd->have_sql) {
		pgd_set_err(
		    rd->err, rd->errlen,
		    "%s: no passdb with driver = sql (that is not a master passdb): Dovecot "
		    "does not read the module's dovecot-sql.conf.ext",
		    shown);
		return false;
	}
	if (args == NULL || args[0] != '/' || realpath(args, real_args) == NULL ||
	    realpath(rd->sql_path, real_sql) == NULL || strcmp(real_args, real_sql) != 0) {
		pgd_set_err(rd->err, rd->errlen,
		            "%s: passdb sql reads args = %s; the module reads %s (conf=): name the "
		            "same file",
		            rd->sql.begin, pgd_printable(args != NULL ? args : "", a, sizeof(a)),
		            pgd_printable(rd->sql_path, b, sizeof(b)));
		return false;
	}
	return true;
}
