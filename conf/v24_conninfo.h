// SPDX-License-Identifier: MIT
/*
 * The pgsql HOST { parameters { } } blocks of a Dovecot 2.4 tree, as the reader collects them,
 * and their assembly into the one libpq conninfo the module connects with (v24_conninfo.c).
 */
#ifndef PGD_CONF_V24_CONNINFO_H
#define PGD_CONF_V24_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/result.h"

#define PGD_V24_MAX_PARAMS 32

struct pgd_v24_param {
	char *key;
	char *value; /* secret: may be the password */
};

struct pgd_v24_host {
	char *name;
	char *host; /* host = inside the block or its parameters: overrides the name */
	struct pgd_v24_param params[PGD_V24_MAX_PARAMS];
	size_t nparams;
};

/*
 * The blocks as one libpq conninfo, handed to set as connect: host (the block name unless
 * host= says otherwise) and port become comma lists; every other parameter must be the same
 * in every block, since libpq's multi-host form shares them. path (the tree's top file) names
 * the tree in a message. nhosts > 0.
 */
bool pgd_v24_conninfo(const struct pgd_v24_host *hosts, size_t nhosts,
                      const struct pgd_conf_setter *set, const char *path, char *err,
                      size_t errlen);

#endif
