// SPDX-License-Identifier: MIT
/*
 * The verified-login cache (verify_cache_ttl) through the real libpam (under pam_wrapper)
 * against the test's PostgreSQL, with a table of its own: a password or nologin changed in the
 * database is seen at the very next login, a wrong password is never remembered and drops the
 * user's entry, nologin / allow_nets / expiry apply as always, the debug line says when the
 * cache answered, and a conf without the key never uses it. An entry is bound to the whole
 * verification policy: a weak hash let in by a conf that allows weak schemes (Dovecot 2.4's
 * auth_allow_weak_schemes) is not let in from the cache by a conf that does not, whether that is
 * another service of the same process or the same conf after the admin changed it. Two confs
 * with different verify_cache_size share the process's cache without emptying it.
 *
 * Environment: as test_pam (PGD_MODULE, PGD_TEST_ADMIN, PGD_TEST_CONNINFO,
 * PAM_WRAPPER_SERVICE_DIR).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "hash.h"
#include "pam_test_util.h"

#define PW_QUERY                                                                                   \
	"password_query = SELECT userid AS user, password, "                                       \
	"CASE WHEN NOT active THEN 'y' END AS nologin, nets AS allow_nets, "                       \
	"expired AS account_expired FROM cache_users WHERE userid = '%n'\n"
#define UPDATE_QUERY                                                                               \
	"password_update_query = UPDATE cache_users SET password = %{hash} WHERE userid = '%n'\n"
#define BASE "driver = pgsql\nconnect = %CONNECT%\n" PW_QUERY UPDATE_QUERY
#define HIT "(verify cache"

/* Dovecot 2.4 trees (written in $PGD_VC24_DIR by write_v24) that our confs name. */
#define V24(file, extra) "dovecot_config = %V24DIR%/" file "\nverify_cache_ttl = 3600\n" extra

static const struct pgd_test_service services[] = {
    {"vcache", BASE "verify_cache_ttl = 3600\n"},
    {"vcache-rehash", BASE "verify_cache_ttl = 3600\nrehash = yes\n"},
    {"vcache-off", BASE},
    /* what saslauthd's imap and smtp might read: one allows weak schemes, one not */
    {"vc24-weak", V24("weak.conf", "")},
    {"vc24-strict", V24("strict.conf", "")},
    /* a conf the test rewrites, as an admin ends the migration */
    {"vc24-changing", V24("changing.conf", "")},
    /* the same rules, another cache size: the process's one cache serves both */
    {"vcache-small", BASE "verify_cache_ttl = 3600\nverify_cache_size = 5\n"},
    {"vcache-large", BASE "verify_cache_ttl = 3600\nverify_cache_size = 50\n"},
};

static PGconn *admin;

static void sql(const char *text)
{
	pgd_test_sql(admin, text);
}

/* Sets userid's stored value to a fresh hash of password in scheme (cheap rounds). */
static void set_password(const char *userid, const char *scheme, const char *password)
{
	char *stored = NULL;

	/* cheap rounds for the SHA-crypt schemes; the others take none */
	assert_int_equal(
	    pgd_hash_generate(scheme, password, strstr(scheme, "SHA") != NULL ? 1000 : 0, &stored),
	    PGD_HASH_MATCH);
	pgd_test_set_stored(admin, "cache_users", userid, stored);
	free(stored);
}

static char *column(const char *userid, const char *col)
{
	return pgd_test_column(admin, "cache_users", userid, col);
}

/* One authenticate; *cached (may be NULL) tells whether the cache answered. */
static int auth(const char *service, const char *user, const char *password, bool *cached)
{
	return pgd_test_auth_marked(service, user, password, HIT, cached, NULL);
}

static void test_repeat_login_is_answered_by_the_cache(void **state)
{
	bool cached;

	(void)state;
	set_password("repeat", "SHA512-CRYPT", "repeat pw");
	assert_int_equal(auth("vcache", "repeat", "repeat pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	assert_int_equal(auth("vcache", "repeat", "repeat pw", &cached), PAM_SUCCESS);
	assert_true(cached);
	assert_int_equal(auth("vcache", "repeat", "repeat pw", &cached), PAM_SUCCESS);
	assert_true(cached);
	/* the name as the client typed it is part of what was verified */
	assert_int_equal(auth("vcache", "REPEAT", "repeat pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	/* without the key, never */
	assert_int_equal(auth("vcache-off", "repeat", "repeat pw", &cached), PAM_SUCCESS);
	assert_int_equal(auth("vcache-off", "repeat", "repeat pw", &cached), PAM_SUCCESS);
	assert_false(cached);
}

/* 100 password changes in the database: the old password never works after its change. */
static void test_password_change_is_seen_at_the_next_login(void **state)
{
	char old_pw[32], new_pw[32];
	int stale = 0, hits = 0;
	bool cached;

	(void)state;
	snprintf(old_pw, sizeof(old_pw), "change pw 0");
	set_password("changer", "SHA512-CRYPT", old_pw);
	for (int i = 1; i <= 100; i++) {
		/* remembered: the second login is the cache's */
		assert_int_equal(auth("vcache", "changer", old_pw, NULL), PAM_SUCCESS);
		assert_int_equal(auth("vcache", "changer", old_pw, &cached), PAM_SUCCESS);
		hits += cached;
		snprintf(new_pw, sizeof(new_pw), "change pw %d", i);
		set_password("changer", "SHA512-CRYPT", new_pw);
		if (auth("vcache", "changer", old_pw, NULL) != PAM_AUTH_ERR)
			stale++;
		snprintf(old_pw, sizeof(old_pw), "%s", new_pw);
	}
	assert_int_equal(stale, 0);
	assert_int_equal(hits, 100);
	/* the same password stored again under a new salt: another stored value, a miss */
	assert_int_equal(auth("vcache", "changer", old_pw, NULL), PAM_SUCCESS);
	set_password("changer", "SHA512-CRYPT", old_pw);
	assert_int_equal(auth("vcache", "changer", old_pw, &cached), PAM_SUCCESS);
	assert_false(cached);
}

/* 100 times: nologin set in the database refuses the very next login, cache or not. */
static void test_nologin_is_seen_at_the_next_login(void **state)
{
	int stale = 0, hits = 0;
	bool cached;

	(void)state;
	set_password("toggled", "SHA512-CRYPT", "toggled pw");
	for (int i = 0; i < 100; i++) {
		sql("UPDATE cache_users SET active = true WHERE userid = 'toggled'");
		assert_int_equal(auth("vcache", "toggled", "toggled pw", NULL), PAM_SUCCESS);
		assert_int_equal(auth("vcache", "toggled", "toggled pw", &cached), PAM_SUCCESS);
		hits += cached;
		sql("UPDATE cache_users SET active = false WHERE userid = 'toggled'");
		if (auth("vcache", "toggled", "toggled pw", NULL) != PAM_AUTH_ERR)
			stale++;
	}
	assert_int_equal(stale, 0);
	/* the refused login dropped the entry: each round's second login was a hit again only
	 * because its first one verified afresh */
	assert_int_equal(hits, 100);
	sql("UPDATE cache_users SET active = true WHERE userid = 'toggled'");
	assert_int_equal(auth("vcache", "toggled", "toggled pw", &cached), PAM_SUCCESS);
	assert_false(cached);
}

static void test_wrong_password_is_never_remembered_and_drops_the_entry(void **state)
{
	bool cached;

	(void)state;
	set_password("wrongful", "SHA512-CRYPT", "right pw");
	/* a wrong password first: nothing remembered, the right one then pays the hash */
	for (int i = 0; i < 3; i++)
		assert_int_equal(auth("vcache", "wrongful", "wrong pw", &cached), PAM_AUTH_ERR);
	assert_false(cached);
	assert_int_equal(auth("vcache", "wrongful", "right pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	assert_int_equal(auth("vcache", "wrongful", "right pw", &cached), PAM_SUCCESS);
	assert_true(cached);
	/* near misses of a remembered password are wrong */
	assert_int_equal(auth("vcache", "wrongful", "right p", NULL), PAM_AUTH_ERR);
	assert_int_equal(auth("vcache", "wrongful", "right pw ", NULL), PAM_AUTH_ERR);
	assert_int_equal(auth("vcache", "wrongful", "Right pw", NULL), PAM_AUTH_ERR);
	/* the failures dropped the entry */
	assert_int_equal(auth("vcache", "wrongful", "right pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	/* another user's password does not open this one */
	set_password("other", "SHA512-CRYPT", "other pw");
	assert_int_equal(auth("vcache", "other", "other pw", NULL), PAM_SUCCESS);
	assert_int_equal(auth("vcache", "wrongful", "other pw", NULL), PAM_AUTH_ERR);
}

static void test_allow_nets_and_expiry_apply_to_a_cached_login(void **state)
{
	const char *answers[] = {"nets pw", NULL};
	struct pamtest_conv_data conv = {.in_echo_off = answers};
	bool cached;

	(void)state;
	set_password("netted", "SHA512-CRYPT", "nets pw");
	assert_int_equal(auth("vcache", "netted", "nets pw", NULL), PAM_SUCCESS);
	assert_int_equal(auth("vcache", "netted", "nets pw", &cached), PAM_SUCCESS);
	assert_true(cached);
	/* allow_nets set now: no PAM_RHOST is outside it */
	sql("UPDATE cache_users SET nets = '192.0.2.0/24' WHERE userid = 'netted'");
	assert_int_equal(auth("vcache", "netted", "nets pw", NULL), PAM_AUTH_ERR);
	sql("UPDATE cache_users SET nets = NULL WHERE userid = 'netted'");
	assert_int_equal(auth("vcache", "netted", "nets pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	assert_int_equal(auth("vcache", "netted", "nets pw", &cached), PAM_SUCCESS);
	assert_true(cached);
	/* expired now: acct_mgmt after a cached authenticate says so */
	sql("UPDATE cache_users SET expired = true WHERE userid = 'netted'");
	{
		struct pam_testcase tests[] = {
		    pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		    pam_test(PAMTEST_ACCOUNT, PAM_ACCT_EXPIRED),
		};

		assert_int_equal(run_pamtest("vcache", "netted", &conv, tests, NULL),
		                 PAMTEST_ERR_OK);
	}
}

/* A rehash changes the stored value: the next login misses, the one after hits. */
static void test_rehash_then_cache(void **state)
{
	char *before, *after;
	bool cached;

	(void)state;
	set_password("weak", "MD5-CRYPT", "weak pw");
	before = column("weak", "password");
	assert_int_equal(auth("vcache-rehash", "weak", "weak pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	after = column("weak", "password");
	assert_string_not_equal(before, after);
	assert_true(strncmp(after, "{SHA512-CRYPT}", 14) == 0);
	assert_int_equal(auth("vcache-rehash", "weak", "weak pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	assert_int_equal(auth("vcache-rehash", "weak", "weak pw", &cached), PAM_SUCCESS);
	assert_true(cached);
	/* the hit knew the scheme: no second rehash of a strong hash */
	free(before);
	before = after;
	after = column("weak", "password");
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* An OTP value is good once: never remembered, so every login verifies it in full. */
static void test_otp_is_never_remembered(void **state)
{
	bool cached;

	(void)state;
	set_password("onetime", "OTP", "otp pw");
	assert_int_equal(auth("vcache", "onetime", "otp pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	assert_int_equal(auth("vcache", "onetime", "otp pw", &cached), PAM_SUCCESS);
	assert_false(cached);
}

/*
 * A Dovecot 2.4 dovecot.conf for the test's server: $PGD_TEST_CONNINFO as a pgsql block, a
 * passdb sql of cache_users, and auth_allow_weak_schemes = yes when weak. Written to
 * $PGD_VC24_DIR/file (0600), replacing it.
 */
static void write_v24(const char *file, bool weak)
{
	char *pgsql = pgd_test_v24_pgsql();
	char path[512], text[4096];
	FILE *f;

	snprintf(text, sizeof(text),
	         "dovecot_config_version = 2.4.1\n"
	         "%s"
	         "%s"
	         "passdb sql {\n"
	         "  default_password_scheme = SHA512-CRYPT\n"
	         "  query = SELECT userid AS user, password FROM cache_users "
	         "WHERE userid = '%%{user}'\n"
	         "}\n",
	         weak ? "auth_allow_weak_schemes = yes\n" : "", pgsql);
	free(pgsql);
	snprintf(path, sizeof(path), "%s/%s", pgd_test_env("PGD_VC24_DIR"), file);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fchmod(fileno(f), 0600), 0);
	assert_int_equal(fclose(f), 0);
}

/*
 * saslauthd serves imap and smtp in one worker, with two pam.d files and two confs: one allows
 * Dovecot 2.4's weak schemes, the other does not. A {MD5-CRYPT} user logged in on the first is
 * not let in by the second from the cache: the entry is bound to the whole policy.
 */
static void test_weak_scheme_refused_by_another_service_of_the_process(void **state)
{
	bool cached;

	(void)state;
	set_password("oldhash", "MD5-CRYPT", "old pw");
	assert_int_equal(auth("vc24-strict", "oldhash", "old pw", &cached), PAM_AUTH_ERR);
	assert_int_equal(auth("vc24-weak", "oldhash", "old pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	assert_int_equal(auth("vc24-weak", "oldhash", "old pw", &cached), PAM_SUCCESS);
	assert_true(cached);
	/* the strict service refuses it, from the cache or not, every time */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(auth("vc24-strict", "oldhash", "old pw", &cached), PAM_AUTH_ERR);
		assert_false(cached);
		assert_int_equal(auth("vc24-weak", "oldhash", "old pw", NULL), PAM_SUCCESS);
	}
}

/*
 * The admin ends the migration: auth_allow_weak_schemes is removed from the conf. A running
 * worker refuses the weak hash at the very next login, although its entry is young.
 */
static void test_weak_scheme_refused_once_the_conf_stops_allowing_it(void **state)
{
	bool cached;

	(void)state;
	set_password("migrated", "MD5-CRYPT", "migrating pw");
	write_v24("changing.conf", true);
	assert_int_equal(auth("vc24-changing", "migrated", "migrating pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	assert_int_equal(auth("vc24-changing", "migrated", "migrating pw", &cached), PAM_SUCCESS);
	assert_true(cached);
	write_v24("changing.conf", false);
	assert_int_equal(auth("vc24-changing", "migrated", "migrating pw", &cached), PAM_AUTH_ERR);
	assert_false(cached);
	assert_int_equal(auth("vc24-changing", "migrated", "migrating pw", &cached), PAM_AUTH_ERR);
	/* a strong hash of the same user is cached under the strict conf as under any */
	set_password("migrated", "SHA512-CRYPT", "migrating pw");
	assert_int_equal(auth("vc24-changing", "migrated", "migrating pw", &cached), PAM_SUCCESS);
	assert_false(cached);
	assert_int_equal(auth("vc24-changing", "migrated", "migrating pw", &cached), PAM_SUCCESS);
	assert_true(cached);
}

/*
 * Two confs of one process with different verify_cache_size (imap's and smtp's): switching
 * from one to the other empties nothing, the process's cache has room for the larger.
 */
static void test_two_cache_sizes_do_not_empty_each_other(void **state)
{
	char user[32], pw[32];
	int misses = 0;
	bool cached;

	(void)state;
	for (int u = 0; u < 4; u++) {
		snprintf(user, sizeof(user), "sized%d", u);
		snprintf(pw, sizeof(pw), "sized pw %d", u);
		set_password(user, "SHA512-CRYPT", pw);
		assert_int_equal(auth(u % 2 ? "vcache-small" : "vcache-large", user, pw, NULL),
		                 PAM_SUCCESS);
	}
	/* every switch of service keeps the others' entries */
	for (int round = 0; round < 5; round++) {
		for (int u = 0; u < 4; u++) {
			snprintf(user, sizeof(user), "sized%d", u);
			snprintf(pw, sizeof(pw), "sized pw %d", u);
			assert_int_equal(auth((u + round) % 2 ? "vcache-small" : "vcache-large",
			                      user, pw, &cached),
			                 PAM_SUCCESS);
			misses += !cached;
		}
	}
	assert_int_equal(misses, 0);
}

static int setup(void **state)
{
	(void)state;
	admin = pgd_test_admin();
	sql("DROP TABLE IF EXISTS cache_users");
	sql("CREATE TABLE cache_users (userid text PRIMARY KEY, password text, "
	    "active boolean NOT NULL DEFAULT true, expired boolean NOT NULL DEFAULT false, "
	    "nets text)");
	sql("GRANT SELECT, UPDATE ON cache_users TO PUBLIC");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sql("DROP TABLE IF EXISTS cache_users");
	PQfinish(admin);
	return 0;
}

/* conf with %V24DIR% replaced by dir; free it. */
static char *with_dir(const char *conf, const char *dir)
{
	const char *at = strstr(conf, "%V24DIR%");
	char *out;

	if (at == NULL)
		return strdup(conf);
	out = malloc(strlen(conf) + strlen(dir) + 1);
	assert_non_null(out);
	sprintf(out, "%.*s%s%s", (int)(at - conf), conf, dir, at + strlen("%V24DIR%"));
	return out;
}

static void remove_v24(const char *dir)
{
	const char *files[] = {"weak.conf", "strict.conf", "changing.conf"};
	char path[512];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repeat_login_is_answered_by_the_cache),
	    cmocka_unit_test(test_password_change_is_seen_at_the_next_login),
	    cmocka_unit_test(test_nologin_is_seen_at_the_next_login),
	    cmocka_unit_test(test_wrong_password_is_never_remembered_and_drops_the_entry),
	    cmocka_unit_test(test_allow_nets_and_expiry_apply_to_a_cached_login),
	    cmocka_unit_test(test_rehash_then_cache),
	    cmocka_unit_test(test_otp_is_never_remembered),
	    cmocka_unit_test(test_weak_scheme_refused_by_another_service_of_the_process),
	    cmocka_unit_test(test_weak_scheme_refused_once_the_conf_stops_allowing_it),
	    cmocka_unit_test(test_two_cache_sizes_do_not_empty_each_other),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL) {
		char dir[] = "/tmp/pgd-vc24.XXXXXX";
		int rc;

		if (mkdtemp(dir) == NULL)
			return 1;
		setenv("PGD_VC24_DIR", dir, 1);
		write_v24("weak.conf", true);
		write_v24("strict.conf", false);
		write_v24("changing.conf", true);
		for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
			char *conf = with_dir(services[i].conf, dir);

			pgd_test_write_service(services[i].name, "debug", conf, 0600, 0);
			free(conf);
		}
		rc = pgd_test_run_in_child(argv);
		remove_v24(dir);
		return rc;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
