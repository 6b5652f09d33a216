// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.4's templates (lib-var-expand: "%{user | username | lower}") translated into the
 * 2.3 form that template.c and bind.c read ("%Ln"), so that a 2.4 conf is bound exactly as a
 * 2.3 one: one variable and filter table here, one binder for both dialects.
 */
#include "query/query.h"

#include <stdbool.h>
#include <string.h>

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

/* One %{...} (body from s to end, without the braces) as a 2.3 variable appended to b. */
static bool v24_expr(struct pgd_buf *b, const char *s, const char *end, char *err, size_t errlen)
{
	char name[48], filter[48], shown[64];
	const char *p = s;
	size_t vi, nvars = sizeof(v24_vars) / sizeof(v24_vars[0]);
	char mod = '\0';
	int part = 0; /* 1 username, 2 domain */

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
	while (p < end) {
		if (*p != '|') {
			pgd_set_err(
			    err, errlen,
			    "cannot read %%{%s}: only filters (| lower) may follow the variable",
			    shown);
			return false;
		}
		p++;
		if (!v24_word(&p, end, filter, sizeof(filter)) || (p < end && *p != '|')) {
			pgd_set_err(
			    err, errlen,
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
				pgd_set_err(err, errlen, "filter %s on %%{%s} is not supported",
				            filter, name);
				return false;
			}
			if (part != 0) {
				pgd_set_err(err, errlen,
				            "filter %s after %s in %%{%s} is not supported", filter,
				            part == 1 ? "username" : "domain", shown);
				return false;
			}
			part = want;
		} else {
			pgd_set_err(err, errlen, "unsupported filter %s in %%{%s}",
			            pgd_printable_word(filter, name, sizeof(name)), shown);
			return false;
		}
	}
	pgd_buf_addc(b, '%');
	if (mod != '\0')
		pgd_buf_addc(b, mod);
	{
		const char *v = part == 1   ? v24_vars[vi].v23_user
		                : part == 2 ? v24_vars[vi].v23_domain
		                            : v24_vars[vi].v23;

		pgd_buf_adds(b, v);
	}
	return true;
}

enum pgd_query_result pgd_template_v24(const char *tmpl, char **out, char *err, size_t errlen)
{
	struct pgd_buf b = {0};
	const char *p = tmpl != NULL ? tmpl : "";

	*out = NULL;
	while (*p != '\0') {
		if (p[0] == '%' && p[1] == '%' && p[2] == '{') {
			pgd_buf_add(&b, "%%{", 3);
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
