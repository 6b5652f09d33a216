// SPDX-License-Identifier: MIT
/*
 * The module's side of tests/dovecot/filters.sh: binds one template as a login would and prints
 * each bound value in hex, one line, or "ERR" and the reason when the template or a filter
 * fails (as Dovecot then fails the lookup).
 *   pgd_expand_test 2.3|2.4 USER SERVICE TEMPLATE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"

int main(int argc, char **argv)
{
	struct pgd_vars vars = {0};
	struct pgd_query q;
	char err[512] = "", *tmpl;

	if (argc != 5 || (strcmp(argv[1], "2.3") != 0 && strcmp(argv[1], "2.4") != 0)) {
		fprintf(stderr, "usage: %s 2.3|2.4 USER SERVICE TEMPLATE\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "2.4") == 0) {
		if (pgd_template_v24(argv[4], &tmpl, err, sizeof(err)) != PGD_QUERY_OK) {
			printf("ERR conf %s\n", err);
			return 0;
		}
	} else {
		tmpl = strdup(argv[4]);
	}
	if (tmpl == NULL || pgd_query_check(tmpl, err, sizeof(err)) != PGD_QUERY_OK) {
		printf("ERR conf %s\n", err);
		free(tmpl);
		return 0;
	}
	vars.user = argv[2];
	vars.orig_user = argv[2];
	vars.service = argv[3];
	if (pgd_query_bind(tmpl, &vars, &q, err, sizeof(err)) != PGD_QUERY_OK) {
		printf("ERR %s\n", err);
		free(tmpl);
		return 0;
	}
	for (int i = 0; i < q.nparams; i++) {
		printf("%s", i > 0 ? " " : "");
		for (const unsigned char *p = (const unsigned char *)q.values[i]; *p != '\0'; p++)
			printf("%02x", *p);
		if (q.values[i][0] == '\0')
			printf("-");
	}
	printf("\n");
	pgd_query_free(&q);
	free(tmpl);
	return 0;
}
