// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the password_query template parser (pgd_query_bind, pgd_query_check),
 * the plain %-expansion and the username fix-up.
 *
 * Input: template, NUL, user, NUL, service, NUL, remote IP (missing parts are NULL).
 * The property that matters: nothing from the values reaches the SQL text, so binding the
 * same template with these values and with none must give the same verdict, the same SQL and
 * the same number of parameters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "query/query.h"

#include "fuzz_check.h"

/* The next NUL-separated part of buf (len bytes, NUL-terminated), or NULL past the end. */
static const char *next_part(const char *buf, size_t len, size_t *pos)
{
	const char *part;

	if (*pos > len)
		return NULL;
	part = buf + *pos;
	*pos += strlen(part) + 1;
	return part;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgd_vars vars = {0};
	struct pgd_query with, without;
	enum pgd_query_result rw, rn, rc;
	char err[256];
	char *buf, *out = NULL;
	const char *tmpl;
	size_t pos = 0;

	if (size > 8192)
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	tmpl = next_part(buf, size, &pos);
	vars.user = next_part(buf, size, &pos);
	vars.service = next_part(buf, size, &pos);
	vars.rip = next_part(buf, size, &pos);
	vars.lip = "127.0.0.1";
	vars.password = "p4ss' OR '1'='1"; /* %w, %{password}: bound like the rest */

	memset(err, 'Z', sizeof(err));
	rw = pgd_query_bind(tmpl, &vars, &with, err, sizeof(err));
	if (rw != PGD_QUERY_OK)
		fuzz_check_message(err, sizeof(err));
	rn = pgd_query_bind(tmpl, NULL, &without, err, sizeof(err));
	rc = pgd_query_check(tmpl, err, sizeof(err));
	if (rw != rn || rn != rc)
		abort();
	if (rw == PGD_QUERY_OK) {
		if (with.sql == NULL || without.sql == NULL || strcmp(with.sql, without.sql) != 0 ||
		    with.nparams != without.nparams)
			abort();
		for (int i = 0; i < with.nparams; i++)
			if (with.values[i] == NULL)
				abort();
	} else if (with.sql != NULL || with.values != NULL || with.nparams != 0) {
		abort(); /* on failure q is left empty */
	}
	pgd_query_free(&with);
	pgd_query_free(&without);

	if (pgd_expand(tmpl, &vars, &out, err, sizeof(err)) == PGD_QUERY_OK) {
		if (out == NULL)
			abort();
		free(out);
	} else {
		fuzz_check_message(err, sizeof(err));
	}

	/* the template as username_format, the service as default_domain */
	out = NULL;
	switch (pgd_user_normalize(vars.user, tmpl, (size & 1) != 0 ? "" : NULL, vars.service,
	                           &vars, &out, err, sizeof(err))) {
	case PGD_USER_OK:
		if (out == NULL || strlen(out) > PGD_MAX_USER_LEN || out[0] == '\0')
			abort();
		fuzz_check_line(out);
		free(out);
		break;
	case PGD_USER_INVALID:
		fuzz_check_message(err, sizeof(err));
		if (out != NULL)
			abort();
		break;
	case PGD_USER_NOMEM:
		break;
	}
	free(buf);
	return 0;
}
