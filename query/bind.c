// SPDX-License-Identifier: MIT
/*
 * The SQL scanner and binder: reads a password_query the way PostgreSQL's lexer would (quotes,
 * identifiers, E'' and U&'' strings, dollar quotes, nested comments) and turns every Dovecot
 * variable into a bound parameter $k, so that nothing a user typed ever reaches the SQL text.
 * Variables are read by template.c; this file decides where a value can stand.
 *
 * An identifier cannot be bound. Dovecot pastes a variable glued into one (iRedMail's
 * enable%Ls%Lc, "enable%{protocol | lower}%{secured | lower}") into the SQL text; so does this
 * file, but only for the variables whose values come from a closed set, never from the user:
 * %s (a known protocol, pgd_protocol_closed), %c ("", TLS, secured) and %m (a SASL mechanism
 * name), each value checked before it is written. Any other variable glued into a word is refused.
 */
#include "query/query.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query_impl.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/secret.h"
#include "util/str.h"

/* No real query binds this many values; the cap keeps a hostile template cheap. */
#define MAX_PARAMS 100

/* PostgreSQL's identifier characters (scan.l ident_cont, without '$' which callers test). */
static bool is_ident_char(char c)
{
	unsigned char u = (unsigned char)c;

	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
	       u == '_' || u >= 0x80;
}

static bool is_ident_start(char c)
{
	return is_ident_char(c) && !(c >= '0' && c <= '9');
}

/* The parts of a query that may not hold a variable, for copy_region and its messages. */
enum region {
	IN_ESCAPE_STR,  /* E'...' */
	IN_UNICODE_STR, /* U&'...' */
	IN_IDENT,       /* "..." */
	IN_DOLLAR,      /* $tag$...$tag$ */
	IN_LINE_COMMENT,
	IN_BLOCK_COMMENT,
};

/* What a message calls each region. */
static const char *const region_names[] = {
    [IN_ESCAPE_STR] = "an E'...' string (write a plain '...' literal instead)",
    [IN_UNICODE_STR] = "a U&'...' string (write a plain '...' literal instead)",
    [IN_IDENT] = "a double-quoted identifier",
    [IN_DOLLAR] = "a dollar-quoted string (write a plain '...' literal instead)",
    [IN_LINE_COMMENT] = "a comment",
    [IN_BLOCK_COMMENT] = "a comment",
};

struct binder {
	const char *tmpl;
	size_t i; /* next template byte */
	const struct pgd_vars *vars;
	struct pgd_buf sql;
	char **values;
	int nvalues;
	char *err;
	size_t errlen;
	bool nomem;
};

static bool bind_nomem(struct binder *bd)
{
	bd->nomem = true;
	pgd_set_err(bd->err, bd->errlen, "out of memory");
	return false;
}

/* Adds "$k" for value (owned: taken even on failure). */
static bool add_param(struct binder *bd, char *value)
{
	char num[16];
	char **values;

	if (value == NULL)
		return bind_nomem(bd);
	if (bd->nvalues >= MAX_PARAMS) {
		pgd_free_secret(value);
		pgd_set_err(bd->err, bd->errlen, "more than %d variables in the query", MAX_PARAMS);
		return false;
	}
	values = realloc(bd->values, (size_t)(bd->nvalues + 1) * sizeof(*values));
	if (values == NULL) {
		pgd_free_secret(value);
		return bind_nomem(bd);
	}
	bd->values = values;
	bd->values[bd->nvalues++] = value;
	snprintf(num, sizeof(num), "$%d", bd->nvalues);
	pgd_buf_adds(&bd->sql, num);
	if (bd->sql.failed)
		return bind_nomem(bd);
	return true;
}

/* The variables whose values come from a closed set, not from the user. */
static bool closed_var(enum pgd_var_key key)
{
	return key == VAR_SERVICE || key == VAR_SECURED || key == VAR_MECHANISM;
}

/*
 * Writes the value of the closed-set variable v into the SQL text, glued into an identifier
 * (quoted: inside "..."). The value must be one of its set and spell identifier characters
 * only, so that the word stays one word; with bd->vars NULL (a check) it is "" and unchecked.
 */
static bool paste_closed(struct binder *bd, const struct pgd_var_ref *v, bool quoted)
{
	const struct pgd_vars *vars = bd->vars;
	struct pgd_buf val = {0};
	bool ok = true;

	if (!pgd_var_stated(v, vars, bd->err, bd->errlen))
		return false;
	if (vars != NULL && v->key == VAR_SERVICE)
		ok = pgd_protocol_closed(vars->protocols, vars->service);
	else if (vars != NULL && v->key == VAR_SECURED)
		ok = strcmp(vars->secured, "") == 0 || strcmp(vars->secured, "TLS") == 0 ||
		     strcmp(vars->secured, "secured") == 0;
	else if (vars != NULL && v->key == VAR_MECHANISM)
		ok = pgd_mechanism_check(vars->mechanism);
	if (!pgd_var_append(&val, v, vars, bd->err, bd->errlen)) {
		pgd_buf_free(&val);
		return false;
	}
	if (val.failed) {
		pgd_buf_free(&val);
		return bind_nomem(bd);
	}
	for (size_t k = 0; ok && k < val.len; k++)
		ok = (is_ident_char(val.p[k]) || (quoted && val.p[k] == '-')) &&
		     (unsigned char)val.p[k] < 0x80;
	/* Unquoted, the value must continue or start a name, never a number ("3x", "5imap") or a
	 * parameter ("$1imap"); a check, with no value, cannot tell. */
	if (ok && !quoted && vars != NULL) {
		size_t w = bd->sql.len;

		while (w > 0 && is_ident_char(bd->sql.p[w - 1]))
			w--;
		if (w < bd->sql.len)
			ok = !(bd->sql.p[w] >= '0' && bd->sql.p[w] <= '9') &&
			     !(w > 0 && bd->sql.p[w - 1] == '$');
		else
			ok = val.len == 0 || !(val.p[0] >= '0' && val.p[0] <= '9');
	}
	if (!ok) {
		pgd_buf_free(&val);
		pgd_set_err(bd->err, bd->errlen,
		            "the %s written into the identifier at offset %zu is not one the query "
		            "may name (%s)",
		            v->key == VAR_SERVICE   ? "protocol"
		            : v->key == VAR_SECURED ? "secured value"
		                                    : "mechanism",
		            bd->i,
		            v->key == VAR_SERVICE
		                ? "a Dovecot protocol or one service_protocols names"
		                : "letters, digits and _ only");
		return false;
	}
	pgd_buf_add(&bd->sql, val.p != NULL ? val.p : "", val.len);
	pgd_buf_free(&val);
	return !bd->sql.failed || bind_nomem(bd);
}

/*
 * A parameter may not touch an identifier or number: "abc$1" would read as one identifier and
 * "$1" followed by "5" as "$15". Dovecot would have glued the value into the word; there is no
 * bound equivalent, so refuse.
 */
static bool param_glued(struct binder *bd, size_t next)
{
	char before = pgd_buf_last(&bd->sql, 0);
	char after = bd->tmpl[next];

	return is_ident_char(before) || before == '$' || is_ident_char(after) || after == '$';
}

static bool param_fits(struct binder *bd, size_t next)
{
	if (param_glued(bd, next)) {
		pgd_set_err(bd->err, bd->errlen,
		            "the value bound at offset %zu would be glued to a word or number "
		            "(quote the variable on its own: '%%u'; only %%s, %%c and %%m, whose "
		            "values come from a closed set, may be part of a name)",
		            bd->i);
		return false;
	}
	return true;
}

/*
 * Copies a region that may not hold variables (identifier, E'' string, comment, ...) from
 * bd->i up to and including its terminator. end(p, ctx) returns the length of the terminator
 * starting at p, or 0; depth counts open block comments. "%%" becomes '%', as Dovecot would
 * have made it; any other variable is refused, since no parameter can stand there.
 */
static bool copy_region(struct binder *bd, enum region r, size_t (*end)(const char *p, void *ctx),
                        void *ctx, size_t *depth)
{
	const char *t = bd->tmpl;
	struct pgd_var_ref v;

	for (;;) {
		size_t n;

		if (t[bd->i] == '\0') {
			if (r == IN_LINE_COMMENT)
				return true;
			pgd_set_err(bd->err, bd->errlen, "unterminated %s in query",
			            r == IN_BLOCK_COMMENT ? "comment" : region_names[r]);
			return false;
		}
		if (t[bd->i] == '%') {
			if (!pgd_var_parse(t + bd->i, &v, bd->err, bd->errlen))
				return false;
			if (r == IN_IDENT && closed_var(v.key)) {
				if (!paste_closed(bd, &v, true))
					return false;
				bd->i += v.len;
				continue;
			}
			if (v.key != VAR_PERCENT) {
				pgd_set_err(
				    bd->err, bd->errlen, "a variable inside %s cannot be bound%s",
				    region_names[r],
				    r == IN_IDENT ? " (only %s, %c and %m, whose values come "
				                    "from a closed set, may be part of a name)"
				                  : "");
				return false;
			}
			pgd_buf_addc(&bd->sql, '%');
			bd->i += v.len;
			continue;
		}
		if (r == IN_BLOCK_COMMENT && t[bd->i] == '/' && t[bd->i + 1] == '*') {
			/* PostgreSQL's block comments nest. */
			(*depth)++;
			pgd_buf_add(&bd->sql, "/*", 2);
			bd->i += 2;
			continue;
		}
		n = end(t + bd->i, ctx);
		if (n > 0) {
			pgd_buf_add(&bd->sql, t + bd->i, n);
			bd->i += n;
			if (r != IN_BLOCK_COMMENT || --(*depth) == 0)
				return true;
			continue;
		}
		/* Escaped characters travel as a pair so the scan never stops inside one. */
		if (r == IN_ESCAPE_STR && t[bd->i] == '\\' && t[bd->i + 1] != '\0') {
			pgd_buf_add(&bd->sql, t + bd->i, 2);
			bd->i += 2;
			continue;
		}
		if ((r == IN_IDENT && t[bd->i] == '"' && t[bd->i + 1] == '"') ||
		    ((r == IN_ESCAPE_STR || r == IN_UNICODE_STR) && t[bd->i] == '\'' &&
		     t[bd->i + 1] == '\'')) {
			pgd_buf_add(&bd->sql, t + bd->i, 2);
			bd->i += 2;
			continue;
		}
		pgd_buf_addc(&bd->sql, t[bd->i]);
		bd->i++;
	}
}

static size_t end_quote(const char *p, void *ctx)
{
	char q = *(const char *)ctx;

	return *p == q && p[1] != q ? 1 : 0;
}

static size_t end_line(const char *p, void *ctx)
{
	(void)ctx;
	return *p == '\n' || *p == '\r' ? 1 : 0;
}

static size_t end_block(const char *p, void *ctx)
{
	(void)ctx;
	return p[0] == '*' && p[1] == '/' ? 2 : 0;
}

static size_t end_dollar(const char *p, void *ctx)
{
	const char *tag = ctx; /* "$tag$" */
	size_t n = strlen(tag);

	return strncmp(p, tag, n) == 0 ? n : 0;
}

/*
 * A plain '...' literal starting at bd->i (the opening quote). Without variables it is copied
 * as it stands ("%%" made '%'); with variables the whole literal becomes one parameter whose
 * value is its content with '' read as ' and the variables expanded. Backslashes are ordinary
 * characters, as with standard_conforming_strings=on, PostgreSQL's default since 9.1.
 */
static bool bind_literal(struct binder *bd)
{
	const char *t = bd->tmpl;
	size_t start = bd->i, j = bd->i + 1;
	bool has_vars = false;
	struct pgd_buf val = {0};
	struct pgd_var_ref v;

	/* First pass: find the end and whether a variable sits inside. */
	for (;;) {
		if (t[j] == '\0') {
			pgd_set_err(bd->err, bd->errlen, "unterminated string literal in query");
			return false;
		}
		if (t[j] == '%') {
			if (!pgd_var_parse(t + j, &v, bd->err, bd->errlen) ||
			    !pgd_var_stated(&v, bd->vars, bd->err, bd->errlen))
				return false;
			if (v.key != VAR_PERCENT)
				has_vars = true;
			j += v.len;
			continue;
		}
		if (t[j] == '\'') {
			if (t[j + 1] == '\'') {
				j += 2;
				continue;
			}
			break;
		}
		j++;
	}
	if (!has_vars) {
		bd->i = start;
		for (; bd->i <= j; bd->i++) {
			pgd_buf_addc(&bd->sql, t[bd->i]);
			if (t[bd->i] == '%')
				bd->i++; /* "%%" */
		}
		return true;
	}
	/* A prefix (N'', X'', B'', or a type name glued to the quote) would swallow "$k". */
	if (is_ident_char(pgd_buf_last(&bd->sql, 0)) || pgd_buf_last(&bd->sql, 0) == '&' ||
	    pgd_buf_last(&bd->sql, 0) == '$') {
		pgd_set_err(bd->err, bd->errlen,
		            "a variable inside a prefixed or glued string literal at offset %zu",
		            start);
		return false;
	}
	for (bd->i = start + 1; bd->i < j;) {
		if (t[bd->i] == '%') {
			(void)pgd_var_parse(t + bd->i, &v, NULL, 0);
			if (!pgd_var_append_sql(&val, &v, bd->vars, bd->err, bd->errlen)) {
				pgd_buf_free(&val);
				return false;
			}
			bd->i += v.len;
		} else if (t[bd->i] == '\'') {
			pgd_buf_addc(&val, '\'');
			bd->i += 2;
		} else {
			pgd_buf_addc(&val, t[bd->i]);
			bd->i++;
		}
	}
	bd->i = j; /* at the closing quote */
	if (!param_fits(bd, j + 1)) {
		pgd_buf_free(&val);
		return false;
	}
	if (!add_param(bd, pgd_buf_take(&val)))
		return false;
	bd->i = j + 1;
	return true;
}

/* At a '$' outside quotes: a dollar-quoted string, a positional parameter, or plain text. */
static bool bind_dollar(struct binder *bd)
{
	const char *t = bd->tmpl;
	size_t j = bd->i + 1;
	char tag[66];
	size_t depth = 0;

	if (is_ident_char(pgd_buf_last(&bd->sql, 0)) || pgd_buf_last(&bd->sql, 0) == '$') {
		/* Part of an identifier such as a$b; PostgreSQL reads it so too. */
		pgd_buf_addc(&bd->sql, '$');
		bd->i++;
		return true;
	}
	if (t[j] >= '0' && t[j] <= '9') {
		pgd_set_err(bd->err, bd->errlen,
		            "the query already holds a positional parameter ($%c...); use Dovecot "
		            "variables such as '%%u' instead",
		            t[j]);
		return false;
	}
	if (is_ident_start(t[j])) {
		while (is_ident_char(t[j]))
			j++;
	}
	if (t[j] != '$') {
		pgd_buf_addc(&bd->sql, '$');
		bd->i++;
		return true;
	}
	if (j - bd->i + 2 > sizeof(tag)) {
		pgd_set_err(bd->err, bd->errlen, "dollar-quote tag longer than %zu bytes",
		            sizeof(tag) - 3);
		return false;
	}
	memcpy(tag, t + bd->i, j - bd->i + 1);
	tag[j - bd->i + 1] = '\0';
	pgd_buf_adds(&bd->sql, tag);
	bd->i = j + 1;
	return copy_region(bd, IN_DOLLAR, end_dollar, tag, &depth);
}

/* A variable outside quotes becomes "$k" bound to its value. */
static bool bind_var(struct binder *bd, const struct pgd_var_ref *v)
{
	struct pgd_buf val = {0};
	char before = pgd_buf_last(&bd->sql, 0), after = bd->tmpl[bd->i + v->len];

	if (!pgd_var_stated(v, bd->vars, bd->err, bd->errlen))
		return false;
	/* Glued into a word: written into it when its values are a closed set (not beside '$'). */
	if (closed_var(v->key) && param_glued(bd, bd->i + v->len) && before != '$' &&
	    after != '$') {
		if (!paste_closed(bd, v, false))
			return false;
		bd->i += v->len;
		return true;
	}
	if (!param_fits(bd, bd->i + v->len))
		return false;
	if (!pgd_var_append_sql(&val, v, bd->vars, bd->err, bd->errlen)) {
		pgd_buf_free(&val);
		return false;
	}
	if (!add_param(bd, pgd_buf_take(&val)))
		return false;
	bd->i += v->len;
	return true;
}

/* Scans the whole template; on failure err is set and the caller frees what was built. */
static bool bind_all(struct binder *bd)
{
	const char *t = bd->tmpl;
	struct pgd_var_ref v;
	size_t depth = 0;
	char q;

	while (t[bd->i] != '\0') {
		char c = t[bd->i];
		char b0 = pgd_buf_last(&bd->sql, 0), b1 = pgd_buf_last(&bd->sql, 1),
		     b2 = pgd_buf_last(&bd->sql, 2);

		if (c == '%') {
			if (!pgd_var_parse(t + bd->i, &v, bd->err, bd->errlen))
				return false;
			if (v.key == VAR_PERCENT) {
				pgd_buf_addc(&bd->sql, '%');
				bd->i += v.len;
				continue;
			}
			if (!bind_var(bd, &v))
				return false;
		} else if (c == '\'' && (b0 == 'E' || b0 == 'e') && !is_ident_char(b1) &&
		           b1 != '$') {
			q = '\'';
			pgd_buf_addc(&bd->sql, c);
			bd->i++;
			if (!copy_region(bd, IN_ESCAPE_STR, end_quote, &q, &depth))
				return false;
		} else if (c == '\'' && b0 == '&' && (b1 == 'U' || b1 == 'u') &&
		           !is_ident_char(b2) && b2 != '$') {
			q = '\'';
			pgd_buf_addc(&bd->sql, c);
			bd->i++;
			if (!copy_region(bd, IN_UNICODE_STR, end_quote, &q, &depth))
				return false;
		} else if (c == '\'') {
			if (!bind_literal(bd))
				return false;
		} else if (c == '"') {
			q = '"';
			pgd_buf_addc(&bd->sql, c);
			bd->i++;
			if (!copy_region(bd, IN_IDENT, end_quote, &q, &depth))
				return false;
		} else if (c == '-' && t[bd->i + 1] == '-') {
			pgd_buf_add(&bd->sql, "--", 2);
			bd->i += 2;
			if (!copy_region(bd, IN_LINE_COMMENT, end_line, NULL, &depth))
				return false;
		} else if (c == '/' && t[bd->i + 1] == '*') {
			pgd_buf_add(&bd->sql, "/*", 2);
			bd->i += 2;
			depth = 1;
			if (!copy_region(bd, IN_BLOCK_COMMENT, end_block, NULL, &depth))
				return false;
		} else if (c == '$') {
			if (!bind_dollar(bd))
				return false;
		} else {
			pgd_buf_addc(&bd->sql, c);
			bd->i++;
		}
		if (bd->sql.failed)
			return bind_nomem(bd);
	}
	return true;
}

enum pgd_query_result pgd_query_bind(const char *tmpl, const struct pgd_vars *vars,
                                     struct pgd_query *q, char *err, size_t errlen)
{
	struct binder bd = {.tmpl = tmpl, .vars = vars, .err = err, .errlen = errlen};
	bool ok;

	*q = (struct pgd_query){0};
	if (!pgd_str_set(tmpl)) {
		pgd_set_err(err, errlen, "empty query");
		return PGD_QUERY_INVALID;
	}
	ok = bind_all(&bd);
	if (ok && bd.sql.failed)
		ok = bind_nomem(&bd);
	q->sql = ok ? pgd_buf_take(&bd.sql) : NULL;
	if (ok && q->sql == NULL)
		ok = bind_nomem(&bd);
	q->values = bd.values;
	q->nparams = bd.nvalues;
	q->secret = vars != NULL && vars->hash != NULL;
	if (!ok) {
		pgd_buf_free(&bd.sql);
		pgd_query_free(q);
		return bd.nomem ? PGD_QUERY_NOMEM : PGD_QUERY_INVALID;
	}
	return PGD_QUERY_OK;
}

enum pgd_query_result pgd_query_check(const char *tmpl, char *err, size_t errlen)
{
	struct pgd_query q;
	enum pgd_query_result r = pgd_query_bind(tmpl, NULL, &q, err, errlen);

	pgd_query_free(&q);
	return r;
}

void pgd_query_free(struct pgd_query *q)
{
	int i;

	if (q == NULL)
		return;
	for (i = 0; i < q->nparams; i++)
		pgd_free_secret(q->values[i]);
	free(q->values);
	free(q->sql);
	*q = (struct pgd_query){0};
}
