// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3 %-variables (lib/var-expand.c, auth/auth-request-var-expand.c), limited to what a
 * password lookup needs: reading one variable, its value, and plain expansion.
 *
 * Variable syntax, as Dovecot reads it: '%', then [-][0]width[.[0][-]width], then up to ten
 * modifiers (L U E X R H N M D T, applied left to right by modifier.c), then a one-letter key or
 * a "{long_key}". "%%" is a literal '%'. Every other variable, and Dovecot's "%{md5:...}"-style
 * functions, are refused rather than expanded to something different from what Dovecot would
 * send. A 2.4 template's filters that 2.3 cannot spell arrive marked (query_impl.h,
 * PGD_V24_MARK) and are read by filter_v24.c.
 */
#include "query/query.h"

#include <stdbool.h>
#include <string.h>

#include "query/query_impl.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/printable.h"

struct var_name {
	char letter;
	const char *name;
	enum pgd_var_key key;
};

/* man/check-man.sh reads the one-letter rows of this table: keep them one a line. */
static const struct var_name var_names[] = {
    {'u', "user", VAR_USER},
    {'n', "username", VAR_USERNAME},
    {'d', "domain", VAR_DOMAIN},
    {'s', "service", VAR_SERVICE},
    {'r', "rip", VAR_RIP},
    {'l', "lip", VAR_LIP},
    {'c', "secured", VAR_SECURED},
    {'m', "mechanism", VAR_MECHANISM},
    {'\0', "hash", VAR_HASH}, /* long form only: ours, for password_update_query */
    {'\0', "orig_user", VAR_ORIG_USER},
    {'\0', "original_user", VAR_ORIG_USER},
    {'w', "password", VAR_PASSWORD}, /* conf/load.c: password_query, password_in_query */
};

#define NVAR_NAMES (sizeof(var_names) / sizeof(var_names[0]))

/* The table row for a long name (n bytes at name) or, when n is 0, for letter; NULL if none. */
static const struct var_name *find_var(char letter, const char *name, size_t n)
{
	for (size_t i = 0; i < NVAR_NAMES; i++) {
		const struct var_name *vn = &var_names[i];

		if (n > 0 ? strlen(vn->name) == n && memcmp(vn->name, name, n) == 0
		          : vn->letter != '\0' && vn->letter == letter)
			return vn;
	}
	return NULL;
}

/* The long form "%{name}" at p (p[0] == '{'); s is the variable's '%'. */
static bool parse_long(const char *s, const char *p, struct pgd_var_ref *v, char *err,
                       size_t errlen)
{
	const char *name = p + 1;
	const char *end = strchr(name, '}');
	const struct var_name *vn;
	char shown[40];
	size_t n;

	if (end == NULL) {
		pgd_set_err(err, errlen, "unterminated %%{ in template");
		return false;
	}
	n = (size_t)(end - name);
	vn = n > 0 ? find_var('\0', name, n) : NULL;
	if (vn == NULL) {
		pgd_set_err(err, errlen, "unknown or unsupported variable %%{%s}",
		            pgd_printable_n(name, n, shown, sizeof(shown), PGD_PRINT_BLANKS));
		return false;
	}
	v->key = vn->key;
	v->len = (size_t)(end + 1 - s);
	return true;
}

/* Dovecot reads an int; past this a width or offset means nothing a value could fill. */
#define MAX_WIDTH 9999

/* "[-][0]digits": adds the digits at *p to *n; false past MAX_WIDTH. */
static bool read_width(const char **p, int *n, char *err, size_t errlen)
{
	for (; **p >= '0' && **p <= '9'; (*p)++) {
		*n = *n * 10 + (**p - '0');
		if (*n > MAX_WIDTH) {
			pgd_set_err(err, errlen, "a width or offset above %d is not supported",
			            MAX_WIDTH);
			return false;
		}
	}
	return true;
}

/* 2.3's "[-][0]width[.[0][-]width]" at *p, as lib/var-expand.c reads it. */
static bool parse_width(const char **p, struct pgd_var_ref *v, char *err, size_t errlen)
{
	int sign = 1;

	if (**p == '-') {
		sign = -1;
		(*p)++;
	}
	if (**p == '0') {
		v->zero_pad = true;
		(*p)++;
	}
	if (!read_width(p, &v->width, err, errlen))
		return false;
	if (**p == '.') {
		/* a sign without a '.' is dropped, as in Dovecot: "%-3n" is "%3n" */
		v->offset = sign * v->width;
		sign = 1;
		v->width = 0;
		(*p)++;
		v->zero_pad = false;
		if (**p == '0') {
			v->zero_pad = true;
			(*p)++;
		}
		if (**p == '-') {
			sign = -1;
			(*p)++;
		}
		if (!read_width(p, &v->width, err, errlen))
			return false;
		v->width *= sign;
	}
	return true;
}

/* A 2.4 expression in the 2.3 form: "%{" MARK var MARK filters "}" at s. */
static bool parse_marked(const char *s, struct pgd_var_ref *v, char *err, size_t errlen)
{
	const char *var = s + 3, *sep = strchr(var, PGD_V24_MARK), *end;
	char text[48];
	size_t n;

	if (sep == NULL || (size_t)(sep - var) + 2 > sizeof(text)) {
		pgd_set_err(err, errlen, "malformed 2.4 expression in template");
		return false;
	}
	n = (size_t)(sep - var);
	text[0] = '%';
	memcpy(text + 1, var, n);
	text[n + 1] = '\0';
	if (!pgd_var_parse(text, v, err, errlen))
		return false;
	end = pgd_v24_expr_end(sep + 1);
	if (v->len != n + 1 || v->nops > 0 || v->width != 0 || v->offset != 0 || end == NULL) {
		pgd_set_err(err, errlen, "malformed 2.4 expression in template");
		return false;
	}
	if (!pgd_filters_parse(sep + 1, end, v, true, err, errlen))
		return false;
	v->len = (size_t)(end + 1 - s);
	return true;
}

static const char modifier_letters[] = "LUEXRHNMDT";

bool pgd_var_parse(const char *s, struct pgd_var_ref *v, char *err, size_t errlen)
{
	static const enum pgd_var_op_kind modifier_ops[] = {
	    OP23_LOWER, OP23_UPPER,   OP23_ESCAPE, OP23_HEX,     OP23_REVERSE,
	    OP23_HASH,  OP23_NEWHASH, OP23_MD5,    OP23_LDAP_DN, OP23_TRIM,
	};
	const char *p = s + 1, *m;
	const struct var_name *vn;
	char shown[8];

	memset(v, 0, sizeof(*v));
	if (*p == '%') {
		v->key = VAR_PERCENT;
		v->len = 2;
		return true;
	}
	if (p[0] == '{' && p[1] == PGD_V24_MARK)
		return parse_marked(s, v, err, errlen);
	if (!parse_width(&p, v, err, errlen))
		return false;
	/* Dovecot stops after ten: an eleventh letter is read as the variable */
	for (;
	     v->nops < PGD_VAR_MAX_OPS && *p != '\0' && (m = strchr(modifier_letters, *p)) != NULL;
	     p++)
		v->ops[v->nops++].kind = modifier_ops[m - modifier_letters];
	if (*p == '\0') {
		pgd_set_err(err, errlen,
		            "'%%' at the end of the template (write %%%% for a literal %%)");
		return false;
	}
	if (*p == '{')
		return parse_long(s, p, v, err, errlen);
	vn = find_var(*p, NULL, 0);
	if (vn == NULL) {
		pgd_set_err(err, errlen, "unknown or unsupported variable %%%s",
		            pgd_printable_n(p, 1, shown, sizeof(shown), PGD_PRINT_BLANKS));
		return false;
	}
	v->key = vn->key;
	v->len = (size_t)(p + 1 - s);
	return true;
}

/* The field of vars a variable reads ("" for NULL); "%" for "%%". */
static const char *field(const struct pgd_vars *vars, enum pgd_var_key key)
{
	const char *fields[] = {
	    [VAR_PERCENT] = "%",
	    [VAR_USER] = vars->user,
	    [VAR_USERNAME] = vars->user,
	    [VAR_DOMAIN] = vars->user,
	    [VAR_SERVICE] = vars->service,
	    [VAR_RIP] = vars->rip,
	    [VAR_LIP] = vars->lip,
	    [VAR_HASH] = vars->hash,
	    [VAR_ORIG_USER] = vars->orig_user,
	    [VAR_SECURED] = vars->secured,
	    [VAR_MECHANISM] = vars->mechanism,
	    [VAR_PASSWORD] = vars->password,
	};

	return fields[key] != NULL ? fields[key] : "";
}

bool pgd_var_stated(const struct pgd_var_ref *v, const struct pgd_vars *vars, char *err,
                    size_t errlen)
{
	if (vars == NULL)
		return true;
	if (v->key == VAR_SECURED && vars->secured == NULL) {
		pgd_set_err(err, errlen,
		            "%%c (%%{secured}) is used but secured is not set: state the transport "
		            "with secured = no, tls or secured (a module argument of the service's "
		            "pam.d line, or the conf key)");
		return false;
	}
	if (v->key == VAR_MECHANISM && vars->mechanism == NULL) {
		pgd_set_err(err, errlen,
		            "%%m (%%{mechanism}) is used but mechanism is not set: state the SASL "
		            "mechanism with mechanism = PLAIN (a module argument of the service's "
		            "pam.d line, or the conf key)");
		return false;
	}
	return true;
}

/*
 * Dovecot 2.3 escapes every value for SQL (a quote doubled) before its modifiers run, so "%3n"
 * of o'hara is "o''" in the query, which PostgreSQL reads as "o'". The value bound is what
 * PostgreSQL would have read: the quotes undoubled again. A modifier that leaves a quote alone
 * (cut in half, or escaped by %E) gave Dovecot broken SQL: refused.
 */
static bool undouble_quotes(struct pgd_buf *val, char *err, size_t errlen)
{
	size_t j = 0;

	for (size_t i = 0; i < val->len; i++, j++) {
		val->p[j] = val->p[i];
		if (val->p[i] != '\'')
			continue;
		if (i + 1 == val->len || val->p[i + 1] != '\'') {
			pgd_set_err(
			    err, errlen,
			    "a 2.3 modifier, width or offset splits a quote of this login's "
			    "value, escaped for SQL as Dovecot 2.3 escapes it: Dovecot would send "
			    "broken SQL");
			return false;
		}
		i++;
	}
	val->len = j;
	val->p[j] = '\0';
	return true;
}

static bool append(struct pgd_buf *b, const struct pgd_var_ref *v, const struct pgd_vars *vars,
                   bool sql, char *err, size_t errlen)
{
	static const struct pgd_vars none = {0};
	struct pgd_buf val = {0};
	const char *raw, *at;
	size_t n;
	bool ok = true, escaped = false;

	raw = field(vars != NULL ? vars : &none, v->key);
	at = strchr(raw, '@');
	n = strlen(raw);
	if (v->key == VAR_USERNAME && at != NULL) {
		/* Dovecot: t_strcut(user, '@'), the part before the first '@'. */
		n = (size_t)(at - raw);
	} else if (v->key == VAR_DOMAIN) {
		/* Dovecot: after the first '@'; no '@' gives "". */
		raw = at != NULL ? at + 1 : "";
		n = strlen(raw);
	}
	if (sql && !v->v24 && (v->nops > 0 || v->width != 0 || v->offset != 0) &&
	    memchr(raw, '\'', n) != NULL) {
		escaped = true;
		for (size_t i = 0; i < n; i++) {
			pgd_buf_addc(&val, raw[i]);
			if (raw[i] == '\'')
				pgd_buf_addc(&val, '\'');
		}
	} else {
		pgd_buf_add(&val, raw, n);
	}
	if (vars != NULL && !val.failed) {
		if (v->v24)
			ok = pgd_filters_run(&val, v, err, errlen);
		else
			pgd_modifiers_run(&val, v);
		if (ok && escaped && !val.failed)
			ok = undouble_quotes(&val, err, errlen);
	}
	if (ok && val.failed)
		b->failed = true;
	else if (ok)
		pgd_buf_add(b, val.p != NULL ? val.p : "", val.len);
	pgd_buf_free(&val);
	return ok;
}

bool pgd_var_append(struct pgd_buf *b, const struct pgd_var_ref *v, const struct pgd_vars *vars,
                    char *err, size_t errlen)
{
	return append(b, v, vars, false, err, errlen);
}

bool pgd_var_append_sql(struct pgd_buf *b, const struct pgd_var_ref *v, const struct pgd_vars *vars,
                        char *err, size_t errlen)
{
	return append(b, v, vars, true, err, errlen);
}

enum pgd_query_result pgd_expand(const char *tmpl, const struct pgd_vars *vars, char **out,
                                 char *err, size_t errlen)
{
	struct pgd_buf b = {0};
	const char *p = tmpl != NULL ? tmpl : "";
	struct pgd_var_ref v;

	*out = NULL;
	while (*p != '\0') {
		const char *pct = strchr(p, '%');

		if (pct == NULL) {
			pgd_buf_adds(&b, p);
			break;
		}
		pgd_buf_add(&b, p, (size_t)(pct - p));
		if (!pgd_var_parse(pct, &v, err, errlen) ||
		    !pgd_var_stated(&v, vars, err, errlen)) {
			pgd_buf_free(&b);
			return PGD_QUERY_INVALID;
		}
		if (v.key == VAR_PASSWORD) {
			pgd_buf_free(&b);
			pgd_set_err(err, errlen,
			            "%%w and %%{password} are refused here: the "
			            "password reaches only password_query");
			return PGD_QUERY_INVALID;
		}
		if (!pgd_var_append(&b, &v, vars, err, errlen)) {
			pgd_buf_free(&b);
			return PGD_QUERY_INVALID;
		}
		p = pct + v.len;
	}
	*out = pgd_buf_take(&b);
	if (*out == NULL) {
		pgd_set_err(err, errlen, "out of memory");
		return PGD_QUERY_NOMEM;
	}
	return PGD_QUERY_OK;
}

/* True if the (2.3-form) template uses the variable key. */
static bool uses_key(const char *tmpl, enum pgd_var_key key)
{
	struct pgd_var_ref v;

	for (const char *p = tmpl != NULL ? strchr(tmpl, '%') : NULL; p != NULL;
	     p = strchr(p, '%')) {
		if (!pgd_var_parse(p, &v, NULL, 0))
			return false;
		if (v.key == key)
			return true;
		for (unsigned i = 0; v.v24 && i < v.nops; i++)
			if (v.ops[i].kind == OP_DOMAIN)
				return true;
		p += v.len;
	}
	return false;
}

bool pgd_query_uses_domain(const char *tmpl)
{
	return uses_key(tmpl, VAR_DOMAIN);
}

bool pgd_query_uses_password(const char *tmpl)
{
	return uses_key(tmpl, VAR_PASSWORD);
}

bool pgd_query_uses_secured(const char *tmpl)
{
	return uses_key(tmpl, VAR_SECURED);
}

bool pgd_query_uses_mechanism(const char *tmpl)
{
	return uses_key(tmpl, VAR_MECHANISM);
}
