// SPDX-License-Identifier: MIT
/*
 * What the hash unit tests share: the doveadm-made vector files and their password column, one
 * expected verdict, doveadm as the oracle, a clock for time bounds.
 */
#include "vector_hex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/secret.h"

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool pgd_vector_unhex(const char *hex, char *out, size_t cap)
{
	size_t len = strlen(hex);

	if (len % 2 != 0 || len / 2 >= cap)
		return false;
	for (size_t i = 0; i < len; i += 2) {
		int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;
		out[i / 2] = (char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	return true;
}

void pgd_vectors_open(struct pgd_vectors *v, const char *name)
{
	const char *dir = getenv("PGD_VECTORS");

	memset(v, 0, sizeof(*v));
	if (dir == NULL) {
		print_message("# PGD_VECTORS is not set; run through meson test\n");
		skip();
	}
	snprintf(v->path, sizeof(v->path), "%s/%s", dir, name);
	v->f = fopen(v->path, "r");
	if (v->f == NULL)
		fail_msg("cannot open %s: %s", v->path, strerror(errno));
}

bool pgd_vectors_next(struct pgd_vectors *v, int nfields)
{
	explicit_bzero(v->password, sizeof(v->password));
	while (fgets(v->line, sizeof(v->line), v->f) != NULL) {
		char *end = strchr(v->line, '\n');

		v->lineno++;
		if (end == NULL)
			fail_msg("%s:%u: line too long or unterminated", v->path, v->lineno);
		*end = '\0';
		if (v->line[0] == '#' || v->line[0] == '\0')
			continue;
		v->field[0] = v->line;
		for (int i = 1; i < nfields; i++) {
			v->field[i] = strchr(v->field[i - 1], '\t');
			if (v->field[i] == NULL)
				fail_msg("%s:%u: not %d tab-separated fields", v->path, v->lineno,
				         nfields);
			*v->field[i]++ = '\0';
		}
		if (!pgd_vector_unhex(v->field[1], v->password, sizeof(v->password)))
			fail_msg("%s:%u: bad password hex", v->path, v->lineno);
		return true;
	}
	fclose(v->f);
	v->f = NULL;
	return false;
}

bool pgd_vectors_agree(const struct pgd_vectors *v, const char *verdict, enum pgd_hash_result r,
                       unsigned *stricter)
{
	if (strcmp(verdict, "match") == 0)
		return r == PGD_HASH_MATCH;
	if (strcmp(verdict, "mismatch") == 0) {
		if (r == PGD_HASH_MALFORMED)
			(*stricter)++;
		return r == PGD_HASH_MISMATCH || r == PGD_HASH_MALFORMED;
	}
	if (strcmp(verdict, "fail") == 0)
		return r == PGD_HASH_MALFORMED || r == PGD_HASH_UNSUPPORTED;
	fail_msg("%s:%u: unknown verdict \"%s\"", v->path, v->lineno, verdict);
	return false;
}

double pgd_test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pgd_expect_verify(size_t i, const char *stored, const struct pgd_hash_policy *policy,
                       enum pgd_hash_result want, const char *detail)
{
	struct pgd_hash_info info;
	enum pgd_hash_result r = pgd_hash_verify(stored, "secret", policy, &info);

	if (r != want)
		fail_msg("case %zu (%s): got %s (%s), want %s", i, stored, pgd_hash_result_str(r),
		         info.detail, pgd_hash_result_str(want));
	if (detail != NULL && strstr(info.detail, detail) == NULL)
		fail_msg("case %zu: detail \"%s\" lacks \"%s\"", i, info.detail, detail);
}

/* Exit status of `doveadm pw -t stored -p password [-u user]`, or -1 if doveadm cannot run. */
int pgd_doveadm_verify(const char *stored, const char *password, const char *user)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		if (user != NULL)
			execlp("doveadm", "doveadm", "pw", "-t", stored, "-p", password, "-u", user,
			       (char *)NULL);
		else
			execlp("doveadm", "doveadm", "pw", "-t", stored, "-p", password,
			       (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return -1;
	return WEXITSTATUS(status);
}

void pgd_expect_generated(const struct pgd_gen_case *c, const char *password, const char *user,
                          bool ask_doveadm, struct pgd_doveadm *d)
{
	struct pgd_hash_policy policy = {.login_user = user};
	struct pgd_hash_info info;
	char *out = NULL, wrong[64];
	enum pgd_hash_result r =
	    pgd_hash_generate_ex(c->scheme, password, user, c->rounds, &out, &info);

	if (r != PGD_HASH_MATCH || out == NULL)
		fail_msg("%s: generate says %s (%s)", c->scheme, pgd_hash_result_str(r),
		         info.detail);
	if (strncmp(out, c->prefix, strlen(c->prefix)) != 0)
		fail_msg("%s: %s lacks prefix %s", c->scheme, out, c->prefix);
	if (c->rounds == 0 && strstr(out, "rounds=") != NULL)
		fail_msg("%s: default rounds must not be spelled out: %s", c->scheme, out);
	r = pgd_hash_verify(out, password, &policy, &info);
	if (r != PGD_HASH_MATCH)
		fail_msg("%s: %s does not verify: %s (%s)", c->scheme, out, pgd_hash_result_str(r),
		         info.detail);
	/* a different first byte: DES only reads 8 bytes, bcrypt 72 */
	snprintf(wrong, sizeof(wrong), "x%s", password);
	r = pgd_hash_verify(out, wrong, &policy, NULL);
	if (r != PGD_HASH_MISMATCH)
		fail_msg("%s: a wrong password gives %s", c->scheme, pgd_hash_result_str(r));
	if (ask_doveadm && !d->missing && strchr(out, '\t') == NULL) {
		int rc = pgd_doveadm_verify(out, password, user);

		if (rc < 0)
			d->missing = true;
		else if (rc != 0)
			fail_msg("doveadm pw -t rejects %s (exit %d)", out, rc);
		else
			d->seen = true;
	}
	pgd_free_secret(out);
}
