// SPDX-License-Identifier: MIT
/*
 * pam-pgsql-dovecot audit [-c CONF] [--json] [--examples N] [--users-query SQL]: before a
 * switch, what every user's login would meet. Lists the users (Dovecot's iterate_query, or
 * --users-query), runs each one's password_query (and account_query) exactly as a login would,
 * pipelined on one read-only connection, and reads each stored value without any password and
 * without hashing. Every listed user lands in exactly one class:
 *   unreachable > disabled > refused > weak > verify
 * (the first that applies). Prints counts, a few login names per class and a verdict; never a
 * stored value, never the conninfo.
 */
#include <crypt.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "audit.h"
#include "audit_report.h"
#include "cmd.h"
#include "conf/conf.h"
#include "db/db.h"
#include "hash.h"
#include "hash/stored_cost.h"
#include "login/login.h"
#include "login/nets.h"
#include "query/query.h"
#include "util/str.h"

/* Users looked up per pipelined batch: bounds our memory whatever the table holds. */
#define BATCH 2000
/* The pipelined queries of a batch: query k belongs to jobs[qjob[k]]. */
struct run {
	const struct pgd_conf *conf;
	struct pgd_audit_job *jobs;
	size_t *qjob;
	bool *qaccount;  /* query k is the account_query */
	size_t per_user; /* queries per user: 1, or 2 with account_query */
};

static void audit_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: %s audit [-c CONF] [--json] [--examples N] [--users-query SQL] [-s SERVICE]\n"
	    "       [--secured WORD] [--mechanism NAME]\n"
	    "  -c CONF            the module's conf file (default %s)\n"
	    "  --json             one JSON object on standard output\n"
	    "  --examples N       up to N login names per class (default 5, at most %d)\n"
	    "  --users-query SQL  lists the users (default: the conf's iterate_query); returns a\n"
	    "                     'user' column, or 'username' and 'domain'\n"
	    "  -s SERVICE         the %%s of the queries (default imap)\n"
	    "  --secured WORD     the transport SERVICE's pam.d line states: no, tls, secured\n"
	    "  --mechanism NAME   the SASL mechanism that line states, as PLAIN\n"
	    "Looks every listed user up as a login would, without a password and without\n"
	    "hashing, on one read-only connection; never prints a stored value.\n"
	    "Exit status: 0 every user can log in, 1 some cannot, 2 usage or connection error.\n",
	    pgd_prog, PGD_DEFAULT_CONF_PATH, PGD_AUDIT_MAX_EXAMPLES);
}

/* Puts job in cls with the detail key (what and suffix joined) unless a stronger class holds it. */
static void decide(struct pgd_audit_job *job, enum pgd_audit_class cls, const char *what,
                   const char *suffix)
{
	/* the first class in priority order wins: unreachable > disabled > refused > ... */
	if (job->decided && job->cls >= cls)
		return;
	job->decided = true;
	job->cls = cls;
	snprintf(job->key, sizeof(job->key), "%s%s", what, suffix != NULL ? suffix : "");
}

/*
 * A value this conf's login verifies but Dovecot 2.4 would refuse: what the login's own scheme
 * rules (pgd_hash_policy_check) say under 2.4 without auth_allow_weak_schemes, written into
 * detail ("MD5-CRYPT", "CRYPT (DES-CRYPT)"); or a scheme 2.4 no longer has. False otherwise.
 */
static bool weak(const struct pgd_hash_policy *policy, const char *stored, const char *scheme,
                 char *detail, size_t len)
{
	static const char *const gone[] = {"LANMAN", "NTLM", "RPA", "SKEY", "OTP"};
	struct pgd_hash_policy strict = *policy;
	struct pgd_hash_info info = {.scheme = ""};

	strict.dovecot = 24;
	strict.allow_weak = false;
	if (pgd_hash_inspect(stored, &strict, &info) == PGD_HASH_UNSUPPORTED &&
	    info.policy_refused != NULL) {
		if (strcmp(info.policy_refused, scheme) == 0)
			snprintf(detail, len, "%s", scheme);
		else
			snprintf(detail, len, "%s (%s)", scheme, info.policy_refused);
		return true;
	}
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		if (strcasecmp(scheme, gone[i]) == 0) {
			snprintf(detail, len, "%s (not in Dovecot 2.4)", scheme);
			return true;
		}
	}
	return false;
}

static bool is_crypt_scheme(const char *scheme)
{
	static const char *const crypt_schemes[] = {"CRYPT",        "MD5-CRYPT", "SHA256-CRYPT",
	                                            "SHA512-CRYPT", "BLF-CRYPT", "DES-CRYPT"};

	for (size_t i = 0; i < sizeof(crypt_schemes) / sizeof(crypt_schemes[0]); i++)
		if (strcasecmp(scheme, crypt_schemes[i]) == 0)
			return true;
	return false;
}

/*
 * Does a crypt value carry its whole checksum? crypt() of a bare setting ("$6$salt") gives a
 * longer string that no stored value equals: the module answers "wrong password" to every
 * password. Values of other forms are not judged here.
 */
static bool crypt_complete(const char *v)
{
	static const struct {
		const char *prefix;
		size_t checksum;
	} forms[] = {{"$1$", 22}, {"$5$", 43}, {"$6$", 86}};
	const char *last = strrchr(v, '$');

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (strncmp(v, forms[i].prefix, 3) == 0)
			return last != NULL && last > v + 2 &&
			       strlen(last + 1) == forms[i].checksum;
	if (strncmp(v, "$2", 2) == 0)
		return strlen(v) == 60;
	if (v[0] != '$' && v[0] != '_')
		return strlen(v) == 13; /* traditional DES */
	return true;
}

/* The stored value, read as pgd_hash_verify would read it, without hashing anything. */
static void judge_value(const struct pgd_conf *conf, struct pgd_audit_job *job,
                        const struct pgd_row *row)
{
	struct pgd_hash_policy policy = pgd_conf_hash_policy(conf, job->name);
	struct pgd_rehash_target target = pgd_conf_rehash_target(conf);
	struct pgd_hash_info info = {.scheme = ""};
	const char *value;
	unsigned long cost;
	char detail[PGD_AUDIT_KEY_LEN];
	enum pgd_hash_result r;

	if (row->nopassword && conf->allow_nopassword) {
		decide(job, CLS_VERIFY, "no password needed (nopassword)", "");
		return;
	}
	if (!pgd_str_set(row->password)) {
		decide(job, CLS_REFUSED, row->password == NULL ? "NULL" : "empty",
		       " stored password");
		return;
	}
	policy.noscheme = row->password_noscheme;
	r = pgd_hash_inspect(row->password, &policy, &info);
	snprintf(job->scheme, sizeof(job->scheme), "%s", info.scheme);
	value = row->password[0] == '{' && strchr(row->password, '}') != NULL
	            ? strchr(row->password, '}') + 1
	            : row->password;
	if (r == PGD_HASH_UNSUPPORTED && info.policy_refused != NULL) {
		/* the login refuses it by the release's scheme rules, as Dovecot would */
		if (policy.dovecot >= 24) {
			snprintf(detail, sizeof(detail),
			         "weak scheme %s (Dovecot 2.4, auth_allow_weak_schemes = no)",
			         info.policy_refused);
			job->refused_weak = true;
		} else {
			snprintf(detail, sizeof(detail), "scheme %s (not in Dovecot 2.3)",
			         info.policy_refused);
		}
		decide(job, CLS_REFUSED, detail, NULL);
		return;
	}
	if (r == PGD_HASH_UNSUPPORTED) {
		decide(job, CLS_REFUSED, "",
		       info.scheme[0] != '\0' ? "scheme missing from this build"
		                              : "unknown scheme");
		return;
	}
	if (r == PGD_HASH_TOO_COSTLY) {
		/* by the cap, not the value: one line per cap in the table */
		snprintf(detail, sizeof(detail), "above %s %lu", info.cap_key, info.cap);
		decide(job, CLS_REFUSED, detail, NULL);
		return;
	}
	if (r != PGD_HASH_MATCH) {
		decide(job, CLS_REFUSED, "malformed value: ", info.scheme);
		return;
	}
	if (is_crypt_scheme(info.scheme) && strncmp(value, "$2", 2) != 0) {
		int c = crypt_checksalt(value);

		if (c == CRYPT_SALT_INVALID) {
			decide(job, CLS_REFUSED, "malformed value: ", info.scheme);
			return;
		}
		if (c == CRYPT_SALT_METHOD_DISABLED) {
			decide(job, CLS_REFUSED, "method disabled in libxcrypt: ", info.scheme);
			return;
		}
	}
	cost = pgd_hash_cost(info.scheme, row->password);
	if (is_crypt_scheme(info.scheme) && !crypt_complete(value)) {
		decide(job, CLS_REFUSED, "no full checksum (no password matches): ", info.scheme);
		return;
	}
	/* the login's own rule (change.c), on the value as the login reads it */
	job->upgradable =
	    pgd_hash_rehash_verdict(row->password, &policy, &target) == PGD_REHASH_UPGRADE;
	if (weak(&policy, row->password, info.scheme, detail, sizeof(detail))) {
		decide(job, CLS_WEAK, detail, NULL);
		return;
	}
	if (cost != 0)
		snprintf(detail, sizeof(detail), "%s (%s %lu)", info.scheme,
		         strcasecmp(info.scheme, "BLF-CRYPT") == 0 ? "cost" : "rounds", cost);
	else
		snprintf(detail, sizeof(detail), "%s", info.scheme);
	decide(job, CLS_VERIFY, detail, NULL);
}

/* nologin, fail, allow_nets, expiry...: what acct_mgmt (and authenticate) would refuse. */
static void judge_account(struct pgd_audit_job *job, const struct pgd_row *row, const PGresult *res)
{
	if (row->account_expired) {
		decide(job, CLS_DISABLED, "account expired", "");
	} else if (row->nologin) {
		int col = PQfnumber(res, "nologin");
		const char *v = col >= 0 ? PQgetvalue(res, 0, col) : "";

		/* the pam-pgsql habit: a boolean nologin holding false still disables */
		if (strcmp(v, "f") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
			decide(job, CLS_DISABLED,
			       "nologin holds false (any non-NULL value disables)", "");
		else
			decide(job, CLS_DISABLED, "nologin",
			       row->reason != NULL ? " (with a reason)" : "");
	} else if (row->fail) {
		decide(job, CLS_DISABLED, "fail (Dovecot fails the lookup)", "");
	} else if (row->client_fp != NULL) {
		decide(job, CLS_DISABLED,
		       "check_client_*_fp (a login through PAM has no TLS client certificate)", "");
	} else if (row->allow_real_nets != NULL &&
	           !pgd_nets_allow(row->allow_real_nets, NULL, NULL, 0)) {
		decide(job, CLS_DISABLED,
		       "allow_real_nets without local (saslauthd sets no remote address)", "");
	} else if (row->allow_nets != NULL && !pgd_nets_allow(row->allow_nets, NULL, NULL, 0)) {
		/* as a login through saslauthd, which never sets PAM_RHOST: only "local" matches */
		decide(job, CLS_DISABLED,
		       "allow_nets without local (saslauthd sets no remote address)", "");
	} else if (row->password_expired) {
		decide(job, CLS_DISABLED, "password expired", "");
	}
}

/* A row that renames the login (pgd_login_renamed): counted, and refused without allow_rename. */
static void judge_rename(const struct pgd_conf *conf, struct pgd_audit_job *job,
                         const struct pgd_row *row)
{
	const char *column = NULL;
	char *name = NULL, err[128];

	if (row->nrenames == 0 || job->canonical == NULL)
		return;
	if (pgd_login_renamed(job->canonical, row, &name, &column, err, sizeof(err)) !=
	    PGD_USER_OK) {
		job->renamed = true;
		decide(job, CLS_DISABLED, "renamed by the row to an unusable name", "");
		return;
	}
	free(name);
	if (column == NULL)
		return;
	job->renamed = true;
	if (!conf->allow_rename) {
		char key[PGD_AUDIT_KEY_LEN];

		snprintf(key, sizeof(key), "renamed by the row's %.8s column (allow_rename = no)",
		         column);
		decide(job, CLS_DISABLED, key, "");
	}
}

/* One query's answer; a user's password query comes before its account query. */
static void on_result(void *ctx, size_t i, struct pg_result *res)
{
	struct run *run = ctx;
	struct pgd_audit_job *job = &run->jobs[run->qjob[i]];
	bool account = run->qaccount[i];
	struct pgd_row row;
	char err[256];
	enum pgd_db_result r;
	const char *q = account ? " (account_query)" : "";

	if (job->decided && job->cls == CLS_UNREACHABLE)
		return;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		char key[64];

		snprintf(key, sizeof(key), "query failed, SQLSTATE %.5s",
		         state != NULL ? state : "?????");
		decide(job, CLS_UNREACHABLE, key, q);
		return;
	}
	if (PQntuples(res) > 1) {
		decide(job, CLS_UNREACHABLE, "several rows", q);
		return;
	}
	r = pgd_db_read_row(res, account, &row, err, sizeof(err));
	switch (r) {
	case PGD_DB_OK:
		if (!account)
			judge_value(run->conf, job, &row);
		if (!job->renamed)
			judge_rename(run->conf, job, &row);
		/* authenticate refuses nologin, fail, check_client_*_fp too; acct_mgmt reads
		 * account_query when set */
		if (account || run->per_user == 1)
			judge_account(job, &row, res);
		else if (row.nologin || row.fail || row.client_fp != NULL)
			judge_account(job, &row, res);
		break;
	case PGD_DB_NO_ROW:
		decide(job, CLS_UNREACHABLE, "no row", q);
		break;
	case PGD_DB_BAD_RESULT:
		decide(job, CLS_UNREACHABLE, "no password column", q);
		break;
	default:
		decide(job, CLS_UNREACHABLE, "row cannot be read", q);
		break;
	}
	pgd_row_free(&row);
}

/* Looks up one batch of names; false (err set) only when the connection failed. */
static bool run_batch(struct pgd_audit_db *db, const struct pgd_conf *conf, const char *service,
                      char **names, size_t n, struct pgd_audit_report *rep, char *err,
                      size_t errlen)
{
	size_t per_user = pgd_str_set(conf->account_query) ? 2 : 1, nq = 0;
	struct pgd_audit_job *jobs = calloc(n, sizeof(*jobs));
	struct pgd_query *qs = calloc(n * per_user, sizeof(*qs));
	size_t *qjob = calloc(n * per_user, sizeof(*qjob));
	bool *qaccount = calloc(n * per_user, sizeof(*qaccount));
	struct run run = {
	    .conf = conf, .jobs = jobs, .qjob = qjob, .qaccount = qaccount, .per_user = per_user};
	bool ok = false;

	if (jobs == NULL || qs == NULL || qjob == NULL || qaccount == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t u = 0; u < n; u++) {
		struct pgd_vars vars = {.service = service,
		                        .secured = pgd_secured_value(conf->secured),
		                        .mechanism = conf->mechanism,
		                        .protocols = conf->service_protocols};
		char msg[256];

		jobs[u].name = names[u];
		if (pgd_user_normalize(names[u], conf->username_format, conf->username_chars,
		                       conf->default_domain, &vars, &jobs[u].canonical, msg,
		                       sizeof(msg)) != PGD_USER_OK) {
			decide(&jobs[u], CLS_UNREACHABLE, "name refused before the query", "");
			continue;
		}
		vars.user = jobs[u].canonical;
		if (pgd_query_bind(conf->password_query, &vars, &qs[nq], msg, sizeof(msg)) !=
		    PGD_QUERY_OK) {
			decide(&jobs[u], CLS_UNREACHABLE, "query cannot be bound for this name",
			       "");
			continue;
		}
		qjob[nq++] = u;
		if (per_user == 2) {
			if (pgd_query_bind(conf->account_query, &vars, &qs[nq], msg, sizeof(msg)) !=
			    PGD_QUERY_OK) {
				decide(&jobs[u], CLS_UNREACHABLE,
				       "account_query cannot be bound for this name", "");
				continue;
			}
			qaccount[nq] = true;
			qjob[nq++] = u;
		}
	}
	ok = pgd_audit_run(db, qs, nq, true, on_result, &run, err, errlen);
	if (ok) {
		for (size_t u = 0; u < n; u++) {
			if (!jobs[u].decided)
				decide(&jobs[u], CLS_UNREACHABLE, "no answer", "");
			pgd_audit_report_add(rep, &jobs[u]);
		}
	}
out:
	for (size_t u = 0; jobs != NULL && u < n; u++)
		free(jobs[u].canonical);
	for (size_t k = 0; qs != NULL && k < n * per_user; k++)
		pgd_query_free(&qs[k]);
	free(jobs);
	free(qs);
	free(qjob);
	free(qaccount);
	return ok;
}

static void progress(unsigned long done, long total, bool last)
{
	int width = 40, filled;

	if (total <= 0)
		return;
	filled = (int)((double)done / (double)total * width);
	fprintf(stderr, "\r[%.*s%*s] %3d%% %lu/%ld", filled,
	        "########################################", width - filled, "",
	        (int)((double)done * 100 / (double)total), done, total);
	if (last)
		fprintf(stderr, "\r%*s\r", width + 40, "");
	fflush(stderr);
}

/*
 * The query that lists the users: --users-query, else the conf's iterate_query. A Dovecot 2.4
 * file's reader puts its passdb/userdb iterate query into conf->iterate_query as well, so the
 * audit needs nothing more for that dialect.
 */
static const char *list_query(const struct pgd_conf *conf, const char *users_query,
                              const char **source)
{
	if (users_query != NULL) {
		*source = "--users-query";
		return users_query;
	}
	*source = "iterate_query";
	return pgd_str_set(conf->iterate_query) ? conf->iterate_query : NULL;
}

/* The options of the audit besides -c and -h. */
struct audit_opts {
	const char *users_query, *service, *secured, *mechanism;
	bool json;
	unsigned long examples;
};

static int audit_option(void *ctx, int option, char *arg)
{
	struct audit_opts *o = ctx;
	char *end;

	if (option == 's') {
		o->service = arg;
	} else if (option == 'S') {
		o->secured = arg;
	} else if (option == 'M') {
		o->mechanism = arg;
	} else if (option == 'j') {
		o->json = true;
	} else if (option == 'u') {
		o->users_query = arg;
	} else if (option == 'e') {
		o->examples = strtoul(arg, &end, 10);
		if (arg[0] < '0' || arg[0] > '9' || *end != '\0' ||
		    o->examples > PGD_AUDIT_MAX_EXAMPLES) {
			fprintf(stderr, "%s: --examples takes 0 to %d\n", pgd_prog,
			        PGD_AUDIT_MAX_EXAMPLES);
			return PGD_EXIT_USAGE;
		}
	}
	return -1;
}

int pgd_cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
	                                         {"json", no_argument, NULL, 'j'},
	                                         {"examples", required_argument, NULL, 'e'},
	                                         {"users-query", required_argument, NULL, 'u'},
	                                         {"secured", required_argument, NULL, 'S'},
	                                         {"mechanism", required_argument, NULL, 'M'},
	                                         {NULL, 0, NULL, 0}};
	const char *path = PGD_DEFAULT_CONF_PATH, *tmpl, *source;
	struct audit_opts o = {.service = "imap", .examples = 5};
	bool tty = isatty(STDERR_FILENO) == 1;
	struct pgd_audit_db *db = NULL;
	struct pgd_query list = {0};
	struct pgd_vars vars = {0};
	struct pgd_audit_report *rep;
	struct pgd_conf conf;
	char err[512], what[64], protocol[64];
	long total = -1;
	int status;

	status =
	    pgd_cmd_options(argc, argv, "+:c:s:h", longopts, audit_usage, &path, audit_option, &o);
	if (status >= 0)
		return status;
	status = PGD_EXIT_USAGE;
	if (optind != argc) {
		audit_usage(stderr);
		return PGD_EXIT_USAGE;
	}
	rep = calloc(1, sizeof(*rep));
	if (rep == NULL) {
		fprintf(stderr, "%s: out of memory\n", pgd_prog);
		return PGD_EXIT_USAGE;
	}
	rep->max_examples = o.examples;
	if (!pgd_cmd_load_conf(&conf, path) || !pgd_cmd_state(&conf, o.secured, o.mechanism, true))
		goto out;
	if (conf.password_in_query && pgd_query_uses_password(conf.password_query)) {
		fprintf(stderr,
		        "%s: password_query verifies the password in SQL (%%w, "
		        "%%{password}): no user can be looked up without one\n",
		        pgd_prog);
		goto out;
	}
	tmpl = list_query(&conf, o.users_query, &source);
	if (tmpl == NULL) {
		fprintf(stderr, "%s: ", pgd_prog);
		pgd_put_printable(stderr, conf.path);
		fprintf(stderr, " sets no %s: give the list with --users-query SQL\n",
		        conf.dialect == PGD_DIALECT_V24 ? "userdb sql { iterate_query }"
		                                        : "iterate_query");
		goto out;
	}
	/* the PAM service's protocol, as a login through it binds %s */
	o.service =
	    pgd_service_protocol(conf.service_protocols, o.service, protocol, sizeof(protocol));
	vars = (struct pgd_vars){.service = o.service,
	                         .secured = pgd_secured_value(conf.secured),
	                         .mechanism = conf.mechanism,
	                         .protocols = conf.service_protocols};
	if (pgd_query_bind(tmpl, &vars, &list, err, sizeof(err)) != PGD_QUERY_OK) {
		snprintf(what, sizeof(what), "%s: ", source);
		pgd_cmd_error(what, err);
		goto out;
	}
	db = pgd_audit_open(conf.connect, (unsigned)conf.query_timeout, err, sizeof(err));
	if (db == NULL || !pgd_audit_list(db, &list, &total, err, sizeof(err))) {
		pgd_cmd_error("database: ", err);
		goto out;
	}
	for (;;) {
		char **names;
		size_t n, unnamed = 0;

		if (!pgd_audit_next(db, BATCH, &names, &n, &unnamed, err, sizeof(err))) {
			pgd_cmd_error("database: ", err);
			goto out;
		}
		rep->unnamed += unnamed;
		if (n == 0)
			break;
		if (!run_batch(db, &conf, o.service, names, n, rep, err, sizeof(err))) {
			pgd_audit_free_names(names, n);
			pgd_cmd_error("database: ", err);
			goto out;
		}
		pgd_audit_free_names(names, n);
		if (tty)
			progress(rep->users + rep->unnamed, total, false);
	}
	if (tty)
		progress(rep->users, total, true);
	if (o.json)
		pgd_audit_report_json(rep, &conf, source);
	else
		pgd_audit_report_text(rep, &conf, source);
	status = pgd_audit_report_cannot(rep) == 0 ? PGD_EXIT_OK : PGD_EXIT_FAIL;
out:
	pgd_audit_close(db);
	pgd_query_free(&list);
	pgd_conf_free(&conf);
	pgd_audit_report_free(rep);
	return status;
}
