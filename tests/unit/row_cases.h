// SPDX-License-Identifier: MIT
/* The table-driven unit tests' cases: one cmocka case per row of a table. */
#ifndef PGD_TEST_ROW_CASES_H
#define PGD_TEST_ROW_CASES_H

#include <stdint.h>

/* Number of rows of a table (an array, never a pointer). */
#define PGD_N_ROWS(rows) (sizeof(rows) / sizeof((rows)[0]))

/*
 * Fills tests[0 .. PGD_N_ROWS(rows) - 1] with a case per row: named by the row's name field,
 * running check with the row as its state. Rows are const: the state's cast only drops that.
 */
#define PGD_ROW_CASES(tests, rows, check)                                                          \
	for (size_t row_ = 0; row_ < PGD_N_ROWS(rows); row_++)                                     \
		(tests)[row_] = (struct CMUnitTest){(rows)[row_].name, (check), NULL, NULL,        \
		                                    (void *)(uintptr_t)&(rows)[row_]}

#endif
