// SPDX-License-Identifier: MIT
/*
 * The environment-proof conninfo: a connection depends on the conninfo the configuration gives
 * and on the password database only, never on the caller's environment or home folder (su and
 * sudo run us with a hostile one). The variables libpq reads whatever the conninfo says are
 * refused; every keyword it would look up in the environment is given a value of ours.
 */
#include "db/db_impl.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/conninfo.h"
#include "util/secret.h"
#include "util/str.h"

/* Our values, the first choice for a keyword the conninfo leaves out (db_impl.h). */
const struct pgd_db_default pgd_db_defaults[] = {
    {"fallback_application_name", "pam_pgsql_dovecot", NULL},
    {"application_name", "pam_pgsql_dovecot", NULL},
    {"keepalives", "1", NULL},
    {"keepalives_idle", "30", NULL},
    {"keepalives_interval", "10", NULL},
    {"keepalives_count", "3", NULL},
    {"tcp_user_timeout", "10000", NULL},
    {"gssencmode", "disable", NULL},
    {"sslcertmode", "allow",
     NULL}, /* libpq >= 16: its default, which it has no compiled entry for */
    /* libpq >= 16 reads an empty require_auth as a method nothing offers: every method it
     * knows is what unset means. */
    {"require_auth", "password,md5,gss,sspi,scram-sha-256,none", NULL},
    {"passfile", NULL, ".pgpass"},
    {"sslcert", NULL, ".postgresql/postgresql.crt"},
    {"sslkey", NULL, ".postgresql/postgresql.key"},
    {"sslrootcert", NULL, ".postgresql/root.crt"},
    {"sslcrl", NULL, ".postgresql/root.crl"},
};

/* The effective user's home folder from the password database, never from $HOME. */
static bool home_of_euid(char *home, size_t len)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found) != 0 || found == NULL ||
	    pw.pw_dir == NULL || pw.pw_dir[0] != '/' || strlen(pw.pw_dir) >= len)
		return false;
	snprintf(home, len, "%s", pw.pw_dir);
	return true;
}

static const struct pgd_db_default *our_default(const char *keyword)
{
	for (size_t i = 0; i < PGD_DB_N_DEFAULTS; i++)
		if (strcmp(pgd_db_defaults[i].keyword, keyword) == 0)
			return &pgd_db_defaults[i];
	return NULL;
}

char *pgd_db_full_conninfo(const char *conninfo, unsigned timeout_sec, char *err, size_t errlen)
{
	struct pgd_buf b = {0};
	char timeout[16], home[1024], path[1200];
	bool have_home = home_of_euid(home, sizeof(home));
	PQconninfoOption *opts;
	char *parse_err = NULL;
	bool service = false;

	snprintf(timeout, sizeof(timeout), "%u", timeout_sec);
	/* libpq's message about a malformed string quotes it, password and all: not in our log. */
	opts = PQconninfoParse(conninfo, &parse_err);
	PQfreemem(parse_err);
	if (opts == NULL) {
		snprintf(err, errlen, "cannot connect: the connect string is malformed");
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		const struct pgd_db_default *d = our_default(o->keyword);
		const char *value = NULL;

		if (strcmp(o->keyword, "service") == 0) {
			/* left unset: libpq then reads PGSERVICE, refused by pgd_db_env_refused */
			service = o->val != NULL;
			continue;
		}
		if (pgd_str_set(o->val))
			value = o->val;
		else if (strcmp(o->keyword, "connect_timeout") == 0)
			value = timeout;
		else if (d != NULL && d->value != NULL)
			value = d->value;
		else if (d != NULL) {
			/* under /dev/null nothing can exist: libpq finds no file, as without a home
			 */
			snprintf(path, sizeof(path), "%s/%s", have_home ? home : "/dev/null",
			         d->home_file);
			value = path;
		} else if (o->envvar == NULL)
			continue; /* nothing to fall back to: libpq reads nothing for it */
		else
			value = o->compiled != NULL ? o->compiled : "";
		pgd_conninfo_add(&b, o->keyword, value);
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (o->val != NULL)
			pgd_wipe(o->val, strlen(o->val));
	PQconninfoFree(opts);
	if (service || b.failed || b.len == 0) {
		if (service)
			snprintf(err, errlen,
			         "cannot connect: service= is not supported in connect "
			         "(write the service's parameters into connect)");
		else
			snprintf(err, errlen, "cannot connect: out of memory");
		pgd_buf_free(&b);
		return NULL;
	}
	return pgd_buf_take(&b);
}

/*
 * The variables libpq 15 and 17 read whatever the conninfo says (every other PG* variable is
 * a conninfo keyword's fallback, given a value by pgd_db_full_conninfo), and what each would
 * change. Set to any value, even empty, they refuse the connection: the environment is never
 * changed (other threads may be reading it), and none of them has a value of ours that would win.
 */
static const struct {
	const char *name;
	const char *why;
} refused_env[] = {
    /* read when no service= is given: opens the file PGSERVICEFILE, PGSYSCONFDIR or $HOME
     * names (a FIFO there would hang the login) and takes host, user, ... from it */
    {"PGSERVICE", "libpq would read a service file"},
    /* the folder of libpq's message catalogue, bound at its first message: a translated
     * message is used as a printf format */
    {"PGLOCALEDIR", "libpq would read its message formats from that folder"},
    /* sent to the server as session settings in the startup packet, after (so over) any
     * options= of ours: now() and timestamp comparisons in the queries would change */
    {"PGTZ", "libpq would send it to the server as the session's TimeZone"},
    {"PGDATESTYLE", "libpq would send it to the server as the session's DateStyle"},
    {"PGGEQO", "libpq would send it to the server as the session's geqo"},
};

bool pgd_db_env_refused(char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(refused_env) / sizeof(refused_env[0]); i++)
		if (getenv(refused_env[i].name) != NULL) {
			snprintf(err, errlen, "cannot connect: %s is set in the environment (%s)",
			         refused_env[i].name, refused_env[i].why);
			return true;
		}
	return false;
}

/* Server notices (a trigger's RAISE NOTICE may quote the row) would go to the caller's stderr. */
static void drop_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * Checks the environment before the first libpq call: libpq binds its message catalogue at its
 * first message, even a parse error's.
 */
struct pg_conn *pgd_db_connect(const char *conninfo, unsigned timeout_sec, char *err, size_t errlen)
{
	PGconn *conn;
	char *full;

	if (pgd_db_env_refused(err, errlen))
		return NULL;
	full = pgd_db_full_conninfo(conninfo, timeout_sec, err, errlen);
	if (full == NULL)
		return NULL;
	conn = PQconnectdb(full);
	pgd_free_secret(full);
	if (conn == NULL)
		snprintf(err, errlen, "cannot connect: out of memory");
	if (conn != NULL && PQstatus(conn) != CONNECTION_OK) {
		pgd_db_message(err, errlen, "cannot connect: ", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	if (conn != NULL)
		PQsetNoticeProcessor(conn, drop_notice, NULL);
	return conn;
}
