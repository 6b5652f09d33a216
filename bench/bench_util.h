// SPDX-License-Identifier: MIT
/* What the benchmark programs share: clocks, statistics, PAM transactions, conf files. */
#ifndef PGD_BENCH_UTIL_H
#define PGD_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h> /* offsetof, for BENCH_OPT */
#include <stdio.h>

/* Monotonic time in microseconds. */
double bench_now_us(void);
/* CPU time of the calling thread in microseconds: waiting for the server is not in it. */
double bench_cpu_us(void);

/* A growing array of samples (microseconds). */
struct bench_samples {
	double *v;
	size_t n, cap;
};

/* Allocates room for n samples and touches it, so that adding them later grows no memory. */
void bench_samples_reserve(struct bench_samples *s, size_t n);
void bench_samples_add(struct bench_samples *s, double us);
void bench_samples_free(struct bench_samples *s);
/* Quantile q (0..1) by nearest rank; sorts a copy. NAN when empty. */
double bench_quantile(const struct bench_samples *s, double q);
double bench_sum(const struct bench_samples *s);
/* Median over i of num[i]/den[i] (alternated arms, compared iteration by iteration). */
double bench_ratio_median(const struct bench_samples *num, const struct bench_samples *den);

/*
 * True when more than limit_s seconds have passed since start_us (bench_now_us); then says on
 * stderr that LABEL stopped after done WHAT ("iterations", "logins").
 */
bool bench_time_up(double start_us, double limit_s, const char *label, long done, const char *what);

/* Exits with a message on stderr. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * The command line: one table row an option, {name, type, offset of its field in the program's
 * options struct}. A one-letter name is "-n VALUE", a longer one "--name VALUE"; a flag takes
 * no value and sets a bool. Numbers are read as strtod/strtol/atoi read them.
 */
enum bench_opt_type { BENCH_STR, BENCH_DOUBLE, BENCH_LONG, BENCH_INT, BENCH_FLAG };

struct bench_opt {
	const char *name;
	enum bench_opt_type type;
	size_t offset;
};

/* A row: BENCH_OPT(struct opts, "time-limit", DOUBLE, time_limit). */
// clang-format off
#define BENCH_OPT(opts_type, name, type, field) {name, BENCH_##type, offsetof(opts_type, field)}
// clang-format on

/* Sets the fields of opts that argv[1..] names; calls usage() at an option not in the table. */
void bench_parse_opts(int argc, char **argv, const struct bench_opt *table, size_t n, void *opts,
                      void (*usage)(void));

/* The setting crypt_rn takes: the stored hash without its {SCHEME} prefix, into out. */
void bench_crypt_setting(const char *stored, char *out, size_t outlen);

/*
 * A private PAM configuration folder (pam_start_confdir) with conf files beside it.
 * dir is made by bench_confdir_init and removed (with what it holds) by bench_confdir_free.
 */
struct bench_confdir {
	char dir[64];
};

void bench_confdir_init(struct bench_confdir *cd);
void bench_confdir_free(struct bench_confdir *cd);
/* Writes dir/NAME.conf (mode 0600) with the module conf and returns its path (static buffer). */
const char *bench_write_conf(struct bench_confdir *cd, const char *name, const char *connect,
                             const char *extra_line);
/* Writes dir/SERVICE: auth and account lines for module with conf=conf_path. */
void bench_write_module_service(struct bench_confdir *cd, const char *service, const char *module,
                                const char *conf_path);
/* Writes dir/SERVICE: module (pam_permit) for auth and account (libpam's floor). */
void bench_write_permit_service(struct bench_confdir *cd, const char *service, const char *module);

/*
 * One transaction as saslauthd runs it: pam_start_confdir, authenticate and acct_mgmt with
 * PAM_SILENT, pam_end. Returns the first code that is not PAM_SUCCESS, or PAM_SUCCESS.
 * With no_fail_delay the transaction sets a PAM_FAIL_DELAY function that does not sleep (the
 * delay libpam would have slept is added to *fail_delay_us when that is not NULL).
 */
int bench_pam_login(const char *confdir, const char *service, const char *user,
                    const char *password, bool no_fail_delay, double *fail_delay_us);

/* Current resident set (KiB) from /proc/self/statm, peak from getrusage. */
long bench_rss_kib(void);
long bench_peak_rss_kib(void);
/* Number of open file descriptors of this process. */
int bench_count_fds(void);

/*
 * Counts the database connections the module opened, from the server's log (log_connections
 * on): lines "connection authorized: user=ROLE" that do not name the bench's own
 * application_name. Reading starts at the end of the log as it is at init.
 */
struct bench_logcount {
	int fd;
	long long offset;
	const char *role;
};

void bench_logcount_init(struct bench_logcount *lc, const char *path, const char *role);
/* Connections authorized since the previous call (or init). */
long bench_logcount_new(struct bench_logcount *lc);
void bench_logcount_free(struct bench_logcount *lc);

/* The application_name of the bench's own raw libpq connection, so the log count skips it. */
#define BENCH_RAW_APPNAME "pgd_bench_raw"

/* Escapes s as a JSON string (with quotes) onto f. */
void bench_json_str(FILE *f, const char *s);
/* Writes the member "key": v (null for NAN) on a line of its own, a comma after it unless last. */
void bench_json_num(FILE *f, const char *key, double v, bool last);

/* Opens OUT/LABEL + SUFFIX (".json", "-rss.dat") for writing; dies when it cannot. */
FILE *bench_out_open(const char *out, const char *label, const char *suffix);

/*
 * Opens OUT/LABEL.json (dies when it cannot) and writes its first two members, label and mode,
 * without the comma after them; the caller writes the rest and closes it.
 */
FILE *bench_json_open(const char *out, const char *label, const char *mode);

/* Writes s, one sample a line, to OUT/LABEL.lat, or OUT/LABEL-ARM.lat when arm is not NULL;
 * false on error. */
bool bench_write_lat(const char *out, const char *label, const char *arm,
                     const struct bench_samples *s);

#endif
