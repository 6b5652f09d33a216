// SPDX-License-Identifier: MIT
/* The password column of the doveadm-made vector files, shared by the tests that read them. */
#include "vector_hex.h"

#include <string.h>

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool pgd_vector_unhex(const char *hex, char *out, size_t cap)
{
	size_t len = strlen(hex);

	if (len % 2 != 0 || len / 2 >= cap)
		return false;
	for (size_t i = 0; i < len; i += 2) {
		int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;
		out[i / 2] = (char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	return true;
}
