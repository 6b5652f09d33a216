// SPDX-License-Identifier: MIT
#include "bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

double bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double bench_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void set_opt(const struct bench_opt *opt, void *opts)
{
	void *field = (char *)opts + opt->offset;

	switch (opt->type) {
	case BENCH_STR:
		*(const char **)field = optarg;
		break;
	case BENCH_DOUBLE:
		*(double *)field = strtod(optarg, NULL);
		break;
	case BENCH_LONG:
		*(long *)field = strtol(optarg, NULL, 10);
		break;
	case BENCH_INT:
		*(int *)field = atoi(optarg);
		break;
	case BENCH_FLAG:
		*(bool *)field = true;
		break;
	}
}

void bench_parse_opts(int argc, char **argv, const struct bench_opt *table, size_t n, void *opts,
                      void (*usage)(void))
{
	struct option *longopts = calloc(n + 1, sizeof(*longopts));
	char *shortopts = calloc(2 * n + 1, 1);
	size_t nlong = 0, nshort = 0;
	int c;

	if (longopts == NULL || shortopts == NULL)
		bench_die("out of memory");
	for (size_t i = 0; i < n; i++) {
		bool flag = table[i].type == BENCH_FLAG;

		if (table[i].name[1] == '\0') {
			shortopts[nshort++] = table[i].name[0];
			if (!flag)
				shortopts[nshort++] = ':';
		} else {
			longopts[nlong++] =
			    (struct option){table[i].name, flag ? no_argument : required_argument,
			                    NULL, 256 + (int)i};
		}
	}
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct bench_opt *opt = NULL;

		for (size_t i = 0; i < n && opt == NULL; i++)
			if (c == 256 + (int)i ||
			    (table[i].name[1] == '\0' && c == table[i].name[0]))
				opt = &table[i];
		if (opt == NULL)
			usage();
		else
			set_opt(opt, opts);
	}
	free(longopts);
	free(shortopts);
}

void bench_crypt_setting(const char *stored, char *out, size_t outlen)
{
	if (*stored == '{' && strchr(stored, '}') != NULL)
		stored = strchr(stored, '}') + 1;
	snprintf(out, outlen, "%s", stored);
}

void bench_samples_reserve(struct bench_samples *s, size_t n)
{
	double *v = realloc(s->v, n * sizeof(*v));

	if (v == NULL)
		bench_die("out of memory");
	memset(v + s->n, 0, (n - s->n) * sizeof(*v));
	s->v = v;
	s->cap = n;
}

void bench_samples_add(struct bench_samples *s, double us)
{
	if (s->n == s->cap) {
		size_t cap = s->cap != 0 ? s->cap * 2 : 1024;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			bench_die("out of memory");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = us;
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_quantile(const struct bench_samples *s, double q)
{
	double *copy, r;
	size_t rank;

	if (s->n == 0)
		return NAN;
	copy = malloc(s->n * sizeof(*copy));
	if (copy == NULL)
		bench_die("out of memory");
	memcpy(copy, s->v, s->n * sizeof(*copy));
	qsort(copy, s->n, sizeof(*copy), cmp_double);
	rank = (size_t)ceil(q * (double)s->n);
	if (rank > 0)
		rank--;
	if (rank >= s->n)
		rank = s->n - 1;
	r = copy[rank];
	free(copy);
	return r;
}

double bench_ratio_median(const struct bench_samples *num, const struct bench_samples *den)
{
	struct bench_samples s = {0};
	double m;

	for (size_t i = 0; i < num->n && i < den->n; i++)
		bench_samples_add(&s, num->v[i] / den->v[i]);
	m = bench_quantile(&s, 0.5);
	bench_samples_free(&s);
	return m;
}

bool bench_time_up(double start_us, double limit_s, const char *label, long done, const char *what)
{
	if ((bench_now_us() - start_us) / 1e6 <= limit_s)
		return false;
	fprintf(stderr, "%s: time limit reached after %ld %s\n", label, done, what);
	return true;
}

double bench_sum(const struct bench_samples *s)
{
	double t = 0;

	for (size_t i = 0; i < s->n; i++)
		t += s->v[i];
	return t;
}

/* Opens OUT/LABEL + SUFFIX for writing, its name in path; NULL when it cannot. */
static FILE *out_file(const char *out, const char *label, const char *suffix, char *path,
                      size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s%s", out, label, suffix);
	return fopen(path, "w");
}

FILE *bench_out_open(const char *out, const char *label, const char *suffix)
{
	char path[512];
	FILE *f = out_file(out, label, suffix, path, sizeof(path));

	if (f == NULL)
		bench_die("cannot write %s", path);
	return f;
}

bool bench_write_lat(const char *out, const char *label, const char *arm,
                     const struct bench_samples *s)
{
	char suffix[128], path[512];
	FILE *f;

	snprintf(suffix, sizeof(suffix), "%s%s.lat", arm != NULL ? "-" : "",
	         arm != NULL ? arm : "");
	f = out_file(out, label, suffix, path, sizeof(path));
	if (f == NULL)
		return false;
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "%.2f\n", s->v[i]);
	return fclose(f) == 0;
}

/*
 * Calls fn for every entry of folder path but "." and ".." (and the hidden ones: the bench
 * makes none); returns how many, or -1 when the folder cannot be read.
 */
static int each_entry(const char *path, void (*fn)(int dirfd, const char *name))
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (fn != NULL)
			fn(dirfd(d), e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void remove_entry(int dirfd, const char *name)
{
	unlinkat(dirfd, name, 0);
}

/* The folder to remove if the program exits early (bench_die): it holds a conninfo. */
static struct bench_confdir *live_confdir;

static void remove_live_confdir(void)
{
	if (live_confdir != NULL)
		bench_confdir_free(live_confdir);
}

void bench_confdir_init(struct bench_confdir *cd)
{
	snprintf(cd->dir, sizeof(cd->dir), "/tmp/pgd-bench-conf.XXXXXX");
	if (mkdtemp(cd->dir) == NULL)
		bench_die("mkdtemp: %s", strerror(errno));
	if (live_confdir == NULL)
		atexit(remove_live_confdir);
	live_confdir = cd;
}

void bench_confdir_free(struct bench_confdir *cd)
{
	if (live_confdir == cd)
		live_confdir = NULL;
	if (each_entry(cd->dir, remove_entry) >= 0)
		rmdir(cd->dir);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		bench_die("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

const char *bench_write_conf(struct bench_confdir *cd, const char *name, const char *connect,
                             const char *extra_line)
{
	static char path[256];
	char text[4096];

	snprintf(path, sizeof(path), "%s/%s.conf", cd->dir, name);
	snprintf(text, sizeof(text),
	         "driver = pgsql\n"
	         "connect = %s\n"
	         "password_query = SELECT password FROM users WHERE userid = '%%n' AND domain = "
	         "'%%d'\n"
	         "%s%s",
	         connect, extra_line != NULL ? extra_line : "", extra_line != NULL ? "\n" : "");
	write_file(path, text, 0600);
	return path;
}

void bench_write_module_service(struct bench_confdir *cd, const char *service, const char *module,
                                const char *conf_path)
{
	char path[256], text[2048];

	snprintf(path, sizeof(path), "%s/%s", cd->dir, service);
	snprintf(text, sizeof(text), "auth required %s conf=%s\naccount required %s conf=%s\n",
	         module, conf_path, module, conf_path);
	write_file(path, text, 0644);
}

void bench_write_permit_service(struct bench_confdir *cd, const char *service, const char *module)
{
	char path[256], text[1024];

	snprintf(path, sizeof(path), "%s/%s", cd->dir, service);
	snprintf(text, sizeof(text), "auth required %s\naccount required %s\n", module, module);
	write_file(path, text, 0644);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			r[i].resp = strdup(data);
			if (r[i].resp == NULL) {
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_BUF_ERR;
			}
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* libpam calls this instead of sleeping when the application sets PAM_FAIL_DELAY. */
static double *delay_sink;

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)retval;
	(void)appdata;
	if (delay_sink != NULL)
		*delay_sink += usec_delay;
}

int bench_pam_login(const char *confdir, const char *service, const char *user,
                    const char *password, bool no_fail_delay, double *fail_delay_us)
{
	struct pam_conv c = {conv, (void *)(uintptr_t)password};
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start_confdir(service, user, &c, confdir, &pamh);
	if (rc != PAM_SUCCESS)
		return rc;
	if (no_fail_delay) {
		delay_sink = fail_delay_us;
		(void)pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)(uintptr_t)no_delay);
	}
	rc = pam_authenticate(pamh, PAM_SILENT);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_SILENT);
	pam_end(pamh, rc);
	return rc;
}

long bench_rss_kib(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

long bench_peak_rss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss;
}

int bench_count_fds(void)
{
	int n = each_entry("/proc/self/fd", NULL);

	return n < 0 ? -1 : n - 1; /* the directory stream itself */
}

void bench_logcount_init(struct bench_logcount *lc, const char *path, const char *role)
{
	lc->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (lc->fd < 0)
		bench_die("cannot open the server log %s: %s", path, strerror(errno));
	lc->offset = lseek(lc->fd, 0, SEEK_END);
	lc->role = role;
}

long bench_logcount_new(struct bench_logcount *lc)
{
	char needle[128];
	char *buf = NULL;
	size_t len = 0, cap = 0;
	long count = 0;
	char *line, *nl;

	snprintf(needle, sizeof(needle), "connection authorized: user=%s ", lc->role);
	for (;;) {
		ssize_t n;

		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			buf = realloc(buf, cap + 1);
			if (buf == NULL)
				bench_die("out of memory");
		}
		n = pread(lc->fd, buf + len, cap - len, (off_t)(lc->offset + (long long)len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL)
		return 0;
	buf[len] = '\0';
	/* Whole lines only: a line the server is still writing is read next time. */
	for (line = buf; (nl = memchr(line, '\n', len - (size_t)(line - buf))) != NULL;
	     line = nl + 1) {
		*nl = '\0';
		if (strstr(line, needle) != NULL &&
		    strstr(line, "application_name=" BENCH_RAW_APPNAME) == NULL)
			count++;
	}
	lc->offset += (long long)(line - buf);
	free(buf);
	return count;
}

void bench_logcount_free(struct bench_logcount *lc)
{
	if (lc->fd >= 0)
		close(lc->fd);
	lc->fd = -1;
}

void bench_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

FILE *bench_json_open(const char *out, const char *label, const char *mode)
{
	FILE *f = bench_out_open(out, label, ".json");

	fprintf(f, "{\n  \"label\": ");
	bench_json_str(f, label);
	fprintf(f, ",\n  \"mode\": \"%s\"", mode);
	return f;
}

void bench_json_num(FILE *f, const char *key, double v, bool last)
{
	if (isnan(v))
		fprintf(f, "  \"%s\": null%s\n", key, last ? "" : ",");
	else
		fprintf(f, "  \"%s\": %.4f%s\n", key, v, last ? "" : ",");
}
