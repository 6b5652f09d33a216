// SPDX-License-Identifier: MIT
/* The quoting of a libpq conninfo keyword and value (conninfo.h). */
#include "util/conninfo.h"

void pgd_conninfo_add(struct pgd_buf *b, const char *keyword, const char *value)
{
	if (b->len > 0)
		pgd_buf_addc(b, ' ');
	pgd_buf_adds(b, keyword);
	pgd_buf_add(b, "='", 2);
	for (const char *v = value; *v != '\0'; v++) {
		if (*v == '\'' || *v == '\\')
			pgd_buf_addc(b, '\\');
		pgd_buf_addc(b, *v);
	}
	pgd_buf_addc(b, '\'');
}
