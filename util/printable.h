// SPDX-License-Identifier: MIT
#ifndef PGD_PRINTABLE_H
#define PGD_PRINTABLE_H

#include <stddef.h>

/*
 * The one way a byte from a row, a file, the network or a user reaches a log line or a terminal.
 *
 * Copies at most n bytes of s (fewer at a NUL) into out: printable ASCII (0x21-0x7e) as is, a
 * blank as is when flags has PGD_PRINT_BLANKS, every other byte and the backslash as \xNN, so the
 * copy is one line of ASCII that says which bytes were there. The copy is cut to fit outlen
 * (never in the middle of an escape) and always NUL-terminated when outlen > 0. s may be NULL
 * ("" then). out may be s itself only when s holds no byte to escape; pass distinct buffers.
 * Returns out.
 */
#define PGD_PRINT_BLANKS 1u
const char *pgd_printable_n(const char *s, size_t n, char *out, size_t outlen, unsigned flags);

/* The same for a NUL-terminated string, blanks kept: a message, a path, a value. */
const char *pgd_printable(const char *s, char *out, size_t outlen);

/* The same for one word (a user name, a key, an item): blanks escaped too. */
const char *pgd_printable_word(const char *s, char *out, size_t outlen);

#endif
