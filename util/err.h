// SPDX-License-Identifier: MIT
#ifndef PGD_ERR_H
#define PGD_ERR_H

#include <stddef.h>

/*
 * Writes a one-line reason into err (errlen bytes, cut to fit) for the caller to log. err may be
 * NULL or errlen 0: nothing is written. What the reason quotes from a file, a row or a user goes
 * through util/printable.h first.
 */
void pgd_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
