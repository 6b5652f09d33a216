// SPDX-License-Identifier: MIT
/* Loads the module as libpam does and checks that only the pam_sm_* entry points are visible. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	const char *const wanted[] = {"pam_sm_authenticate", "pam_sm_setcred",
	                              "pam_sm_acct_mgmt",    "pam_sm_chauthtok",
	                              "pam_sm_open_session", "pam_sm_close_session"};
	const char *const hidden[] = {"pgd_hash_verify", "pgd_conf_load",    "pgd_query_bind",
	                              "pgd_db_lookup",   "pgd_login_verify", "pgd_ct_streq",
	                              "pgd_wipe",        "report",           "load_conf"};
	int failed = 0;
	void *h;

	if (argc != 2) {
		fprintf(stderr, "usage: dlsym_check MODULE.so\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		printf("not ok 1 - dlopen: %s\n", dlerror());
		return 1;
	}
	printf("1..%zu\n", sizeof(wanted) / sizeof(wanted[0]) + sizeof(hidden) / sizeof(hidden[0]));
	int n = 0;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		int ok = dlsym(h, wanted[i]) != NULL;
		printf("%sok %d - %s is exported\n", ok ? "" : "not ", ++n, wanted[i]);
		failed |= !ok;
	}
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		int ok = dlsym(h, hidden[i]) == NULL;
		printf("%sok %d - %s is hidden\n", ok ? "" : "not ", ++n, hidden[i]);
		failed |= !ok;
	}
	dlclose(h);
	return failed;
}
