// SPDX-License-Identifier: MIT
/*
 * The verified-login cache on its own (verify_cache.c): what hits and what misses, length
 * prefixes, expiry, eviction of the oldest, forget, a fork()ed child, threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "login/verify_cache.h"

#define TTL 3600
#define SIZE 1000

/* A login of the tests: rules stands for the policy (its default scheme) unless policy is set. */
struct tl {
	const char *user, *stored, *rules, *password;
	const struct pgd_hash_policy *policy;
};

static struct tl login(const char *user, const char *stored, const char *rules,
                       const char *password)
{
	return (struct tl){.user = user, .stored = stored, .rules = rules, .password = password};
}

static struct tl with_policy(const char *user, const char *stored,
                             const struct pgd_hash_policy *policy, const char *password)
{
	return (struct tl){.user = user, .stored = stored, .policy = policy, .password = password};
}

static struct pgd_hash_policy policy_of(struct tl l)
{
	return l.policy != NULL ? *l.policy : (struct pgd_hash_policy){.default_scheme = l.rules};
}

static bool hit(unsigned long ttl, unsigned long size, struct tl l)
{
	struct pgd_hash_policy p = policy_of(l);
	struct pgd_vcache_login v = {
	    .user = l.user, .stored = l.stored, .policy = &p, .password = l.password};
	char scheme[32] = "";

	return pgd_vcache_hit(ttl, size, &v, scheme, sizeof(scheme));
}

static void remember(unsigned long ttl, unsigned long size, struct tl l)
{
	struct pgd_hash_policy p = policy_of(l);
	struct pgd_vcache_login v = {
	    .user = l.user, .stored = l.stored, .policy = &p, .password = l.password};

	pgd_vcache_remember(ttl, size, &v, NULL, 0, "SHA512-CRYPT");
}

/* Runs fn in a fork()ed child, whose cache starts empty; fails when the child fails. */
static void in_child(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* In a child: an assert that fails exits non-zero (cmocka's longjmp has no target there). */
#define CHILD_CHECK(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                 \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

static void test_same_login_hits_and_reports_its_scheme(void **state)
{
	struct tl l = login("alice@example.org", "{SHA512-CRYPT}$6$x$y", "MD5", "pw");
	struct pgd_hash_policy p = policy_of(l);
	struct pgd_vcache_login v = {
	    .user = l.user, .stored = l.stored, .policy = &p, .password = "pw"};
	char scheme[32] = "";

	(void)state;
	assert_false(hit(TTL, SIZE, l));
	remember(TTL, SIZE, l);
	assert_true(pgd_vcache_hit(TTL, SIZE, &v, scheme, sizeof(scheme)));
	assert_string_equal(scheme, "SHA512-CRYPT");
	/* off: never a hit, never remembered */
	assert_false(hit(0, SIZE, l));
	pgd_vcache_forget("alice@example.org");
	assert_false(hit(TTL, SIZE, l));
}

static void test_every_field_changes_the_mac(void **state)
{
	/* user, stored value, rules and password of the logins that must miss bob's entry */
	static const char *const misses[][4] = {
	    {"bob", "stored2", "rules", "secret"},
	    {"bob", "stored", "rules2", "secret"},
	    {"bob", "stored", "rules", "secret2"},
	    {"bob", "stored", "rules", "secre"},
	    {"bob", "stored", "rules", ""},
	    {"bob2", "stored", "rules", "secret"},
	    {"Bob", "stored", "rules", "secret"},
	    /* moving bytes from one field to the next is another login: length prefixes */
	    {"bob", "storedr", "ules", "secret"},
	    {"bob", "store", "drules", "secret"},
	    {"bob", "stored", "rulessecret", ""},
	};
	struct tl bob = login("bob", "stored", "rules", "secret");

	(void)state;
	remember(TTL, SIZE, bob);
	assert_true(hit(TTL, SIZE, bob));
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		const char *const *m = misses[i];

		if (hit(TTL, SIZE, login(m[0], m[1], m[2], m[3])))
			fail_msg("%s/%s/%s/%s hits bob's entry", m[0], m[1], m[2], m[3]);
	}
	/* and the misses above did not drop the entry */
	assert_true(hit(TTL, SIZE, bob));
}

/*
 * Every field of the verification policy binds the entry: a login verified under one policy
 * never answers under a policy that differs in any one field. The fields are enumerated from
 * PGD_HASH_POLICY_FIELDS, the list the struct itself is declared from: a field added later is
 * checked here without a change to this test.
 */
static void test_every_policy_field_changes_the_mac(void **state)
{
	const struct pgd_hash_policy base = {.default_scheme = "MD5",
	                                     .max_crypt_rounds = 5000,
	                                     .login_user = "Grace",
	                                     .dovecot = 24};
	struct pgd_hash_policy other;
	int fields = 0;

	(void)state;
	remember(TTL, SIZE, with_policy("grace", "{MD5-CRYPT}$1$x$y", &base, "pw"));
	assert_true(hit(TTL, SIZE, with_policy("grace", "{MD5-CRYPT}$1$x$y", &base, "pw")));
#define STR(name)                                                                                  \
	other = base;                                                                              \
	other.name = base.name != NULL ? NULL : "x";                                               \
	if (hit(TTL, SIZE, with_policy("grace", "{MD5-CRYPT}$1$x$y", &other, "pw")))               \
		fail_msg("a policy differing in %s reused the entry", #name);                      \
	other.name = "";                                                                           \
	if (hit(TTL, SIZE, with_policy("grace", "{MD5-CRYPT}$1$x$y", &other, "pw")))               \
		fail_msg("a policy with an empty %s reused the entry", #name);                     \
	fields++;
#define NUM(type, name)                                                                            \
	other = base;                                                                              \
	other.name = (type)!base.name;                                                             \
	if (hit(TTL, SIZE, with_policy("grace", "{MD5-CRYPT}$1$x$y", &other, "pw")))               \
		fail_msg("a policy differing in %s reused the entry", #name);                      \
	fields++;
	PGD_HASH_POLICY_FIELDS(STR, NUM)
#undef STR
#undef NUM
	assert_int_equal(fields, 11);
	/* the misses dropped nothing */
	assert_true(hit(TTL, SIZE, with_policy("grace", "{MD5-CRYPT}$1$x$y", &base, "pw")));
}

/* The two scenarios of the weak-scheme policy: another service's conf, or this conf changed. */
static void test_weak_schemes_policy_binds_the_entry(void **state)
{
	const struct pgd_hash_policy allowing = {
	    .default_scheme = "CRYPT", .login_user = "heidi", .dovecot = 24, .allow_weak = true};
	struct pgd_hash_policy strict = allowing, v23 = allowing;

	(void)state;
	strict.allow_weak = false;
	v23.dovecot = 23;
	remember(TTL, SIZE, with_policy("heidi", "{MD5-CRYPT}$1$s$h", &allowing, "pw"));
	assert_true(hit(TTL, SIZE, with_policy("heidi", "{MD5-CRYPT}$1$s$h", &allowing, "pw")));
	assert_false(hit(TTL, SIZE, with_policy("heidi", "{MD5-CRYPT}$1$s$h", &strict, "pw")));
	assert_false(hit(TTL, SIZE, with_policy("heidi", "{MD5-CRYPT}$1$s$h", &v23, "pw")));
}

/* An outage view: what verify_cache_stale_if_error asks with (no stored value). */
static struct pgd_vcache_login outage(const char *user, const struct pgd_hash_policy *policy,
                                      const char *source, const char *password)
{
	return (struct pgd_vcache_login){
	    .user = user, .policy = policy, .source = source, .password = password};
}

static void remember_both(const char *user, const char *stored,
                          const struct pgd_hash_policy *policy, const char *source,
                          const char *password)
{
	struct pgd_vcache_login v = {.user = user,
	                             .stored = stored,
	                             .policy = policy,
	                             .source = source,
	                             .password = password};
	struct pgd_vcache_login o = outage(user, policy, source, password);

	pgd_vcache_remember(TTL, SIZE, &v, &o, 3600, "SHA512-CRYPT");
}

static bool hit_outage(unsigned long stale, const char *user, const struct pgd_hash_policy *policy,
                       const char *source, const char *password)
{
	struct pgd_vcache_login o = outage(user, policy, source, password);
	char scheme[32] = "";
	bool hit = pgd_vcache_hit_outage(stale, &o, scheme, sizeof(scheme));

	assert_true(!hit || strcmp(scheme, "SHA512-CRYPT") == 0);
	return hit;
}

/*
 * verify_cache_stale_if_error's lookup: the same user, policy, source and password as a
 * remembered outage view; never a wrong password, another policy or source, an entry
 * remembered without an outage view, or one older than stale; and a miss drops nothing.
 */
static void test_outage_lookup(void **state)
{
	const struct pgd_hash_policy p = {.default_scheme = "MD5", .login_user = "ivan"};
	const struct pgd_hash_policy weak = {
	    .default_scheme = "MD5", .login_user = "ivan", .dovecot = 24, .allow_weak = true};
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 100000000};

	(void)state;
	assert_false(hit_outage(60, "ivan", &p, "src", "pw"));
	remember_both("ivan", "stored", &p, "src", "pw");
	assert_true(hit_outage(60, "ivan", &p, "src", "pw"));
	assert_false(hit_outage(60, "ivan", &p, "src", "pw2"));
	assert_false(hit_outage(60, "ivan", &p, "src", ""));
	assert_false(hit_outage(60, "ivan", &weak, "src", "pw"));
	assert_false(hit_outage(60, "ivan", &p, "other src", "pw"));
	assert_false(hit_outage(60, "ivan", &p, NULL, "pw"));
	assert_false(hit_outage(60, "Ivan", &p, "src", "pw"));
	assert_false(hit_outage(0, "ivan", &p, "src", "pw"));
	/* the misses dropped nothing */
	assert_true(hit_outage(60, "ivan", &p, "src", "pw"));
	/* the outage MAC is not the full one: the full lookup still needs the stored value */
	/* (the full MAC covers the source too: the helper's NULL source is another login) */
	assert_false(hit(TTL, SIZE, with_policy("ivan", "stored", &p, "pw")));
	/* older than stale: no answer, whatever the TTL */
	nanosleep(&pause, NULL);
	assert_false(hit_outage(1, "ivan", &p, "src", "pw"));
	assert_true(hit_outage(60, "ivan", &p, "src", "pw"));
	/* the row now restricts the account: no longer an outage answer */
	pgd_vcache_forget_outage("ivan");
	assert_false(hit_outage(60, "ivan", &p, "src", "pw"));
	/* remembered without an outage view: never an outage answer */
	remember(TTL, SIZE, with_policy("judy", "stored", &p, "pw"));
	assert_false(hit_outage(60, "judy", &p, NULL, "pw"));
	/* forgotten (a wrong password while the database answered): none either */
	remember_both("kate", "stored", &p, "src", "pw");
	pgd_vcache_forget("kate");
	assert_false(hit_outage(60, "kate", &p, "src", "pw"));
}

/* A hit (the row read again, same stored value) renews the outage clock, not the TTL's. */
static void test_hit_confirms_the_entry_for_an_outage(void **state)
{
	const struct pgd_hash_policy p = {.default_scheme = "MD5", .login_user = "leo"};
	struct pgd_vcache_login full = {
	    .user = "leo", .stored = "stored", .policy = &p, .source = "src", .password = "pw"};
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 100000000};

	(void)state;
	remember_both("leo", "stored", &p, "src", "pw");
	nanosleep(&pause, NULL);
	assert_false(hit_outage(1, "leo", &p, "src", "pw"));
	assert_true(pgd_vcache_hit(TTL, SIZE, &full, NULL, 0));
	assert_true(hit_outage(1, "leo", &p, "src", "pw"));
	/* the TTL still counts from the full verification */
	assert_false(pgd_vcache_hit(1, SIZE, &full, NULL, 0));
}

static void test_one_entry_a_user_newest_wins(void **state)
{
	size_t before;

	(void)state;
	remember(TTL, SIZE, login("carol", "old", "r", "pw1"));
	before = pgd_vcache_count();
	remember(TTL, SIZE, login("carol", "new", "r", "pw2"));
	assert_int_equal(pgd_vcache_count(), before);
	assert_false(hit(TTL, SIZE, login("carol", "old", "r", "pw1")));
	assert_true(hit(TTL, SIZE, login("carol", "new", "r", "pw2")));
}

static void test_expiry(void **state)
{
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 100000000};

	(void)state;
	remember(1, SIZE, login("dave", "s", "r", "pw"));
	assert_true(hit(1, SIZE, login("dave", "s", "r", "pw")));
	nanosleep(&pause, NULL);
	assert_false(hit(1, SIZE, login("dave", "s", "r", "pw")));
	/* the TTL is read at lookup time: a longer one still accepts it */
	assert_true(hit(TTL, SIZE, login("dave", "s", "r", "pw")));
}

static void bounded_oldest_evicted(void)
{
	char user[32];

	/* a fresh process: the first size asked for is the cache's */
	remember(TTL, 3, login("u0", "s", "r", "pw"));
	CHILD_CHECK(pgd_vcache_count() == 1);
	remember(TTL, 3, login("u1", "s", "r", "pw"));
	remember(TTL, 3, login("u2", "s", "r", "pw"));
	remember(TTL, 3, login("u3", "s", "r", "pw"));
	CHILD_CHECK(pgd_vcache_count() == 3);
	CHILD_CHECK(!hit(TTL, 3, login("u0", "s", "r", "pw")));
	CHILD_CHECK(hit(TTL, 3, login("u1", "s", "r", "pw")));
	CHILD_CHECK(hit(TTL, 3, login("u3", "s", "r", "pw")));
	/* many more users than room: never more than size entries, the newest kept */
	for (int i = 0; i < 5000; i++) {
		snprintf(user, sizeof(user), "many%d", i);
		remember(TTL, 3, login(user, "s", "r", "pw"));
		CHILD_CHECK(pgd_vcache_count() <= 3);
	}
	CHILD_CHECK(hit(TTL, 3, login("many4999", "s", "r", "pw")));
	CHILD_CHECK(!hit(TTL, 3, login("many4996", "s", "r", "pw")));
	/* forgetting leaves a hole the ring reuses */
	pgd_vcache_forget("many4998");
	CHILD_CHECK(pgd_vcache_count() == 2);
	CHILD_CHECK(!hit(TTL, 3, login("many4998", "s", "r", "pw")));
	CHILD_CHECK(hit(TTL, 3, login("many4997", "s", "r", "pw")));
}

static void test_bounded_oldest_evicted(void **state)
{
	(void)state;
	in_child(bounded_oldest_evicted);
}

/*
 * Two confs of one process asking different sizes (saslauthd: imap's conf and smtp's): one
 * cache, sized by the largest, and neither empties it. Growing keeps every entry and the
 * order of eviction.
 */
static void two_sizes_share_one_cache(void)
{
	char user[32];

	remember(TTL, 3, login("small1", "s", "r", "pw"));
	remember(TTL, 3, login("small2", "s", "r", "pw"));
	/* the other conf: a larger size grows the cache, the entries stay */
	remember(TTL, 10, login("large1", "s", "r", "pw"));
	CHILD_CHECK(pgd_vcache_count() == 3);
	CHILD_CHECK(hit(TTL, 10, login("small1", "s", "r", "pw")));
	CHILD_CHECK(hit(TTL, 3, login("small2", "s", "r", "pw")));
	/* switching back and forth empties nothing */
	for (int i = 0; i < 20; i++) {
		CHILD_CHECK(hit(TTL, 3, login("large1", "s", "r", "pw")));
		CHILD_CHECK(hit(TTL, 10, login("small1", "s", "r", "pw")));
	}
	remember(TTL, 3, login("small3", "s", "r", "pw"));
	CHILD_CHECK(pgd_vcache_count() == 4);
	CHILD_CHECK(hit(TTL, 10, login("small3", "s", "r", "pw")));
	CHILD_CHECK(hit(TTL, 3, login("large1", "s", "r", "pw")));
	/* bounded by the largest size asked: 10 entries, the oldest (small1) evicted first */
	for (int i = 0; i < 7; i++) {
		snprintf(user, sizeof(user), "fill%d", i);
		remember(TTL, 3, login(user, "s", "r", "pw"));
	}
	CHILD_CHECK(pgd_vcache_count() == 10);
	CHILD_CHECK(!hit(TTL, 3, login("small1", "s", "r", "pw")));
	CHILD_CHECK(hit(TTL, 3, login("small2", "s", "r", "pw")));
	CHILD_CHECK(hit(TTL, 3, login("fill6", "s", "r", "pw")));
	/* a size above the bound of verify_cache_size is no cache */
	CHILD_CHECK(!hit(TTL, 100001, login("small2", "s", "r", "pw")));
}

static void test_two_sizes_share_one_cache(void **state)
{
	(void)state;
	in_child(two_sizes_share_one_cache);
}

static void test_forked_child_starts_empty(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	remember(TTL, SIZE, login("erin", "s", "r", "pw"));
	assert_true(hit(TTL, SIZE, login("erin", "s", "r", "pw")));
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		bad |= pgd_vcache_count() != 0;
		bad |= hit(TTL, SIZE, login("erin", "s", "r", "pw")) << 1;
		/* its own entries work, under its own key */
		remember(TTL, SIZE, login("frank", "s", "r", "pw"));
		bad |= !hit(TTL, SIZE, login("frank", "s", "r", "pw")) << 2;
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the parent's entry is untouched, and the child's is not the parent's */
	assert_true(hit(TTL, SIZE, login("erin", "s", "r", "pw")));
	assert_false(hit(TTL, SIZE, login("frank", "s", "r", "pw")));
}

#define THREADS 8
#define ROUNDS 2000

static void *hammer(void *arg)
{
	intptr_t id = (intptr_t)arg;
	char user[32];
	long wrong = 0;

	for (int i = 0; i < ROUNDS; i++) {
		snprintf(user, sizeof(user), "t%ld-%d", (long)id, i % 50);
		remember(TTL, 64, login(user, "s", "r", "pw"));
		/* a hit for the right password is likely (others evict); one for a wrong one never
		 */
		(void)hit(TTL, 64, login(user, "s", "r", "pw"));
		wrong += hit(TTL, 64, login(user, "s", "r", "not pw"));
		if (i % 7 == 0)
			pgd_vcache_forget(user);
	}
	return (void *)wrong;
}

/*
 * In a fresh child, where the longest TTL asked is 1 s and the longest stale_if_error 3 s: the
 * calls that follow wipe an entry once neither can accept it, a few slots each.
 */
static void old_entries_are_wiped(void)
{
	const struct pgd_hash_policy p = {.default_scheme = "MD5", .login_user = "kept"};
	struct pgd_vcache_login full = {
	    .user = "kept", .stored = "s", .policy = &p, .source = "src", .password = "pw"};
	struct pgd_vcache_login o = outage("kept", &p, "src", "pw");
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 100000000};

	remember(1, 16, login("old", "s", "r", "pw"));
	pgd_vcache_remember(1, 16, &full, &o, 3, "SHA512-CRYPT");
	CHILD_CHECK(pgd_vcache_count() == 2);
	nanosleep(&pause, NULL);
	for (int i = 0; i < 2; i++) /* 16 slots, 8 a call */
		CHILD_CHECK(!hit(1, 16, login("nobody", "s", "r", "pw")));
	/* past the TTL: the plain entry is gone, the one an outage may use is not */
	CHILD_CHECK(pgd_vcache_count() == 1);
	CHILD_CHECK(pgd_vcache_hit_outage(3, &o, NULL, 0));
	nanosleep(&pause, NULL);
	nanosleep(&pause, NULL);
	for (int i = 0; i < 2; i++)
		CHILD_CHECK(!pgd_vcache_hit_outage(3, &o, NULL, 0));
	CHILD_CHECK(pgd_vcache_count() == 0);
}

static void test_old_entries_are_wiped(void **state)
{
	(void)state;
	in_child(old_entries_are_wiped);
}

/* In a fresh child: its cache is the 64 entries the threads ask for. */
static void threads(void)
{
	pthread_t t[THREADS];

	for (intptr_t i = 0; i < THREADS; i++)
		CHILD_CHECK(pthread_create(&t[i], NULL, hammer, (void *)i) == 0);
	for (int i = 0; i < THREADS; i++) {
		void *wrong = NULL;

		CHILD_CHECK(pthread_join(t[i], &wrong) == 0);
		CHILD_CHECK(wrong == NULL);
	}
	CHILD_CHECK(pgd_vcache_count() <= 64);
}

static void test_threads(void **state)
{
	(void)state;
	in_child(threads);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_login_hits_and_reports_its_scheme),
	    cmocka_unit_test(test_every_field_changes_the_mac),
	    cmocka_unit_test(test_every_policy_field_changes_the_mac),
	    cmocka_unit_test(test_weak_schemes_policy_binds_the_entry),
	    cmocka_unit_test(test_outage_lookup),
	    cmocka_unit_test(test_hit_confirms_the_entry_for_an_outage),
	    cmocka_unit_test(test_one_entry_a_user_newest_wins),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_bounded_oldest_evicted),
	    cmocka_unit_test(test_two_sizes_share_one_cache),
	    cmocka_unit_test(test_old_entries_are_wiped),
	    cmocka_unit_test(test_forked_child_starts_empty),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
