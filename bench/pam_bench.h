// SPDX-License-Identifier: MIT
/* What pam_bench's modes share: the options (pam_bench.c reads them), and the compare mode. */
#ifndef PGD_PAM_BENCH_H
#define PGD_PAM_BENCH_H

struct opts {
	const char *module, *connect, *user, *password, *stored, *label, *out, *server_log;
	const char *role, *raw, *cache_off_line, *permit;
	const char *extra_line; /* soak: a conf line (or lines) more */
	long n, warmup, distinct;
	double time_limit;
};

/* The alternated arms (pam_bench_compare.c); the exit status. */
int pam_bench_compare(const struct opts *o);

#endif
