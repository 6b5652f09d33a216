// SPDX-License-Identifier: MIT
/*
 * A load client for saslauthd's socket ("mux"): C threads, each sending one request per
 * connection as testsaslauthd and Cyrus do (counted strings: 2-byte big-endian length and the
 * bytes of user, password, service, realm; the answer is one counted string "OK..."/"NO...").
 * Runs a warm-up, then measures for a fixed time; writes OUT/LABEL.json and OUT/LABEL.lat.
 *
 *   sasl_load --socket DIR/mux --user U --realm R --service S --password PW
 *             -c CLIENTS --seconds S --out DIR --label NAME [--workers W] [--warmup S]
 *             [--timeout S] [--expect-no]
 * With --expect-no (a frozen database) every answer should be NO; their latency is reported
 * (no_p50_us, no_max_us) and a request with no answer within --timeout counts as an error.
 *
 * With --users N --mix R,W,F (percent): a request is, R% of the time, USER0..USER(N-1) (--user
 * is the prefix) picked at random with the right password; W% a user never seen before
 * (new0, new1, ... in the realm); the rest a random USERi with a wrong password, which must be
 * answered NO. A wrong answer either way counts in "mismatched" and fails the run.
 *
 * Open loop (a wrong-password flood beside the users' logins):
 *   sasl_load --socket DIR/mux --user U --realm R --service S --password PW --out DIR
 *             --label NAME --seconds S --warmup S --rate R --flood F [--flood-user V]
 *             [--connect-timeout S] [--timeout S] [--control-socket DIR2/mux]
 * R right-password logins of U and F wrong-password logins of V (default U) a second, each
 * sent at its fixed time from a thread of its own, whether or not the earlier ones were
 * answered (an attacker does not wait). A request counts in the figures when it was sent in
 * the measured window; the program then waits for the ones still out (at most the timeouts).
 * connect() waits at most --connect-timeout (SO_SNDTIMEO; 0: not at all) for room in
 * saslauthd's listen backlog: a request that gets none is "refused". Right logins: sent, OK,
 * NO, refused, errors, p50/p99 of the time to the answer; wrong ones: sent, NO, OK (a wrong
 * answer), refused, errors, p50/p99/max of the time to the NO (what each guess costs).
 * With --control-socket each right login is sent at the same time to a second saslauthd that
 * gets no flood: the "control" figures, taken in the same moments on the same machine, are the
 * without-the-flood latency to compare with (a shared machine's load swings between runs).
 */
#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench_util.h"

struct opts {
	const char *socket, *user, *realm, *service, *password, *out, *label;
	int clients, workers;
	double seconds, warmup, timeout, connect_timeout;
	double rate, flood; /* open loop: right and wrong requests a second (0: closed loop) */
	const char *flood_user;
	const char *control_socket; /* open loop: the right logins again, there, with no flood */
	long users;                 /* 0: every request is --user with --password */
	const char *mix;            /* --mix R,W,F as given */
	int mix_repeat, mix_new;    /* percent; the rest of the requests are wrong passwords */
	bool expect_no;
};

static long new_users; /* users introduced so far by the mix (atomic) */

struct client {
	const struct opts *o;
	pthread_t thread;
	unsigned char req[2048];
	size_t reqlen;
	double measure_from, stop_at;
	struct bench_samples lat, lat_no; /* answered OK, answered NO */
	long ok, no, errors, mismatched;
	unsigned long long rnd;
};

static bool put(unsigned char *buf, size_t *len, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n > 0xffff || *len + 2 + n > cap)
		return false;
	buf[(*len)++] = (unsigned char)(n >> 8);
	buf[(*len)++] = (unsigned char)(n & 0xff);
	memcpy(buf + *len, s, n);
	*len += n;
	return true;
}

/* A request into req (cap bytes): user, password, service and realm; *len its length. */
static void make_request(const struct opts *o, unsigned char *req, size_t *len, size_t cap,
                         const char *user, const char *password)
{
	*len = 0;
	if (!put(req, len, cap, user) || !put(req, len, cap, password) ||
	    !put(req, len, cap, o->service) || !put(req, len, cap, o->realm))
		bench_die("request too long");
}

/* Reads n bytes; false at an error, the end or SO_RCVTIMEO (no signal handler interrupts). */
static bool read_all(int fd, unsigned char *buf, size_t n)
{
	return recv(fd, buf, n, MSG_WAITALL) == (ssize_t)n;
}

static struct timeval timeval_of(double seconds)
{
	struct timeval tv = {.tv_sec = (time_t)seconds};

	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

/*
 * One request (req, reqlen bytes) on a fresh connection: 1 for OK, 0 for NO, -1 for a
 * transport error, -2 when connect() failed (no room in the listen backlog within
 * connect_timeout seconds, or refused outright).
 */
static int send_request(const struct opts *o, const char *socket_path, const unsigned char *req,
                        size_t reqlen, double connect_timeout)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = timeval_of(o->timeout), ctv = timeval_of(connect_timeout);
	unsigned char hdr[2], reply[1024];
	size_t n;
	int fd, result = -1;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (connect_timeout > 0 ? 0 : SOCK_NONBLOCK),
	            0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* A unix socket's connect() waits for room in the backlog up to SO_SNDTIMEO. */
	if (connect_timeout > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ctv, sizeof(ctv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		result = -2;
		goto out;
	}
	if (connect_timeout <= 0) {
		int fl = 0;

		(void)ioctl(fd, FIONBIO, &fl);
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (write(fd, req, reqlen) != (ssize_t)reqlen || !read_all(fd, hdr, 2))
		goto out;
	n = (size_t)hdr[0] << 8 | hdr[1];
	if (n < 2 || n > sizeof(reply) || !read_all(fd, reply, n))
		goto out;
	result = memcmp(reply, "OK", 2) == 0 ? 1 : 0;
out:
	close(fd);
	return result;
}

/* One request on a fresh connection, as send_request; a failed connect counts as -1. */
static int one_request(const struct client *c)
{
	int r = send_request(c->o, c->o->socket, c->req, c->reqlen, c->o->timeout);

	return r == -2 ? -1 : r;
}

/* The next request of the mix into c->req; returns the answer it must get (1 OK, 0 NO). */
static int mix_request(struct client *c)
{
	const struct opts *o = c->o;
	char user[256];
	const char *password = o->password;
	int pick, want = 1;

	c->rnd = c->rnd * 6364136223846793005ull + 1442695040888963407ull;
	pick = (int)((c->rnd >> 33) % 100);
	c->rnd = c->rnd * 6364136223846793005ull + 1442695040888963407ull;
	if (pick < o->mix_repeat) {
		snprintf(user, sizeof(user), "%s%llu", o->user,
		         (c->rnd >> 33) % (unsigned long long)o->users);
	} else if (pick < o->mix_repeat + o->mix_new) {
		snprintf(user, sizeof(user), "new%ld",
		         __atomic_fetch_add(&new_users, 1, __ATOMIC_RELAXED));
	} else {
		snprintf(user, sizeof(user), "%s%llu", o->user,
		         (c->rnd >> 33) % (unsigned long long)o->users);
		password = "not the password";
		want = 0;
	}
	make_request(o, c->req, &c->reqlen, sizeof(c->req), user, password);
	return want;
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	for (;;) {
		double t0 = bench_now_us(), t1;
		int r, want = c->o->users > 0 ? mix_request(c) : -1;

		if (t0 >= c->stop_at)
			break;
		r = one_request(c);
		t1 = bench_now_us();
		if (t0 < c->measure_from)
			continue;
		if (want >= 0 && r >= 0 && r != want)
			c->mismatched++;
		if (r == 1) {
			c->ok++;
			bench_samples_add(&c->lat, t1 - t0);
		} else if (r == 0) {
			c->no++;
			bench_samples_add(&c->lat_no, t1 - t0);
		} else {
			c->errors++;
		}
	}
	return NULL;
}

/* Open loop: one request of a stream, sent at its own time by a thread of its own. */
struct oreq {
	const struct stream *st;
	pthread_t thread;
	double sent_at, lat;
	int result; /* as send_request */
};

struct stream {
	const struct opts *o;
	const char *name, *socket;
	double rate;
	int want; /* 1: must be answered OK, 0: NO */
	unsigned char req[2048];
	size_t reqlen;
	struct oreq *reqs;
	size_t n, cap;
};

static void *oreq_main(void *arg)
{
	struct oreq *r = arg;

	r->result = send_request(r->st->o, r->st->socket, r->st->req, r->st->reqlen,
	                         r->st->o->connect_timeout);
	r->lat = bench_now_us() - r->sent_at;
	return NULL;
}

static void stream_init(struct stream *st, const struct opts *o, const char *name,
                        const char *socket_path, const char *user, const char *password,
                        double rate, int want)
{
	double total = o->warmup + o->seconds;

	*st = (struct stream){
	    .o = o, .name = name, .socket = socket_path, .rate = rate, .want = want};
	make_request(o, st->req, &st->reqlen, sizeof(st->req), user, password);
	st->cap = rate > 0 ? (size_t)ceil(rate * total) + 1 : 0;
	st->reqs = st->cap > 0 ? calloc(st->cap, sizeof(*st->reqs)) : NULL;
	if (st->cap > 0 && st->reqs == NULL)
		bench_die("out of memory");
}

/* When the stream's next request is due (microseconds), INFINITY when it has sent them all. */
static double stream_next(const struct stream *st, double start, double stop_at)
{
	double t;

	if (st->rate <= 0 || st->n >= st->cap)
		return INFINITY;
	t = start + (double)st->n * 1e6 / st->rate;
	return t < stop_at ? t : INFINITY;
}

static void stream_send(struct stream *st, const pthread_attr_t *attr)
{
	struct oreq *r = &st->reqs[st->n];

	r->st = st;
	r->sent_at = bench_now_us();
	r->result = -1;
	if (pthread_create(&r->thread, attr, oreq_main, r) != 0)
		bench_die("pthread_create failed (%zu %s requests out)", st->n, st->name);
	st->n++;
}

struct stream_stats {
	long sent, ok, no, refused, errors, mismatched;
	struct bench_samples lat; /* time to the expected answer */
};

/* Joins the stream's threads; counts the requests sent from measure_from on. */
static void stream_collect(struct stream *st, double measure_from, struct stream_stats *ss)
{
	*ss = (struct stream_stats){0};
	for (size_t i = 0; i < st->n; i++) {
		struct oreq *r = &st->reqs[i];

		pthread_join(r->thread, NULL);
		if (r->sent_at < measure_from)
			continue;
		ss->sent++;
		if (r->result == -2)
			ss->refused++;
		else if (r->result < 0)
			ss->errors++;
		else if (r->result == 1)
			ss->ok++;
		else
			ss->no++;
		if (r->result >= 0 && r->result != st->want)
			ss->mismatched++;
		if (r->result == st->want)
			bench_samples_add(&ss->lat, r->lat);
	}
}

static double q_ms(const struct bench_samples *s, double q)
{
	return s->n > 0 ? bench_quantile(s, q) / 1e3 : 0.0;
}

static void stats_json(FILE *f, const char *key, const struct stream_stats *ss, double rate)
{
	fprintf(f,
	        "  \"%s\": {\"rate\": %.2f, \"sent\": %ld, \"ok\": %ld, \"no\": %ld, "
	        "\"refused\": %ld, \"errors\": %ld, \"mismatched\": %ld, \"answered\": %zu, "
	        "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}",
	        key, rate, ss->sent, ss->ok, ss->no, ss->refused, ss->errors, ss->mismatched,
	        ss->lat.n, q_ms(&ss->lat, 0.5), q_ms(&ss->lat, 0.99), q_ms(&ss->lat, 1.0));
}

/* The open-loop run (--rate/--flood): writes OUT/LABEL.json and the latency files. */
static int open_loop(const struct opts *o)
{
	struct stream right, wrong, control;
	struct stream_stats rs, ws, cs;
	pthread_attr_t attr;
	double start, measure_from, stop_at;
	FILE *f;
	int rc;

	stream_init(&right, o, "right", o->socket, o->user, o->password, o->rate, 1);
	stream_init(&wrong, o, "wrong", o->socket, o->flood_user ? o->flood_user : o->user,
	            "not the password", o->flood, 0);
	stream_init(&control, o, "control", o->control_socket, o->user, o->password,
	            o->control_socket != NULL ? o->rate : 0, 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	start = bench_now_us() + 10e3;
	measure_from = start + o->warmup * 1e6;
	stop_at = measure_from + o->seconds * 1e6;
	for (;;) {
		double tr = stream_next(&right, start, stop_at),
		       tw = stream_next(&wrong, start, stop_at);
		double tc = stream_next(&control, start, stop_at);
		double t = tr < tw ? tr : tw, now;

		if (tc < t)
			t = tc;
		if (t == INFINITY)
			break;
		now = bench_now_us();
		if (t > now)
			usleep((useconds_t)(t - now));
		/* The control login goes out with the right one it mirrors, just after it. */
		stream_send(t == tr ? &right : t == tc ? &control : &wrong, &attr);
	}
	pthread_attr_destroy(&attr);
	stream_collect(&right, measure_from, &rs);
	stream_collect(&wrong, measure_from, &ws);
	stream_collect(&control, measure_from, &cs);

	bench_write_lat(o->out, o->label, NULL, &rs.lat);
	if (ws.lat.n > 0)
		bench_write_lat(o->out, o->label, "no", &ws.lat);
	f = bench_json_open(o->out, o->label, "open-loop");
	fprintf(f,
	        ",\n  \"workers\": %d,\n  \"seconds\": %.1f,\n"
	        "  \"warmup\": %.1f,\n  \"connect_timeout\": %.2f,\n  \"timeout\": %.1f,\n",
	        o->workers, o->seconds, o->warmup, o->connect_timeout, o->timeout);
	stats_json(f, "right", &rs, o->rate);
	fprintf(f, ",\n");
	stats_json(f, "wrong", &ws, o->flood);
	if (o->control_socket != NULL) {
		fprintf(f, ",\n");
		stats_json(f, "control", &cs, o->rate);
	}
	fprintf(f, "\n}\n");
	fclose(f);
	printf("%s: right %.1f/s: %ld sent, %ld OK, %ld NO, %ld refused, %ld errors, p50 %.1f ms, "
	       "p99 %.1f ms | wrong %.1f/s: %ld sent, %ld NO, %ld OK, %ld refused, %ld errors, "
	       "time to NO p50 %.1f ms, p99 %.1f ms\n",
	       o->label, o->rate, rs.sent, rs.ok, rs.no, rs.refused, rs.errors, q_ms(&rs.lat, 0.5),
	       q_ms(&rs.lat, 0.99), o->flood, ws.sent, ws.no, ws.ok, ws.refused, ws.errors,
	       q_ms(&ws.lat, 0.5), q_ms(&ws.lat, 0.99));
	if (o->control_socket != NULL)
		printf(
		    "  control (the same right logins at the same times on --control-socket, no "
		    "flood): %ld sent, %ld OK, %ld refused, %ld errors, p50 %.1f ms, p99 %.1f ms\n",
		    cs.sent, cs.ok, cs.refused, cs.errors, q_ms(&cs.lat, 0.5), q_ms(&cs.lat, 0.99));
	rc = rs.mismatched == 0 && ws.mismatched == 0 && cs.mismatched == 0 ? 0 : 1;
	bench_samples_free(&rs.lat);
	bench_samples_free(&ws.lat);
	bench_samples_free(&cs.lat);
	free(right.reqs);
	free(wrong.reqs);
	free(control.reqs);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: sasl_load --socket PATH --user U --realm R --service S "
	                "--password PW -c N --seconds S --out DIR --label NAME [--workers W] "
	                "[--warmup S] [--rate R --flood F [--flood-user V] [--connect-timeout S] "
	                "[--control-socket PATH]]\n");
	exit(2);
}

#define OPT(name, type, field) BENCH_OPT(struct opts, name, type, field)

static const struct bench_opt options[] = {
    OPT("socket", STR, socket),
    OPT("user", STR, user),
    OPT("realm", STR, realm),
    OPT("service", STR, service),
    OPT("password", STR, password),
    OPT("out", STR, out),
    OPT("label", STR, label),
    OPT("seconds", DOUBLE, seconds),
    OPT("warmup", DOUBLE, warmup),
    OPT("workers", INT, workers),
    OPT("c", INT, clients),
    OPT("timeout", DOUBLE, timeout),
    OPT("expect-no", FLAG, expect_no),
    OPT("users", LONG, users),
    OPT("mix", STR, mix),
    OPT("rate", DOUBLE, rate),
    OPT("flood", DOUBLE, flood),
    OPT("flood-user", STR, flood_user),
    OPT("connect-timeout", DOUBLE, connect_timeout),
    OPT("control-socket", STR, control_socket),
};

int main(int argc, char **argv)
{
	struct opts o = {.service = "imap",
	                 .realm = "",
	                 .clients = 4,
	                 .seconds = 10,
	                 .warmup = 1,
	                 .timeout = 30,
	                 .connect_timeout = -1};
	struct bench_samples all = {0}, all_no = {0};
	struct client *cs;
	long ok = 0, no = 0, errors = 0, mismatched = 0;
	double start, measured;
	FILE *f;

	bench_parse_opts(argc, argv, options, sizeof(options) / sizeof(options[0]), &o, usage);
	if (o.mix != NULL && (sscanf(o.mix, "%d,%d", &o.mix_repeat, &o.mix_new) != 2 ||
	                      o.mix_repeat < 0 || o.mix_new < 0 || o.mix_repeat + o.mix_new > 100))
		usage();
	if (o.socket == NULL || o.user == NULL || o.password == NULL || o.out == NULL ||
	    o.label == NULL || o.clients <= 0 || o.seconds <= 0 || o.rate < 0 || o.flood < 0)
		usage();
	if (o.connect_timeout < 0)
		o.connect_timeout = o.timeout;
	if (o.rate > 0 || o.flood > 0)
		return open_loop(&o);
	cs = calloc((size_t)o.clients, sizeof(*cs));
	if (cs == NULL)
		bench_die("out of memory");
	start = bench_now_us();
	for (int i = 0; i < o.clients; i++) {
		struct client *cl = &cs[i];

		cl->o = &o;
		cl->rnd = 0x9e3779b97f4a7c15ull * (unsigned long long)(i + 1);
		make_request(&o, cl->req, &cl->reqlen, sizeof(cl->req), o.user, o.password);
		cl->measure_from = start + o.warmup * 1e6;
		cl->stop_at = cl->measure_from + o.seconds * 1e6;
		if (pthread_create(&cl->thread, NULL, client_main, cl) != 0)
			bench_die("pthread_create failed");
	}
	for (int i = 0; i < o.clients; i++) {
		pthread_join(cs[i].thread, NULL);
		ok += cs[i].ok;
		no += cs[i].no;
		errors += cs[i].errors;
		mismatched += cs[i].mismatched;
		for (size_t k = 0; k < cs[i].lat.n; k++)
			bench_samples_add(&all, cs[i].lat.v[k]);
		for (size_t k = 0; k < cs[i].lat_no.n; k++)
			bench_samples_add(&all_no, cs[i].lat_no.v[k]);
		bench_samples_free(&cs[i].lat);
		bench_samples_free(&cs[i].lat_no);
	}
	measured = o.seconds;

	bench_write_lat(o.out, o.label, NULL, &all);
	if (all_no.n > 0)
		bench_write_lat(o.out, o.label, "no", &all_no);
	f = bench_json_open(o.out, o.label, "saslauthd");
	fprintf(f,
	        ",\n  \"workers\": %d,\n  \"clients\": %d,\n"
	        "  \"seconds\": %.1f,\n  \"ok\": %ld,\n  \"no\": %ld,\n  \"errors\": %ld,\n"
	        "  \"per_s\": %.1f,\n  \"p50_us\": %.2f,\n  \"p99_us\": %.2f,\n"
	        "  \"no_p50_us\": %.2f,\n  \"no_max_us\": %.2f,\n  \"users\": %ld,\n"
	        "  \"mix_repeat\": %d,\n  \"mix_new\": %d,\n  \"new_users\": %ld,\n"
	        "  \"answers_per_s\": %.1f,\n  \"mismatched\": %ld\n}\n",
	        o.workers, o.clients, measured, ok, no, errors, (double)ok / measured,
	        all.n > 0 ? bench_quantile(&all, 0.5) : 0.0,
	        all.n > 0 ? bench_quantile(&all, 0.99) : 0.0,
	        all_no.n > 0 ? bench_quantile(&all_no, 0.5) : 0.0,
	        all_no.n > 0 ? bench_quantile(&all_no, 1.0) : 0.0, o.users, o.mix_repeat, o.mix_new,
	        new_users, (double)(ok + no) / measured, mismatched);
	fclose(f);
	printf("\n%s: saslauthd -n %d, %d clients, %.0f s: %.0f logins/s, p50 %.3f ms, p99 %.3f "
	       "ms (OK %ld, NO %ld, errors %ld)\n",
	       o.label, o.workers, o.clients, measured, (double)ok / measured,
	       bench_quantile(&all, 0.5) / 1e3, bench_quantile(&all, 0.99) / 1e3, ok, no, errors);
	if (all_no.n > 0)
		printf("  NO answers: p50 %.3f s, slowest %.3f s\n",
		       bench_quantile(&all_no, 0.5) / 1e6, bench_quantile(&all_no, 1.0) / 1e6);
	bench_samples_free(&all);
	bench_samples_free(&all_no);
	free(cs);
	if (o.users > 0) {
		printf("  mix %d/%d/%d over %ld users: %.0f answers/s, %ld new users, %ld wrong "
		       "answers\n",
		       o.mix_repeat, o.mix_new, 100 - o.mix_repeat - o.mix_new, o.users,
		       (double)(ok + no) / measured, new_users, mismatched);
		return ok > 0 && errors == 0 && mismatched == 0 ? 0 : 1;
	}
	if (o.expect_no)
		return no > 0 && ok == 0 && errors == 0 ? 0 : 1;
	return ok > 0 && no == 0 && errors == 0 ? 0 : 1;
}
