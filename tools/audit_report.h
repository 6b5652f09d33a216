// SPDX-License-Identifier: MIT
#ifndef PGD_AUDIT_REPORT_H
#define PGD_AUDIT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

/*
 * What the audit found: every listed user in exactly one class (the first that applies, in the
 * order unreachable > disabled > refused > weak > verify), counted per detail, with a few login
 * names per class; printed as text or as one JSON object. Everything it quotes from a row or
 * the conf goes through util/printable.h.
 */

/* Distinct details (scheme and cost, reason) counted per class; the rest count as "other". */
#define PGD_AUDIT_MAX_KEYS 48
#define PGD_AUDIT_KEY_LEN 96
#define PGD_AUDIT_MAX_EXAMPLES 100

enum pgd_audit_class {
	CLS_VERIFY,
	CLS_WEAK,
	CLS_REFUSED,
	CLS_DISABLED,
	CLS_UNREACHABLE,
	CLS_COUNT
};

/* What the audit found about one listed user. */
struct pgd_audit_job {
	const char *name; /* as listed; not owned */
	char *canonical;  /* after username_format, owned */
	enum pgd_audit_class cls;
	char key[PGD_AUDIT_KEY_LEN];
	char scheme[32];
	bool decided, upgradable, refused_weak, renamed;
};

struct pgd_audit_tally {
	char key[PGD_AUDIT_KEY_LEN];
	unsigned long n;
};

/* Start from calloc'ed memory with max_examples set; free with pgd_audit_report_free. */
struct pgd_audit_report {
	/* refused_weak: refused by Dovecot 2.4's rules without auth_allow_weak_schemes */
	/* renamed: the row renames the login (its user, username or domain column) */
	unsigned long users, cls[CLS_COUNT], upgradable, unnamed, refused_weak, renamed;
	struct pgd_audit_tally keys[CLS_COUNT][PGD_AUDIT_MAX_KEYS + 1]; /* the last: "other" */
	size_t nkeys[CLS_COUNT];
	struct pgd_audit_tally schemes[PGD_AUDIT_MAX_KEYS + 1];
	size_t nschemes;
	char *examples[CLS_COUNT][PGD_AUDIT_MAX_EXAMPLES];
	size_t nexamples[CLS_COUNT];
	size_t max_examples;
};

/* Counts a decided job. */
void pgd_audit_report_add(struct pgd_audit_report *rep, const struct pgd_audit_job *job);

/* The users who cannot log in: refused, disabled and unreachable. */
unsigned long pgd_audit_report_cannot(const struct pgd_audit_report *rep);

/* The report on standard output; source names what listed the users. */
void pgd_audit_report_text(const struct pgd_audit_report *rep, const struct pgd_conf *conf,
                           const char *source);
void pgd_audit_report_json(const struct pgd_audit_report *rep, const struct pgd_conf *conf,
                           const char *source);

void pgd_audit_report_free(struct pgd_audit_report *rep);

#endif
