// SPDX-License-Identifier: MIT
/*
 * pam_bench compare: alternates, iteration by iteration (A B C D E, E D C B A, ...), module
 * login (connection cache on), module login (cache off, in a forked child: a cache-off lookup
 * closes the process's connection), an empty pam_permit transaction, raw crypt_rn of the same
 * stored hash, and the raw warm libpq query loop (bench_raw, another process). Writes
 * OUT/LABEL.json and OUT/LABEL-ARM.lat for each arm.
 */
#include <crypt.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_util.h"
#include "pam_bench.h"

enum arm { ARM_ON, ARM_OFF, ARM_PERMIT, ARM_CRYPT, ARM_QUERY, NARMS };

static const char *const arm_names[NARMS] = {"module", "module-nocache", "permit", "crypt",
                                             "query"};
static const char *const arm_titles[NARMS] = {
    "module login, connection cache on", "module login, connection cache off",
    "empty pam_permit transaction", "raw crypt_rn of the stored hash",
    "raw warm libpq query (PQexecParams)"};

struct helper {
	pid_t pid;
	FILE *to, *from;
};

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
	m = bench_ratio_median(&num, &r->lat[ARM_CRYPT]);
	bench_samples_free(&num);
	return m;
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

int pam_bench_compare(const struct opts *o)
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
		if (bench_time_up(start, o->time_limit, o->label, i + 1, "iterations")) {
			i++;
			break;
		}
	}
	helper_stop(&r.helper);
	helper_stop(&r.off_helper);

	if (r.active[ARM_CRYPT]) {
		login_crypt = bench_ratio_median(&r.lat[ARM_ON], &r.lat[ARM_CRYPT]);
		permit_crypt = bench_ratio_median(&r.lat[ARM_PERMIT], &r.lat[ARM_CRYPT]);
		overhead = login_crypt - permit_crypt - 1;
		paired = overhead_median(&r, (const enum arm[]){ARM_PERMIT}, 1) - 1;
		cpu_overhead = bench_ratio_median(&r.cpu[ARM_ON], &r.cpu[ARM_CRYPT]) -
		               bench_ratio_median(&r.cpu[ARM_PERMIT], &r.cpu[ARM_CRYPT]) - 1;
		if (r.active[ARM_QUERY]) {
			query_crypt = bench_ratio_median(&r.lat[ARM_QUERY], &r.lat[ARM_CRYPT]);
			residual = overhead_median(
			    &r, (const enum arm[]){ARM_PERMIT, ARM_CRYPT, ARM_QUERY}, 3);
		}
	}
	if (r.active[ARM_QUERY])
		plain_ratio = 1.0 / bench_ratio_median(&r.lat[ARM_ON], &r.lat[ARM_QUERY]);
	cache_ratio = bench_ratio_median(&r.lat[ARM_OFF], &r.lat[ARM_ON]);

	f = bench_json_open(o->out, o->label, "compare");
	fprintf(f, ",\n  \"iterations\": %ld,\n", i);
	fprintf(f, "  \"cache_off_supported\": %s,\n", r.cache_off_supported ? "true" : "false");
	bench_json_num(f, "login_over_crypt", login_crypt, false);
	bench_json_num(f, "permit_over_crypt", permit_crypt, false);
	bench_json_num(f, "overhead_in_crypts", overhead, false);
	bench_json_num(f, "overhead_paired_in_crypts", paired, false);
	bench_json_num(f, "cpu_overhead_in_crypts", cpu_overhead, false);
	bench_json_num(f, "query_over_crypt", query_crypt, false);
	bench_json_num(f, "overhead_beyond_query_in_crypts", residual, false);
	bench_json_num(f, "login_rate_over_query_rate", plain_ratio, false);
	bench_json_num(f, "cache_on_over_off", cache_ratio, false);
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
