// SPDX-License-Identifier: MIT
#ifndef PGD_VECTOR_HEX_H
#define PGD_VECTOR_HEX_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Decodes a password field of the TSV files in tests/vectors (lowercase hex) into out as a
 * NUL-terminated string of at most cap - 1 bytes; false on bad hex, an odd length, an inner NUL or
 * no room.
 */
bool pgd_vector_unhex(const char *hex, char *out, size_t cap);

#endif
