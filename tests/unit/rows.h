// SPDX-License-Identifier: MIT
/*
 * Table-driven unit tests: one named cmocka test per row of a case table, so that each row is
 * its own TAP line. A row is any struct whose first member is its name (const char *); the
 * test function gets the row as its state. Include after <cmocka.h>.
 */
#ifndef PGD_TEST_ROWS_H
#define PGD_TEST_ROWS_H

#include <stdint.h>
#include <stdio.h>

#define PGD_ROW_NAME_MAX 128

/*
 * Appends the nrows rows (row_size bytes each) at rows to tests from tests[*n] on, *n counting.
 * With a prefix each test is named "prefix: name", written into names[*n]; without one,
 * names may be NULL and the row's name is used as it is.
 */
static inline void pgd_test_rows(struct CMUnitTest *tests, size_t *n,
                                 char (*names)[PGD_ROW_NAME_MAX], const void *rows, size_t nrows,
                                 size_t row_size, CMUnitTestFunction fn, const char *prefix)
{
	for (size_t i = 0; i < nrows; i++) {
		const void *row = (const char *)rows + i * row_size;
		const char *name = *(const char *const *)row;

		if (prefix != NULL) {
			snprintf(names[*n], PGD_ROW_NAME_MAX, "%s: %s", prefix, name);
			name = names[*n];
		}
		tests[*n] = (struct CMUnitTest){name, fn, NULL, NULL, (void *)(uintptr_t)row};
		(*n)++;
	}
}

/* pgd_test_rows for a case array whose size the compiler knows. */
#define PGD_TEST_ROWS(tests, n, names, cases, fn, prefix)                                          \
	pgd_test_rows(tests, &(n), names, cases, sizeof(cases) / sizeof((cases)[0]),               \
	              sizeof((cases)[0]), fn, prefix)

#endif
