// SPDX-License-Identifier: MIT
#include "util/secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void pgd_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void pgd_free_secret(char *s)
{
	if (s == NULL)
		return;
	pgd_wipe(s, strlen(s));
	free(s);
}

bool pgd_ct_memeq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a;
	const volatile unsigned char *y = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(x[i] ^ y[i]);
	return diff == 0;
}

bool pgd_ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);
	const volatile unsigned char *x = (const volatile unsigned char *)a;
	const volatile unsigned char *y = (const volatile unsigned char *)b;
	/* Walk all of a whatever b holds; past the end of b compare against its NUL, so the
	 * loop's shape depends on the two lengths only. */
	size_t diff = la ^ lb;

	for (size_t i = 0; i < la; i++) {
		unsigned char cy = i < lb ? y[i] : 0;
		diff |= (size_t)(x[i] ^ cy);
	}
	return diff == 0;
}
