// SPDX-License-Identifier: MIT
/*
 * One process, N PAM transactions through the real libpam, as saslauthd runs them.
 *
 *   pam_bench compare ...  alternates, iteration by iteration (A B C D E, E D C B A, ...):
 *                          module login (connection cache on), module login (cache off, in a
 *                          forked child: a cache-off lookup closes the process's connection),
 *                          an empty pam_permit transaction, raw crypt_rn of the same stored
 *                          hash, and the raw warm libpq query loop (bench_raw, another process):
 *                          pam_bench_compare.c
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
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_util.h"
#include "pam_bench.h"

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
	/* The module keeps a parsed conf only once its file is 2 s old (conf/cache.c): the run
	 * measures a worker's steady state, as a conf file written long before would give. */
	usleep(2100 * 1000);
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
		if (bench_time_up(start, o->time_limit, o->label, i + 1, "logins")) {
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
		if (bench_time_up(start, o->time_limit, o->label, i + 1, "iterations")) {
			i++;
			break;
		}
	}
	r_repeat = bench_ratio_median(&lat[V_REPEAT], &lat[V_CRYPT]);
	r_first = bench_ratio_median(&lat[V_FIRST], &lat[V_CRYPT]);
	r_off = bench_ratio_median(&lat[V_OFF], &lat[V_CRYPT]);
	r_wrong = bench_ratio_median(&lat[V_WRONG_ON], &lat[V_WRONG_OFF]);
	r_wrong_crypt = bench_ratio_median(&lat[V_WRONG_ON], &lat[V_CRYPT]);
	/* CPU time of this process: what the login computes, not the server nor the waiting */
	c_repeat = bench_ratio_median(&cpu[V_REPEAT], &cpu[V_CRYPT]);
	c_wrong = bench_ratio_median(&cpu[V_WRONG_ON], &cpu[V_WRONG_OFF]);

	f = bench_json_open(o->out, o->label, "vcache");
	fprintf(f, ",\n  \"iterations\": %zu,\n", lat[V_CRYPT].n);
	bench_json_num(f, "repeat_cached_over_crypt", r_repeat, false);
	bench_json_num(f, "first_cached_over_crypt", r_first, false);
	bench_json_num(f, "nocache_over_crypt", r_off, false);
	bench_json_num(f, "wrong_cached_over_wrong_nocache", r_wrong, false);
	bench_json_num(f, "wrong_cached_over_crypt", r_wrong_crypt, false);
	bench_json_num(f, "cpu_repeat_cached_over_crypt", c_repeat, false);
	bench_json_num(f, "cpu_wrong_cached_over_wrong_nocache", c_wrong, false);
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
		       bench_ratio_median(&lat[a], &lat[V_CRYPT]),
		       bench_ratio_median(&cpu[a], &cpu[V_CRYPT]));
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
		return pam_bench_compare(&o);
	if (strcmp(mode, "soak") == 0)
		return soak(&o);
	if (strcmp(mode, "vcache") == 0)
		return vcache(&o);
	usage();
}
