// SPDX-License-Identifier: MIT
#ifndef PGD_STR_H
#define PGD_STR_H

#include <stdbool.h>

/* An option, a field or an item is set when it is a string of at least one byte. */
static inline bool pgd_str_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

#endif
