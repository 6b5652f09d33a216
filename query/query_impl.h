// SPDX-License-Identifier: MIT
/*
 * What the files of query/ share and nobody else reads: one Dovecot 2.3 %-variable as
 * template.c parses it, and the value it expands to. bind.c (the SQL binder) and user.c (the
 * name fix-up) build on these two functions, so that every place reads a variable alike.
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

enum pgd_var_case {
	CASE_KEEP,
	CASE_LOWER,
	CASE_UPPER,
};

/* One variable as it stands in a template. */
struct pgd_var_ref {
	enum pgd_var_key key;
	enum pgd_var_case mod;
	size_t len; /* template bytes taken, '%' included */
};

/*
 * Reads one variable at s (s[0] == '%'). On success fills *v and returns true; otherwise err
 * (may be NULL) holds a one-line reason naming the variable, through util/printable.h.
 */
bool pgd_var_parse(const char *s, struct pgd_var_ref *v, char *err, size_t errlen);

/*
 * False when vars (not NULL) leaves unstated the value v reads (%c with no secured, %m with no
 * mechanism); err then names the variable and the key that states it.
 */
bool pgd_var_stated(const struct pgd_var_ref *v, const struct pgd_vars *vars, char *err,
                    size_t errlen);

/* Appends the value of v to b, case modifier applied (vars may be NULL: every value is ""). */
void pgd_var_append(struct pgd_buf *b, const struct pgd_var_ref *v, const struct pgd_vars *vars);

#endif
