// SPDX-License-Identifier: MIT
/*
 * What the files of query/ share and nobody else reads: one Dovecot %-variable as template.c
 * parses it (with its 2.3 modifiers or 2.4 filters), and the value it expands to. bind.c (the
 * SQL binder) and user.c (the name fix-up) build on these two functions, so that every place
 * reads a variable alike.
 */
#ifndef PGD_QUERY_IMPL_H
#define PGD_QUERY_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "query/query.h"
#include "util/buf.h"

enum pgd_var_key {
	VAR_PERCENT, /* "%%" */
	VAR_USER,
	VAR_USERNAME,
	VAR_DOMAIN,
	VAR_SERVICE,
	VAR_RIP,
	VAR_LIP,
	VAR_HASH,
	VAR_ORIG_USER,
	VAR_SECURED,
	VAR_MECHANISM,
	VAR_PASSWORD, /* %w %{password}: only where the conf allows it (password_in_query) */
};

/*
 * What a variable's value goes through, in order. The first group is Dovecot 2.3's modifiers
 * (lib/var-expand.c: %L, %U, %E, %X, %R, %H, %N, %M, %D, %T), the second Dovecot 2.4's filters
 * (lib-var-expand/expansion-filter.c) that we apply with their exact meaning; every other
 * modifier or filter is refused when the template is read.
 */
enum pgd_var_op_kind {
	OP23_LOWER,
	OP23_UPPER,
	OP23_ESCAPE,  /* %E: a backslash before " ' \ */
	OP23_HEX,     /* %X: a decimal number in hex, 0 for anything else */
	OP23_REVERSE, /* %R */
	OP23_HASH,    /* %H: 32-bit string hash in hex; takes the width and offset */
	OP23_NEWHASH, /* %N: MD5-based hash in hex; takes the width and offset */
	OP23_MD5,     /* %M: MD5 in hex */
	OP23_LDAP_DN, /* %D: "." becomes ",dc=" */
	OP23_TRIM,    /* %T: trailing white space cut */
	OP_LOWER,
	OP_UPPER,
	OP_USERNAME,
	OP_DOMAIN,
	OP_DEFAULT, /* default or default(value): the value when there is none */
	OP_SUBSTR,  /* substr(offset[, length]) */
	OP_REGEXP,  /* regexp(pattern, replacement): POSIX extended */
	OP_MD5,     /* md5 sha1 sha256 sha384 sha512: a binary digest */
	OP_SHA1,
	OP_SHA256,
	OP_SHA384,
	OP_SHA512,
	OP_HEX,     /* hex[(width)]: a decimal number in hex */
	OP_HEXLIFY, /* hexlify[(width)]: the bytes in hex */
	OP_REVERSE,
	OP_LDAP_DN,
};

/* 2.3 allows ten modifiers; no 2.4 template we accept chains more filters. */
#define PGD_VAR_MAX_OPS 10

enum pgd_op_arg_type {
	ARG_NONE,
	ARG_NUM,
	ARG_STR,
};

/* A 2.4 filter's argument: a number, or a string as the template spells it (between the quotes,
 * its escapes not yet read: the template outlives the reference). */
struct pgd_op_arg {
	enum pgd_op_arg_type type;
	long long num;
	const char *s;
	size_t n;
	char quote;
};

struct pgd_var_op {
	enum pgd_var_op_kind kind;
	unsigned char nargs;
	struct pgd_op_arg args[2];
};

/* One variable as it stands in a template. */
struct pgd_var_ref {
	enum pgd_var_key key;
	bool v24; /* ops are 2.4 filters (from a 2.4 template), else 2.3 modifiers */
	unsigned char nops;
	struct pgd_var_op ops[PGD_VAR_MAX_OPS];
	int offset, width; /* 2.3's %[offset.]width, applied after the modifiers */
	bool zero_pad;     /* 2.3's %0width */
	size_t len;        /* template bytes taken, '%' included */
};

/*
 * Reads one variable at s (s[0] == '%'). On success fills *v and returns true; otherwise err
 * (may be NULL) holds a one-line reason naming the variable, through util/printable.h.
 */
bool pgd_var_parse(const char *s, struct pgd_var_ref *v, char *err, size_t errlen);

/*
 * Appends the value of v to b, its modifiers or filters applied. vars NULL: every value is ""
 * and nothing is applied (a check without a login). False when a 2.4 filter fails on this
 * value (substr out of bounds, hex of a non-number...), as Dovecot 2.4 then fails the lookup:
 * err says which filter and why (never the value), b is left as it was.
 */
bool pgd_var_append(struct pgd_buf *b, const struct pgd_var_ref *v, const struct pgd_vars *vars,
                    char *err, size_t errlen);

/*
 * The same for a value bound into SQL: Dovecot 2.3 runs its modifiers on the value escaped for
 * SQL (quotes doubled), and PostgreSQL reads the result back; a modifier that splits a doubled
 * quote is refused (Dovecot's SQL would be broken). 2.4 escapes after its filters: no change.
 */
bool pgd_var_append_sql(struct pgd_buf *b, const struct pgd_var_ref *v, const struct pgd_vars *vars,
                        char *err, size_t errlen);

/* modifier.c: the digests and hex both dialects use, a value replaced. */
#define PGD_QUERY_DIGEST_MAX 64
/* kind is OP_MD5 .. OP_SHA512; returns the digest's length, 0 if libcrypto has none. */
size_t pgd_query_digest(enum pgd_var_op_kind kind, const void *data, size_t n,
                        unsigned char out[PGD_QUERY_DIGEST_MAX]);
/* Appends the n bytes at data in lower-case hex. */
void pgd_query_hex(struct pgd_buf *b, const unsigned char *data, size_t n);
/* val becomes the n bytes at s (which may point into val). */
void pgd_query_set(struct pgd_buf *val, const char *s, size_t n);

/* modifier.c: 2.3's modifiers, width and offset, applied to val in place. */
void pgd_modifiers_run(struct pgd_buf *val, const struct pgd_var_ref *v);

/*
 * filter_v24.c: a 2.4 template's %{...} inside the 2.3 form. Where 2.3 has no equivalent, the
 * 2.4 expression travels as "%{" PGD_V24_MARK <2.3 variable> PGD_V24_MARK <filters> "}", the
 * filters as the template wrote them ("| substr(0, 1) | default('x')"). The mark is a byte no
 * template may hold (conf/load.c refuses it), so a 2.3 template cannot spell one.
 */
#define PGD_V24_MARK '\x01'

/* The '}' that ends the 2.4 expression starting at s (strings may hold '}'), or NULL. */
const char *pgd_v24_expr_end(const char *s);

/*
 * Reads the filters from s to end ("| f(args) | g") into v->ops (v->v24 set). check: also
 * compiles each regexp and checks its replacement (when the template is read). False with err
 * naming the filter when one is unknown, misspelt or cannot be applied exactly.
 */
bool pgd_filters_parse(const char *s, const char *end, struct pgd_var_ref *v, bool check, char *err,
                       size_t errlen);

/* The longest string a 2.4 filter argument may hold (regexp patterns, default values). */
#define PGD_V24_STR_MAX 256

/* A string argument's bytes, its escapes read, into out (PGD_V24_STR_MAX + 1 bytes); its length. */
size_t pgd_v24_string(const struct pgd_op_arg *a, char *out);

/* The filter's name, for messages. */
const char *pgd_filter_name(enum pgd_var_op_kind kind);

/* filter_run.c: v's 2.4 filters applied to val in place; false and err as pgd_var_append. */
bool pgd_filters_run(struct pgd_buf *val, const struct pgd_var_ref *v, char *err, size_t errlen);

/*
 * False when vars (not NULL) leaves unstated the value v reads (%c with no secured, %m with no
 * mechanism); err then names the variable and the key that states it.
 */
bool pgd_var_stated(const struct pgd_var_ref *v, const struct pgd_vars *vars, char *err,
                    size_t errlen);

#endif
