// SPDX-License-Identifier: MIT
/* The audit's report: counts per class and detail, a few login names, text or JSON. */
#include "audit_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/printable.h"

static const char *const cls_name[CLS_COUNT] = {"verify", "weak", "refused", "disabled",
                                                "unreachable"};

/* Login names shown: this many bytes of each at most, then "...". */
#define NAME_SHOWN 192

/* Counts key (quoted through util/printable.h: a scheme or a reason may come from a row). */
static void count_key(struct pgd_audit_tally *t, size_t *n, const char *raw)
{
	char key[PGD_AUDIT_KEY_LEN];

	pgd_printable(raw, key, sizeof(key));
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(t[i].key, key) == 0) {
			t[i].n++;
			return;
		}
	}
	if (*n < PGD_AUDIT_MAX_KEYS) {
		snprintf(t[*n].key, sizeof(t[*n].key), "%s", key);
		t[(*n)++].n = 1;
		return;
	}
	snprintf(t[PGD_AUDIT_MAX_KEYS].key, sizeof(t[PGD_AUDIT_MAX_KEYS].key), "other");
	t[PGD_AUDIT_MAX_KEYS].n++;
}

void pgd_audit_report_add(struct pgd_audit_report *rep, const struct pgd_audit_job *job)
{
	char shown[NAME_SHOWN * 4 + 4];

	rep->users++;
	rep->cls[job->cls]++;
	count_key(rep->keys[job->cls], &rep->nkeys[job->cls], job->key);
	if (job->scheme[0] != '\0')
		count_key(rep->schemes, &rep->nschemes, job->scheme);
	if (job->upgradable)
		rep->upgradable++;
	if (job->cls == CLS_REFUSED && job->refused_weak)
		rep->refused_weak++;
	if (job->renamed)
		rep->renamed++;
	if (rep->nexamples[job->cls] < rep->max_examples) {
		pgd_printable_n(job->name, NAME_SHOWN, shown, sizeof(shown), PGD_PRINT_BLANKS);
		if (strnlen(job->name, NAME_SHOWN + 1) > NAME_SHOWN)
			strcat(shown, "...");
		rep->examples[job->cls][rep->nexamples[job->cls]] = strdup(shown);
		if (rep->examples[job->cls][rep->nexamples[job->cls]] != NULL)
			rep->nexamples[job->cls]++;
	}
}

unsigned long pgd_audit_report_cannot(const struct pgd_audit_report *rep)
{
	return rep->cls[CLS_REFUSED] + rep->cls[CLS_DISABLED] + rep->cls[CLS_UNREACHABLE];
}

static void verdict(const struct pgd_audit_report *rep, char *out, size_t len)
{
	if (rep->users == 0)
		snprintf(out, len, "the list is empty: no user to check");
	else if (pgd_audit_report_cannot(rep) == 0)
		snprintf(out, len, "all %lu users can log in with their password%s", rep->users,
		         rep->cls[CLS_WEAK] != 0 ? " (some through weak schemes)" : "");
	else
		snprintf(
		    out, len,
		    "%lu of %lu users cannot log in (%lu refused, %lu disabled, %lu unreachable)",
		    pgd_audit_report_cannot(rep), rep->users, rep->cls[CLS_REFUSED],
		    rep->cls[CLS_DISABLED], rep->cls[CLS_UNREACHABLE]);
}

/* A JSON string of s, which util/printable.h has made printable ASCII already. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_tally(const struct pgd_audit_tally *t, size_t n)
{
	bool first = true;

	putchar('{');
	for (size_t i = 0; i <= PGD_AUDIT_MAX_KEYS; i++) {
		if (i == n && i < PGD_AUDIT_MAX_KEYS)
			i = PGD_AUDIT_MAX_KEYS;
		if (t[i].n == 0)
			continue;
		printf("%s", first ? "" : ", ");
		json_str(t[i].key);
		printf(": %lu", t[i].n);
		first = false;
	}
	putchar('}');
}

void pgd_audit_report_json(const struct pgd_audit_report *rep, const struct pgd_conf *conf,
                           const char *source)
{
	char v[256], scheme[128];

	printf("{\"users\": %lu, \"classes\": {", rep->users);
	for (int c = 0; c < CLS_COUNT; c++)
		printf("%s\"%s\": %lu", c ? ", " : "", cls_name[c], rep->cls[c]);
	printf("}, \"schemes\": ");
	json_tally(rep->schemes, rep->nschemes);
	printf(", \"details\": {");
	for (int c = 0; c < CLS_COUNT; c++) {
		printf("%s\"%s\": ", c ? ", " : "", cls_name[c]);
		json_tally(rep->keys[c], rep->nkeys[c]);
	}
	printf("}, \"examples\": {");
	for (int c = 0; c < CLS_COUNT; c++) {
		printf("%s\"%s\": [", c ? ", " : "", cls_name[c]);
		for (size_t i = 0; i < rep->nexamples[c]; i++) {
			printf("%s", i ? ", " : "");
			json_str(rep->examples[c][i]);
		}
		putchar(']');
	}
	printf("}, \"upgradable\": %lu, \"refused_weak\": %lu, \"renamed\": %lu, "
	       "\"allow_rename\": %s, \"update_scheme\": ",
	       rep->upgradable, rep->refused_weak, rep->renamed,
	       conf->allow_rename ? "true" : "false");
	json_str(pgd_printable_word(conf->update_scheme, scheme, sizeof(scheme)));
	printf(", \"rehash\": %s, \"rehash_any_scheme\": %s, \"unnamed_rows\": %lu, \"list\": ",
	       conf->rehash ? "true" : "false", conf->rehash_any_scheme ? "true" : "false",
	       rep->unnamed);
	json_str(source);
	verdict(rep, v, sizeof(v));
	printf(", \"verdict\": ");
	json_str(v);
	printf("}\n");
}

void pgd_audit_report_text(const struct pgd_audit_report *rep, const struct pgd_conf *conf,
                           const char *source)
{
	char v[256], scheme[128];

	printf("users: %lu (listed by %s)\n", rep->users, source);
	printf("%-12s %8s  %s\n", "class", "users", "scheme or reason");
	for (int c = 0; c < CLS_COUNT; c++) {
		const struct pgd_audit_tally *t = rep->keys[c];

		if (rep->cls[c] == 0) {
			printf("%-12s %8lu\n", cls_name[c], 0UL);
			continue;
		}
		for (size_t i = 0; i <= PGD_AUDIT_MAX_KEYS; i++) {
			if (i == rep->nkeys[c] && i < PGD_AUDIT_MAX_KEYS)
				i = PGD_AUDIT_MAX_KEYS;
			if (t[i].n != 0)
				printf("%-12s %8lu  %s\n", cls_name[c], t[i].n, t[i].key);
		}
	}
	if (rep->cls[CLS_WEAK] != 0)
		printf("weak: Dovecot 2.4 refuses these schemes unless auth_allow_weak_schemes = "
		       "yes\n");
	if (rep->refused_weak != 0)
		printf(
		    "refused: %lu stored values are in weak schemes this Dovecot 2.4 file refuses: "
		    "auth_allow_weak_schemes = yes lets them in, and rehash = yes then replaces "
		    "each at its next login\n",
		    rep->refused_weak);
	if (rep->upgradable != 0)
		printf("rehash: %lu stored values are %s update_scheme %s (%s)\n", rep->upgradable,
		       conf->rehash_any_scheme ? "upgradable to" : "weaker than",
		       pgd_printable_word(conf->update_scheme, scheme, sizeof(scheme)),
		       conf->rehash ? "rehash = yes replaces each at its next login"
		                    : "rehash = no keeps them");
	if (rep->renamed != 0)
		printf("renamed: %lu rows rename their login (a user, username or domain column "
		       "names another user): %s\n",
		       rep->renamed,
		       conf->allow_rename ? "allow_rename = yes lets them in under the new name"
		                          : "refused without allow_rename = yes");
	if (rep->unnamed != 0)
		printf("list: %lu rows without a name were skipped\n", rep->unnamed);
	for (int c = 0; c < CLS_COUNT; c++) {
		if (rep->nexamples[c] == 0)
			continue;
		printf("%s:", cls_name[c]);
		for (size_t i = 0; i < rep->nexamples[c]; i++)
			printf(" %s", rep->examples[c][i]);
		printf("%s\n", rep->cls[c] > rep->nexamples[c] ? " ..." : "");
	}
	verdict(rep, v, sizeof(v));
	printf("verdict: %s\n", v);
}

void pgd_audit_report_free(struct pgd_audit_report *rep)
{
	for (int c = 0; c < CLS_COUNT; c++)
		for (size_t i = 0; i < rep->nexamples[c]; i++)
			free(rep->examples[c][i]);
	free(rep);
}
