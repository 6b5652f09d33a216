// SPDX-License-Identifier: MIT
/*
 * An experiment for bench/dovecot.sh, preloaded into one saslauthd (LD_PRELOAD): what a login
 * would cost if the PAM modules that libpam loads for /etc/pam.d/other at every pam_start
 * (pam_unix, pam_deny, pam_permit, ... which it unloads again at pam_end) stayed loaded, as the
 * module keeps itself (-z nodelete). PGD_PIN_MODULES is a colon-separated list of module paths;
 * each is opened once with RTLD_NODELETE when the process starts, so libpam's dlopen finds it
 * loaded and its dlclose leaves it. Nothing else changes.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void pin_modules(void)
{
	const char *list = getenv("PGD_PIN_MODULES");
	char *copy, *save = NULL;

	if (list == NULL || (copy = strdup(list)) == NULL)
		return;
	for (char *p = strtok_r(copy, ":", &save); p != NULL; p = strtok_r(NULL, ":", &save))
		if (dlopen(p, RTLD_NOW | RTLD_NODELETE) == NULL)
			fprintf(stderr, "pin_modules: %s\n", dlerror());
	free(copy);
}
