// SPDX-License-Identifier: MIT
/*
 * The helpers of util/: the one printable copy every log line and terminal output goes through,
 * the growing buffer that wipes, the string-is-set check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/printable.h"
#include "util/str.h"

static void test_printable_every_byte(void **state)
{
	char in[2], out[8];

	(void)state;
	for (int c = 1; c < 256; c++) {
		in[0] = (char)c;
		in[1] = '\0';
		pgd_printable(in, out, sizeof(out));
		if (c > 0x20 && c < 0x7f && c != '\\') {
			assert_int_equal(strlen(out), 1);
			assert_int_equal((unsigned char)out[0], c);
		} else if (c == ' ') {
			assert_string_equal(out, " ");
		} else {
			char want[8];

			snprintf(want, sizeof(want), "\\x%02x", c);
			assert_string_equal(out, want);
		}
		/* a word escapes the blank too */
		pgd_printable_word(in, out, sizeof(out));
		for (const char *p = out; *p != '\0'; p++)
			assert_true(*p > 0x20 && *p < 0x7f);
	}
}

static void test_printable_examples(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(pgd_printable("a b\tc\n\x1b[31m\\", out, sizeof(out)),
	                    "a b\\x09c\\x0a\\x1b[31m\\x5c");
	assert_string_equal(pgd_printable_word("joe user\xc3\xa9", out, sizeof(out)),
	                    "joe\\x20user\\xc3\\xa9");
	assert_string_equal(pgd_printable(NULL, out, sizeof(out)), "");
	/* n bytes only, and a NUL before n ends it */
	assert_string_equal(pgd_printable_n("abcdef", 3, out, sizeof(out), 0), "abc");
	assert_string_equal(pgd_printable_n("ab\0cd", 5, out, sizeof(out), 0), "ab");
}

static void test_printable_cut(void **state)
{
	char out[6];

	(void)state;
	/* never half an escape: "ab" fits, "\x0a" (4 bytes) would not */
	assert_string_equal(pgd_printable("ab\ncd", out, sizeof(out)), "ab");
	assert_string_equal(pgd_printable("abcdefgh", out, sizeof(out)), "abcde");
	assert_string_equal(pgd_printable("\n", out, sizeof(out)), "\\x0a");
	out[0] = 'x';
	pgd_printable("abc", out, 1);
	assert_string_equal(out, "");
	pgd_printable("abc", out, 0);
	assert_int_equal(out[0], '\0');
}

static void test_buf(void **state)
{
	struct pgd_buf b = {0};
	char *s;

	(void)state;
	s = pgd_buf_take(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(pgd_buf_last(&b, 0), '\0');
	for (int i = 0; i < 1000; i++)
		pgd_buf_adds(&b, "0123456789");
	pgd_buf_addc(&b, '!');
	assert_int_equal(b.len, 10001);
	assert_int_equal(pgd_buf_last(&b, 0), '!');
	assert_int_equal(pgd_buf_last(&b, 1), '9');
	assert_int_equal(pgd_buf_last(&b, 10001), '\0');
	s = pgd_buf_take(&b);
	assert_non_null(s);
	assert_int_equal(strlen(s), 10001);
	assert_null(b.p);
	free(s);

	pgd_buf_add(&b, "abc", 3);
	pgd_buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);

	/* failure is sticky and take answers NULL */
	pgd_buf_add(&b, "x", 1);
	pgd_buf_add(&b, "x", SIZE_MAX / 2);
	assert_true(b.failed);
	pgd_buf_adds(&b, "more");
	assert_null(pgd_buf_take(&b));
	assert_false(b.failed);
}

static void test_str_set(void **state)
{
	(void)state;
	assert_false(pgd_str_set(NULL));
	assert_false(pgd_str_set(""));
	assert_true(pgd_str_set(" "));
	assert_true(pgd_str_set("x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_printable_every_byte),
	    cmocka_unit_test(test_printable_examples),
	    cmocka_unit_test(test_printable_cut),
	    cmocka_unit_test(test_buf),
	    cmocka_unit_test(test_str_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
