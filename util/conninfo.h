// SPDX-License-Identifier: MIT
/*
 * Writing a libpq conninfo string: the one way a keyword and its value are quoted, for every
 * conninfo the module assembles (the one a Dovecot 2.4 tree's pgsql blocks make, the
 * environment-proof one a connection is opened with).
 */
#ifndef PGD_CONNINFO_H
#define PGD_CONNINFO_H

#include "util/buf.h"

/* Appends keyword='value' to b (after a blank when b is not empty), the value single-quoted
 * with \ and ' escaped, as libpq's conninfo parser reads it. */
void pgd_conninfo_add(struct pgd_buf *b, const char *keyword, const char *value);

#endif
