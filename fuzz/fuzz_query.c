// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the password_query template parser (pgd_query_bind, pgd_query_check),
 * the plain %-expansion and the username fix-up.
 *
 * Input: template, NUL, user, NUL, service, NUL, remote IP (missing parts are NULL).
 * The property that matters: nothing from the user's values reaches the SQL text, so binding
 * the same template with these values and with the user's blanked (the same service, secured
 * and mechanism, whose closed-set values may be written into a name) must give the same verdict,
 * the same SQL and the same number of parameters; and where no closed-set value was written
 * into the SQL (the SQL is the same under other such values), a check (pgd_query_check, no
 * values) gives the login's verdict.
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
	struct pgd_vars vars = {.secured = "TLS", .mechanism = "PLAIN"}, blank, other;
	struct pgd_query with, without, alt;
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
	blank = vars;
	blank.user = "";
	blank.rip = "";
	vars.password = "p4ss' OR '1'='1"; /* %w, %{password}: bound like the rest */

	memset(err, 'Z', sizeof(err));
	rw = pgd_query_bind(tmpl, &vars, &with, err, sizeof(err));
	if (rw != PGD_QUERY_OK)
		fuzz_check_message(err, sizeof(err));
	rn = pgd_query_bind(tmpl, &blank, &without, err, sizeof(err));
	rc = pgd_query_check(tmpl, err, sizeof(err));
	if (rw != rn)
		abort();
	other = (struct pgd_vars){
	    .user = vars.user, .service = "pop3", .secured = "secured", .mechanism = "LOGIN"};
	vars.service = "imap";
	if (pgd_query_bind(tmpl, &vars, &alt, err, sizeof(err)) == PGD_QUERY_OK) {
		struct pgd_query alt2;

		if (pgd_query_bind(tmpl, &other, &alt2, err, sizeof(err)) == PGD_QUERY_OK &&
		    strcmp(alt.sql, alt2.sql) == 0 && rc != PGD_QUERY_OK)
			abort();
		pgd_query_free(&alt2);
	}
	pgd_query_free(&alt);
	vars.service = blank.service;
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
