// SPDX-License-Identifier: MIT
#ifndef PGD_VECTOR_HEX_H
#define PGD_VECTOR_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "hash.h"

/*
 * Decodes a password field of the TSV files in tests/vectors (lowercase hex) into out as a
 * NUL-terminated string of at most cap - 1 bytes; false on bad hex, an odd length, an inner NUL or
 * no room.
 */
bool pgd_vector_unhex(const char *hex, char *out, size_t cap);

/* A vector file being read, row by row (the unit tests' loop over every doveadm-made row). */
struct pgd_vectors {
	FILE *f;
	char path[4096];
	unsigned lineno;
	char line[8192];
	char *field[4];      /* the row's tab-separated fields; field[1] is the password in hex */
	char password[4096]; /* field[1] decoded, wiped before the next row */
};

/* Opens $PGD_VECTORS/name; skips the test when PGD_VECTORS is unset, fails it when the file
 * cannot be opened. */
void pgd_vectors_open(struct pgd_vectors *v, const char *name);

/* The next row of nfields (2 to 4) fields, blank lines and # comments passed over; false at the
 * end, the file then closed. A malformed row fails the test. */
bool pgd_vectors_next(struct pgd_vectors *v, int nfields);

/*
 * Whether our result r agrees with doveadm's verdict: "match" wants a match, "fail" a malformed
 * or unsupported value, "mismatch" a mismatch or a malformed value (Dovecot calls some broken
 * values a mismatch; we say why, never a login; those are counted in *stricter). An unknown
 * verdict fails the test.
 */
bool pgd_vectors_agree(const struct pgd_vectors *v, const char *verdict, enum pgd_hash_result r,
                       unsigned *stricter);

/* Seconds on CLOCK_MONOTONIC, for the tests' time bounds. */
double pgd_test_now(void);

/*
 * Verifies the password "secret" against stored under policy; fails the test, naming case i,
 * unless the result is want and, when detail is not NULL, info.detail holds detail.
 */
void pgd_expect_verify(size_t i, const char *stored, const struct pgd_hash_policy *policy,
                       enum pgd_hash_result want, const char *detail);

/* Exit status of `doveadm pw -t stored -p password [-u user]` (user may be NULL), or -1 if
 * doveadm cannot run here. */
int pgd_doveadm_verify(const char *stored, const char *password, const char *user);

/* A scheme to generate a value of, at rounds (0: its default), and how that value starts. */
struct pgd_gen_case {
	const char *scheme;
	unsigned long rounds;
	const char *prefix;
};

/* What doveadm said of generated values: it accepted one (seen), it cannot run here (missing). */
struct pgd_doveadm {
	bool seen, missing;
};

/*
 * Generates a value of c for password as user (NULL for none) and fails the test unless it
 * starts with c->prefix, spells out no default rounds, verifies with password and is a
 * mismatch for another; with ask_doveadm, `doveadm pw -t` must accept it too when doveadm runs.
 */
void pgd_expect_generated(const struct pgd_gen_case *c, const char *password, const char *user,
                          bool ask_doveadm, struct pgd_doveadm *d);

#endif
