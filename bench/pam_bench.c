// SPDX-License-Identifier: MIT
/*
 * One process, N PAM transactions through the real libpam, as saslauthd runs them.
 *
 *   pam_bench compare ...  alternates, iteration by iteration (A B C D E, E D C B A, ...):
 *                          module login (connection cache on), module login (cache off, in a
 *                          forked child: a cache-off lookup closes the process's connection),
 *                          an empty pam_permit transaction, raw crypt_rn of the same stored
 *                          hash, and the raw warm libpq query loop (bench_raw, another process)
 *   pam_bench soak ...     N module logins only: resident memory over the run, database
 *                          connections opened during the first 10,000, descriptors; with
 *                          --distinct K, users s0..s(K-1)@DOMAIN picked at random and the
 *                          verified-login cache on (--extra-line sets its size)
 *   pam_bench vcache ...   the verified-login cache, alternated: raw crypt_rn, a login with
 *                          the cache off, a repeat login with it on, a first login with it on
 *                          (user firstI@DOMAIN, a new I each time), a wrong password with it on
 *                          and off (user wrong@DOMAIN)
 *
 * Database connections are counted from the server's log (log_connections), not guessed.
 * Each run writes OUT/LABEL.json and one latency file per arm (OUT/LABEL-ARM.lat, microseconds).
 */
#include <crypt.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_util.h"

enum arm { ARM_ON, ARM_OFF, ARM_PERMIT, ARM_CRYPT, ARM_QUERY, NARMS };

static const char *const arm_names[NARMS] = {"module", "module-nocache", "permit", "crypt",
                                             "query"};
static const char *const arm_titles[NARMS] = {
    "module login, connection cache on", "module login, connection cache off",
    "empty pam_permit transaction", "raw crypt_rn of the stored hash",
    "raw warm libpq query (PQexecParams)"};

struct opts {
	const char *module, *connect, *user, *password, *stored, *label, *out, *server_log;
	const char *role, *raw, *cache_off_line, *permit;
	const char *extra_line; /* soak: a conf line (or lines) more */
	long n, warmup, distinct;
	double time_limit;
};

struct helper {
	pid_t pid;
	FILE *to, *from;
};

static void usage(void)
{
	fprintf(stderr,
	        "usage: pam_bench compare|soak --module SO --connect CONNINFO --user USER@DOMAIN\n"
	        "         --password PW --server-log FILE --out DIR --label NAME [-n N]\n"
	        "         [--time-limit SECONDS] [--stored HASH --raw BENCH_RAW]\n"
	        "         [--cache-off-line 'connection_cache = no'] [--role pgd_auth]\n"
	        "         [--permit-module /PATH/pam_permit.so (absolute: kept loaded)]\n"
	        "       pam_bench vcache (the same) --stored HASH\n"
	        "       pam_bench soak (the same) [--distinct K --extra-line 'verify_cache_size = "
	        "1000']\n");
	exit(2);
}

#define OPT(name, type, field) BENCH_OPT(struct opts, name, type, field)

static const struct bench_opt options[] = {
    OPT("module", STR, module),
    OPT("connect", STR, connect),
    OPT("user", STR, user),
    OPT("password", STR, password),
    OPT("stored", STR, stored),
    OPT("label", STR, label),
    OPT("out", STR, out),
    OPT("server-log", STR, server_log),
    OPT("role", STR, role),
    OPT("raw", STR, raw),
    OPT("cache-off-line", STR, cache_off_line),
    OPT("time-limit", DOUBLE, time_limit),
    OPT("warmup", LONG, warmup),
    OPT("permit-module", STR, permit),
    OPT("n", LONG, n),
    OPT("distinct", LONG, distinct),
    OPT("extra-line", STR, extra_line),
};

static void parse(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){.n = 2000,
	                   .warmup = 20,
	                   .time_limit = 120,
	                   .role = "pgd_auth",
	                   .cache_off_line = "connection_cache = no",
	                   .permit = "pam_permit.so"};
	bench_parse_opts(argc, argv, options, sizeof(options) / sizeof(options[0]), o, usage);
	if (o->module == NULL || o->connect == NULL || o->user == NULL || o->password == NULL ||
	    o->label == NULL || o->out == NULL || o->server_log == NULL || o->n <= 0)
		usage();
}

/*
 * Forks a helper that this process drives through two pipes. In the child it returns true with
 * the child's ends in *cmd (to read) and *reply (to write); here false, with h->to and h->from.
 */
static bool helper_fork(struct helper *h, int *cmd, int *reply)
{
	int in[2], out[2];

	fflush(NULL);
	if (pipe(in) != 0 || pipe(out) != 0)
		bench_die("pipe: %s", strerror(errno));
	h->pid = fork();
	if (h->pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (h->pid == 0) {
		close(in[1]);
		close(out[0]);
		*cmd = in[0];
		*reply = out[1];
		return true;
	}
	close(in[0]);
	close(out[1]);
	h->to = fdopen(in[1], "w");
	h->from = fdopen(out[0], "r");
	if (h->to == NULL || h->from == NULL)
		bench_die("fdopen failed");
	return false;
}

/* Starts bench_raw, the raw query loop, and waits for its "ready". */
static void helper_start(struct helper *h, const struct opts *o)
{
	char user[256], *at, line[64];
	int cmd, reply;

	snprintf(user, sizeof(user), "%s", o->user);
	at = strchr(user, '@');
	if (at == NULL)
		bench_die("--user must be USER@DOMAIN");
	*at++ = '\0';
	if (helper_fork(h, &cmd, &reply)) {
		dup2(cmd, 0);
		dup2(reply, 1);
		close(cmd);
		close(reply);
		execl(o->raw, o->raw, o->connect, user, at, (char *)NULL);
		_exit(127);
	}
	if (fgets(line, sizeof(line), h->from) == NULL || strncmp(line, "ready", 5) != 0)
		bench_die("bench_raw did not start");
}

/* Asks a helper for one sample: its own timing (the pipe is not in it) and a status. */
static double helper_call(struct helper *h, int *status)
{
	char line[64];
	double us;

	fputs("q\n", h->to);
	fflush(h->to);
	if (fgets(line, sizeof(line), h->from) == NULL || sscanf(line, "%lf %d", &us, status) != 2)
		bench_die("a helper process stopped answering");
	return us;
}

static double helper_query(struct helper *h)
{
	int rows;
	double us = helper_call(h, &rows);

	if (rows != 1)
		bench_die("raw query returned %d rows, expected 1", rows);
	return us;
}

static void helper_stop(struct helper *h)
{
	if (h->pid <= 0)
		return;
	fputs("x\n", h->to);
	fclose(h->to);
	fclose(h->from);
	waitpid(h->pid, NULL, 0);
	h->pid = 0;
}

/*
 * The cache-off arm runs in a child of this process: the module keeps one connection per
 * process, and a cache-off lookup closes it, so sharing a process with the cache-on arm would
 * make that arm reconnect after every cache-off login. The child answers each "q" with one
 * login on service as "MICROSECONDS PAMCODE". It is forked before this process loads the
 * module, and links what this process links (libpam, libcrypt; not libpq).
 */
static void login_helper_start(struct helper *h, const char *confdir, const char *service,
                               const char *user, const char *password)
{
	FILE *cmd, *reply;
	char line[16];
	int cmd_fd, reply_fd;

	if (!helper_fork(h, &cmd_fd, &reply_fd))
		return;
	cmd = fdopen(cmd_fd, "r");
	reply = fdopen(reply_fd, "w");
	if (cmd == NULL || reply == NULL)
		_exit(1);
	while (fgets(line, sizeof(line), cmd) != NULL && line[0] == 'q') {
		double t0 = bench_now_us();
		int rc = bench_pam_login(confdir, service, user, password, false, NULL);

		fprintf(reply, "%.3f %d\n", bench_now_us() - t0, rc);
		fflush(reply);
	}
	_exit(0);
}

struct run {
	const struct opts *o;
	struct bench_confdir cd;
	struct bench_logcount lc;
	struct helper helper;     /* bench_raw: the raw query loop */
	struct helper off_helper; /* this program, forked: the cache-off logins */
	bool active[NARMS];
	bool cache_off_supported;
	char setting[512]; /* the stored hash without its {SCHEME} prefix, for crypt_rn */
	struct crypt_data *crypt;
	struct bench_samples lat[NARMS];
	struct bench_samples cpu[NARMS]; /* CPU time of this process, for ON, PERMIT, CRYPT */
	long conns[NARMS];
};

static const char *const services[NARMS] = {"pgd-on", "pgd-off", "permit", NULL, NULL};

static void login_or_die(struct run *r, enum arm a)
{
	int rc = bench_pam_login(r->cd.dir, services[a], r->o->user, r->o->password, false, NULL);

	if (rc != PAM_SUCCESS)
		bench_die("%s: %s login failed: %s", r->o->label, arm_names[a],
		          pam_strerror(NULL, rc));
}

/*
 * Runs arm a once; returns its latency in microseconds and puts in *cpu the CPU time this
 * process spent on it (NAN for the arms that run in another process).
 */
static double run_arm(struct run *r, enum arm a, double *cpu)
{
	double t0, t1, c0;

	*cpu = NAN;
	switch (a) {
	case ARM_OFF: {
		int rc;
		double us = helper_call(&r->off_helper, &rc);

		if (rc != PAM_SUCCESS)
			bench_die("%s: %s login failed: %s", r->o->label, arm_names[a],
			          pam_strerror(NULL, rc));
		return us;
	}
	case ARM_ON:
	case ARM_PERMIT:
		c0 = bench_cpu_us();
		t0 = bench_now_us();
		login_or_die(r, a);
		t1 = bench_now_us();
		*cpu = bench_cpu_us() - c0;
		return t1 - t0;
	case ARM_CRYPT: {
		const char *h;

		c0 = bench_cpu_us();
		t0 = bench_now_us();
		h = crypt_rn(r->o->password, r->setting, r->crypt, (int)sizeof(*r->crypt));
		t1 = bench_now_us();
		*cpu = bench_cpu_us() - c0;
		if (h == NULL || strcmp(h, r->setting) != 0)
			bench_die("crypt_rn does not reproduce the stored hash");
		return t1 - t0;
	}
	case ARM_QUERY:
		return helper_query(&r->helper);
	case NARMS:
		break;
	}
	return NAN;
}

/* Median over iterations of num[i]/den[i]. */
static double ratio_median(const struct bench_samples *num, const struct bench_samples *den)
{
	struct bench_samples s = {0};
	double m;

	for (size_t i = 0; i < num->n && i < den->n; i++)
		bench_samples_add(&s, num->v[i] / den->v[i]);
	m = bench_quantile(&s, 0.5);
	bench_samples_free(&s);
	return m;
}

/*
 * Median over iterations of (login - the arms in sub) / crypt: with permit, what a login costs
 * beyond libpam; with permit, crypt and query, what is neither libpam's, nor the hash's, nor the
 * database round trip's.
 */
static double overhead_median(const struct run *r, const enum arm *sub, size_t nsub)
{
	struct bench_samples num = {0};
	double m;

	for (size_t i = 0; i < r->lat[ARM_ON].n; i++) {
		double v = r->lat[ARM_ON].v[i];

		for (size_t k = 0; k < nsub; k++)
			v -= r->lat[sub[k]].v[i];
		bench_samples_add(&num, v);
	}
	m = ratio_median(&num, &r->lat[ARM_CRYPT]);
	bench_samples_free(&num);
	return m;
}

/* True when the run has taken longer than --time-limit; then says so, after done (what). */
static bool time_up(const struct opts *o, double start, long done, const char *what)
{
	if ((bench_now_us() - start) / 1e6 <= o->time_limit)
		return false;
	fprintf(stderr, "%s: time limit reached after %ld %s\n", o->label, done, what);
	return true;
}

static void json_arm(FILE *f, const struct run *r, enum arm a, bool last)
{
	const struct bench_samples *s = &r->lat[a];
	double sum = bench_sum(s);

	fprintf(f,
	        "    \"%s\": {\"title\": \"%s\", \"n\": %zu, \"p50_us\": %.2f, \"p99_us\": %.2f, "
	        "\"mean_us\": %.2f, \"per_s\": %.1f, \"cpu_p50_us\": %.2f, "
	        "\"db_connections\": %ld}%s\n",
	        arm_names[a], arm_titles[a], s->n, bench_quantile(s, 0.5), bench_quantile(s, 0.99),
	        sum / (double)s->n, (double)s->n / (sum / 1e6),
	        r->cpu[a].n > 0 ? bench_quantile(&r->cpu[a], 0.5) : 0.0,
	        a == ARM_ON || a == ARM_OFF ? r->conns[a] : 0L, last ? "" : ",");
}

static void print_json_num(FILE *f, const char *key, double v, bool last)
{
	if (isnan(v))
		fprintf(f, "  \"%s\": null%s\n", key, last ? "" : ",");
	else
		fprintf(f, "  \"%s\": %.4f%s\n", key, v, last ? "" : ",");
}

static int compare(const struct opts *o)
{
	struct run r = {.o = o};
	enum arm order[NARMS];
	int narms = 0, rc;
	double start, overhead = NAN, plain_ratio = NAN, cache_ratio, login_crypt = NAN,
	              permit_crypt = NAN, residual = NAN, query_crypt = NAN, paired = NAN,
	              cpu_overhead = NAN, cpu;
	FILE *f;
	long i;

	bench_confdir_init(&r.cd);
	r.active[ARM_ON] = r.active[ARM_OFF] = r.active[ARM_PERMIT] = true;
	r.active[ARM_QUERY] = o->raw != NULL;
	if (o->stored != NULL && strncmp(o->stored, "{PLAIN}", 7) != 0) {
		bench_crypt_setting(o->stored, r.setting, sizeof(r.setting));
		r.crypt = calloc(1, sizeof(*r.crypt));
		if (r.crypt == NULL)
			bench_die("out of memory");
		r.active[ARM_CRYPT] = true;
	}
	bench_write_module_service(&r.cd, services[ARM_ON], o->module,
	                           bench_write_conf(&r.cd, "on", o->connect, NULL));
	bench_write_module_service(&r.cd, services[ARM_OFF], o->module,
	                           bench_write_conf(&r.cd, "off", o->connect, o->cache_off_line));
	/*
	 * The floor stays loaded, as the module does (-z nodelete): an empty transaction then
	 * costs libpam's own work, not loading and unloading pam_permit.so from disk.
	 */
	if (o->permit[0] == '/' && dlopen(o->permit, RTLD_NOW | RTLD_NODELETE) == NULL)
		bench_die("cannot load %s: %s", o->permit, dlerror());
	bench_write_permit_service(&r.cd, services[ARM_PERMIT], o->permit);

	login_helper_start(&r.off_helper, r.cd.dir, services[ARM_OFF], o->user, o->password);
	/* A module that does not know the cache key refuses the conf: then it has no cache. */
	(void)helper_call(&r.off_helper, &rc);
	r.cache_off_supported = rc != PAM_SERVICE_ERR;
	if (!r.cache_off_supported) {
		fprintf(stderr,
		        "%s: the module refuses '%s': it has no connection cache; the cache-off "
		        "arm runs the module's default\n",
		        o->label, o->cache_off_line);
		bench_write_module_service(&r.cd, services[ARM_OFF], o->module,
		                           bench_write_conf(&r.cd, "off", o->connect, NULL));
	}
	if (r.active[ARM_QUERY])
		helper_start(&r.helper, o);
	for (int a = 0; a < NARMS; a++)
		if (r.active[a])
			order[narms++] = (enum arm)a;

	for (i = 0; i < o->warmup; i++)
		for (int k = 0; k < narms; k++)
			(void)run_arm(&r, order[k], &cpu);
	bench_logcount_init(&r.lc, o->server_log, o->role);

	start = bench_now_us();
	for (i = 0; i < o->n; i++) {
		for (int k = 0; k < narms; k++) {
			enum arm a = order[i % 2 == 0 ? k : narms - 1 - k];

			bench_samples_add(&r.lat[a], run_arm(&r, a, &cpu));
			if (!isnan(cpu))
				bench_samples_add(&r.cpu[a], cpu);
			if (a == ARM_ON || a == ARM_OFF)
				r.conns[a] += bench_logcount_new(&r.lc);
		}
		if (time_up(o, start, i + 1, "iterations")) {
			i++;
			break;
		}
	}
	helper_stop(&r.helper);
	helper_stop(&r.off_helper);

	if (r.active[ARM_CRYPT]) {
		login_crypt = ratio_median(&r.lat[ARM_ON], &r.lat[ARM_CRYPT]);
		permit_crypt = ratio_median(&r.lat[ARM_PERMIT], &r.lat[ARM_CRYPT]);
		overhead = login_crypt - permit_crypt - 1;
		paired = overhead_median(&r, (const enum arm[]){ARM_PERMIT}, 1) - 1;
		cpu_overhead = ratio_median(&r.cpu[ARM_ON], &r.cpu[ARM_CRYPT]) -
		               ratio_median(&r.cpu[ARM_PERMIT], &r.cpu[ARM_CRYPT]) - 1;
		if (r.active[ARM_QUERY]) {
			query_crypt = ratio_median(&r.lat[ARM_QUERY], &r.lat[ARM_CRYPT]);
			residual = overhead_median(
			    &r, (const enum arm[]){ARM_PERMIT, ARM_CRYPT, ARM_QUERY}, 3);
		}
	}
	if (r.active[ARM_QUERY])
		plain_ratio = 1.0 / ratio_median(&r.lat[ARM_ON], &r.lat[ARM_QUERY]);
	cache_ratio = ratio_median(&r.lat[ARM_OFF], &r.lat[ARM_ON]);

	f = bench_json_open(o->out, o->label, "compare");
	fprintf(f, ",\n  \"iterations\": %ld,\n", i);
	fprintf(f, "  \"cache_off_supported\": %s,\n", r.cache_off_supported ? "true" : "false");
	print_json_num(f, "login_over_crypt", login_crypt, false);
	print_json_num(f, "permit_over_crypt", permit_crypt, false);
	print_json_num(f, "overhead_in_crypts", overhead, false);
	print_json_num(f, "overhead_paired_in_crypts", paired, false);
	print_json_num(f, "cpu_overhead_in_crypts", cpu_overhead, false);
	print_json_num(f, "query_over_crypt", query_crypt, false);
	print_json_num(f, "overhead_beyond_query_in_crypts", residual, false);
	print_json_num(f, "login_rate_over_query_rate", plain_ratio, false);
	print_json_num(f, "cache_on_over_off", cache_ratio, false);
	fprintf(f, "  \"peak_rss_kib\": %ld,\n  \"arms\": {\n", bench_peak_rss_kib());
	for (int k = 0; k < narms; k++)
		json_arm(f, &r, order[k], k == narms - 1);
	fprintf(f, "  }\n}\n");
	fclose(f);

	printf("\n%s: %ld alternated iterations\n", o->label, i);
	printf("| arm | n | logins/s | p50 ms | p99 ms | db connections |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int k = 0; k < narms; k++) {
		enum arm a = order[k];
		const struct bench_samples *s = &r.lat[a];
		char conns[32] = "";

		if (a == ARM_ON || a == ARM_OFF)
			snprintf(conns, sizeof(conns), "%ld", r.conns[a]);
		printf("| %s | %zu | %.0f | %.3f | %.3f | %s |\n", arm_titles[a], s->n,
		       (double)s->n / (bench_sum(s) / 1e6), bench_quantile(s, 0.5) / 1e3,
		       bench_quantile(s, 0.99) / 1e3, conns);
		if (!bench_write_lat(o->out, o->label, arm_names[a], s))
			bench_die("cannot write %s/%s-%s.lat", o->out, o->label, arm_names[a]);
	}
	if (r.active[ARM_CRYPT])
		printf("overhead above pam_permit, in crypt_rn units: %.3f "
		       "(login/crypt %.3f - permit/crypt %.3f - 1)\n",
		       overhead, login_crypt, permit_crypt);
	if (r.active[ARM_CRYPT])
		printf("paired, median((login - permit) / crypt) - 1: %.3f; in CPU time of this "
		       "process: %.3f\n",
		       paired, cpu_overhead);
	if (r.active[ARM_CRYPT] && r.active[ARM_QUERY])
		printf(
		    "raw query round trip / crypt: %.3f; median((login - permit - crypt - query) "
		    "/ crypt): %.3f\n",
		    query_crypt, residual);
	if (r.active[ARM_QUERY])
		printf("module logins/s over raw query loop: %.3f\n", plain_ratio);
	printf("cache on over cache off: %.2fx%s\n", cache_ratio,
	       r.cache_off_supported ? "" : " (module has no cache key)");
	printf("peak RSS: %ld KiB\n", bench_peak_rss_kib());

	bench_logcount_free(&r.lc);
	for (int a = 0; a < NARMS; a++) {
		bench_samples_free(&r.lat[a]);
		bench_samples_free(&r.cpu[a]);
	}
	free(r.crypt);
	bench_confdir_free(&r.cd);
	return 0;
}

/* Module logins only, cache on: memory, descriptors and connections over a long run. */
static int soak(const struct opts *o)
{
	struct bench_confdir cd;
	struct bench_logcount lc;
	struct bench_samples lat = {0};
	long i, conns_first = -1, conns = 0, first_window = 10000, rss_warm = -1, rss_end;
	int fds_warm = -1, fds_end;
	long warm_at = 0;
	double start;
	FILE *f, *series;

	const char *domain = strchr(o->user, '@');
	unsigned long long rnd = 0x9e3779b97f4a7c15ull;
	char user[256];

	bench_confdir_init(&cd);
	bench_write_module_service(&cd, "pgd-on", o->module,
	                           bench_write_conf(&cd, "on", o->connect, o->extra_line));
	if (o->distinct > 0 && domain == NULL)
		bench_die("--distinct needs --user USER@DOMAIN");
	series = bench_out_open(o->out, o->label, "-rss.dat");
	fprintf(series, "# logins rss_kib fds\n");
	/* The samples' memory is taken now, so the resident set measures the module alone. */
	bench_samples_reserve(&lat, (size_t)o->n);
	/* Counting starts before the process's first login: that one opens the connection. */
	bench_logcount_init(&lc, o->server_log, o->role);
	start = bench_now_us();
	for (i = 0; i < o->n; i++) {
		double t0;
		int rc;

		if (o->distinct > 0) {
			/* a fixed pseudo-random sequence: repeats, and more users than entries */
			rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
			snprintf(user, sizeof(user), "s%llu%s",
			         (rnd >> 33) % (unsigned long long)o->distinct, domain);
		} else {
			snprintf(user, sizeof(user), "%s", o->user);
		}
		t0 = bench_now_us();
		rc = bench_pam_login(cd.dir, "pgd-on", user, o->password, false, NULL);
		bench_samples_add(&lat, bench_now_us() - t0);
		if (rc != PAM_SUCCESS)
			bench_die("%s: login %ld failed: %s", o->label, i + 1,
			          pam_strerror(NULL, rc));
		/* Growth is measured from login 1,000, or from login 100 in a short run. */
		if (i + 1 == 100 || i + 1 == 1000) {
			rss_warm = bench_rss_kib();
			fds_warm = bench_count_fds();
			warm_at = i + 1;
		}
		if ((i + 1) % 1000 == 0)
			fprintf(series, "%ld %ld %d\n", i + 1, bench_rss_kib(), bench_count_fds());
		if (i + 1 == first_window) {
			conns += bench_logcount_new(&lc);
			conns_first = conns;
		}
		if (time_up(o, start, i + 1, "logins")) {
			i++;
			break;
		}
	}
	conns += bench_logcount_new(&lc);
	rss_end = bench_rss_kib();
	fds_end = bench_count_fds();
	fclose(series);

	f = bench_json_open(o->out, o->label, "soak");
	fprintf(f,
	        ",\n  \"distinct_users\": %ld,\n  \"logins\": %ld,\n  "
	        "\"seconds\": %.1f,\n"
	        "  \"per_s\": %.1f,\n  \"p50_us\": %.2f,\n  \"p99_us\": %.2f,\n"
	        "  \"db_connections_first_10000\": %ld,\n  \"db_connections\": %ld,\n"
	        "  \"rss_warm_at\": %ld,\n  \"rss_warm_kib\": %ld,\n  \"rss_end_kib\": %ld,\n"
	        "  \"rss_growth_kib\": %ld,\n  \"peak_rss_kib\": %ld,\n"
	        "  \"fds_warm\": %d,\n  \"fds_end\": %d\n}\n",
	        o->distinct, i, (bench_now_us() - start) / 1e6, (double)i / (bench_sum(&lat) / 1e6),
	        bench_quantile(&lat, 0.5), bench_quantile(&lat, 0.99), conns_first, conns, warm_at,
	        rss_warm, rss_end, rss_end - rss_warm, bench_peak_rss_kib(), fds_warm, fds_end);
	fclose(f);
	bench_write_lat(o->out, o->label, "module", &lat);

	printf("\n%s: %ld logins in %.1f s (%.0f logins/s), p50 %.3f ms, p99 %.3f ms\n", o->label,
	       i, (bench_now_us() - start) / 1e6, (double)i / (bench_sum(&lat) / 1e6),
	       bench_quantile(&lat, 0.5) / 1e3, bench_quantile(&lat, 0.99) / 1e3);
	printf("database connections: %ld during the first %ld logins, %ld in all\n", conns_first,
	       first_window, conns);
	printf("RSS: %ld KiB after %ld logins, %ld KiB at the end (growth %ld KiB), peak %ld "
	       "KiB; fds %d -> %d\n",
	       rss_warm, warm_at, rss_end, rss_end - rss_warm, bench_peak_rss_kib(), fds_warm,
	       fds_end);
	bench_samples_free(&lat);
	bench_logcount_free(&lc);
	bench_confdir_free(&cd);
	return 0;
}

/* The verified-login cache's arms, alternated in one process (the same connection for all). */
enum varm { V_CRYPT, V_OFF, V_REPEAT, V_FIRST, V_WRONG_ON, V_WRONG_OFF, NVARMS };

static const char *const varm_names[NVARMS] = {"crypt",        "login-nocache", "repeat-cached",
                                               "first-cached", "wrong-cached",  "wrong-nocache"};
static const char *const varm_titles[NVARMS] = {
    "raw crypt_rn of the stored hash", "login, verify cache off",
    "repeat login, verify cache on",   "first login of a user, verify cache on",
    "wrong password, verify cache on", "wrong password, verify cache off"};

#define VCACHE_LINE "verify_cache_ttl = 3600\nverify_cache_size = 100000"

static int vcache(const struct opts *o)
{
	struct bench_confdir cd;
	struct bench_samples lat[NVARMS] = {{0}}, cpu[NVARMS] = {{0}};
	struct crypt_data *crypt = calloc(1, sizeof(*crypt));
	const char *domain = strchr(o->user, '@'), *s = o->stored;
	char setting[512], user[256], wrong[256];
	double start, r_repeat, r_first, r_off, r_wrong, r_wrong_crypt, c_repeat, c_wrong;
	long i, first = 0;
	FILE *f;

	if (crypt == NULL || domain == NULL || s == NULL)
		bench_die("vcache needs --user USER@DOMAIN and --stored HASH");
	bench_crypt_setting(s, setting, sizeof(setting));
	snprintf(wrong, sizeof(wrong), "wrong%s", domain);
	bench_confdir_init(&cd);
	bench_write_module_service(&cd, "vc-on", o->module,
	                           bench_write_conf(&cd, "vc-on", o->connect, VCACHE_LINE));
	bench_write_module_service(&cd, "vc-off", o->module,
	                           bench_write_conf(&cd, "vc-off", o->connect, NULL));
	start = bench_now_us();
	for (i = -o->warmup; i < o->n; i++) {
		for (int k = 0; k < NVARMS; k++) {
			enum varm a = (enum varm)(i % 2 == 0 ? k : NVARMS - 1 - k);
			int rc = PAM_SUCCESS, want = PAM_SUCCESS;
			const char *h;
			double c0 = bench_cpu_us(), t0 = bench_now_us(), t1, c1;

			switch (a) {
			case V_CRYPT:
				h = crypt_rn(o->password, setting, crypt, (int)sizeof(*crypt));
				if (h == NULL || strcmp(h, setting) != 0)
					bench_die("crypt_rn does not reproduce the stored hash");
				break;
			case V_OFF:
				rc = bench_pam_login(cd.dir, "vc-off", o->user, o->password, false,
				                     NULL);
				break;
			case V_REPEAT:
				rc = bench_pam_login(cd.dir, "vc-on", o->user, o->password, false,
				                     NULL);
				break;
			case V_FIRST:
				snprintf(user, sizeof(user), "first%ld%s", first++, domain);
				c0 = bench_cpu_us();
				t0 = bench_now_us();
				rc = bench_pam_login(cd.dir, "vc-on", user, o->password, false,
				                     NULL);
				break;
			case V_WRONG_ON:
			case V_WRONG_OFF:
				want = PAM_AUTH_ERR;
				rc = bench_pam_login(cd.dir, a == V_WRONG_ON ? "vc-on" : "vc-off",
				                     wrong, "not the password", true, NULL);
				break;
			case NVARMS:
				break;
			}
			t1 = bench_now_us();
			c1 = bench_cpu_us();
			if (rc != want)
				bench_die("%s: %s: %s", o->label, varm_names[a],
				          pam_strerror(NULL, rc));
			if (i >= 0) {
				bench_samples_add(&lat[a], t1 - t0);
				bench_samples_add(&cpu[a], c1 - c0);
			}
		}
		if (time_up(o, start, i + 1, "iterations")) {
			i++;
			break;
		}
	}
	r_repeat = ratio_median(&lat[V_REPEAT], &lat[V_CRYPT]);
	r_first = ratio_median(&lat[V_FIRST], &lat[V_CRYPT]);
	r_off = ratio_median(&lat[V_OFF], &lat[V_CRYPT]);
	r_wrong = ratio_median(&lat[V_WRONG_ON], &lat[V_WRONG_OFF]);
	r_wrong_crypt = ratio_median(&lat[V_WRONG_ON], &lat[V_CRYPT]);
	/* CPU time of this process: what the login computes, not the server nor the waiting */
	c_repeat = ratio_median(&cpu[V_REPEAT], &cpu[V_CRYPT]);
	c_wrong = ratio_median(&cpu[V_WRONG_ON], &cpu[V_WRONG_OFF]);

	f = bench_json_open(o->out, o->label, "vcache");
	fprintf(f, ",\n  \"iterations\": %zu,\n", lat[V_CRYPT].n);
	print_json_num(f, "repeat_cached_over_crypt", r_repeat, false);
	print_json_num(f, "first_cached_over_crypt", r_first, false);
	print_json_num(f, "nocache_over_crypt", r_off, false);
	print_json_num(f, "wrong_cached_over_wrong_nocache", r_wrong, false);
	print_json_num(f, "wrong_cached_over_crypt", r_wrong_crypt, false);
	print_json_num(f, "cpu_repeat_cached_over_crypt", c_repeat, false);
	print_json_num(f, "cpu_wrong_cached_over_wrong_nocache", c_wrong, false);
	fprintf(f, "  \"arms\": {\n");
	for (int a = 0; a < NVARMS; a++)
		fprintf(f,
		        "    \"%s\": {\"title\": \"%s\", \"n\": %zu, \"p50_us\": %.2f, "
		        "\"p99_us\": %.2f, \"cpu_p50_us\": %.2f}%s\n",
		        varm_names[a], varm_titles[a], lat[a].n, bench_quantile(&lat[a], 0.5),
		        bench_quantile(&lat[a], 0.99), bench_quantile(&cpu[a], 0.5),
		        a == NVARMS - 1 ? "" : ",");
	fprintf(f, "  }\n}\n");
	fclose(f);

	printf("\n%s: %zu alternated iterations\n", o->label, lat[V_CRYPT].n);
	printf("| arm | n | p50 ms | p99 ms | median ratio to crypt_rn | in CPU time |\n"
	       "|---|---:|---:|---:|---:|---:|\n");
	for (int a = 0; a < NVARMS; a++) {
		printf("| %s | %zu | %.3f | %.3f | %.3f | %.3f |\n", varm_titles[a], lat[a].n,
		       bench_quantile(&lat[a], 0.5) / 1e3, bench_quantile(&lat[a], 0.99) / 1e3,
		       ratio_median(&lat[a], &lat[V_CRYPT]), ratio_median(&cpu[a], &cpu[V_CRYPT]));
		bench_write_lat(o->out, o->label, varm_names[a], &lat[a]);
	}
	printf("repeat login, cache on / crypt_rn: %.3f (target <= 0.3)\n", r_repeat);
	printf("first login, cache on / crypt_rn: %.3f; login, cache off / crypt_rn: %.3f\n",
	       r_first, r_off);
	printf("wrong password, cache on / cache off: %.3f (target >= 0.95)\n", r_wrong);
	printf("in CPU time of this process: repeat / crypt_rn %.3f, wrong on / off %.3f\n",
	       c_repeat, c_wrong);
	for (int a = 0; a < NVARMS; a++) {
		bench_samples_free(&lat[a]);
		bench_samples_free(&cpu[a]);
	}
	free(crypt);
	bench_confdir_free(&cd);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	signal(SIGPIPE, SIG_IGN);
	parse(&o, argc - 1, argv + 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "compare") == 0)
		return compare(&o);
	if (strcmp(mode, "soak") == 0)
		return soak(&o);
	if (strcmp(mode, "vcache") == 0)
		return vcache(&o);
	usage();
}
