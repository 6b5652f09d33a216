// SPDX-License-Identifier: MIT
/* How much work a stored crypt value asks for: what rehash and the check command compare. */
#include "hashcost.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

unsigned long pgd_hash_cost(const char *scheme, const char *stored)
{
	const char *value = stored;

	if (value[0] == '{' && strchr(value, '}') != NULL)
		value = strchr(value, '}') + 1;
	if (strcasecmp(scheme, "SHA512-CRYPT") == 0 || strcasecmp(scheme, "SHA256-CRYPT") == 0) {
		/* $6$rounds=N$salt$hash; without rounds= it is 5000 */
		if (strncmp(value + 2, "$rounds=", 8) == 0 && value[0] == '$')
			return strtoul(value + 10, NULL, 10);
		return PGD_DEFAULT_CRYPT_ROUNDS;
	}
	if (strcasecmp(scheme, "BLF-CRYPT") == 0 && strlen(value) > 7 && value[0] == '$')
		return strtoul(value + 4, NULL, 10); /* $2y$NN$ */
	return 0;
}
