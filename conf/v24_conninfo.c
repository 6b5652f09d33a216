// SPDX-License-Identifier: MIT
/* The pgsql blocks of a Dovecot 2.4 tree as one libpq conninfo (v24_conninfo.h). */
#include "conf/v24_conninfo.h"

#include <string.h>

#include "util/buf.h"
#include "util/conninfo.h"
#include "util/err.h"
#include "util/printable.h"

static const char *param_of(const struct pgd_v24_host *h, const char *key)
{
	for (size_t i = 0; i < h->nparams; i++)
		if (strcmp(h->params[i].key, key) == 0)
			return h->params[i].value;
	return NULL;
}

/* How many parameters a block has besides port, which may differ between blocks. */
static size_t shared_params(const struct pgd_v24_host *h)
{
	return h->nparams - (param_of(h, "port") != NULL);
}

/* Does every block carry the first block's parameters, port aside? err names the first
 * difference. */
static bool blocks_agree(const struct pgd_v24_host *hosts, size_t nhosts, const char *shown,
                         char *err, size_t errlen)
{
	for (size_t i = 1; i < nhosts; i++) {
		const struct pgd_v24_host *h = &hosts[i];

		for (size_t j = 0; j < h->nparams; j++) {
			const char *k = h->params[j].key, *v0 = param_of(&hosts[0], k);

			if (strcmp(k, "port") == 0)
				continue;
			if (v0 == NULL || strcmp(v0, h->params[j].value) != 0) {
				pgd_set_err(
				    err, errlen,
				    "%s: pgsql blocks differ in '%s': several blocks are read "
				    "as one multi-host connection and must share it",
				    shown, k);
				return false;
			}
		}
		if (shared_params(h) != shared_params(&hosts[0])) {
			pgd_set_err(
			    err, errlen,
			    "%s: pgsql blocks differ in their parameters: several blocks are "
			    "read as one multi-host connection and must share them",
			    shown);
			return false;
		}
	}
	return true;
}

/* host='a,b' and, when a block names one, port='p,5432': the blocks in their order. */
static void add_hosts(struct pgd_buf *ci, const struct pgd_v24_host *hosts, size_t nhosts)
{
	struct pgd_buf names = {0}, ports = {0};
	bool any_port = false;

	for (size_t i = 0; i < nhosts; i++) {
		const char *port = param_of(&hosts[i], "port");

		if (i > 0) {
			pgd_buf_addc(&names, ',');
			pgd_buf_addc(&ports, ',');
		}
		pgd_buf_adds(&names, hosts[i].host != NULL ? hosts[i].host : hosts[i].name);
		pgd_buf_adds(&ports, port != NULL ? port : "5432");
		any_port = any_port || port != NULL;
	}
	if (names.failed || ports.failed)
		ci->failed = true;
	else
		pgd_conninfo_add(ci, "host", names.p);
	if (any_port && !ci->failed)
		pgd_conninfo_add(ci, "port", ports.p);
	pgd_buf_free(&names);
	pgd_buf_free(&ports);
}

bool pgd_v24_conninfo(const struct pgd_v24_host *hosts, size_t nhosts,
                      const struct pgd_conf_setter *set, const char *path, char *err, size_t errlen)
{
	struct pgd_buf ci = {0};
	char shown[200], msg[256];
	bool ok;

	if (!blocks_agree(hosts, nhosts, pgd_printable(path, shown, sizeof(shown)), err, errlen))
		return false;
	add_hosts(&ci, hosts, nhosts);
	for (size_t j = 0; j < hosts[0].nparams; j++) {
		if (strcmp(hosts[0].params[j].key, "port") != 0)
			pgd_conninfo_add(&ci, hosts[0].params[j].key, hosts[0].params[j].value);
	}
	if (ci.failed) {
		pgd_buf_free(&ci);
		pgd_set_err(err, errlen, "out of memory");
		return false;
	}
	ok = set->set(set->ctx, "connect", ci.p, msg, sizeof(msg)) == PGD_CONF_OK;
	pgd_buf_free(&ci);
	if (!ok)
		pgd_set_err(err, errlen, "%s", msg);
	return ok;
}
