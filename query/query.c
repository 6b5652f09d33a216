// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3 %-variables (lib/var-expand.c, auth/auth-request-var-expand.c), limited to what a
 * password lookup needs, and the SQL scanner that turns them into bound parameters.
 *
 * Variable syntax, as Dovecot reads it: '%', then modifiers, then a one-letter key or a
 * "{long_key}". "%%" is a literal '%'. Of Dovecot's modifiers only L (lowercase) and U
 * (uppercase) are accepted; several may be stacked and apply left to right, as in Dovecot.
 * Width and offset ("%3n", "%.1n") and every other variable are refused rather than expanded
 * to something different from what Dovecot would send.
 */
#include "query/query.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

/* No real query binds this many values; the cap keeps a hostile template cheap. */
#define MAX_PARAMS 100

enum var_key {
	VAR_PERCENT, /* "%%" */
	VAR_USER,
	VAR_USERNAME,
	VAR_DOMAIN,
	VAR_SERVICE,
	VAR_RIP,
	VAR_LIP,
	VAR_HASH,
	VAR_ORIG_USER,
};

enum var_case {
	CASE_KEEP,
	CASE_LOWER,
	CASE_UPPER,
};

struct var_ref {
	enum var_key key;
	enum var_case mod;
	size_t len; /* template bytes taken, '%' included */
};

struct var_name {
	char letter;
	const char *name;
	enum var_key key;
};

static const struct var_name var_names[] = {
    {'u', "user", VAR_USER},
    {'n', "username", VAR_USERNAME},
    {'d', "domain", VAR_DOMAIN},
    {'s', "service", VAR_SERVICE},
    {'r', "rip", VAR_RIP},
    {'l', "lip", VAR_LIP},
    {'\0', "hash", VAR_HASH}, /* long form only: ours, for password_update_query */
    {'\0', "orig_user", VAR_ORIG_USER},
    {'\0', "original_user", VAR_ORIG_USER},
};

/* A growing NUL-terminated string; failed is sticky so callers check once at the end. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

static void buf_grow(struct buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return;
	if (more > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return;
	}
	need = b->len + more + 1;
	if (need <= b->cap)
		return;
	cap = b->cap != 0 ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->failed = true;
		return;
	}
	b->p = p;
	b->cap = cap;
	b->p[b->len] = '\0';
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

static char buf_last(const struct buf *b, size_t back)
{
	return b->len > back ? b->p[b->len - 1 - back] : '\0';
}

/* Returns the string (possibly "" when nothing was added) or NULL on allocation failure. */
static char *buf_take(struct buf *b)
{
	char *p;

	if (!b->failed && b->p == NULL)
		buf_grow(b, 0);
	if (b->failed) {
		free(b->p);
		*b = (struct buf){0};
		return NULL;
	}
	p = b->p;
	*b = (struct buf){0};
	return p;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){0};
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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

/* Copies at most outlen-1 bytes of s (n bytes) into out, printable ASCII only, for messages. */
static const char *printable(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
	return out;
}

/*
 * Reads one variable at s (s[0] == '%'). On success fills *v and returns true; otherwise err
 * holds a one-line reason naming the variable (printable characters only).
 */
static bool parse_var(const char *s, struct var_ref *v, char *err, size_t errlen)
{
	const char *p = s + 1;
	char shown[40];
	size_t i;

	v->mod = CASE_KEEP;
	if (*p == '%') {
		v->key = VAR_PERCENT;
		v->len = 2;
		return true;
	}
	for (; *p == 'L' || *p == 'U'; p++)
		v->mod = *p == 'L' ? CASE_LOWER : CASE_UPPER;
	if (*p == '\0') {
		set_err(err, errlen,
		        "'%%' at the end of the template (write %%%% for a literal %%)");
		return false;
	}
	if (strchr("EXRHNMDT", *p) != NULL) {
		set_err(err, errlen, "modifier %%%c is not supported (only %%L and %%U are)", *p);
		return false;
	}
	if ((*p >= '0' && *p <= '9') || *p == '-' || *p == '.') {
		set_err(err, errlen, "width and offset (as in %%3n) are not supported");
		return false;
	}
	if (*p == '{') {
		const char *name = p + 1;
		const char *end = strchr(name, '}');
		size_t n;

		if (end == NULL) {
			set_err(err, errlen, "unterminated %%{ in template");
			return false;
		}
		n = (size_t)(end - name);
		if (n == 8 && memcmp(name, "password", 8) == 0) {
			set_err(err, errlen,
			        "%%{password} is refused: the password must never reach the "
			        "database");
			return false;
		}
		for (i = 0; i < sizeof(var_names) / sizeof(var_names[0]); i++) {
			if (strlen(var_names[i].name) == n &&
			    memcmp(var_names[i].name, name, n) == 0) {
				v->key = var_names[i].key;
				v->len = (size_t)(end + 1 - s);
				return true;
			}
		}
		set_err(err, errlen, "unknown or unsupported variable %%{%s}",
		        printable(name, n, shown, sizeof(shown)));
		return false;
	}
	if (*p == 'w') {
		set_err(err, errlen, "%%w is refused: the password must never reach the database");
		return false;
	}
	for (i = 0; i < sizeof(var_names) / sizeof(var_names[0]); i++) {
		if (var_names[i].letter == *p) {
			v->key = var_names[i].key;
			v->len = (size_t)(p + 1 - s);
			return true;
		}
	}
	if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
		set_err(err, errlen, "unknown or unsupported variable %%%c", *p);
	else
		set_err(err, errlen, "unknown or unsupported variable %%\\x%02x",
		        (unsigned)(unsigned char)*p);
	return false;
}

/* Appends the value of v (vars may be NULL: every value is then ""). */
static void append_var(struct buf *b, const struct var_ref *v, const struct pgd_vars *vars)
{
	const char *user = vars != NULL && vars->user != NULL ? vars->user : "";
	const char *val = "";
	const char *at;
	size_t start, n, i;

	switch (v->key) {
	case VAR_PERCENT:
		buf_addc(b, '%');
		return;
	case VAR_USER:
		val = user;
		break;
	case VAR_USERNAME:
		/* Dovecot: t_strcut(user, '@'), the part before the first '@'. */
		at = strchr(user, '@');
		start = b->len;
		buf_add(b, user, at != NULL ? (size_t)(at - user) : strlen(user));
		goto apply_case;
	case VAR_DOMAIN:
		/* Dovecot: after the first '@'; no '@' gives "". */
		at = strchr(user, '@');
		val = at != NULL ? at + 1 : "";
		break;
	case VAR_SERVICE:
		val = vars != NULL && vars->service != NULL ? vars->service : "";
		break;
	case VAR_RIP:
		val = vars != NULL && vars->rip != NULL ? vars->rip : "";
		break;
	case VAR_LIP:
		val = vars != NULL && vars->lip != NULL ? vars->lip : "";
		break;
	case VAR_HASH:
		val = vars != NULL && vars->hash != NULL ? vars->hash : "";
		break;
	case VAR_ORIG_USER:
		val = vars != NULL && vars->orig_user != NULL ? vars->orig_user : "";
		break;
	}
	start = b->len;
	buf_add(b, val, strlen(val));
apply_case:
	if (b->failed || v->mod == CASE_KEEP)
		return;
	/* ASCII only, like Dovecot's i_tolower/i_toupper: no locale may change a login name. */
	n = b->len - start;
	for (i = 0; i < n; i++) {
		char *c = &b->p[start + i];

		if (v->mod == CASE_LOWER && *c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
		else if (v->mod == CASE_UPPER && *c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	}
}

enum pgd_query_result pgd_expand(const char *tmpl, const struct pgd_vars *vars, char **out,
                                 char *err, size_t errlen)
{
	struct buf b = {0};
	const char *p = tmpl != NULL ? tmpl : "";
	struct var_ref v;

	*out = NULL;
	while (*p != '\0') {
		const char *pct = strchr(p, '%');

		if (pct == NULL) {
			buf_add(&b, p, strlen(p));
			break;
		}
		buf_add(&b, p, (size_t)(pct - p));
		if (!parse_var(pct, &v, err, errlen)) {
			buf_free(&b);
			return PGD_QUERY_INVALID;
		}
		append_var(&b, &v, vars);
		p = pct + v.len;
	}
	*out = buf_take(&b);
	if (*out == NULL) {
		set_err(err, errlen, "out of memory");
		return PGD_QUERY_NOMEM;
	}
	return PGD_QUERY_OK;
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

static const char *region_name(enum region r)
{
	switch (r) {
	case IN_ESCAPE_STR:
		return "an E'...' string (write a plain '...' literal instead)";
	case IN_UNICODE_STR:
		return "a U&'...' string (write a plain '...' literal instead)";
	case IN_IDENT:
		return "a double-quoted identifier";
	case IN_DOLLAR:
		return "a dollar-quoted string (write a plain '...' literal instead)";
	case IN_LINE_COMMENT:
	case IN_BLOCK_COMMENT:
		return "a comment";
	}
	return "?";
}

struct binder {
	const char *tmpl;
	size_t i; /* next template byte */
	const struct pgd_vars *vars;
	struct buf sql;
	char **values;
	int nvalues;
	char *err;
	size_t errlen;
	bool nomem;
};

static bool bind_nomem(struct binder *bd)
{
	bd->nomem = true;
	set_err(bd->err, bd->errlen, "out of memory");
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
		free(value);
		set_err(bd->err, bd->errlen, "more than %d variables in the query", MAX_PARAMS);
		return false;
	}
	values = realloc(bd->values, (size_t)(bd->nvalues + 1) * sizeof(*values));
	if (values == NULL) {
		free(value);
		return bind_nomem(bd);
	}
	bd->values = values;
	bd->values[bd->nvalues++] = value;
	snprintf(num, sizeof(num), "$%d", bd->nvalues);
	buf_add(&bd->sql, num, strlen(num));
	if (bd->sql.failed)
		return bind_nomem(bd);
	return true;
}

/*
 * A parameter may not touch an identifier or number: "abc$1" would read as one identifier and
 * "$1" followed by "5" as "$15". Dovecot would have glued the value into the word; there is no
 * bound equivalent, so refuse.
 */
static bool param_fits(struct binder *bd, size_t next)
{
	char before = buf_last(&bd->sql, 0);
	char after = bd->tmpl[next];

	if (is_ident_char(before) || before == '$' || is_ident_char(after) || after == '$') {
		set_err(bd->err, bd->errlen,
		        "the value bound at offset %zu would be glued to a word or number "
		        "(quote the variable on its own: '%%u')",
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
	struct var_ref v;

	for (;;) {
		size_t n;

		if (t[bd->i] == '\0') {
			if (r == IN_LINE_COMMENT)
				return true;
			set_err(bd->err, bd->errlen, "unterminated %s in query",
			        r == IN_BLOCK_COMMENT ? "comment" : region_name(r));
			return false;
		}
		if (t[bd->i] == '%') {
			if (!parse_var(t + bd->i, &v, bd->err, bd->errlen))
				return false;
			if (v.key != VAR_PERCENT) {
				set_err(bd->err, bd->errlen, "a variable inside %s cannot be bound",
				        region_name(r));
				return false;
			}
			buf_addc(&bd->sql, '%');
			bd->i += v.len;
			continue;
		}
		if (r == IN_BLOCK_COMMENT && t[bd->i] == '/' && t[bd->i + 1] == '*') {
			/* PostgreSQL's block comments nest. */
			(*depth)++;
			buf_add(&bd->sql, "/*", 2);
			bd->i += 2;
			continue;
		}
		n = end(t + bd->i, ctx);
		if (n > 0) {
			buf_add(&bd->sql, t + bd->i, n);
			bd->i += n;
			if (r != IN_BLOCK_COMMENT || --(*depth) == 0)
				return true;
			continue;
		}
		/* Escaped characters travel as a pair so the scan never stops inside one. */
		if (r == IN_ESCAPE_STR && t[bd->i] == '\\' && t[bd->i + 1] != '\0') {
			buf_add(&bd->sql, t + bd->i, 2);
			bd->i += 2;
			continue;
		}
		if ((r == IN_IDENT && t[bd->i] == '"' && t[bd->i + 1] == '"') ||
		    ((r == IN_ESCAPE_STR || r == IN_UNICODE_STR) && t[bd->i] == '\'' &&
		     t[bd->i + 1] == '\'')) {
			buf_add(&bd->sql, t + bd->i, 2);
			bd->i += 2;
			continue;
		}
		buf_addc(&bd->sql, t[bd->i]);
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
	struct buf val = {0};
	struct var_ref v;

	/* First pass: find the end and whether a variable sits inside. */
	for (;;) {
		if (t[j] == '\0') {
			set_err(bd->err, bd->errlen, "unterminated string literal in query");
			return false;
		}
		if (t[j] == '%') {
			if (!parse_var(t + j, &v, bd->err, bd->errlen))
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
			buf_addc(&bd->sql, t[bd->i]);
			if (t[bd->i] == '%')
				bd->i++; /* "%%" */
		}
		return true;
	}
	/* A prefix (N'', X'', B'', or a type name glued to the quote) would swallow "$k". */
	if (is_ident_char(buf_last(&bd->sql, 0)) || buf_last(&bd->sql, 0) == '&' ||
	    buf_last(&bd->sql, 0) == '$') {
		set_err(bd->err, bd->errlen,
		        "a variable inside a prefixed or glued string literal at offset %zu",
		        start);
		return false;
	}
	for (bd->i = start + 1; bd->i < j;) {
		if (t[bd->i] == '%') {
			(void)parse_var(t + bd->i, &v, NULL, 0);
			append_var(&val, &v, bd->vars);
			bd->i += v.len;
		} else if (t[bd->i] == '\'') {
			buf_addc(&val, '\'');
			bd->i += 2;
		} else {
			buf_addc(&val, t[bd->i]);
			bd->i++;
		}
	}
	bd->i = j; /* at the closing quote */
	if (!param_fits(bd, j + 1)) {
		buf_free(&val);
		return false;
	}
	if (!add_param(bd, buf_take(&val)))
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

	if (is_ident_char(buf_last(&bd->sql, 0)) || buf_last(&bd->sql, 0) == '$') {
		/* Part of an identifier such as a$b; PostgreSQL reads it so too. */
		buf_addc(&bd->sql, '$');
		bd->i++;
		return true;
	}
	if (t[j] >= '0' && t[j] <= '9') {
		set_err(bd->err, bd->errlen,
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
		buf_addc(&bd->sql, '$');
		bd->i++;
		return true;
	}
	if (j - bd->i + 2 > sizeof(tag)) {
		set_err(bd->err, bd->errlen, "dollar-quote tag longer than %zu bytes",
		        sizeof(tag) - 3);
		return false;
	}
	memcpy(tag, t + bd->i, j - bd->i + 1);
	tag[j - bd->i + 1] = '\0';
	buf_add(&bd->sql, tag, strlen(tag));
	bd->i = j + 1;
	return copy_region(bd, IN_DOLLAR, end_dollar, tag, &depth);
}

/* A variable outside quotes becomes "$k" bound to its value. */
static bool bind_var(struct binder *bd, const struct var_ref *v)
{
	struct buf val = {0};

	if (!param_fits(bd, bd->i + v->len))
		return false;
	append_var(&val, v, bd->vars);
	if (!add_param(bd, buf_take(&val)))
		return false;
	bd->i += v->len;
	return true;
}

/* Scans the whole template; on failure err is set and the caller frees what was built. */
static bool bind_all(struct binder *bd)
{
	const char *t = bd->tmpl;
	struct var_ref v;
	size_t depth = 0;
	char q;

	while (t[bd->i] != '\0') {
		char c = t[bd->i];
		char b0 = buf_last(&bd->sql, 0), b1 = buf_last(&bd->sql, 1),
		     b2 = buf_last(&bd->sql, 2);

		if (c == '%') {
			if (!parse_var(t + bd->i, &v, bd->err, bd->errlen))
				return false;
			if (v.key == VAR_PERCENT) {
				buf_addc(&bd->sql, '%');
				bd->i += v.len;
				continue;
			}
			if (!bind_var(bd, &v))
				return false;
		} else if (c == '\'' && (b0 == 'E' || b0 == 'e') && !is_ident_char(b1) &&
		           b1 != '$') {
			q = '\'';
			buf_addc(&bd->sql, c);
			bd->i++;
			if (!copy_region(bd, IN_ESCAPE_STR, end_quote, &q, &depth))
				return false;
		} else if (c == '\'' && b0 == '&' && (b1 == 'U' || b1 == 'u') &&
		           !is_ident_char(b2) && b2 != '$') {
			q = '\'';
			buf_addc(&bd->sql, c);
			bd->i++;
			if (!copy_region(bd, IN_UNICODE_STR, end_quote, &q, &depth))
				return false;
		} else if (c == '\'') {
			if (!bind_literal(bd))
				return false;
		} else if (c == '"') {
			q = '"';
			buf_addc(&bd->sql, c);
			bd->i++;
			if (!copy_region(bd, IN_IDENT, end_quote, &q, &depth))
				return false;
		} else if (c == '-' && t[bd->i + 1] == '-') {
			buf_add(&bd->sql, "--", 2);
			bd->i += 2;
			if (!copy_region(bd, IN_LINE_COMMENT, end_line, NULL, &depth))
				return false;
		} else if (c == '/' && t[bd->i + 1] == '*') {
			buf_add(&bd->sql, "/*", 2);
			bd->i += 2;
			depth = 1;
			if (!copy_region(bd, IN_BLOCK_COMMENT, end_block, NULL, &depth))
				return false;
		} else if (c == '$') {
			if (!bind_dollar(bd))
				return false;
		} else {
			buf_addc(&bd->sql, c);
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
	if (tmpl == NULL || *tmpl == '\0') {
		set_err(err, errlen, "empty query");
		return PGD_QUERY_INVALID;
	}
	ok = bind_all(&bd);
	if (ok && bd.sql.failed)
		ok = bind_nomem(&bd);
	q->sql = ok ? buf_take(&bd.sql) : NULL;
	if (ok && q->sql == NULL)
		ok = bind_nomem(&bd);
	q->values = bd.values;
	q->nparams = bd.nvalues;
	q->secret = vars != NULL && vars->hash != NULL;
	if (!ok) {
		buf_free(&bd.sql);
		pgd_query_free(q);
		return bd.nomem ? PGD_QUERY_NOMEM : PGD_QUERY_INVALID;
	}
	return PGD_QUERY_OK;
}

bool pgd_query_uses_domain(const char *tmpl)
{
	struct var_ref v;

	for (const char *p = tmpl != NULL ? strchr(tmpl, '%') : NULL; p != NULL;
	     p = strchr(p, '%')) {
		if (!parse_var(p, &v, NULL, 0))
			return false;
		if (v.key == VAR_DOMAIN)
			return true;
		p += v.len;
	}
	return false;
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
		free(q->values[i]);
	free(q->values);
	free(q->sql);
	*q = (struct pgd_query){0};
}

/* Refuses control bytes (which no log line or SQL value should carry) and names the first. */
static bool check_bytes(const char *s, const char *chars, const char *what, char *err,
                        size_t errlen)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			set_err(err, errlen, "%s contains control byte 0x%02x", what, *p);
			return false;
		}
		if (chars != NULL && *chars != '\0' && strchr(chars, *p) == NULL) {
			set_err(err, errlen,
			        "%s contains byte 0x%02x, not allowed by username_chars", what, *p);
			return false;
		}
	}
	return true;
}

enum pgd_user_result pgd_user_normalize(const char *pam_user, const char *format, const char *chars,
                                        const char *default_domain, const struct pgd_vars *vars,
                                        char **out, char *err, size_t errlen)
{
	struct pgd_vars v = {0};
	struct buf name = {0};
	char *res = NULL;
	size_t len;

	*out = NULL;
	/* Dovecot refuses an empty name only after the realm is added, which lets "" through as
	 * "@realm"; an empty PAM user is never a real login, so refuse it first. */
	if (pam_user == NULL || *pam_user == '\0') {
		set_err(err, errlen, "empty user name");
		return PGD_USER_INVALID;
	}
	/* Checked before any copy so a huge name costs nothing. */
	len = strnlen(pam_user, PGD_MAX_USER_LEN + 1);
	if (len > PGD_MAX_USER_LEN) {
		set_err(err, errlen, "user name longer than %d bytes", PGD_MAX_USER_LEN);
		return PGD_USER_INVALID;
	}
	/* Dovecot's auth_request_fix_username: realm first, then the character check on the
	 * result, then username_format with %u set to the name so far. */
	buf_add(&name, pam_user, len);
	if (default_domain != NULL && *default_domain != '\0' && strchr(pam_user, '@') == NULL) {
		buf_addc(&name, '@');
		buf_add(&name, default_domain, strlen(default_domain));
	}
	if (name.failed) {
		buf_free(&name);
		set_err(err, errlen, "out of memory");
		return PGD_USER_NOMEM;
	}
	if (!check_bytes(name.p, chars, "user name", err, errlen)) {
		buf_free(&name);
		return PGD_USER_INVALID;
	}
	if (format == NULL || *format == '\0') {
		res = buf_take(&name);
	} else {
		if (vars != NULL)
			v = *vars;
		v.user = name.p;
		switch (pgd_expand(format, &v, &res, err, errlen)) {
		case PGD_QUERY_OK:
			break;
		case PGD_QUERY_INVALID:
			buf_free(&name);
			return PGD_USER_INVALID;
		case PGD_QUERY_NOMEM:
			buf_free(&name);
			return PGD_USER_NOMEM;
		}
		buf_free(&name);
	}
	if (res == NULL) {
		set_err(err, errlen, "out of memory");
		return PGD_USER_NOMEM;
	}
	if (*res == '\0') {
		free(res);
		set_err(err, errlen, "empty user name");
		return PGD_USER_INVALID;
	}
	/* The format may add %s, %r or %l: look at the result again. */
	if (strlen(res) > PGD_MAX_USER_LEN) {
		free(res);
		set_err(err, errlen, "user name longer than %d bytes", PGD_MAX_USER_LEN);
		return PGD_USER_INVALID;
	}
	if (!check_bytes(res, NULL, "user name", err, errlen)) {
		free(res);
		return PGD_USER_INVALID;
	}
	*out = res;
	return PGD_USER_OK;
}

/* 2.4's variables and the 2.3 form each becomes; parts (username, domain) only on the first two. */
static const struct {
	const char *name;
	const char *v23;      /* with %, without modifiers */
	const char *v23_user; /* the username part, or NULL: the filter is refused */
	const char *v23_domain;
} v24_vars[] = {
    {"user", "u", "n", "d"},       {"original_user", "{orig_user}", NULL, NULL},
    {"protocol", "s", NULL, NULL}, {"remote_ip", "r", NULL, NULL},
    {"local_ip", "l", NULL, NULL}, {"hash", "{hash}", NULL, NULL},
};

static bool v24_word(const char **p, const char *end, char *out, size_t outlen)
{
	size_t n = 0;

	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	while (*p < end && ((**p >= 'a' && **p <= 'z') || (**p >= 'A' && **p <= 'Z') ||
	                    (**p >= '0' && **p <= '9') || **p == '_' || **p == '-' || **p == '.' ||
	                    **p == '/' || **p == ':' || **p == ';' || (unsigned char)**p >= 0x80)) {
		if (n + 1 < outlen)
			out[n++] = **p;
		(*p)++;
	}
	out[n] = '\0';
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	return n > 0;
}

/* One %{...} (body from s to end, without the braces) as a 2.3 variable appended to b. */
static bool v24_expr(struct buf *b, const char *s, const char *end, char *err, size_t errlen)
{
	char name[48], filter[48], shown[64];
	const char *p = s;
	size_t vi, nvars = sizeof(v24_vars) / sizeof(v24_vars[0]);
	char mod = '\0';
	int part = 0; /* 1 username, 2 domain */

	printable(s, (size_t)(end - s), shown, sizeof(shown));
	if (!v24_word(&p, end, name, sizeof(name))) {
		set_err(err, errlen,
		        "cannot read %%{%s}: only a variable and filters are supported", shown);
		return false;
	}
	if (strcmp(name, "password") == 0) {
		set_err(err, errlen,
		        "%%{password} is refused: the password must never reach the database");
		return false;
	}
	for (vi = 0; vi < nvars; vi++)
		if (strcmp(v24_vars[vi].name, name) == 0)
			break;
	if (vi == nvars) {
		set_err(err, errlen, "unknown or unsupported variable %%{%s}",
		        printable(name, strlen(name), shown, sizeof(shown)));
		return false;
	}
	while (p < end) {
		if (*p != '|') {
			set_err(
			    err, errlen,
			    "cannot read %%{%s}: only filters (| lower) may follow the variable",
			    shown);
			return false;
		}
		p++;
		if (!v24_word(&p, end, filter, sizeof(filter)) || (p < end && *p != '|')) {
			set_err(err, errlen,
			        "unsupported filter in %%{%s} (supported: lower, upper, username, "
			        "domain, without arguments)",
			        shown);
			return false;
		}
		if (strcmp(filter, "lower") == 0 || strcmp(filter, "upper") == 0) {
			mod = filter[0] == 'l' ? 'L' : 'U';
		} else if (strcmp(filter, "username") == 0 || strcmp(filter, "domain") == 0) {
			int want = filter[0] == 'u' ? 1 : 2;

			if (v24_vars[vi].v23_user == NULL) {
				set_err(err, errlen, "filter %s on %%{%s} is not supported", filter,
				        name);
				return false;
			}
			if (part != 0) {
				set_err(err, errlen,
				        "filter %s after %s in %%{%s} is not supported", filter,
				        part == 1 ? "username" : "domain", shown);
				return false;
			}
			part = want;
		} else {
			set_err(err, errlen, "unsupported filter %s in %%{%s}",
			        printable(filter, strlen(filter), name, sizeof(name)), shown);
			return false;
		}
	}
	buf_addc(b, '%');
	if (mod != '\0')
		buf_addc(b, mod);
	{
		const char *v = part == 1   ? v24_vars[vi].v23_user
		                : part == 2 ? v24_vars[vi].v23_domain
		                            : v24_vars[vi].v23;

		buf_add(b, v, strlen(v));
	}
	return true;
}

enum pgd_query_result pgd_template_v24(const char *tmpl, char **out, char *err, size_t errlen)
{
	struct buf b = {0};
	const char *p = tmpl != NULL ? tmpl : "";

	*out = NULL;
	while (*p != '\0') {
		if (p[0] == '%' && p[1] == '%' && p[2] == '{') {
			buf_add(&b, "%%{", 3);
			p += 3;
		} else if (p[0] == '%' && p[1] == '{') {
			const char *end = p + 2;
			char quote = '\0';

			/* 2.4 strings inside an expression may hold '}'. */
			for (; *end != '\0' && (quote != '\0' || *end != '}'); end++) {
				if (quote != '\0' && *end == '\\' && end[1] != '\0')
					end++;
				else if (quote != '\0' && *end == quote)
					quote = '\0';
				else if (quote == '\0' && (*end == '\'' || *end == '"'))
					quote = *end;
			}
			if (*end == '\0') {
				buf_free(&b);
				set_err(err, errlen, "unterminated %%{ in template");
				return PGD_QUERY_INVALID;
			}
			if (!v24_expr(&b, p + 2, end, err, errlen)) {
				buf_free(&b);
				return PGD_QUERY_INVALID;
			}
			p = end + 1;
		} else if (*p == '%') {
			buf_add(&b, "%%", 2);
			p++;
		} else {
			buf_addc(&b, *p);
			p++;
		}
	}
	*out = buf_take(&b);
	if (*out == NULL) {
		set_err(err, errlen, "out of memory");
		return PGD_QUERY_NOMEM;
	}
	return PGD_QUERY_OK;
}
