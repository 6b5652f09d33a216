// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3 %-variables (lib/var-expand.c, auth/auth-request-var-expand.c), limited to what a
 * password lookup needs: reading one variable, its value, and plain expansion.
 *
 * Variable syntax, as Dovecot reads it: '%', then modifiers, then a one-letter key or a
 * "{long_key}". "%%" is a literal '%'. Of Dovecot's modifiers only L (lowercase) and U
 * (uppercase) are accepted; several may be stacked and apply left to right, as in Dovecot.
 * Width and offset ("%3n", "%.1n") and every other variable are refused rather than expanded
 * to something different from what Dovecot would send.
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

bool pgd_var_parse(const char *s, struct pgd_var_ref *v, char *err, size_t errlen)
{
	const char *p = s + 1;
	const struct var_name *vn;
	char shown[8];

	v->mod = CASE_KEEP;
	if (*p == '%') {
		v->key = VAR_PERCENT;
		v->len = 2;
		return true;
	}
	for (; *p == 'L' || *p == 'U'; p++)
		v->mod = *p == 'L' ? CASE_LOWER : CASE_UPPER;
	if (*p == '\0') {
		pgd_set_err(err, errlen,
		            "'%%' at the end of the template (write %%%% for a literal %%)");
		return false;
	}
	if (strchr("EXRHNMDT", *p) != NULL) {
		pgd_set_err(err, errlen, "modifier %%%c is not supported (only %%L and %%U are)",
		            *p);
		return false;
	}
	if ((*p >= '0' && *p <= '9') || *p == '-' || *p == '.') {
		pgd_set_err(err, errlen, "width and offset (as in %%3n) are not supported");
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

/* ASCII only, like Dovecot's i_tolower/i_toupper: no locale may change a login name. */
static void apply_case(char *s, size_t n, enum pgd_var_case mod)
{
	for (size_t i = 0; i < n; i++) {
		if (mod == CASE_LOWER && s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
		else if (mod == CASE_UPPER && s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 'a' + 'A');
	}
}

void pgd_var_append(struct pgd_buf *b, const struct pgd_var_ref *v, const struct pgd_vars *vars)
{
	static const struct pgd_vars none = {0};
	const char *val, *at;
	size_t start = b->len, n;

	val = field(vars != NULL ? vars : &none, v->key);
	at = strchr(val, '@');
	n = strlen(val);
	if (v->key == VAR_USERNAME && at != NULL) {
		/* Dovecot: t_strcut(user, '@'), the part before the first '@'. */
		n = (size_t)(at - val);
	} else if (v->key == VAR_DOMAIN) {
		/* Dovecot: after the first '@'; no '@' gives "". */
		val = at != NULL ? at + 1 : "";
		n = strlen(val);
	}
	pgd_buf_add(b, val, n);
	if (!b->failed && v->mod != CASE_KEEP)
		apply_case(b->p + start, b->len - start, v->mod);
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
		pgd_var_append(&b, &v, vars);
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
