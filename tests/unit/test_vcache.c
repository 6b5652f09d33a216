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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "verify_cache.h"

#define TTL 3600
#define SIZE 1000

static struct pgd_vcache_login L(const char *user, const char *stored, const char *rules,
                                 const char *password) {
	return (struct pgd_vcache_login){
	    .user = user, .stored = stored, .rules = rules, .password = password};
}

static bool
hit(unsigned long ttl, unsigned long size, struct pgd_vcache_login l)
{
	char scheme[32] = "";

	return pgd_vcache_hit(ttl, size, &l, scheme, sizeof(scheme));
}

static void remember(unsigned long ttl, unsigned long size, struct pgd_vcache_login l)
{
	pgd_vcache_remember(ttl, size, &l, "SHA512-CRYPT");
}

static void test_same_login_hits_and_reports_its_scheme(void **state)
{
	struct pgd_vcache_login l = L("alice@example.org", "{SHA512-CRYPT}$6$x$y", "MD5|0", "pw");
	char scheme[32] = "";

	(void)state;
	assert_false(hit(TTL, SIZE, l));
	remember(TTL, SIZE, l);
	assert_true(pgd_vcache_hit(TTL, SIZE, &l, scheme, sizeof(scheme)));
	assert_string_equal(scheme, "SHA512-CRYPT");
	/* off: never a hit, never remembered */
	assert_false(hit(0, SIZE, l));
	pgd_vcache_forget("alice@example.org");
	assert_false(hit(TTL, SIZE, l));
}

static void test_every_field_changes_the_mac(void **state)
{
	(void)state;
	remember(TTL, SIZE, L("bob", "stored", "rules", "secret"));
	assert_true(hit(TTL, SIZE, L("bob", "stored", "rules", "secret")));
	assert_false(hit(TTL, SIZE, L("bob", "stored2", "rules", "secret")));
	assert_false(hit(TTL, SIZE, L("bob", "stored", "rules2", "secret")));
	assert_false(hit(TTL, SIZE, L("bob", "stored", "rules", "secret2")));
	assert_false(hit(TTL, SIZE, L("bob", "stored", "rules", "secre")));
	assert_false(hit(TTL, SIZE, L("bob", "stored", "rules", "")));
	assert_false(hit(TTL, SIZE, L("bob2", "stored", "rules", "secret")));
	assert_false(hit(TTL, SIZE, L("Bob", "stored", "rules", "secret")));
	/* moving bytes from one field to the next is another login: length prefixes */
	assert_false(hit(TTL, SIZE, L("bob", "storedr", "ules", "secret")));
	assert_false(hit(TTL, SIZE, L("bob", "store", "drules", "secret")));
	assert_false(hit(TTL, SIZE, L("bob", "stored", "rulessecret", "")));
	/* and the misses above did not drop the entry */
	assert_true(hit(TTL, SIZE, L("bob", "stored", "rules", "secret")));
}

static void test_one_entry_a_user_newest_wins(void **state)
{
	size_t before;

	(void)state;
	remember(TTL, SIZE, L("carol", "old", "r", "pw1"));
	before = pgd_vcache_count();
	remember(TTL, SIZE, L("carol", "new", "r", "pw2"));
	assert_int_equal(pgd_vcache_count(), before);
	assert_false(hit(TTL, SIZE, L("carol", "old", "r", "pw1")));
	assert_true(hit(TTL, SIZE, L("carol", "new", "r", "pw2")));
}

static void test_expiry(void **state)
{
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 100000000};

	(void)state;
	remember(1, SIZE, L("dave", "s", "r", "pw"));
	assert_true(hit(1, SIZE, L("dave", "s", "r", "pw")));
	nanosleep(&pause, NULL);
	assert_false(hit(1, SIZE, L("dave", "s", "r", "pw")));
	/* the TTL is read at lookup time: a longer one still accepts it */
	assert_true(hit(TTL, SIZE, L("dave", "s", "r", "pw")));
}

static void test_bounded_oldest_evicted(void **state)
{
	char user[32];

	(void)state;
	/* another size empties the cache (and draws a new key) */
	remember(TTL, 3, L("u0", "s", "r", "pw"));
	assert_int_equal(pgd_vcache_count(), 1);
	remember(TTL, 3, L("u1", "s", "r", "pw"));
	remember(TTL, 3, L("u2", "s", "r", "pw"));
	remember(TTL, 3, L("u3", "s", "r", "pw"));
	assert_int_equal(pgd_vcache_count(), 3);
	assert_false(hit(TTL, 3, L("u0", "s", "r", "pw")));
	assert_true(hit(TTL, 3, L("u1", "s", "r", "pw")));
	assert_true(hit(TTL, 3, L("u3", "s", "r", "pw")));
	/* many more users than room: never more than size entries, the newest kept */
	for (int i = 0; i < 5000; i++) {
		snprintf(user, sizeof(user), "many%d", i);
		remember(TTL, 3, L(user, "s", "r", "pw"));
		assert_true(pgd_vcache_count() <= 3);
	}
	assert_true(hit(TTL, 3, L("many4999", "s", "r", "pw")));
	assert_false(hit(TTL, 3, L("many4996", "s", "r", "pw")));
	/* forgetting leaves a hole the ring reuses */
	pgd_vcache_forget("many4998");
	assert_int_equal(pgd_vcache_count(), 2);
	assert_false(hit(TTL, 3, L("many4998", "s", "r", "pw")));
	assert_true(hit(TTL, 3, L("many4997", "s", "r", "pw")));
}

static void test_forked_child_starts_empty(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	remember(TTL, SIZE, L("erin", "s", "r", "pw"));
	assert_true(hit(TTL, SIZE, L("erin", "s", "r", "pw")));
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		bad |= pgd_vcache_count() != 0;
		bad |= hit(TTL, SIZE, L("erin", "s", "r", "pw")) << 1;
		/* its own entries work, under its own key */
		remember(TTL, SIZE, L("frank", "s", "r", "pw"));
		bad |= !hit(TTL, SIZE, L("frank", "s", "r", "pw")) << 2;
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the parent's entry is untouched, and the child's is not the parent's */
	assert_true(hit(TTL, SIZE, L("erin", "s", "r", "pw")));
	assert_false(hit(TTL, SIZE, L("frank", "s", "r", "pw")));
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
		remember(TTL, 64, L(user, "s", "r", "pw"));
		/* a hit for the right password is likely (others evict); one for a wrong one never
		 */
		(void)hit(TTL, 64, L(user, "s", "r", "pw"));
		wrong += hit(TTL, 64, L(user, "s", "r", "not pw"));
		if (i % 7 == 0)
			pgd_vcache_forget(user);
	}
	return (void *)wrong;
}

static void test_threads(void **state)
{
	pthread_t t[THREADS];

	(void)state;
	for (intptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
	for (int i = 0; i < THREADS; i++) {
		void *wrong = NULL;

		assert_int_equal(pthread_join(t[i], &wrong), 0);
		assert_null(wrong);
	}
	assert_true(pgd_vcache_count() <= 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_login_hits_and_reports_its_scheme),
	    cmocka_unit_test(test_every_field_changes_the_mac),
	    cmocka_unit_test(test_one_entry_a_user_newest_wins),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_bounded_oldest_evicted),
	    cmocka_unit_test(test_forked_child_starts_empty),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
