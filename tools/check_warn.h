// SPDX-License-Identifier: MIT
#ifndef PGD_CHECK_WARN_H
#define PGD_CHECK_WARN_H

#include "conf/conf.h"

/*
 * Prints one "warning: ..." line per trap found in conf (file mode, connect, password_query's
 * columns as the server describes them) and, with user (may be NULL), in that user's row.
 * Opens a read-only connection of its own; prints nothing about a database it cannot reach.
 */
void pgd_check_warnings(const struct pgd_conf *conf, const char *user);

#endif
