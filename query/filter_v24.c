// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.4's filters as a 2.4 template writes them after its variable: "| name" or
 * "| name(arg, ...)", read with lib-var-expand's lexer rules (2.4.1: blanks and tabs between
 * tokens; '...' and "..." strings with the escapes \\ \' \" \t \r \n \xHH \ooo, valid UTF-8;
 * numbers with an optional '-'). Only the filters of the table below, with positional string or
 * number arguments, are accepted; anything else (another filter, a variable or key=value as an
 * argument, arithmetic) is refused with its name, so a template is never read past. What the
 * filters do is filter_run.c.
 */
#include "query/query.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "query/query_impl.h"
#include "util/err.h"
#include "util/printable.h"

/* A regexp stays cheap on a 256-byte name: no {n} over this, all of them multiplied. */
#define MAX_REPEAT 100
#define MAX_NUMBER 1000000

enum argspec {
	A_NONE,
	A_NUM,
	A_STR,
	A_ANY, /* a string or a number */
};

static const struct filter {
	const char *name;
	enum pgd_var_op_kind kind;
	unsigned char min, max;
	enum argspec arg;
} filters[] = {
    {"lower", OP_LOWER, 0, 0, A_NONE},
    {"upper", OP_UPPER, 0, 0, A_NONE},
    {"username", OP_USERNAME, 0, 0, A_NONE},
    {"domain", OP_DOMAIN, 0, 0, A_NONE},
    {"default", OP_DEFAULT, 0, 1, A_ANY},
    {"substr", OP_SUBSTR, 1, 2, A_NUM},
    {"regexp", OP_REGEXP, 2, 2, A_STR},
    {"md5", OP_MD5, 0, 0, A_NONE},
    {"sha1", OP_SHA1, 0, 0, A_NONE},
    {"sha256", OP_SHA256, 0, 0, A_NONE},
    {"sha384", OP_SHA384, 0, 0, A_NONE},
    {"sha512", OP_SHA512, 0, 0, A_NONE},
    {"hex", OP_HEX, 0, 1, A_NUM},
    {"hexlify", OP_HEXLIFY, 0, 1, A_NUM},
    {"reverse", OP_REVERSE, 0, 0, A_NONE},
    {"ldap_dn", OP_LDAP_DN, 0, 0, A_NONE},
};
#define NFILTERS (sizeof(filters) / sizeof(filters[0]))

/* Dovecot 2.4.1's other filters: known, and refused as not supported. */
static const char *const other_filters[] = {
    "lookup", "literal",   "calculate", "concat", "hash",     "base64",   "unbase64",
    "unhex",  "unhexlify", "truncate",  "if",     "lenumber", "benumber", "index",
    "list",   "lfill",     "rfill",     "text",   "encrypt",  "decrypt",
};

const char *pgd_filter_name(enum pgd_var_op_kind kind)
{
	for (size_t i = 0; i < NFILTERS; i++)
		if (filters[i].kind == kind)
			return filters[i].name;
	return "?";
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void skip_blanks(const char **p, const char *end)
{
	while (*p < end && is_blank(**p))
		(*p)++;
}

/* lib-var-expand's NAME: [a-zA-Z\x80-\xff][a-zA-Z0-9_/;:.\x80-\xff-]* */
static size_t name_len(const char *p, const char *end)
{
	size_t n = 0;

	for (; p + n < end; n++) {
		unsigned char c = (unsigned char)p[n];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;

		if (!(alpha || (n > 0 && ((c >= '0' && c <= '9') || strchr("_/;:.-", c) != NULL))))
			break;
	}
	return n;
}

/* The length of the valid UTF-8 sequence at p, or 0 (overlong, surrogate, past U+10FFFF). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	unsigned long cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* One escape after a backslash at *p (advanced past it): the byte, or -1 when invalid. */
static int read_escape(const char **p, const char *end)
{
	static const char plain[] = "\\\"'", from[] = "trn", to[] = "\t\r\n";
	const char *s = *p, *hit;
	int c = 0, n = 0;

	if (s >= end)
		return -1;
	if ((hit = strchr(plain, *s)) != NULL && *s != '\0') {
		*p = s + 1;
		return (unsigned char)*hit;
	}
	if ((hit = strchr(from, *s)) != NULL && *s != '\0') {
		*p = s + 1;
		return to[hit - from];
	}
	if (*s == 'x') {
		for (n = 1; n <= 2; n++) {
			char h = s + n < end ? s[n] : '\0';
			int d = h >= '0' && h <= '9'   ? h - '0'
			        : h >= 'a' && h <= 'f' ? h - 'a' + 10
			        : h >= 'A' && h <= 'F' ? h - 'A' + 10
			                               : -1;
			if (d < 0)
				return -1;
			c = c * 16 + d;
		}
		*p = s + 3;
		return c;
	}
	for (; n < 3 && s + n < end && s[n] >= '0' && s[n] <= '9'; n++) {
		if (s[n] > '7')
			return -1;
		c = c * 8 + (s[n] - '0');
	}
	if (n == 0 || c > 255)
		return -1;
	*p = s + n;
	return c;
}

/* Reads the string at *p (its opening quote) into a; false with err when it is not one. */
static bool read_string(const char **p, const char *end, struct pgd_op_arg *a, char *err,
                        size_t errlen)
{
	char q = **p;
	const char *s = *p + 1;
	size_t n = 0;

	a->type = ARG_STR;
	a->quote = q;
	a->s = s;
	while (s < end && *s != q) {
		size_t k = 1;

		if (*s == '\\') {
			s++;
			int c = read_escape(&s, end);

			if (c <= 0) {
				pgd_set_err(err, errlen,
				            c == 0 ? "a NUL byte in a string of a 2.4 filter"
				                   : "invalid escape in a string of a 2.4 filter");
				return false;
			}
		} else {
			k = utf8_len((const unsigned char *)s, (const unsigned char *)end);
			if (k == 0) {
				pgd_set_err(err, errlen,
				            "a string of a 2.4 filter is not valid UTF-8");
				return false;
			}
			s += k;
		}
		n += k;
		if (n > PGD_V24_STR_MAX) {
			pgd_set_err(err, errlen, "a string of a 2.4 filter longer than %d bytes",
			            PGD_V24_STR_MAX);
			return false;
		}
	}
	if (s >= end) {
		pgd_set_err(err, errlen, "unterminated string in a 2.4 filter");
		return false;
	}
	a->n = (size_t)(s - a->s);
	*p = s + 1;
	return true;
}

size_t pgd_v24_string(const struct pgd_op_arg *a, char *out)
{
	const char *s = a->s, *end = a->s + a->n;
	size_t n = 0;

	while (s < end && n < PGD_V24_STR_MAX) {
		if (*s == '\\') {
			s++;
			int c = read_escape(&s, end);

			out[n++] = (char)(c > 0 ? c : '?');
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	return n;
}

/* One argument at *p; false with err when it is not a string or a number. */
static bool read_arg(const char **p, const char *end, struct pgd_op_arg *a, const char *fname,
                     char *err, size_t errlen)
{
	const char *s = *p;
	bool neg = false;
	size_t n;
	char shown[40];

	skip_blanks(&s, end);
	if (s < end && (*s == '\'' || *s == '"')) {
		*p = s;
		if (!read_string(p, end, a, err, errlen))
			return false;
		skip_blanks(p, end);
		return true;
	}
	if (s < end && *s == '-') {
		neg = true;
		s++;
		skip_blanks(&s, end);
	}
	if (s < end && *s >= '0' && *s <= '9') {
		a->type = ARG_NUM;
		a->num = 0;
		for (; s < end && *s >= '0' && *s <= '9'; s++) {
			a->num = a->num * 10 + (*s - '0');
			if (a->num > MAX_NUMBER) {
				pgd_set_err(err, errlen, "a number above %d in filter %s",
				            MAX_NUMBER, fname);
				return false;
			}
		}
		if (neg)
			a->num = -a->num;
		skip_blanks(&s, end);
		*p = s;
		return true;
	}
	n = !neg ? name_len(s, end) : 0;
	if (n > 0) {
		pgd_set_err(
		    err, errlen,
		    "filter %s: a variable or key=value as an argument (%s) is not supported",
		    fname, pgd_printable_n(s, n, shown, sizeof(shown), 0));
		return false;
	}
	pgd_set_err(err, errlen, "filter %s: cannot read its arguments", fname);
	return false;
}

/* Back-references and large repeat counts are refused: glibc's matcher may take exponential time
 * on the first and memory on the second. */
static bool regexp_bounded(const char *pat, char *err, size_t errlen)
{
	unsigned long product = 1;

	for (const char *p = pat; *p != '\0'; p++) {
		if (p[0] == '\\' && p[1] >= '1' && p[1] <= '9') {
			pgd_set_err(err, errlen,
			            "filter regexp: back-references (\\%c) are not supported",
			            p[1]);
			return false;
		}
		if (p[0] == '\\' && p[1] != '\0') {
			p++;
		} else if (p[0] == '{') {
			unsigned long n = 0, most = 0;

			for (p++; *p != '\0' && *p != '}'; p++) {
				if (*p >= '0' && *p <= '9')
					n = n < MAX_REPEAT ? n * 10 + (unsigned long)(*p - '0') : n;
				else
					n = 0;
				most = n > most ? n : most;
			}
			product *= most > 0 ? most : 1;
			if (product > MAX_REPEAT) {
				pgd_set_err(
				    err, errlen,
				    "filter regexp: repeat counts ({n}) multiplying past %d "
				    "are not supported",
				    MAX_REPEAT);
				return false;
			}
			if (*p == '\0')
				break;
		}
	}
	return true;
}

/* At load: the pattern compiles, stays bounded, and the replacement names existing groups. */
static bool regexp_check(const struct pgd_var_op *op, char *err, size_t errlen)
{
	char pat[PGD_V24_STR_MAX + 1], rep[PGD_V24_STR_MAX + 1], msg[128];
	regex_t re;
	int rc;

	pgd_v24_string(&op->args[0], pat);
	pgd_v24_string(&op->args[1], rep);
	if (!regexp_bounded(pat, err, errlen))
		return false;
	rc = regcomp(&re, pat, REG_EXTENDED);
	if (rc != 0) {
		regerror(rc, &re, msg, sizeof(msg));
		regfree(&re);
		pgd_set_err(err, errlen, "filter regexp: %s", msg);
		return false;
	}
	for (const char *p = strchr(rep, '\\'); p != NULL; p = strchr(p + 2, '\\')) {
		/* Dovecot 2.4.1 loops for ever on a backslash not followed by a digit */
		if (p[1] < '0' || p[1] > '9' || (size_t)(p[1] - '0') > re.re_nsub) {
			regfree(&re);
			pgd_set_err(
			    err, errlen,
			    p[1] >= '0' && p[1] <= '9'
			        ? "filter regexp: the replacement names a group the pattern "
			          "does not have"
			        : "filter regexp: a backslash in the replacement must start "
			          "a group number (\\0 to \\9)");
			return false;
		}
	}
	regfree(&re);
	return true;
}

/* The filter named n bytes at name, with its arguments checked against the table. */
static bool take_filter(const char *name, size_t n, struct pgd_var_op *op, bool check, char *err,
                        size_t errlen)
{
	const struct filter *f = NULL;
	char shown[40];

	pgd_printable_n(name, n, shown, sizeof(shown), 0);
	for (size_t i = 0; i < NFILTERS && f == NULL; i++)
		if (strlen(filters[i].name) == n && memcmp(filters[i].name, name, n) == 0)
			f = &filters[i];
	if (f == NULL) {
		bool known = false;

		for (size_t i = 0; i < sizeof(other_filters) / sizeof(other_filters[0]); i++)
			known |=
			    strlen(other_filters[i]) == n && memcmp(other_filters[i], name, n) == 0;
		pgd_set_err(err, errlen, "%s filter %s in a 2.4 template",
		            known ? "unsupported" : "unknown", shown);
		return false;
	}
	op->kind = f->kind;
	if (op->nargs < f->min || op->nargs > f->max) {
		pgd_set_err(err, errlen, "filter %s takes %s%u argument%s", f->name,
		            f->min == f->max ? "" : "at most ", f->max, f->max == 1 ? "" : "s");
		return false;
	}
	for (unsigned i = 0; i < op->nargs; i++) {
		if ((f->arg == A_NUM && op->args[i].type != ARG_NUM) ||
		    (f->arg == A_STR && op->args[i].type != ARG_STR)) {
			pgd_set_err(err, errlen, "filter %s takes %s arguments", f->name,
			            f->arg == A_NUM ? "number" : "string");
			return false;
		}
	}
	if (f->kind == OP_HEXLIFY && op->nargs == 1 && op->args[0].num < 0) {
		pgd_set_err(err, errlen, "filter hexlify: the width must be positive");
		return false;
	}
	return !check || f->kind != OP_REGEXP || regexp_check(op, err, errlen);
}

bool pgd_filters_parse(const char *s, const char *end, struct pgd_var_ref *v, bool check, char *err,
                       size_t errlen)
{
	const char *p = s;

	v->v24 = true;
	skip_blanks(&p, end);
	while (p < end) {
		struct pgd_var_op op = {0};
		const char *name;
		char shown[40];
		size_t n;

		if (*p != '|') {
			pgd_set_err(
			    err, errlen,
			    strchr("+-*/%", *p) != NULL && *p != '\0'
			        ? "arithmetic in a 2.4 template is not supported"
			        : "cannot read the filters of a 2.4 expression (only "
			          "| filter or | filter(arguments) may follow the variable)");
			return false;
		}
		p++;
		skip_blanks(&p, end);
		name = p;
		n = name_len(p, end);
		if (n == 0) {
			pgd_set_err(err, errlen, "an empty filter in a 2.4 template");
			return false;
		}
		pgd_printable_n(name, n, shown, sizeof(shown), 0);
		p += n;
		skip_blanks(&p, end);
		if (p < end && *p == '(') {
			p++;
			do {
				if (op.nargs == 2) {
					pgd_set_err(err, errlen, "filter %s: too many arguments",
					            shown);
					return false;
				}
				if (!read_arg(&p, end, &op.args[op.nargs], shown, err, errlen))
					return false;
				op.nargs++;
			} while (p < end && *p == ',' && ++p);
			if (p >= end || *p != ')') {
				pgd_set_err(err, errlen, "filter %s: cannot read its arguments",
				            shown);
				return false;
			}
			p++;
			skip_blanks(&p, end);
		}
		if (v->nops == PGD_VAR_MAX_OPS) {
			pgd_set_err(err, errlen, "more than %d filters on one variable",
			            PGD_VAR_MAX_OPS);
			return false;
		}
		if (!take_filter(name, n, &op, check, err, errlen))
			return false;
		v->ops[v->nops++] = op;
	}
	return true;
}

const char *pgd_v24_expr_end(const char *s)
{
	char quote = '\0';

	for (; *s != '\0' && (quote != '\0' || *s != '}'); s++) {
		if (quote != '\0' && *s == '\\' && s[1] != '\0')
			s++;
		else if (quote != '\0' && *s == quote)
			quote = '\0';
		else if (quote == '\0' && (*s == '\'' || *s == '"'))
			quote = *s;
	}
	return *s == '}' ? s : NULL;
}
