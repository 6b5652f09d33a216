// SPDX-License-Identifier: MIT
/*
 * The environment-proof conninfo (db/conninfo.c) without a server: each variable libpq reads
 * whatever the conninfo says refuses the connection; each keyword libpq would look up in the
 * environment or the home folder gets our value, never the caller's; what the conninfo says
 * wins; hostile values stay one value each; a service and a malformed string are refused
 * without quoting the string.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pwd.h>
#include <unistd.h>

#include "db/db_impl.h"
#include "util/secret.h"

#include "rows.h"

/* What a hostile caller (su, sudo) may have in its environment: none of it may reach libpq. */
static const char *const hostile_env[][2] = {
    {"PGHOST", "evil.example"},
    {"PGHOSTADDR", "192.0.2.66"},
    {"PGPORT", "6666"},
    {"PGUSER", "evil"},
    {"PGPASSWORD", "evil"},
    {"PGDATABASE", "evil"},
    {"PGPASSFILE", "/tmp/evil-pgpass"},
    {"PGAPPNAME", "evil"},
    {"PGOPTIONS", "-c search_path=evil"},
    {"PGSSLMODE", "disable"},
    {"PGSSLROOTCERT", "/tmp/evil-root.crt"},
    {"PGSSLCERT", "/tmp/evil.crt"},
    {"PGSSLKEY", "/tmp/evil.key"},
    {"PGSSLCRL", "/tmp/evil.crl"},
    {"PGCONNECT_TIMEOUT", "999"},
    {"PGGSSENCMODE", "require"},
    {"PGREQUIREAUTH", "password"},
    {"PGTARGETSESSIONATTRS", "read-only"},
    {"PGKRBSRVNAME", "evil"},
    {"HOME", "/tmp/evil-home"},
};

static int set_hostile_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hostile_env) / sizeof(hostile_env[0]); i++)
		setenv(hostile_env[i][0], hostile_env[i][1], 1);
	return 0;
}

/* The value keyword has in conninfo, as libpq parses it (NULL when absent); free it. */
static char *value_of(const char *conninfo, const char *keyword)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	char *v = NULL;

	assert_non_null(opts);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL)
			v = strdup(o->val);
	PQconninfoFree(opts);
	return v;
}

/* Whether the linked libpq knows keyword (sslcertmode and require_auth came with 16). */
static bool libpq_knows(const char *keyword)
{
	PQconninfoOption *opts = PQconndefaults();
	bool known = false;

	assert_non_null(opts);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		known = known || strcmp(o->keyword, keyword) == 0;
	PQconninfoFree(opts);
	return known;
}

static char *full(const char *conninfo, char *err, size_t errlen)
{
	err[0] = '\0';
	return pgd_db_full_conninfo(conninfo, 7, err, errlen);
}

/* --- the variables that refuse the connection --------------------------------------------- */

static void refused(void **state)
{
	const char *name = *state;
	char err[256], want[128];

	unsetenv(name);
	assert_false(pgd_db_env_refused(err, sizeof(err)));
	/* set, even empty */
	setenv(name, "", 1);
	assert_true(pgd_db_env_refused(err, sizeof(err)));
	snprintf(want, sizeof(want), "cannot connect: %s is set in the environment (", name);
	assert_non_null(strstr(err, want));
	/* and the connect refuses before any libpq call, whatever the conninfo */
	assert_null(pgd_db_connect("host=127.0.0.1 port=1", 1, err, sizeof(err)));
	assert_non_null(strstr(err, want));
	unsetenv(name);
	assert_false(pgd_db_env_refused(err, sizeof(err)));
}

/* --- the keywords given our value (each of pgd_db_defaults) ----------------------------------- */

static void overridden(void **state)
{
	const struct pgd_db_default *c = *state;
	struct passwd *pw = getpwuid(geteuid());
	char err[256], want[1200];
	char *s, *v;

	if (!libpq_knows(c->keyword)) {
		/* this libpq has no such keyword: nothing to give a value to */
		s = full("dbname=mail", err, sizeof(err));
		assert_non_null(s);
		assert_null(strstr(s, c->keyword));
		pgd_free_secret(s);
		return;
	}
	if (c->value != NULL)
		snprintf(want, sizeof(want), "%s", c->value);
	else
		snprintf(want, sizeof(want), "%s/%s",
		         pw != NULL && pw->pw_dir[0] == '/' ? pw->pw_dir : "/dev/null",
		         c->home_file);
	s = full("dbname=mail", err, sizeof(err));
	assert_non_null(s);
	v = value_of(s, c->keyword);
	assert_non_null(v);
	assert_string_equal(v, want);
	assert_null(strstr(v, "evil"));
	free(v);
	pgd_free_secret(s);
}

/* connect_timeout, when the conninfo has none, is the query timeout, never PGCONNECT_TIMEOUT. */
static void connect_timeout(void **state)
{
	char err[256];
	char *s = full("dbname=mail", err, sizeof(err));
	char *v = value_of(s, "connect_timeout");

	(void)state;
	assert_string_equal(v, "7");
	free(v);
	pgd_free_secret(s);
}

/* Every keyword that falls back to a variable gets a value: libpq reads none of them. */
static void every_fallback_covered(void **state)
{
	char err[256];
	char *s = full("dbname=mail", err, sizeof(err));
	PQconninfoOption *opts;

	(void)state;
	assert_non_null(s);
	assert_null(strstr(s, "evil"));
	opts = PQconninfoParse(s, NULL);
	assert_non_null(opts);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->envvar == NULL || strcmp(o->keyword, "service") == 0)
			continue;
		if (o->val == NULL)
			fail_msg("%s (%s) has no value: libpq would read the environment",
			         o->keyword, o->envvar);
	}
	PQconninfoFree(opts);
	pgd_free_secret(s);
}

/* What the conninfo says wins over our defaults. */
static void conninfo_wins(void **state)
{
	static const char *const given[][2] = {
	    {"application_name", "mine"}, {"connect_timeout", "3"},   {"passfile", "/etc/pgpass"},
	    {"keepalives", "0"},          {"host", "db.example.org"}, {"sslmode", "verify-full"},
	    {"sslrootcert", "system"},    {"user", "pgd_auth"},       {"dbname", "mail"},
	};
	char conninfo[512] = "", err[256];
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
		snprintf(conninfo + strlen(conninfo), sizeof(conninfo) - strlen(conninfo), "%s=%s ",
		         given[i][0], given[i][1]);
	s = full(conninfo, err, sizeof(err));
	assert_non_null(s);
	for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
		char *v = value_of(s, given[i][0]);

		assert_non_null(v);
		assert_string_equal(v, given[i][1]);
		free(v);
	}
	pgd_free_secret(s);
}

/* --- hostile values -------------------------------------------------------------------------- */

static const char *const hostile_values[] = {
    "pass'word",
    "back\\slash",
    "' host=evil.example '",
    "\\' host=evil.example",
    "two words",
    "ends with a backslash\\",
    "'",
    "=",
    "\xc3\xa9t\xc3\xa9",
};

/* A password (or any value) of any bytes stays one value, and moves no other keyword. */
static void hostile_value(void **state)
{
	const char *value = *state;
	char conninfo[256], err[256];
	char *s, *v, *host;
	char *quoted = conninfo;

	/* the conninfo as a configuration writes it: quoted, with ' and \ escaped */
	quoted += sprintf(quoted, "host=db.example.org password='");
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\'' || *p == '\\')
			*quoted++ = '\\';
		*quoted++ = *p;
	}
	strcpy(quoted, "'");
	s = full(conninfo, err, sizeof(err));
	assert_non_null(s);
	v = value_of(s, "password");
	host = value_of(s, "host");
	assert_non_null(v);
	assert_string_equal(v, value);
	assert_string_equal(host, "db.example.org");
	free(v);
	free(host);
	pgd_free_secret(s);
}

/* The URI form is read as libpq reads it, with the same defaults. */
static void uri(void **state)
{
	char err[256];
	char *s =
	    full("postgresql://u:p%27w@db.example.org:5433/mail?sslmode=require", err, sizeof(err));
	char *v;

	(void)state;
	assert_non_null(s);
	v = value_of(s, "password");
	assert_string_equal(v, "p'w");
	free(v);
	v = value_of(s, "port");
	assert_string_equal(v, "5433");
	free(v);
	v = value_of(s, "application_name");
	assert_string_equal(v, "pam_pgsql_dovecot");
	free(v);
	pgd_free_secret(s);
}

/* --- refused conninfos ----------------------------------------------------------------------- */

static void service_refused(void **state)
{
	char err[256];

	(void)state;
	assert_null(full("service=mail password=hunter2", err, sizeof(err)));
	assert_non_null(strstr(err, "service= is not supported"));
	assert_null(strstr(err, "hunter2"));
	assert_null(full("postgresql:///mail?service=mail", err, sizeof(err)));
	assert_non_null(strstr(err, "service= is not supported"));
}

/* Malformed strings that hold a password: refused with a line that never quotes them. */
static const char *const malformed[] = {
    "host='unterminated password=hunter2",
    "password=hunter2 nosuchkeyword=1",
    "password=hunter2 host",
    "postgresql://u:hunter2@[::1/mail",
};

static void malformed_not_quoted(void **state)
{
	char err[256];

	assert_null(full(*state, err, sizeof(err)));
	assert_string_equal(err, "cannot connect: the connect string is malformed");
}

static const char *const refused_env[] = {"PGSERVICE", "PGLOCALEDIR", "PGTZ", "PGDATESTYLE",
                                          "PGGEQO"};

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(connect_timeout), cmocka_unit_test(every_fallback_covered),
    cmocka_unit_test(conninfo_wins),   cmocka_unit_test(uri),
    cmocka_unit_test(service_refused),
};

/* A case per refused variable, per keyword given our value, per hostile or malformed value. */
static void add_case(struct CMUnitTest *t, const char *name, CMUnitTestFunction fn,
                     const void *state)
{
	*t = (struct CMUnitTest){name, fn, NULL, NULL, (void *)(uintptr_t)state};
}

int main(void)
{
	struct CMUnitTest tests[PGD_N_ROWS(refused_env) + PGD_DB_N_DEFAULTS +
	                        PGD_N_ROWS(hostile_values) + PGD_N_ROWS(malformed) +
	                        PGD_N_ROWS(fixed_tests)];
	size_t n = 0;

	for (size_t i = 0; i < PGD_N_ROWS(refused_env); i++)
		add_case(&tests[n++], refused_env[i], refused, refused_env[i]);
	for (size_t i = 0; i < PGD_DB_N_DEFAULTS; i++)
		add_case(&tests[n++], pgd_db_defaults[i].keyword, overridden, &pgd_db_defaults[i]);
	for (size_t i = 0; i < PGD_N_ROWS(hostile_values); i++)
		add_case(&tests[n++], "a hostile value stays one value", hostile_value,
		         hostile_values[i]);
	for (size_t i = 0; i < PGD_N_ROWS(malformed); i++)
		add_case(&tests[n++], "a malformed string is refused, never quoted",
		         malformed_not_quoted, malformed[i]);
	for (size_t i = 0; i < PGD_N_ROWS(fixed_tests); i++)
		tests[n++] = fixed_tests[i];
	return cmocka_run_group_tests(tests, set_hostile_env, NULL);
}
