// SPDX-License-Identifier: MIT
/*
 * Preloaded into a PAM test's parent by tests/valgrind.sh. The PAM tests write their pam.d
 * files, then re-run themselves with execv("/proc/self/exe", argv) so that pam_wrapper copies
 * the files at start-up; under valgrind that path names valgrind's own tool, not the test. This
 * turns that one execv into "valgrind $PGD_VALGRIND_ARGS <the test's real path> args...", so
 * the child, where every test runs, runs under memcheck. Any other execv is left alone.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int execv(const char *path, char *const argv[]);

typedef int (*execv_fn)(const char *, char *const[]);

/* Removes this library from LD_PRELOAD so that the valgrind'ed child does not load it. */
static void drop_self_from_preload(void)
{
	const char *self = getenv("PGD_VALGRIND_SHIM");
	const char *preload = getenv("LD_PRELOAD");
	char *copy, *hit;
	size_t n;

	if (self == NULL || preload == NULL || (hit = strstr(preload, self)) == NULL)
		return;
	copy = strdup(preload);
	if (copy == NULL)
		return;
	hit = copy + (hit - preload);
	n = strlen(self);
	memset(hit, ' ', n);
	setenv("LD_PRELOAD", copy, 1);
	free(copy);
}

int execv(const char *path, char *const argv[])
{
	execv_fn real = (execv_fn)dlsym(RTLD_NEXT, "execv");
	const char *opts = getenv("PGD_VALGRIND_ARGS");
	static char valgrind[] = "valgrind";
	char self[PATH_MAX], *args, *tok, *save = NULL;
	char *vargv[64];
	size_t n = 0, argc = 0;
	ssize_t len;

	if (strcmp(path, "/proc/self/exe") != 0 || opts == NULL)
		return real(path, argv);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return real(path, argv);
	self[len] = '\0';
	while (argv[argc] != NULL)
		argc++;
	args = strdup(opts);
	if (args == NULL)
		return real(path, argv);
	vargv[n++] = valgrind;
	for (tok = strtok_r(args, " ", &save); tok != NULL && n < 40;
	     tok = strtok_r(NULL, " ", &save))
		vargv[n++] = tok;
	vargv[n++] = self;
	for (size_t i = 1; i < argc && n < 63; i++)
		vargv[n++] = argv[i];
	vargv[n] = NULL;
	drop_self_from_preload();
	execvp("valgrind", vargv);
	perror("valgrind");
	free(args);
	return -1;
}
