// SPDX-License-Identifier: MIT
#include "util/printable.h"

#include <stdbool.h>

static const char hex[] = "0123456789abcdef";

const char *pgd_printable_n(const char *s, size_t n, char *out, size_t outlen, unsigned flags)
{
	size_t o = 0;

	if (outlen == 0)
		return out;
	for (size_t i = 0; s != NULL && i < n && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = (c > 0x20 && c < 0x7f && c != '\\') ||
		             (c == 0x20 && (flags & PGD_PRINT_BLANKS) != 0);

		if (plain) {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

const char *pgd_printable(const char *s, char *out, size_t outlen)
{
	return pgd_printable_n(s, (size_t)-1, out, outlen, PGD_PRINT_BLANKS);
}

const char *pgd_printable_word(const char *s, char *out, size_t outlen)
{
	return pgd_printable_n(s, (size_t)-1, out, outlen, 0);
}
