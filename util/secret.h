// SPDX-License-Identifier: MIT
#ifndef PGD_SECRET_H
#define PGD_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Overwrites n bytes at p with zeros in a way the compiler cannot elide. */
void pgd_wipe(void *p, size_t n);

/* Wipes the NUL-terminated string s (strlen(s) bytes) and frees it. NULL is fine. */
void pgd_free_secret(char *s);

/* Compares n bytes of a and b; the time taken depends on n only. */
bool pgd_ct_memeq(const void *a, const void *b, size_t n);

/*
 * Compares two NUL-terminated strings; the time taken depends on the lengths only,
 * never on where the first difference is.
 */
bool pgd_ct_streq(const char *a, const char *b);

#endif
