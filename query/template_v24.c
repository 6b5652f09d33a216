// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.4's templates (lib-var-expand: "%{user | username | lower}") translated into the
 * 2.3 form that template.c and bind.c read ("%Ln"), so that a 2.4 conf is bound exactly as a
 * 2.3 one: one variable and filter table here, one binder for both dialects.
 */
#include "query/query.h"

#include <stdbool.h>
#include <string.h>

#include "query/query_impl.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/printable.h"

/* 2.4's variables and the 2.3 form each becomes; parts (username, domain) only on the first two. */
static const struct {
	const char *name;
	const char *v23;      /* with %, without modifiers */
	const char *v23_user; /* the username part, or NULL: the filter is refused */
	const char *v23_domain;
} v24_vars[] = {
    {"user", "u", "n", "d"},
    {"original_user", "{orig_user}", NULL, NULL},
    {"protocol", "s", NULL, NULL},
    {"remote_ip", "r", NULL, NULL},
    {"local_ip", "l", NULL, NULL},
    {"hash", "{hash}", NULL, NULL},
    {"secured", "c", NULL, NULL},
    {"mechanism", "m", NULL, NULL},
    /* conf/load.c: only in password_query, with password_in_query */
    {"password", "{password}", NULL, NULL},
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

/*
 * The 2.3 spelling of filters that 2.3 has: case filters and at most one username or domain
 * (they commute: "lower | username" is "%Ln"). False when the filters need the marked form.
 */
static bool v24_plain(struct pgd_buf *b, size_t vi, const struct pgd_var_ref *v)
{
	char mod = '\0';
	int part = 0; /* 1 username, 2 domain */

	for (unsigned i = 0; i < v->nops; i++) {
		switch (v->ops[i].kind) {
		case OP_LOWER:
		case OP_UPPER:
			mod = v->ops[i].kind == OP_LOWER ? 'L' : 'U';
			break;
		case OP_USERNAME:
		case OP_DOMAIN:
			if (part != 0 || v24_vars[vi].v23_user == NULL)
				return false;
			part = v->ops[i].kind == OP_USERNAME ? 1 : 2;
			break;
		default:
			return false;
		}
	}
	pgd_buf_addc(b, '%');
	if (mod != '\0')
		pgd_buf_addc(b, mod);
	pgd_buf_adds(b, part == 1   ? v24_vars[vi].v23_user
	                : part == 2 ? v24_vars[vi].v23_domain
	                            : v24_vars[vi].v23);
	return true;
}

/* One %{...} (body from s to end, without the braces) as a 2.3 variable appended to b. */
static bool v24_expr(struct pgd_buf *b, const char *s, const char *end, char *err, size_t errlen)
{
	char name[48], shown[64], msg[200];
	const char *p = s;
	size_t vi, nvars = sizeof(v24_vars) / sizeof(v24_vars[0]);
	struct pgd_var_ref v = {0};

	pgd_printable_n(s, (size_t)(end - s), shown, sizeof(shown), PGD_PRINT_BLANKS);
	if (!v24_word(&p, end, name, sizeof(name))) {
		pgd_set_err(err, errlen,
		            "cannot read %%{%s}: only a variable and filters are supported", shown);
		return false;
	}
	for (vi = 0; vi < nvars; vi++)
		if (strcmp(v24_vars[vi].name, name) == 0)
			break;
	if (vi == nvars) {
		pgd_set_err(err, errlen, "unknown or unsupported variable %%{%s}",
		            pgd_printable_word(name, shown, sizeof(shown)));
		return false;
	}
	if (!pgd_filters_parse(p, end, &v, true, msg, sizeof(msg))) {
		pgd_set_err(err, errlen, "%%{%s}: %s", shown, msg);
		return false;
	}
	if (v24_plain(b, vi, &v))
		return true;
	/* no 2.3 spelling: the expression travels marked, its filters as written */
	pgd_buf_add(b, "%{", 2);
	pgd_buf_addc(b, PGD_V24_MARK);
	pgd_buf_adds(b, v24_vars[vi].v23);
	pgd_buf_addc(b, PGD_V24_MARK);
	pgd_buf_add(b, p, (size_t)(end - p));
	pgd_buf_addc(b, '}');
	return true;
}

enum pgd_query_result pgd_template_v24(const char *tmpl, char **out, char *err, size_t errlen)
{
	struct pgd_buf b = {0};
	const char *p = tmpl != NULL ? tmpl : "";

	*out = NULL;
	if (strchr(p, PGD_V24_MARK) != NULL) {
		pgd_set_err(err, errlen, "byte 0x01 in template");
		return PGD_QUERY_INVALID;
	}
	while (*p != '\0') {
		if (p[0] == '%' && p[1] == '%' && p[2] == '{') {
			pgd_buf_add(&b, "%%{", 3);
			p += 3;
		} else if (p[0] == '%' && p[1] == '{') {
			/* 2.4 strings inside an expression may hold '}'. */
			const char *end = pgd_v24_expr_end(p + 2);

			if (end == NULL) {
				pgd_buf_free(&b);
				pgd_set_err(err, errlen, "unterminated %%{ in template");
				return PGD_QUERY_INVALID;
			}
			if (!v24_expr(&b, p + 2, end, err, errlen)) {
				pgd_buf_free(&b);
				return PGD_QUERY_INVALID;
			}
			p = end + 1;
		} else if (*p == '%') {
			pgd_buf_add(&b, "%%", 2);
			p++;
		} else {
			pgd_buf_addc(&b, *p);
			p++;
		}
	}
	*out = pgd_buf_take(&b);
	if (*out == NULL) {
		pgd_set_err(err, errlen, "out of memory");
		return PGD_QUERY_NOMEM;
	}
	return PGD_QUERY_OK;
}
