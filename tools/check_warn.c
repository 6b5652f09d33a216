// SPDX-License-Identifier: MIT
/*
 * The traps `check` warns about: the file holding the database password readable by others, a
 * remote host without connect_timeout, a password_query that does not use the login name or
 * returns none of "user", "username", "domain" (the columns Dovecot renames the login from), a
 * password column that pads (char(n)), and a boolean nologin/nopassword column
 * (false still disables: Dovecot reads any non-NULL value as set). Warnings never change the
 * exit status and never print a value of the conf or of a row.
 */
#include "check_warn.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "cmd.h"
#include "db/db.h"
#include "query/query.h"
#include "util/secret.h"
#include "util/str.h"

/* PostgreSQL's type oids (catalog/pg_type.dat): stable since forever. */
#define BOOLOID 16
#define BPCHAROID 1042

static void warn(const char *msg)
{
	printf("warning: %s\n", msg);
}

/* Does the conninfo hold a password? */
static bool has_password(const char *conninfo)
{
	PQconninfoOption *opts;
	bool found = false;
	char err[256];

	if (conninfo == NULL || pgd_db_env_refused(err, sizeof(err)))
		return false;
	opts = PQconninfoParse(conninfo, NULL);
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "password") == 0 && o->val[0] != '\0')
			found = true;
		pgd_wipe(o->val, strlen(o->val));
	}
	PQconninfoFree(opts);
	return found;
}

/*
 * The file that holds the database password (a 2.3 file's connect line, a 2.4 tree's pgsql
 * password parameter or the file its "<file" names), when others may read it. A file of the
 * tree without a secret (Debian's 0644 dovecot.conf) is none of the check's business.
 */
static void file_mode(const struct pgd_conf *conf)
{
	struct stat st;

	if (conf->secret_path == NULL ||
	    (!has_password(conf->connect) && !has_password(conf->update_connect)))
		return;
	if (stat(conf->secret_path, &st) == 0 && (st.st_mode & S_IROTH) != 0) {
		printf("warning: ");
		pgd_put_printable(stdout, conf->secret_path);
		printf(" is readable by every user and holds the database password: chmod o-r ");
		pgd_put_printable(stdout, conf->secret_path);
		putchar('\n');
	}
}

static bool is_local(const char *host)
{
	return !pgd_str_set(host) || host[0] == '/' || host[0] == '@' ||
	       strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "::1") == 0;
}

static void connect_timeout(const struct pgd_conf *conf)
{
	PQconninfoOption *opts;
	bool remote = false, timeout = false;
	char err[256];

	/* not even a parse then: libpq would bind its messages to PGLOCALEDIR (the connect
	 * that the check makes next says why it refuses) */
	if (pgd_db_env_refused(err, sizeof(err)))
		return;
	opts = PQconninfoParse(conf->connect, NULL);
	if (opts == NULL)
		return;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (!pgd_str_set(o->val))
			continue;
		if (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0) {
			char hosts[512];

			/* a list of hosts: any remote one counts */
			snprintf(hosts, sizeof(hosts), "%s", o->val);
			for (char *save = NULL, *h = strtok_r(hosts, ",", &save); h != NULL;
			     h = strtok_r(NULL, ",", &save))
				remote = remote || !is_local(h);
		}
		if (strcmp(o->keyword, "connect_timeout") == 0)
			timeout = true;
	}
	PQconninfoFree(opts);
	if (remote && !timeout)
		printf(
		    "warning: connect names a remote host without connect_timeout: an unreachable "
		    "host then costs query_timeout (%lu s) per address at every login; set "
		    "connect_timeout=2 or so\n",
		    conf->query_timeout);
}

/* Does tmpl use the login name (%u %n %{user} %{username}, with modifiers such as %Lu)? */
static bool uses_user(const char *tmpl)
{
	for (const char *p = strchr(tmpl, '%'); p != NULL; p = strchr(p + 1, '%')) {
		const char *v = p + 1;

		if (*v == '%') {
			p = v;
			continue;
		}
		while (*v == 'L' || *v == 'U' || *v == 'T' || *v == 'H' || *v == 'M' || *v == 'D' ||
		       *v == 'R' || *v == 'X' || *v == 'E' || *v == 'N' || *v == '-' ||
		       isdigit((unsigned char)*v) || *v == '.')
			v++;
		/* a 2.4 expression with filters, as query/ marks it: "%{" 0x01 variable 0x01 ... */
		if (v[0] == '{' && v[1] == '\x01')
			v += 2;
		if (*v == 'u' || *v == 'n' || strncmp(v, "{user", 5) == 0 ||
		    strncmp(v, "{username", 9) == 0 || strncmp(v, "{original_user", 14) == 0 ||
		    strncmp(v, "{orig_user", 10) == 0)
			return true;
	}
	return false;
}

/* The result's columns as the server describes them, without running the query. */
static void columns(const struct pgd_conf *conf, PGconn *conn, const struct pgd_query *q)
{
	PGresult *res = PQprepare(conn, "pgd_check_describe", q->sql, q->nparams, NULL);
	int col;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		return;
	}
	PQclear(res);
	res = PQdescribePrepared(conn, "pgd_check_describe");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		return;
	}
	/* Dovecot renames the login from any of the three (auth-request.c
	 * get_updated_username(), 2.3 and 2.4 alike): user, or username and/or domain */
	if (PQfnumber(res, "user") < 0 && PQfnumber(res, "username") < 0 &&
	    PQfnumber(res, "domain") < 0)
		warn("password_query returns no 'user' column (nor 'username' and 'domain'): the "
		     "name as typed (after username_format) is the name every service sees");
	col = PQfnumber(res, "password");
	if (col >= 0 && PQftype(res, col) == BPCHAROID)
		warn(
		    "the password column is char(n): PostgreSQL pads it with spaces, which no hash "
		    "matches; use text or varchar (or password::text in the query)");
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? "nologin" : "nopassword";

		col = PQfnumber(res, name);
		if (col >= 0 && PQftype(res, col) == BOOLOID)
			printf("warning: the %s column is boolean: false still sets it (Dovecot "
			       "reads any non-NULL value as set); return NULL instead, e.g. "
			       "CASE WHEN %s THEN 'Y' END AS %s\n",
			       name, name, name);
	}
	PQclear(res);
	(void)conf;
}

/* With USER: does its row hold false in a nologin/nopassword column? */
static void false_flags(PGconn *conn, const struct pgd_query *q)
{
	PGresult *res = PQexecParams(conn, q->sql, q->nparams, NULL, (const char *const *)q->values,
	                             NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		for (int i = 0; i < 2; i++) {
			const char *name = i == 0 ? "nologin" : "nopassword";
			int col = PQfnumber(res, name);
			const char *v =
			    col >= 0 && !PQgetisnull(res, 0, col) ? PQgetvalue(res, 0, col) : NULL;

			if (v != NULL && (strcmp(v, "f") == 0 || strcasecmp(v, "false") == 0 ||
			                  strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0))
				printf("warning: this user's %s column holds false, which %s\n",
				       name,
				       i == 0 ? "disables the account"
				              : "lets any password in "
				                "(with allow_nopassword)");
		}
	}
	for (int r = 0; r < PQntuples(res); r++)
		for (int c = 0; c < PQnfields(res); c++)
			memset(PQgetvalue(res, r, c), 0, (size_t)PQgetlength(res, r, c));
	PQclear(res);
}

void pgd_check_warnings(const struct pgd_conf *conf, const char *user)
{
	/* the query is only described, not run: any protocol a login may pass will do */
	struct pgd_vars vars = {.service = "imap",
	                        .secured = pgd_secured_value(conf->secured),
	                        .mechanism = conf->mechanism,
	                        .protocols = conf->service_protocols};
	struct pgd_query q = {0};
	char err[256], *canonical = NULL;
	PGconn *conn;
	PGresult *res;

	file_mode(conf);
	connect_timeout(conf);
	if (!uses_user(conf->password_query))
		warn("password_query does not use the login name (%u, %n, %{user}): every login "
		     "reads the same rows");
	conn = pgd_db_connect(conf->connect, (unsigned)conf->query_timeout, err, sizeof(err));
	if (conn == NULL)
		return;
	res = PQexec(conn, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
	PQclear(res);
	if (user != NULL && pgd_user_normalize(user, conf->username_format, conf->username_chars,
	                                       conf->default_domain, &vars, &canonical, err,
	                                       sizeof(err)) == PGD_USER_OK)
		vars.user = canonical;
	if (pgd_query_bind(conf->password_query, &vars, &q, err, sizeof(err)) == PGD_QUERY_OK) {
		columns(conf, conn, &q);
		if (canonical != NULL)
			false_flags(conn, &q);
	}
	pgd_query_free(&q);
	free(canonical);
	PQfinish(conn);
}
