// SPDX-License-Identifier: MIT
/* The statements prepared on one connection: their names, and which texts it holds. */
#include "db/db_impl.h"

#include <stdio.h>
#include <stdlib.h>
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

const char *pgd_db_stmts_find(const struct pgd_db_stmts *s, const char *sql)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->sql[i], sql) == 0)
			return s->names[i];
	return NULL;
}

bool pgd_db_stmts_add(struct pgd_db_stmts *s, const char *sql, const char *name)
{
	if (s->n >= PGD_DB_MAX_STMTS || (s->sql[s->n] = strdup(sql)) == NULL)
		return false;
	snprintf(s->names[s->n++], PGD_DB_STMT_NAME_LEN, "%s", name);
	return true;
}

void pgd_db_stmts_clear(struct pgd_db_stmts *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->sql[i]);
	memset(s, 0, sizeof(*s));
}
