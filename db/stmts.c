// SPDX-License-Identifier: MIT
/* The statements prepared on one connection: their names, and which ones it holds. */
#include "db/db_impl.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

bool pgd_db_stmt_name(const char *sql, char name[PGD_DB_STMT_NAME_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (EVP_Digest(sql, strlen(sql), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
		return false;
	memcpy(name, "pgd_", 4);
	for (int i = 0; i < 16; i++)
		snprintf(name + 4 + 2 * i, 3, "%02x", md[i]);
	return true;
}

bool pgd_db_stmts_has(const struct pgd_db_stmts *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return true;
	return false;
}

bool pgd_db_stmts_add(struct pgd_db_stmts *s, const char *name)
{
	if (s->n >= PGD_DB_MAX_STMTS)
		return false;
	snprintf(s->names[s->n++], PGD_DB_STMT_NAME_LEN, "%s", name);
	return true;
}
