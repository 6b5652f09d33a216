// SPDX-License-Identifier: MIT
#ifndef PGD_BUF_H
#define PGD_BUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A growing NUL-terminated byte string that may hold a secret: growing copies into a new block
 * and wipes the old one (never realloc, which may leave a copy behind), and the free wipes.
 * Failure is sticky, so callers check once at the end. Start from (struct pgd_buf){0}.
 */
struct pgd_buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

void pgd_buf_add(struct pgd_buf *b, const char *s, size_t n);
void pgd_buf_addc(struct pgd_buf *b, char c);
void pgd_buf_adds(struct pgd_buf *b, const char *s);
/* The byte `back` places before the end, or NUL when there is none. */
char pgd_buf_last(const struct pgd_buf *b, size_t back);
/* Returns the string ("" when nothing was added) and leaves b empty; NULL after a failure. */
char *pgd_buf_take(struct pgd_buf *b);
/* Wipes and frees what b holds. */
void pgd_buf_free(struct pgd_buf *b);

#endif
