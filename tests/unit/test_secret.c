// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/secret.h"

static void test_wipe(void **state)
{
	unsigned char buf[32];
	unsigned char zero[sizeof(buf)] = {0};

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	pgd_wipe(buf, sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(buf));

	/* n = 0 touches nothing; NULL is fine */
	memset(buf, 0xa5, sizeof(buf));
	pgd_wipe(buf, 0);
	assert_int_equal(buf[0], 0xa5);
	pgd_wipe(NULL, 0);
	pgd_wipe(NULL, 8);

	/* only the first n bytes */
	pgd_wipe(buf, 4);
	assert_int_equal(buf[3], 0);
	assert_int_equal(buf[4], 0xa5);
}

static void test_free_secret(void **state)
{
	(void)state;
	pgd_free_secret(NULL);
	pgd_free_secret(strdup(""));
	pgd_free_secret(strdup("hunter2"));
}

struct mem_case {
	const char *a, *b;
	size_t n;
	bool equal;
};

static void test_ct_memeq(void **state)
{
	static const struct mem_case cases[] = {
	    {"", "", 0, true},
	    {"abc", "xyz", 0, true}, /* nothing compared */
	    {"abc", "abc", 3, true},
	    {"abc", "abd", 3, false},
	    {"abc", "xbc", 3, false},
	    {"abc", "abd", 2, true}, /* the difference is past n */
	    {"a\0b", "a\0b", 3, true},
	    {"a\0b", "a\0c", 3, false}, /* NULs are bytes like any other */
	    {"\xff\x80", "\xff\x80", 2, true},
	    {"\xff\x80", "\x7f\x80", 2, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mem_case *c = &cases[i];

		if (pgd_ct_memeq(c->a, c->b, c->n) != c->equal)
			fail_msg("case %zu: ct_memeq(n=%zu) should be %d", i, c->n, c->equal);
	}
}

struct str_case {
	const char *a, *b;
	bool equal;
};

static void test_ct_streq(void **state)
{
	static const struct str_case cases[] = {
	    {"", "", true},
	    {"", "a", false},
	    {"a", "", false},
	    {"a", "a", true},
	    {"abc", "abc", true},
	    {"abc", "abd", false},
	    {"abc", "xbc", false},
	    {"abc", "ab", false}, /* b is a prefix of a */
	    {"ab", "abc", false}, /* a is a prefix of b */
	    {"abc", "abc ", false},
	    {"$6$salt$hash", "$6$salt$hash", true},
	    {"$6$salt$hash", "$6$salt$hasH", false},
	    {"caf\xc3\xa9", "caf\xc3\xa9", true},
	    {"caf\xc3\xa9", "caf\xc3\xa8", false},
	    {"\x80", "\x00", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct str_case *c = &cases[i];

		if (pgd_ct_streq(c->a, c->b) != c->equal)
			fail_msg("case %zu: ct_streq(\"%s\", \"%s\") should be %d", i, c->a, c->b,
			         c->equal);
		if (pgd_ct_streq(c->b, c->a) != c->equal)
			fail_msg("case %zu: ct_streq is not symmetric", i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wipe),
	    cmocka_unit_test(test_free_secret),
	    cmocka_unit_test(test_ct_memeq),
	    cmocka_unit_test(test_ct_streq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
