// SPDX-License-Identifier: MIT
/*
 * One load client for the two daemons an admin can keep for SMTP AUTH: Dovecot's auth service
 * (its auth-client protocol, as Postfix's smtpd_sasl_type = dovecot speaks it) and saslauthd
 * (its "mux" socket, as Cyrus and Postfix's cyrus type do). The same threads, the same mix and
 * the same checks for both, so that the two arms differ only in the daemon.
 *
 *   auth_load --proto dovecot|sasl --socket PATH --user PREFIX --realm R --password PW
 *             [--service S] [-c CLIENTS] [--seconds S] [--warmup S] [--users N]
 *             [--mix R,W] [--new-from K] [--cpu NAME=PID]... [--defer-fail]
 *             --out DIR --label NAME
 *   auth_load --proto dovecot|sasl --socket PATH --realm R [--service S] --check
 *
 * dovecot: each client thread keeps one connection (VERSION/CPID handshake, then one
 * "AUTH id PLAIN service=S nologin resp=BASE64" at a time, as Postfix keeps one per smtpd);
 * the answer is OK or FAIL. sasl: one request per connection (four counted strings: user,
 * password, service, realm; the answer "OK..." or "NO..."), as saslauthd serves them.
 *
 * The load: with --users N, a request is, R% of the time, PREFIXi (i < N, at random) with the
 * right password; W% a user never seen before (newK, newK+1, ... from --new-from); the rest a
 * random PREFIXi with a wrong password. Without --users every request is PREFIX, right. Every
 * answer is checked: a right password answered FAIL/NO, or a wrong one OK, is a wrong answer.
 * After --warmup seconds (not counted) it measures for --seconds; --cpu NAME=PID samples the
 * CPU time (utime + stime, children's included) of PID and every process below it at the start
 * and the end of the measured window, so that CPU per answer comes out of the same window as
 * the answers. Writes OUT/LABEL.json; exit status 1 on a wrong answer or a transport error.
 *
 * --check: one request a line of stdin ("USER PASSWORD", the realm added), one at a time on one
 * connection; prints "USER OK|FAIL|ERROR" a line, with " nologin" when an OK carries Dovecot's
 * nologin field, and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench_util.h"

enum proto { PROTO_NONE, PROTO_DOVECOT, PROTO_SASL };

#define MAX_CPU 8

struct cpu_tree {
	const char *name;
	int pid;
	double start_ms, end_ms;
};

struct load {
	enum proto proto;
	const char *socket, *user, *realm, *service, *password, *out, *label;
	int clients;
	double seconds, warmup;
	long users, new_from;
	int mix_repeat, mix_new;
	bool defer_fail;
	struct cpu_tree cpu[MAX_CPU];
	int ncpu;
};

/* One connection to the daemon (dovecot: kept; sasl: a new one per request). */
enum answer { ANSWER_DEFERRED = -2, ANSWER_ERROR = -1, ANSWER_FAIL = 0, ANSWER_OK = 1 };

#define MAX_DEFERRED 64

struct conn {
	const struct load *l;
	int fd;
	unsigned id;
	char in[8192];
	size_t inlen;
	/* dovecot, --defer-fail: wrong passwords sent and not waited for; their answers counted */
	unsigned deferred[MAX_DEFERRED];
	bool deferred_counted[MAX_DEFERRED];
	int ndeferred;
	long late_ok, late_fail, late_errors;
};

static long new_next;

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 30};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

/* The next line from the connection (without its newline) into line; false at EOF or error. */
static bool read_line(struct conn *c, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->inlen);

		if (nl != NULL) {
			size_t n = (size_t)(nl - c->in);

			if (n >= cap)
				return false;
			memcpy(line, c->in, n);
			line[n] = '\0';
			memmove(c->in, nl + 1, c->inlen - n - 1);
			c->inlen -= n + 1;
			return true;
		}
		if (c->inlen == sizeof(c->in))
			return false;
		ssize_t r = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		c->inlen += (size_t)r;
	}
}

static void base64(const unsigned char *src, size_t n, char *dst)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)src[i] << 16 | (unsigned)src[i + 1] << 8 | src[i + 2];

		*dst++ = a[v >> 18];
		*dst++ = a[(v >> 12) & 63];
		*dst++ = a[(v >> 6) & 63];
		*dst++ = a[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)src[i] << 16 | (i + 1 < n ? (unsigned)src[i + 1] << 8 : 0);

		*dst++ = a[v >> 18];
		*dst++ = a[(v >> 12) & 63];
		*dst++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
		*dst++ = '=';
	}
	*dst = '\0';
}

/* Dovecot: the handshake of a new connection; false unless the server offers PLAIN. */
static bool dovecot_open(struct conn *c)
{
	char line[1024], hello[64];
	bool plain = false;

	c->fd = unix_connect(c->l->socket);
	if (c->fd < 0)
		return false;
	c->inlen = 0;
	snprintf(hello, sizeof(hello), "VERSION\t1\t2\nCPID\t%d\n", (int)getpid());
	if (!send_all(c->fd, hello, strlen(hello)))
		return false;
	while (read_line(c, line, sizeof(line))) {
		if (strncmp(line, "MECH\tPLAIN", 10) == 0 && (line[10] == '\t' || line[10] == '\0'))
			plain = true;
		if (strcmp(line, "DONE") == 0)
			return plain;
	}
	return false;
}

/* Dovecot: sends one AUTH on the open connection; its id, 0 on error. */
static unsigned dovecot_send(struct conn *c, const char *user, const char *password)
{
	unsigned char plain[1024];
	char req[2048], resp[1400];
	size_t ul = strlen(user), pl = strlen(password);
	unsigned id = ++c->id;
	int n;

	if (ul + pl + 2 > sizeof(plain) - 1)
		return 0;
	plain[0] = '\0'; /* no authorization id */
	memcpy(plain + 1, user, ul + 1);
	memcpy(plain + ul + 2, password, pl);
	base64(plain, ul + pl + 2, resp);
	/* no-penalty: every request comes from one client without an address, which Dovecot's
	 * anvil would otherwise slow down (2, 4, 8, 15 s) after a few wrong passwords. */
	n = snprintf(req, sizeof(req),
	             "AUTH\t%u\tPLAIN\tservice=%s\tnologin\tno-penalty\tresp=%s\n", id,
	             c->l->service, resp);
	if (n <= 0 || (size_t)n >= sizeof(req) || !send_all(c->fd, req, (size_t)n))
		return 0;
	return id;
}

/* An answer to a deferred request: counted (when it was sent in the window) and forgotten. */
static bool deferred_answer(struct conn *c, unsigned id, enum answer a)
{
	for (int i = 0; i < c->ndeferred; i++) {
		if (c->deferred[i] != id)
			continue;
		if (c->deferred_counted[i])
			*(a == ANSWER_OK     ? &c->late_ok
			  : a == ANSWER_FAIL ? &c->late_fail
			                     : &c->late_errors) += 1;
		c->ndeferred--;
		c->deferred[i] = c->deferred[c->ndeferred];
		c->deferred_counted[i] = c->deferred_counted[c->ndeferred];
		return true;
	}
	return false;
}

/*
 * Dovecot: reads answers until the one to id (0: until no deferred request is left); answers to
 * deferred requests on the way are counted. *nologin is set when the OK carries "nologin".
 */
static enum answer dovecot_wait(struct conn *c, unsigned id, bool *nologin)
{
	char line[4096], *f;

	while (id != 0 || c->ndeferred > 0) {
		enum answer a;
		unsigned got;

		if (!read_line(c, line, sizeof(line)))
			return ANSWER_ERROR;
		f = strchr(line, '\t');
		if (f == NULL)
			return ANSWER_ERROR;
		got = (unsigned)strtoul(f + 1, NULL, 10);
		a = strncmp(line, "OK\t", 3) == 0     ? ANSWER_OK
		    : strncmp(line, "FAIL\t", 5) == 0 ? ANSWER_FAIL
		                                      : ANSWER_ERROR;
		if (got == id) {
			if (nologin != NULL)
				*nologin = strstr(line, "\tnologin") != NULL;
			return a;
		}
		if (!deferred_answer(c, got, a))
			return ANSWER_ERROR;
	}
	return ANSWER_OK;
}

static enum answer dovecot_auth(struct conn *c, const char *user, const char *password,
                                bool *nologin)
{
	unsigned id = dovecot_send(c, user, password);

	return id == 0 ? ANSWER_ERROR : dovecot_wait(c, id, nologin);
}

/* saslauthd: one request on a new connection. */
static enum answer sasl_auth(struct conn *c, const char *user, const char *password)
{
	const char *field[4] = {user, password, c->l->service, c->l->realm};
	unsigned char req[2048], len[2], reply[1024];
	size_t at = 0, n;
	enum answer a = ANSWER_ERROR;

	for (int i = 0; i < 4; i++) {
		size_t fl = strlen(field[i]);

		if (at + 2 + fl > sizeof(req))
			return ANSWER_ERROR;
		req[at] = (unsigned char)(fl >> 8);
		req[at + 1] = (unsigned char)fl;
		memcpy(req + at + 2, field[i], fl);
		at += 2 + fl;
	}
	c->fd = unix_connect(c->l->socket);
	if (c->fd < 0)
		return ANSWER_ERROR;
	c->inlen = 0;
	if (send_all(c->fd, req, at) && recv(c->fd, len, 2, MSG_WAITALL) == 2) {
		n = (size_t)len[0] << 8 | len[1];
		if (n >= 2 && n <= sizeof(reply) &&
		    recv(c->fd, reply, n, MSG_WAITALL) == (ssize_t)n)
			a = memcmp(reply, "OK", 2) == 0 ? ANSWER_OK : ANSWER_FAIL;
	}
	close(c->fd);
	c->fd = -1;
	return a;
}

/*
 * One login of user (without the realm) on c: Dovecot gets USER@REALM in the PLAIN response,
 * saslauthd the user and the realm as two fields (it joins them: -r). With defer (Dovecot) the
 * request is sent and not waited for (ANSWER_DEFERRED): its answer is counted as it comes,
 * in c->late_*, when counted.
 */
static enum answer one_login(struct conn *c, const char *user, const char *password, bool *nologin,
                             bool defer, bool counted)
{
	char full[512];

	if (nologin != NULL)
		*nologin = false;
	if (c->l->proto == PROTO_SASL)
		return sasl_auth(c, user, password);
	if (c->fd < 0 && !dovecot_open(c))
		return ANSWER_ERROR;
	snprintf(full, sizeof(full), "%s%s%s", user, c->l->realm[0] ? "@" : "", c->l->realm);
	if (defer && c->ndeferred < MAX_DEFERRED) {
		unsigned id = dovecot_send(c, full, password);

		if (id != 0) {
			c->deferred[c->ndeferred] = id;
			c->deferred_counted[c->ndeferred++] = counted;
			return ANSWER_DEFERRED;
		}
	}
	enum answer a = dovecot_auth(c, full, password, nologin);

	if (a == ANSWER_ERROR) {
		close(c->fd);
		c->fd = -1;
	}
	return a;
}

/* The CPU time (ms) of pid and every process below it, children already reaped included. */
static double tree_cpu_ms(int root)
{
	enum { MAXP = 65536 };
	static int ppid[MAXP];
	static double cpu[MAXP];
	static bool in[MAXP];
	double tick = (double)sysconf(_SC_CLK_TCK), sum = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool grew = true;

	memset(in, 0, sizeof(in));
	memset(ppid, 0, sizeof(ppid));
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[64], buf[1024], *p;
		unsigned long long ut, st;
		long long cut, cst;
		int pid = atoi(e->d_name), pp;
		FILE *f;

		if (pid <= 0 || pid >= MAXP)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f) != NULL ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (p == NULL ||
		    sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
		           &pp, &ut, &st, &cut, &cst) != 5)
			continue;
		ppid[pid] = pp;
		cpu[pid] = (double)(ut + st) + (double)(cut + cst);
	}
	if (d != NULL)
		closedir(d);
	if (root <= 0 || root >= MAXP || ppid[root] == 0)
		return 0;
	in[root] = true;
	while (grew) {
		grew = false;
		for (int p = 1; p < MAXP; p++) {
			if (!in[p] && ppid[p] > 0 && ppid[p] < MAXP && in[ppid[p]]) {
				in[p] = true;
				grew = true;
			}
		}
	}
	for (int p = 1; p < MAXP; p++)
		if (in[p])
			sum += cpu[p];
	return sum * 1e3 / tick;
}

struct client {
	struct conn c;
	pthread_t thread;
	double measure_from, stop_at;
	unsigned long long rnd;
	long ok, fail, errors, wrong;
	struct bench_samples lat;
};

static unsigned long long next_rnd(unsigned long long *r)
{
	*r = *r * 6364136223846793005ull + 1442695040888963407ull;
	return *r >> 33;
}

/* The next request of the load into user/password; returns the answer it must get. */
static enum answer pick(struct client *cl, char *user, size_t cap, const char **password)
{
	const struct load *l = cl->c.l;
	int p = (int)(next_rnd(&cl->rnd) % 100);
	unsigned long long i = next_rnd(&cl->rnd);

	*password = l->password;
	if (l->users <= 0) {
		snprintf(user, cap, "%s", l->user);
		return ANSWER_OK;
	}
	if (p < l->mix_repeat) {
		snprintf(user, cap, "%s%llu", l->user, i % (unsigned long long)l->users);
		return ANSWER_OK;
	}
	if (p < l->mix_repeat + l->mix_new) {
		snprintf(user, cap, "new%ld",
		         l->new_from + __atomic_fetch_add(&new_next, 1, __ATOMIC_RELAXED));
		return ANSWER_OK;
	}
	snprintf(user, cap, "%s%llu", l->user, i % (unsigned long long)l->users);
	*password = "not the password";
	return ANSWER_FAIL;
}

static void *client_main(void *arg)
{
	struct client *cl = arg;

	for (;;) {
		char user[256];
		const char *password;
		enum answer want = pick(cl, user, sizeof(user), &password), got;
		double t0 = bench_now_us(), t1;

		if (t0 >= cl->stop_at)
			break;
		got = one_login(&cl->c, user, password, NULL,
		                cl->c.l->defer_fail && want == ANSWER_FAIL, t0 >= cl->measure_from);
		t1 = bench_now_us();
		if (t0 < cl->measure_from || got == ANSWER_DEFERRED)
			continue;
		if (got == ANSWER_ERROR) {
			cl->errors++;
			continue;
		}
		if (got != want)
			cl->wrong++;
		if (got == ANSWER_OK)
			cl->ok++;
		else
			cl->fail++;
		bench_samples_add(&cl->lat, t1 - t0);
	}
	if (cl->c.fd >= 0 && cl->c.ndeferred > 0 && dovecot_wait(&cl->c, 0, NULL) == ANSWER_ERROR)
		cl->errors += cl->c.ndeferred;
	cl->ok += cl->c.late_ok;
	cl->wrong += cl->c.late_ok; /* deferred: wrong passwords only */
	cl->fail += cl->c.late_fail;
	cl->errors += cl->c.late_errors;
	if (cl->c.fd >= 0)
		close(cl->c.fd);
	return NULL;
}

static int check(const struct load *l)
{
	struct conn c = {.l = l, .fd = -1};
	char line[1024];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *user = strtok(line, " \t\n"), *password = strtok(NULL, "\n");
		bool nologin;
		enum answer a;

		if (user == NULL || password == NULL)
			continue;
		a = one_login(&c, user, password, &nologin, false, false);
		printf("%s %s%s\n", user,
		       a == ANSWER_OK     ? "OK"
		       : a == ANSWER_FAIL ? "FAIL"
		                          : "ERROR",
		       nologin ? " nologin" : "");
	}
	if (c.fd >= 0)
		close(c.fd);
	return 0;
}

/* The 1, 5 and 15 minute load averages, as /proc/loadavg gives them. */
static void loadavg(char *buf, size_t cap)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = 0, b = 0, c = 0;

	if (f != NULL) {
		if (fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
			a = b = c = 0;
		fclose(f);
	}
	snprintf(buf, cap, "%.2f %.2f %.2f", a, b, c);
}

static int run(struct load *l)
{
	struct client *cs = calloc((size_t)l->clients + 1, sizeof(*cs));
	struct bench_samples all = {0};
	long ok = 0, fail = 0, errors = 0, wrong = 0;
	double start, measure_from, stop_at, now;
	char path[512], load_start[64], load_end[64];
	FILE *f;

	if (cs == NULL)
		bench_die("out of memory");
	start = bench_now_us();
	measure_from = start + l->warmup * 1e6;
	stop_at = measure_from + l->seconds * 1e6;
	for (int i = 0; i < l->clients; i++) {
		cs[i].c = (struct conn){.l = l, .fd = -1};
		cs[i].rnd = 0x9e3779b97f4a7c15ull * (unsigned long long)(i + 1) ^
		            (unsigned long long)l->new_from;
		cs[i].measure_from = measure_from;
		cs[i].stop_at = stop_at;
		if (pthread_create(&cs[i].thread, NULL, client_main, &cs[i]) != 0)
			bench_die("pthread_create failed");
	}
	now = bench_now_us();
	if (measure_from > now)
		usleep((useconds_t)(measure_from - now));
	loadavg(load_start, sizeof(load_start));
	for (int k = 0; k < l->ncpu; k++)
		l->cpu[k].start_ms = tree_cpu_ms(l->cpu[k].pid);
	now = bench_now_us();
	if (stop_at > now)
		usleep((useconds_t)(stop_at - now));
	for (int k = 0; k < l->ncpu; k++)
		l->cpu[k].end_ms = tree_cpu_ms(l->cpu[k].pid);
	loadavg(load_end, sizeof(load_end));
	for (int i = 0; i < l->clients; i++) {
		pthread_join(cs[i].thread, NULL);
		ok += cs[i].ok;
		fail += cs[i].fail;
		errors += cs[i].errors;
		wrong += cs[i].wrong;
		for (size_t k = 0; k < cs[i].lat.n; k++)
			bench_samples_add(&all, cs[i].lat.v[k]);
		bench_samples_free(&cs[i].lat);
	}
	free(cs);

	snprintf(path, sizeof(path), "%s/%s.json", l->out, l->label);
	f = fopen(path, "w");
	if (f == NULL)
		bench_die("cannot write %s", path);
	fprintf(f, "{\n  \"label\": ");
	bench_json_str(f, l->label);
	fprintf(
	    f,
	    ",\n  \"proto\": \"%s\",\n  \"clients\": %d,\n  \"seconds\": %.1f,\n"
	    "  \"users\": %ld,\n  \"mix_repeat\": %d,\n  \"mix_new\": %d,\n  \"new_from\": %ld,\n"
	    "  \"new_users\": %ld,\n  \"ok\": %ld,\n  \"fail\": %ld,\n  \"errors\": %ld,\n"
	    "  \"defer_fail\": %s,\n  \"wrong_answers\": %ld,\n  \"answers_per_s\": %.1f,\n  "
	    "\"p50_us\": %.1f,\n"
	    "  \"p99_us\": %.1f,\n  \"load_start\": \"%s\",\n  \"load_end\": \"%s\",\n"
	    "  \"cpu_ms\": {",
	    l->proto == PROTO_DOVECOT ? "dovecot" : "sasl", l->clients, l->seconds, l->users,
	    l->users > 0 ? l->mix_repeat : 100, l->users > 0 ? l->mix_new : 0, l->new_from,
	    new_next, ok, fail, errors, l->defer_fail ? "true" : "false", wrong,
	    (double)(ok + fail) / l->seconds, all.n ? bench_quantile(&all, 0.5) : 0.0,
	    all.n ? bench_quantile(&all, 0.99) : 0.0, load_start, load_end);
	for (int k = 0; k < l->ncpu; k++) {
		fprintf(f, "%s", k ? ", " : "");
		bench_json_str(f, l->cpu[k].name);
		fprintf(f, ": %.1f", l->cpu[k].end_ms - l->cpu[k].start_ms);
	}
	fprintf(f, "}\n}\n");
	fclose(f);
	printf("%s: %.0f answers/s (%ld OK, %ld FAIL, %ld errors, %ld wrong), p50 %.2f ms",
	       l->label, (double)(ok + fail) / l->seconds, ok, fail, errors, wrong,
	       all.n ? bench_quantile(&all, 0.5) / 1e3 : 0.0);
	for (int k = 0; k < l->ncpu; k++)
		printf(", %s %.3f ms/answer", l->cpu[k].name,
		       ok + fail ? (l->cpu[k].end_ms - l->cpu[k].start_ms) / (double)(ok + fail)
		                 : 0.0);
	printf(" [load %s]\n", load_end);
	bench_samples_free(&all);
	return errors == 0 && wrong == 0 && (ok > 0 || l->clients == 0) ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: auth_load --proto dovecot|sasl --socket PATH --user PREFIX --realm R "
	        "--password PW [--service S] [-c N] [--seconds S] [--warmup S] [--users N "
	        "--mix R,W [--new-from K]] [--defer-fail] [--cpu NAME=PID]... --out DIR --label "
	        "NAME\n"
	        "       auth_load --proto dovecot|sasl --socket PATH -c 0 --seconds S "
	        "--cpu NAME=PID... --out DIR --label NAME\n"
	        "       auth_load --proto dovecot|sasl --socket PATH --realm R [--service S] "
	        "--check < 'USER PASSWORD' lines\n");
	exit(2);
}

/* The options that take a string, by name: where each goes in struct load. */
static const struct {
	const char *name;
	size_t offset;
} string_opts[] = {
    {"socket", offsetof(struct load, socket)},     {"user", offsetof(struct load, user)},
    {"realm", offsetof(struct load, realm)},       {"service", offsetof(struct load, service)},
    {"password", offsetof(struct load, password)}, {"out", offsetof(struct load, out)},
    {"label", offsetof(struct load, label)},
};

/* --cpu NAME=PID */
static void add_cpu(struct load *l, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || l->ncpu == MAX_CPU)
		usage();
	l->cpu[l->ncpu].name = strndup(arg, (size_t)(eq - arg));
	l->cpu[l->ncpu].pid = atoi(eq + 1);
	if (l->cpu[l->ncpu].name == NULL || l->cpu[l->ncpu].pid <= 0)
		usage();
	l->ncpu++;
}

/* One option that takes no string (or a flag): false when name is none of them, or bad. */
static bool other_opt(struct load *l, const char *name, const char *arg, bool *check)
{
	if (strcmp(name, "proto") == 0 && strcmp(arg, "dovecot") == 0)
		l->proto = PROTO_DOVECOT;
	else if (strcmp(name, "proto") == 0 && strcmp(arg, "sasl") == 0)
		l->proto = PROTO_SASL;
	else if (strcmp(name, "seconds") == 0)
		l->seconds = strtod(arg, NULL);
	else if (strcmp(name, "warmup") == 0)
		l->warmup = strtod(arg, NULL);
	else if (strcmp(name, "clients") == 0)
		l->clients = atoi(arg);
	else if (strcmp(name, "users") == 0)
		l->users = strtol(arg, NULL, 10);
	else if (strcmp(name, "new-from") == 0)
		l->new_from = strtol(arg, NULL, 10);
	else if (strcmp(name, "mix") == 0)
		return sscanf(arg, "%d,%d", &l->mix_repeat, &l->mix_new) == 2 &&
		       l->mix_repeat >= 0 && l->mix_new >= 0 && l->mix_repeat + l->mix_new <= 100;
	else if (strcmp(name, "cpu") == 0)
		add_cpu(l, arg);
	else if (strcmp(name, "check") == 0)
		*check = true;
	else if (strcmp(name, "defer-fail") == 0)
		l->defer_fail = true;
	else
		return false;
	return true;
}

int main(int argc, char **argv)
{
	static const char *const with_arg[] = {"proto", "seconds",  "warmup", "clients",
	                                       "users", "new-from", "mix",    "cpu"};
	static const char *const flags[] = {"check", "defer-fail"};
	enum { NSTR = sizeof(string_opts) / sizeof(string_opts[0]) };
	enum {
		NARG = sizeof(with_arg) / sizeof(with_arg[0]),
		NFLAG = sizeof(flags) / sizeof(flags[0])
	};
	struct option opts[NSTR + NARG + NFLAG + 1] = {{0}};
	struct load l = {.proto = PROTO_NONE,
	                 .service = "smtp",
	                 .realm = "",
	                 .clients = 10,
	                 .seconds = 10,
	                 .warmup = 1,
	                 .mix_repeat = 100};
	bool do_check = false;
	int c, k = 0, at;

	for (size_t i = 0; i < NSTR; i++)
		opts[k++] = (struct option){string_opts[i].name, required_argument, NULL, 0};
	for (size_t i = 0; i < NARG; i++)
		opts[k++] = (struct option){with_arg[i], required_argument, NULL, 0};
	for (size_t i = 0; i < NFLAG; i++)
		opts[k++] = (struct option){flags[i], no_argument, NULL, 0};
	while ((c = getopt_long(argc, argv, "c:", opts, &at)) != -1) {
		if (c == 'c')
			l.clients = atoi(optarg);
		else if (c != 0)
			usage();
		else if (at < NSTR)
			*(const char **)((char *)&l + string_opts[at].offset) = optarg;
		else if (!other_opt(&l, opts[at].name, optarg != NULL ? optarg : "", &do_check))
			usage();
	}
	if (l.proto == PROTO_NONE || l.socket == NULL)
		usage();
	if (do_check)
		return check(&l);
	/* -c 0: no load, only the CPU of the --cpu trees over the window (their idle cost) */
	if (l.out == NULL || l.label == NULL || l.clients < 0 || l.seconds <= 0 ||
	    (l.clients > 0 && (l.user == NULL || l.password == NULL)))
		usage();
	return run(&l);
}
