// SPDX-License-Identifier: MIT
/*
 * pam-pgsql-dovecot check [-c CONF] [-s SERVICE] [--secured WORD] [--mechanism NAME] [USER]:
 * what a login would see, without a password. Loads
 * the conf with the module's rules, connects, and for USER runs password_query (and
 * account_query) and describes the row: canonical name, columns, the stored value's scheme
 * and cost against the caps, nologin; warns about the traps (check_warn.c). Never prints the
 * stored value nor the conninfo.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_warn.h"
#include "cmd.h"
#include "conf/conf.h"
#include "db/db.h"
#include "hash.h"
#include "hash/stored_cost.h"
#include "login/login.h"
#include "query/query.h"
#include "util/str.h"

static void check_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: %s check [-c CONF] [-d DOVECOT_CONF] [-s SERVICE] [--secured WORD] "
	    "[--mechanism NAME] [USER]\n"
	    "  -c CONF           the module's conf file (default %s)\n"
	    "  -d DOVECOT_CONF   Dovecot 2.3's dovecot.conf, as the module argument dovecot_conf=\n"
	    "  -s SERVICE        the PAM service a login comes through (default imap)\n"
	    "  --secured WORD    the transport that service's pam.d line states: no, tls, secured\n"
	    "  --mechanism NAME  the SASL mechanism that line states, as PLAIN\n"
	    "  USER              a login name to look up as a login would (no password needed)\n"
	    "Prints what the module would see; never the stored hash or the database password.\n",
	    pgd_prog, PGD_DEFAULT_CONF_PATH);
}

static struct pgd_db_options db_options(const struct pgd_conf *conf, bool password_optional)
{
	return (struct pgd_db_options){.cache = true,
	                               .query_timeout_sec = (unsigned)conf->query_timeout,
	                               .password_optional = password_optional};
}

/* Loads the conf as the module does and says so; prints the reason and returns false when it
 * cannot. */
static bool load(struct pgd_conf *conf, const char *path)
{
	if (!pgd_cmd_load_conf(conf, path))
		return false;
	fputs("conf: ", stdout);
	pgd_put_printable(stdout, conf->path);
	printf(": ok (%s)\n", pgd_conf_dialect_name(conf->dialect));
	return true;
}

static bool connects(const struct pgd_conf *conf)
{
	static char sql[] = "SELECT 1";
	const struct pgd_query q = {.sql = sql};
	struct pgd_db_options opts = db_options(conf, false);
	char err[512];

	if (pgd_db_exec(conf->connect, &opts, &q, NULL, err, sizeof(err)) != PGD_DB_OK) {
		pgd_cmd_error("database: ", err);
		return false;
	}
	printf("database: connected\n");
	return true;
}

/* What rehash = yes would do with the value at this user's next login (change.c's rule). */
static void describe_rehash(const struct pgd_conf *conf, const char *stored,
                            const struct pgd_hash_policy *policy)
{
	struct pgd_rehash_target target = pgd_conf_rehash_target(conf);
	enum pgd_rehash_verdict v = pgd_hash_rehash_verdict(stored, policy, &target);

	if (v == PGD_REHASH_UPGRADE) {
		fputs("rehash: replaced by ", stdout);
		pgd_put_printable(stdout, conf->update_scheme);
		printf(" at the next login (%s)\n", pgd_rehash_verdict_str(v));
	} else {
		printf("rehash: kept (%s)\n", pgd_rehash_verdict_str(v));
	}
}

/* The stored value as the module would read it: scheme, cost, verdict. */
static bool describe_password(const struct pgd_conf *conf, const char *user,
                              const struct pgd_row *row)
{
	struct pgd_hash_policy policy = pgd_conf_hash_policy(conf, user);
	struct pgd_hash_info info = {.scheme = ""};
	enum pgd_hash_result r;
	char cost[160];

	if (row->nopassword && conf->allow_nopassword) {
		printf("password: none needed (nopassword, allow_nopassword = yes)\n");
		return true;
	}
	if (!pgd_str_set(row->password)) {
		fprintf(stderr, "%s: the stored password is %s: nobody logs in with it\n", pgd_prog,
		        row->password == NULL ? "NULL" : "empty");
		return false;
	}
	/* A password that cannot match tells a usable value (mismatch) from a refused one. */
	policy.noscheme = row->password_noscheme;
	r = pgd_hash_verify(row->password, "\x01 no password matches this \x01", &policy, &info);
	fputs("scheme: ", stdout);
	pgd_put_printable(stdout, info.scheme[0] != '\0' ? info.scheme : "(none)");
	puts(row->password[0] == '{' ? "" : " (no {SCHEME} prefix: default_pass_scheme)");
	if (info.scheme[0] != '\0' &&
	    pgd_hash_cost_describe(info.scheme, row->password, &policy, cost, sizeof(cost)))
		pgd_cmd_field(stdout, "cost: ", cost);
	if (r == PGD_HASH_MISMATCH || r == PGD_HASH_MATCH) {
		printf("password: verifiable\n");
		if (conf->rehash)
			describe_rehash(conf, row->password, &policy);
		return true;
	}
	fprintf(stderr, "%s: the module would refuse the stored value: %s%s", pgd_prog,
	        pgd_hash_result_str(r), info.detail[0] != '\0' ? ": " : "");
	pgd_put_printable(stderr, info.detail);
	fputc('\n', stderr);
	return false;
}

/* What acct_mgmt answers for the outcomes a lookup gives; the others say why in detail. */
static const char *const account_words[PGD_OUTAGE_CACHED + 1] = {
    [PGD_LOGIN_OK] = "ok",
    [PGD_ACCT_EXPIRED] = "expired (PAM_ACCT_EXPIRED)",
    [PGD_NOLOGIN] = "disabled: nologin (PAM_PERM_DENIED)",
    [PGD_NET_REFUSED] = "refused without a remote address (PAM_PERM_DENIED)",
    [PGD_ROW_REFUSED] = "refused by a row field (PAM_PERM_DENIED)",
    [PGD_PASSWORD_EXPIRED] = "password expired (PAM_NEW_AUTHTOK_REQD)",
};

static const char *account_word(enum pgd_outcome out)
{
	return (size_t)out < sizeof(account_words) / sizeof(account_words[0]) ? account_words[out]
	                                                                      : NULL;
}

/* Dovecot's rename of the login by the row (pgd_login_renamed); false when a login is refused. */
static bool describe_rename(const struct pgd_conf *conf, const char *canonical,
                            const struct pgd_row *row)
{
	const char *column = NULL;
	char *name = NULL, err[128];

	switch (pgd_login_renamed(canonical, row, &name, &column, err, sizeof(err))) {
	case PGD_USER_OK:
		break;
	case PGD_USER_INVALID:
		pgd_cmd_error("rename: refused: ", err);
		return false;
	case PGD_USER_NOMEM:
		pgd_cmd_error("rename: ", "out of memory");
		return false;
	}
	if (column != NULL) {
		pgd_cmd_field(stdout, "renamed to: ", name);
		printf("rename: by the %s column; %s\n", column,
		       conf->allow_rename
		           ? "allowed (allow_rename = yes): PAM_USER is set to it"
		           : "logins refused (PAM_SERVICE_ERR): the caller keeps the "
		             "name given; allow_rename = yes lets them in");
	}
	free(name);
	return column == NULL || conf->allow_rename;
}

static bool look_up(const struct pgd_conf *conf, const char *user, const char *service)
{
	struct pgd_login login = {.user = user, .service = service};
	struct pgd_db_options opts = db_options(conf, false);
	struct pgd_query q = {0};
	struct pgd_row row;
	char err[512];
	enum pgd_db_result dr;
	enum pgd_outcome out;
	bool ok;

	/* the name and the query as a login binds them */
	out = pgd_login_bind(conf, &login, conf->password_query, NULL, &q);
	if (out != PGD_LOGIN_OK) {
		pgd_cmd_error(out == PGD_BAD_USERNAME ? "login name refused before any query: "
		                                      : "password_query: ",
		              pgd_str_set(login.detail) ? login.detail : "out of memory");
		pgd_login_free(&login);
		return false;
	}
	pgd_cmd_field(stdout, "user: ", login.canonical);
	dr = pgd_db_lookup(conf->connect, &opts, &q, &row, err, sizeof(err));
	pgd_query_free(&q);
	if (dr == PGD_DB_NO_ROW) {
		fprintf(stderr, "%s: no row: the module answers PAM_USER_UNKNOWN\n", pgd_prog);
		pgd_login_free(&login);
		return false;
	}
	if (dr != PGD_DB_OK) {
		pgd_cmd_error("password_query: ", err[0] ? err : "failed");
		pgd_row_free(&row);
		pgd_login_free(&login);
		return false;
	}
	pgd_cmd_field(stdout, "columns: ", row.columns);
	if (row.user != NULL)
		pgd_cmd_field(stdout, "canonical name (user column): ", row.user);
	printf("nologin: %s\n", row.nologin ? "set (logins refused)" : "no");
	if (row.allow_nets != NULL)
		pgd_cmd_field(stdout, "allow_nets: ", row.allow_nets);
	if (row.allow_real_nets != NULL)
		pgd_cmd_field(stdout, "allow_real_nets: ", row.allow_real_nets);
	if (row.fail)
		printf("fail: set (logins refused)\n");
	if (row.client_fp != NULL)
		printf("%s: set (logins refused: a login through PAM has no TLS client "
		       "certificate)\n",
		       row.client_fp);
	ok = describe_password(conf, user, &row) && !row.nologin && !row.fail &&
	     row.client_fp == NULL;
	ok = describe_rename(conf, login.canonical, &row) && ok;
	pgd_row_free(&row);
	/* pgd_login_lookup normalizes the name again and sets canonical itself */
	free(login.canonical);
	login.canonical = NULL;
	out = pgd_login_lookup(conf, &login);
	if (account_word(out) != NULL && (out == PGD_NET_REFUSED || out == PGD_ROW_REFUSED)) {
		printf("account: %s%s: ", account_word(out),
		       conf->account_query != NULL ? " (account_query)" : "");
		pgd_put_printable(stdout, login.detail);
		putchar('\n');
	} else if (account_word(out) != NULL) {
		printf("account: %s%s\n", account_word(out),
		       conf->account_query != NULL ? " (account_query)" : "");
	} else
		pgd_cmd_error("account check: ", login.detail);
	ok = ok && out == PGD_LOGIN_OK;
	pgd_login_free(&login);
	return ok;
}

/* What a login through one pam.d line states besides the conf: -s, --secured, --mechanism;
 * and -d DOVECOT_CONF. */
struct check_opts {
	const char *service, *secured, *mechanism;
};

enum { OPT_SECURED = 256, OPT_MECHANISM };

static int check_option(void *ctx, int option, char *arg)
{
	struct check_opts *o = ctx;

	if (option == 's')
		o->service = arg;
	else if (option == OPT_SECURED)
		o->secured = arg;
	else if (option == OPT_MECHANISM)
		o->mechanism = arg;
	else if (option == 'd')
		pgd_cmd_dovecot_conf = arg;
	return -1;
}

int pgd_cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"service", required_argument, NULL, 's'},
	    {"secured", required_argument, NULL, OPT_SECURED},
	    {"mechanism", required_argument, NULL, OPT_MECHANISM},
	    {NULL, 0, NULL, 0}};
	const char *path = PGD_DEFAULT_CONF_PATH;
	struct check_opts o = {.service = "imap"};
	struct pgd_conf conf;
	bool ok;
	int status;

	status = pgd_cmd_options(argc, argv, "+:c:d:s:h", longopts, check_usage, &path,
	                         check_option, &o);
	if (status >= 0)
		return status;
	if (argc - optind > 1) {
		check_usage(stderr);
		return PGD_EXIT_USAGE;
	}
	ok = load(&conf, path) && pgd_cmd_state(&conf, o.secured, o.mechanism, false);
	if (ok)
		pgd_check_warnings(&conf, optind < argc ? argv[optind] : NULL);
	if (ok)
		ok = connects(&conf);
	if (ok && optind < argc)
		ok = look_up(&conf, argv[optind], o.service);
	pgd_conf_free(&conf);
	return ok ? PGD_EXIT_OK : PGD_EXIT_FAIL;
}
