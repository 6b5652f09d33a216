// SPDX-License-Identifier: MIT
/*
 * Table-driven unit tests: every row of a case table becomes one named TAP test ("prefix: row
 * name"), gathered into one array of exactly the size the tables add up to, which cmocka's
 * public cmocka_run_group_tests(array, setup, teardown) runs (the array's name is the group's).
 * Include after <cmocka.h>. A row is any struct with a `const char *name` member.
 */
#ifndef PGD_TEST_ROWS_H
#define PGD_TEST_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PGD_ROW_NAME_MAX 128

/* Where the tests go: cap entries of tests, each named in the same entry of names. */
struct pgd_rows {
	struct CMUnitTest *tests;
	char (*names)[PGD_ROW_NAME_MAX];
	size_t n, cap;
};

/* Adds fn, run with state, named "prefix: name" (name alone when prefix is NULL). */
static inline void pgd_rows_add(struct pgd_rows *r, const char *prefix, const char *name,
                                CMUnitTestFunction fn, const void *state)
{
	if (r->n < r->cap) {
		if (prefix != NULL)
			snprintf(r->names[r->n], PGD_ROW_NAME_MAX, "%s: %s", prefix, name);
		else
			snprintf(r->names[r->n], PGD_ROW_NAME_MAX, "%s", name);
		r->tests[r->n] = (struct CMUnitTest){.name = r->names[r->n],
		                                     .test_func = fn,
		                                     .initial_state = (void *)(uintptr_t)state};
	}
	r->n++;
}

/* Every row of the array cases as a test of fn, whose state is the row. */
#define PGD_ROWS_ADD_TABLE(r, cases, fn, prefix)                                                   \
	for (size_t row_ = 0; row_ < sizeof(cases) / sizeof((cases)[0]); row_++)                   \
	pgd_rows_add(r, prefix, (cases)[row_].name, fn, &(cases)[row_])

/* A test function of its own, named after it as cmocka_unit_test does. */
#define PGD_ROWS_ADD_TEST(r, fn) pgd_rows_add(r, NULL, #fn, fn, NULL)

/* True when exactly cap tests were added: the array holds no empty entry and lost none. */
static inline bool pgd_rows_full(const struct pgd_rows *r)
{
	if (r->n != r->cap)
		fprintf(stderr, "%zu tests for a table of %zu\n", r->n, r->cap);
	return r->n == r->cap;
}

/* Number of rows of a table (an array, never a pointer). */
#define PGD_N_ROWS(rows) (sizeof(rows) / sizeof((rows)[0]))

/*
 * The same without prefixes, for one table whose size is known: fills tests[0 .. PGD_N_ROWS(rows)
 * - 1] with a case per row, named by the row's name field, running check with the row as its
 * state. Rows are const: the state's cast only drops that.
 */
static inline struct CMUnitTest pgd_row_case(const char *name, CMUnitTestFunction fn,
                                             const void *row)
{
	return (struct CMUnitTest){
	    .name = name, .test_func = fn, .initial_state = (void *)(uintptr_t)row};
}
#define PGD_ROW_CASES(tests, rows, check)                                                          \
	for (size_t row_ = 0; row_ < PGD_N_ROWS(rows); row_++)                                     \
	(tests)[row_] = pgd_row_case((rows)[row_].name, (check), &(rows)[row_])

#endif
