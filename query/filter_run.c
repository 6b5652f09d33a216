// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.4's filters applied to one value, as lib-var-expand (2.4.1) runs them: the value
 * passes from filter to filter; a filter that fails leaves no value, which only `default` can
 * replace (any other filter then fails the whole expansion with the first error, and so does
 * the end of the expression); a digest leaves binary bytes, written in hex at the end unless a
 * filter made text of them first. Dovecot fails the lookup when an expansion fails; so do we.
 */
#include "query/query.h"

#include <inttypes.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "query/query_impl.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/secret.h"

/* The value between two filters (lib-var-expand's transfer). */
struct transfer {
	struct pgd_buf *val;
	bool set;    /* a value is there (a failed filter leaves none) */
	bool binary; /* bytes from a digest: in hex at the end */
};

/* The value up to its first NUL, as Dovecot's str_c() filters read it. */
static size_t c_len(const struct transfer *t)
{
	return strnlen(t->val->p, t->val->len);
}

static void set_text(struct transfer *t, const char *s, size_t n)
{
	pgd_query_set(t->val, s, n);
	t->binary = false;
}

/* Dovecot's str_to_uintmax: decimal digits only, no sign, no overflow. */
static bool to_uintmax(const char *s, uintmax_t *x)
{
	*x = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (*x > (UINTMAX_MAX - d) / 10)
			return false;
		*x = *x * 10 + d;
	}
	return *s == '\0';
}

/* expansion-filter.c fn_substr, its bounds checks in its order. */
static const char *substr(struct transfer *t, const struct pgd_var_op *op)
{
	long long used = (long long)t->val->len, off = op->args[0].num, len = used;
	bool got_len = op->nargs > 1;

	if (got_len)
		len = op->args[1].num;
	if (off < -used || off > used)
		return "Offset out of bounds";
	if (len < -used || len > used)
		return "Length out of bounds";
	if (len == 0) {
		pgd_query_set(t->val, "", 0);
		return NULL;
	}
	if (off < 0)
		off += used;
	if (!got_len) {
		len = used - off;
	} else if (len < 0) {
		len += used;
		if (len < off)
			return "Length out of bounds";
		len -= off;
	}
	if (off < 0 || off > used)
		return "Offset out of bounds";
	if (len < 0 || len + off > used)
		return "Length out of bounds";
	pgd_query_set(t->val, t->val->p + off, (size_t)len);
	return NULL;
}

/* expansion-filter.c fn_regexp: only the replacement, its \N filled, replaces a matching value. */
static const char *regexp(struct transfer *t, const struct pgd_var_op *op)
{
	char pat[PGD_V24_STR_MAX + 1], rep[PGD_V24_STR_MAX + 1];
	struct pgd_buf out = {0};
	regmatch_t m[10];
	const char *p0 = rep, *p1, *why = NULL;
	regex_t re;
	int rc;

	pgd_v24_string(&op->args[0], pat);
	pgd_v24_string(&op->args[1], rep);
	if (regcomp(&re, pat, REG_EXTENDED) != 0)
		return "the pattern does not compile";
	rc = regexec(&re, t->val->p, 10, m, 0);
	regfree(&re);
	if (rc == REG_NOMATCH)
		return NULL;
	if (rc != 0)
		return "the match failed";
	while ((p1 = strchr(p0, '\\')) != NULL && why == NULL) {
		/* the replacement was checked at load: a digit follows every backslash */
		unsigned g = (unsigned)(p1[1] - '0');

		pgd_buf_add(&out, p0, (size_t)(p1 - p0));
		if (g >= 10 || m[g].rm_so == -1) {
			why = "Invalid capture group";
			break;
		}
		pgd_buf_add(&out, t->val->p + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
		p0 = p1 + 2;
	}
	if (why == NULL) {
		pgd_buf_adds(&out, p0);
		pgd_query_set(t->val, out.p != NULL ? out.p : "", out.len);
	}
	pgd_buf_free(&out);
	return why;
}

/* fn_hex: a decimal number in hex, then cut or padded with '0' to the width (<0: on the right). */
static const char *hex(struct transfer *t, const struct pgd_var_op *op)
{
	long long width = op->nargs > 0 ? op->args[0].num : 0;
	uintmax_t x;
	char num[40];
	struct pgd_buf out = {0};
	size_t n;

	if (!to_uintmax(t->val->p, &x))
		return "Input is not a number";
	n = (size_t)snprintf(num, sizeof(num), "%" PRIxMAX, x);
	if (width < 0) {
		size_t w = (size_t)-width;

		pgd_buf_add(&out, num, n < w ? n : w);
		for (; n < w; n++)
			pgd_buf_addc(&out, '0');
	} else if (width > 0) {
		size_t w = (size_t)width;

		for (; n < w; w--)
			pgd_buf_addc(&out, '0');
		pgd_buf_add(&out, num + (n > (size_t)width ? n - (size_t)width : 0),
		            n > (size_t)width ? (size_t)width : n);
	} else {
		pgd_buf_add(&out, num, n);
	}
	pgd_query_set(t->val, out.p != NULL ? out.p : "", out.len);
	pgd_buf_free(&out);
	return NULL;
}

/* fn_hexlify: every byte in hex, then padded with '0' on the left or cut to the width. */
static void hexlify(struct transfer *t, const struct pgd_var_op *op)
{
	size_t width = op->nargs > 0 ? (size_t)op->args[0].num : 0, n = 2 * t->val->len;
	struct pgd_buf out = {0};

	for (size_t i = n; i < width; i++)
		pgd_buf_addc(&out, '0');
	pgd_query_hex(&out, (const unsigned char *)t->val->p, t->val->len);
	if (width > 0 && out.len > width && !out.failed) {
		out.len = width;
		out.p[width] = '\0';
	}
	set_text(t, out.p != NULL ? out.p : "", out.len);
	pgd_buf_free(&out);
}

/* One filter on a value that is there; NULL, or why it failed. */
static const char *run(struct transfer *t, const struct pgd_var_op *op)
{
	struct pgd_buf out = {0};
	unsigned char md[PGD_QUERY_DIGEST_MAX];
	const char *at;
	size_t n = c_len(t);

	switch (op->kind) {
	case OP_LOWER:
	case OP_UPPER:
		for (size_t i = 0; i < n; i++) {
			char c = t->val->p[i];

			if (op->kind == OP_LOWER && c >= 'A' && c <= 'Z')
				t->val->p[i] = (char)(c - 'A' + 'a');
			else if (op->kind == OP_UPPER && c >= 'a' && c <= 'z')
				t->val->p[i] = (char)(c - 'a' + 'A');
		}
		return NULL;
	case OP_USERNAME:
		at = memchr(t->val->p, '@', n);
		set_text(t, t->val->p, at != NULL ? (size_t)(at - t->val->p) : n);
		return NULL;
	case OP_DOMAIN:
		at = memchr(t->val->p, '@', n);
		if (at != NULL)
			set_text(t, at + 1, n - (size_t)(at + 1 - t->val->p));
		else
			set_text(t, "", 0);
		return NULL;
	case OP_SUBSTR:
		return substr(t, op);
	case OP_REGEXP:
		return regexp(t, op);
	case OP_MD5:
	case OP_SHA1:
	case OP_SHA256:
	case OP_SHA384:
	case OP_SHA512:
		n = pgd_query_digest(op->kind, t->val->p, t->val->len, md);
		if (n == 0)
			return "digest not available";
		pgd_query_set(t->val, (const char *)md, n);
		pgd_wipe(md, sizeof(md));
		t->binary = true;
		return NULL;
	case OP_HEX:
		return hex(t, op);
	case OP_HEXLIFY:
		hexlify(t, op);
		return NULL;
	case OP_REVERSE:
		for (size_t i = t->val->len; i > 0; i--)
			pgd_buf_addc(&out, t->val->p[i - 1]);
		break;
	case OP_LDAP_DN:
		for (size_t i = 0; i < n; i++) {
			if (t->val->p[i] == '.')
				pgd_buf_adds(&out, ",dc=");
			else
				pgd_buf_addc(&out, t->val->p[i]);
		}
		break;
	default:
		return "not a 2.4 filter";
	}
	pgd_query_set(t->val, out.p != NULL ? out.p : "", out.len);
	pgd_buf_free(&out);
	return NULL;
}

/* fn_default: a value that is there and not empty stays; else the argument ("" without). */
static void set_default(struct transfer *t, const struct pgd_var_op *op)
{
	char s[PGD_V24_STR_MAX + 1];
	size_t n = 0;

	if (t->set && t->val->len > 0)
		return;
	if (op->nargs > 0 && op->args[0].type == ARG_STR)
		n = pgd_v24_string(&op->args[0], s);
	else if (op->nargs > 0)
		n = (size_t)snprintf(s, sizeof(s), "%lld", op->args[0].num);
	set_text(t, s, n);
	t->set = true;
}

bool pgd_filters_run(struct pgd_buf *val, const struct pgd_var_ref *v, char *err, size_t errlen)
{
	struct transfer t = {val, true, false};
	const char *why = NULL;
	enum pgd_var_op_kind failed = OP_LOWER;

	for (unsigned i = 0; i < v->nops && !val->failed; i++) {
		const struct pgd_var_op *op = &v->ops[i];
		const char *w;

		if (op->kind == OP_DEFAULT) {
			set_default(&t, op);
			why = NULL;
			continue;
		}
		if (!t.set)
			break;
		w = run(&t, op);
		if (w != NULL) {
			why = w;
			failed = op->kind;
			t.set = false;
		}
	}
	if (!t.set) {
		pgd_set_err(err, errlen,
		            "the 2.4 filter %s fails on this login's value (%s), and so would "
		            "Dovecot's lookup",
		            pgd_filter_name(failed), why != NULL ? why : "no value");
		return false;
	}
	if (t.binary && !val->failed) {
		struct pgd_buf out = {0};

		pgd_query_hex(&out, (const unsigned char *)val->p, val->len);
		pgd_query_set(val, out.p != NULL ? out.p : "", out.len);
		pgd_buf_free(&out);
	}
	return true;
}
