// SPDX-License-Identifier: MIT
/* What the fuzz targets ask of every message and name they get back: one printable line. */
#ifndef PGD_FUZZ_CHECK_H
#define PGD_FUZZ_CHECK_H

#include <stdlib.h>
#include <string.h>

/* Aborts when s holds a control byte (below 0x20, or 0x7f) before its NUL. */
static inline void fuzz_check_line(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			abort();
}

/* Aborts unless err, a buffer of cap bytes, holds a NUL-terminated printable line. */
static inline void fuzz_check_message(const char *err, size_t cap)
{
	if (memchr(err, '\0', cap) == NULL)
		abort();
	fuzz_check_line(err);
}

#endif
