// SPDX-License-Identifier: MIT
/*
 * What a login does when the database hangs or restarts, in one process (as a saslauthd
 * worker lives):
 *   1. warm logins; count open descriptors
 *   2. freeze the server: SIGSTOP to the postmaster and every child of it, by pid (the pids go
 *      to --pids-file first, so that the calling script can SIGCONT them whatever happens);
 *      each login must answer PAM_AUTHINFO_UNAVAIL within query_timeout + 1 s
 *   3. SIGCONT; then stop the server (--halt-cmd), log in while it is down, start it
 *      (--resume-cmd, which returns once it accepts connections) and time the first login
 *      that succeeds after that; count descriptors again.
 * Each login runs in a thread under a watchdog, so a login that never returns is reported as
 * stuck instead of stopping the benchmark. libpam's failure delay is not slept (the bench sets
 * PAM_FAIL_DELAY) but reported: saslauthd sets none and sleeps it after every failed login.
 * The conf sets --timeout-line (query_timeout = 2); a module that refuses that key is measured
 * against --default-timeout.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench_util.h"

#define SERVICE "pgd"
#define MAX_PIDS 256

struct opts {
	const char *module, *connect, *user, *password, *pgdir, *halt_cmd, *resume_cmd;
	const char *pids_file, *out, *label, *timeout_line;
	double default_timeout;
	int freeze_logins;
};

struct job {
	const char *dir, *user, *password;
	int rc;
	double us, delay_us;
	bool done;
	pthread_t thread;
	pthread_mutex_t m;
	pthread_cond_t cv;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	double t0 = bench_now_us();
	int rc = bench_pam_login(j->dir, SERVICE, j->user, j->password, true, &j->delay_us);

	pthread_mutex_lock(&j->m);
	j->rc = rc;
	j->us = bench_now_us() - t0;
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->m);
	return NULL;
}

/* Starts a login and waits up to cap seconds; false if it has not returned by then. */
static bool timed_login(struct job *j, double cap)
{
	struct timespec ts;
	bool done;

	j->done = false;
	j->delay_us = 0;
	if (pthread_create(&j->thread, NULL, job_main, j) != 0)
		bench_die("pthread_create failed");
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)cap;
	ts.tv_nsec += (long)((cap - (double)(time_t)cap) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->m);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cv, &j->m, &ts) == ETIMEDOUT)
			break;
	done = j->done;
	pthread_mutex_unlock(&j->m);
	if (done)
		pthread_join(j->thread, NULL);
	return done;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
		(void)sscanf(p + 1, " %*c %d", &ppid);
	fclose(f);
	return (pid_t)ppid;
}

/* The postmaster (from postmaster.pid) first, then its children; returns how many. */
static int server_pids(const char *pgdir, pid_t *pids, int max)
{
	char path[512];
	DIR *d;
	struct dirent *e;
	FILE *f;
	int n = 0, pm = 0;

	snprintf(path, sizeof(path), "%s/data/postmaster.pid", pgdir);
	f = fopen(path, "r");
	if (f == NULL || fscanf(f, "%d", &pm) != 1 || pm <= 0)
		bench_die("cannot read %s", path);
	fclose(f);
	pids[n++] = (pid_t)pm;
	d = opendir("/proc");
	if (d == NULL)
		bench_die("cannot read /proc");
	while ((e = readdir(d)) != NULL && n < max) {
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid > 0 && parent_of(pid) == (pid_t)pm)
			pids[n++] = pid;
	}
	closedir(d);
	return n;
}

static void signal_all(const pid_t *pids, int n, int sig)
{
	for (int i = 0; i < n; i++)
		if (kill(pids[i], sig) != 0 && errno != ESRCH)
			bench_die("kill(%d): %s", (int)pids[i], strerror(errno));
}

static void usage(void)
{
	fprintf(stderr, "usage: frozen --module SO --connect CONNINFO --user U@D --password PW "
	                "--pgdir DIR --halt-cmd CMD --resume-cmd CMD --pids-file FILE --out DIR "
	                "--label NAME [--timeout-line 'query_timeout = 2'] [--default-timeout 5] "
	                "[--freeze-logins 3]\n");
	exit(2);
}

#define OPT(name, type, field) BENCH_OPT(struct opts, name, type, field)

static const struct bench_opt options[] = {
    OPT("module", STR, module),
    OPT("connect", STR, connect),
    OPT("user", STR, user),
    OPT("password", STR, password),
    OPT("pgdir", STR, pgdir),
    OPT("halt-cmd", STR, halt_cmd),
    OPT("resume-cmd", STR, resume_cmd),
    OPT("pids-file", STR, pids_file),
    OPT("out", STR, out),
    OPT("label", STR, label),
    OPT("timeout-line", STR, timeout_line),
    OPT("default-timeout", DOUBLE, default_timeout),
    OPT("freeze-logins", INT, freeze_logins),
};

static void parse(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){
	    .timeout_line = "query_timeout = 2", .default_timeout = 5, .freeze_logins = 3};
	bench_parse_opts(argc, argv, options, sizeof(options) / sizeof(options[0]), o, usage);
	if (o->module == NULL || o->connect == NULL || o->user == NULL || o->password == NULL ||
	    o->pgdir == NULL || o->halt_cmd == NULL || o->resume_cmd == NULL ||
	    o->pids_file == NULL || o->out == NULL || o->label == NULL)
		usage();
}

/* Logs in every 20 ms until a login succeeds or 15 s pass; seconds taken, or -1. */
static double time_to_success(struct job *j, double cap, int *attempts)
{
	double t0 = bench_now_us();

	*attempts = 0;
	while (bench_now_us() - t0 < 15e6) {
		(*attempts)++;
		if (!timed_login(j, cap))
			bench_die("a login stuck while the server was running");
		if (j->rc == PAM_SUCCESS)
			return (bench_now_us() - t0) / 1e6;
		usleep(20000);
	}
	return -1;
}

static void run_cmd(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		bench_die("'%s' failed (%d)", cmd, rc);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct bench_confdir cd;
	struct job j = {.m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	pid_t pids[MAX_PIDS];
	double qt, bound, max_frozen = 0, max_down = 0, recovery, thawed, t0, fail_delay = 0;
	int npids, fds_before, fds_after, frozen_ok = 0, frozen_done = 0, down_n = 0,
	                                  down_unavail = 0, attempts = 0, thaw_attempts = 0;
	bool timeout_supported, stuck = false;
	char codes[256] = "";
	FILE *f;

	parse(&o, argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_confdir_init(&cd);
	j.dir = cd.dir;
	j.user = o.user;
	j.password = o.password;

	bench_write_module_service(&cd, SERVICE, o.module,
	                           bench_write_conf(&cd, "t", o.connect, o.timeout_line));
	if (!timed_login(&j, 30))
		bench_die("the first login did not return");
	timeout_supported = j.rc != PAM_SERVICE_ERR;
	if (timeout_supported) {
		const char *eq = strchr(o.timeout_line, '=');

		qt = eq != NULL ? strtod(eq + 1, NULL) : o.default_timeout;
	} else {
		fprintf(stderr, "%s: the module refuses '%s'; measuring against %.0f s\n", o.label,
		        o.timeout_line, o.default_timeout);
		bench_write_module_service(&cd, SERVICE, o.module,
		                           bench_write_conf(&cd, "t", o.connect, NULL));
		qt = o.default_timeout;
	}
	bound = qt + 1;
	for (int i = 0; i < 3; i++)
		if (!timed_login(&j, 30) || j.rc != PAM_SUCCESS)
			bench_die("%s: warm-up login failed", o.label);
	fds_before = bench_count_fds();

	/* Frozen server. */
	npids = server_pids(o.pgdir, pids, MAX_PIDS);
	f = fopen(o.pids_file, "w");
	if (f == NULL)
		bench_die("cannot write %s", o.pids_file);
	for (int i = 0; i < npids; i++)
		fprintf(f, "%d\n", (int)pids[i]);
	fclose(f);
	signal_all(pids, npids, SIGSTOP);
	printf("\n%s: server frozen (%d processes); query_timeout %.0f s%s\n", o.label, npids, qt,
	       timeout_supported ? "" : " (module default: key refused)");
	for (int i = 0; i < o.freeze_logins; i++) {
		bool done = timed_login(&j, bound + 10);
		size_t len = strlen(codes);

		frozen_done++;
		if (!done) {
			stuck = true;
			printf("  login %d: no answer after %.0f s (stuck)\n", i + 1, bound + 10);
			break;
		}
		snprintf(codes + len, sizeof(codes) - len, "%s%s", len > 0 ? "," : "",
		         j.rc == PAM_AUTHINFO_UNAVAIL ? "AUTHINFO_UNAVAIL"
		                                      : pam_strerror(NULL, j.rc));
		if (j.us / 1e6 > max_frozen)
			max_frozen = j.us / 1e6;
		fail_delay += j.delay_us;
		if (j.rc == PAM_AUTHINFO_UNAVAIL && j.us / 1e6 <= bound)
			frozen_ok++;
		printf("  login %d: %s in %.3f s (libpam would then sleep %.2f s)\n", i + 1,
		       pam_strerror(NULL, j.rc), j.us / 1e6, j.delay_us / 1e6);
	}
	signal_all(pids + 1, npids - 1, SIGCONT);
	signal_all(pids, 1, SIGCONT);
	unlink(o.pids_file);
	if (stuck) {
		/* It may return now that the server runs again. */
		pthread_mutex_lock(&j.m);
		while (!j.done) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 30;
			if (pthread_cond_timedwait(&j.cv, &j.m, &ts) == ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&j.m);
		if (!j.done)
			bench_die("%s: a login is still stuck 30 s after the server was thawed",
			          o.label);
		pthread_join(j.thread, NULL);
	}
	thawed = time_to_success(&j, bound + 10, &thaw_attempts);
	printf("  after SIGCONT: first successful login after %.3f s (%d attempts)\n", thawed,
	       thaw_attempts);

	/* Restarted server. */
	run_cmd(o.halt_cmd);
	t0 = bench_now_us();
	while (bench_now_us() - t0 < 1e6) {
		if (!timed_login(&j, bound + 10))
			bench_die("%s: a login stuck while the server was down", o.label);
		down_n++;
		down_unavail += j.rc == PAM_AUTHINFO_UNAVAIL;
		if (j.us / 1e6 > max_down)
			max_down = j.us / 1e6;
		usleep(100000);
	}
	printf("  server down: %d logins, %d answered AUTHINFO_UNAVAIL, slowest %.3f s\n", down_n,
	       down_unavail, max_down);
	run_cmd(o.resume_cmd);
	recovery = time_to_success(&j, bound + 10, &attempts);
	printf("  server restarted: first successful login %.3f s after it accepted "
	       "connections (%d attempts)\n",
	       recovery, attempts);
	for (int i = 0; i < 5; i++)
		(void)timed_login(&j, 30);
	fds_after = bench_count_fds();
	printf("  descriptors: %d before, %d after\n", fds_before, fds_after);

	f = bench_json_open(o.out, o.label, "frozen");
	fprintf(f,
	        ",\n  \"query_timeout_s\": %.1f,\n"
	        "  \"query_timeout_supported\": %s,\n  \"bound_s\": %.1f,\n"
	        "  \"frozen_logins\": %d,\n  \"frozen_unavail_within_bound\": %d,\n"
	        "  \"frozen_codes\": \"%s\",\n  \"frozen_max_s\": %.3f,\n  \"stuck\": %s,\n"
	        "  \"libpam_fail_delay_mean_s\": %.3f,\n  \"after_thaw_s\": %.3f,\n"
	        "  \"after_thaw_attempts\": %d,\n"
	        "  \"down_logins\": %d,\n  \"down_unavail\": %d,\n  \"down_max_s\": %.3f,\n"
	        "  \"recovery_s\": %.3f,\n  \"recovery_attempts\": %d,\n"
	        "  \"fds_before\": %d,\n  \"fds_after\": %d\n}\n",
	        qt, timeout_supported ? "true" : "false", bound, frozen_done, frozen_ok, codes,
	        max_frozen, stuck ? "true" : "false",
	        frozen_done > 0 ? fail_delay / 1e6 / frozen_done : 0.0, thawed, thaw_attempts,
	        down_n, down_unavail, max_down, recovery, attempts, fds_before, fds_after);
	fclose(f);
	bench_confdir_free(&cd);
	return 0;
}
