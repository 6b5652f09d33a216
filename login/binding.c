// SPDX-License-Identifier: MIT
/*
 * What binds the answer authenticate leaves for acct_mgmt to the login it was made for:
 * everything that decided which row was read. The conf's part (its server, query and name
 * rules, the conf file named, what the pam.d line states of the connection) is the conf's
 * lookup digest, made once per loaded conf (conf.h); the login's part (user, service, remote
 * host) is kept as copies and compared by value: none of them is a secret.
 */
#include "login/login.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/secret.h"

/* *copy := a heap copy of s (NULL stays NULL); false when out of memory. */
static bool copy_str(char **copy, const char *s)
{
	*copy = s != NULL ? strdup(s) : NULL;
	return s == NULL || *copy != NULL;
}

/* NULL and "" differ, as they did in the digest this comparison replaces. */
static bool same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

bool pgd_login_binding_make(struct pgd_login_binding *b, const struct pgd_conf *conf,
                            const struct pgd_login *login)
{
	memset(b, 0, sizeof(*b));
	if (!conf->lookup_digest_set)
		return false;
	memcpy(b->conf, conf->lookup_digest, sizeof(b->conf));
	if (copy_str(&b->user, login->user) && copy_str(&b->service, login->service) &&
	    copy_str(&b->rhost, login->rhost))
		return true;
	pgd_login_binding_free(b);
	return false;
}

bool pgd_login_binding_matches(const struct pgd_login_binding *b, const struct pgd_conf *conf,
                               const struct pgd_login *login)
{
	return conf->lookup_digest_set &&
	       pgd_ct_memeq(b->conf, conf->lookup_digest, sizeof(b->conf)) &&
	       same_str(b->user, login->user) && same_str(b->service, login->service) &&
	       same_str(b->rhost, login->rhost);
}

void pgd_login_binding_free(struct pgd_login_binding *b)
{
	free(b->user);
	free(b->service);
	free(b->rhost);
	pgd_wipe(b, sizeof(*b));
}
