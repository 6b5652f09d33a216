// SPDX-License-Identifier: MIT
/*
 * Dovecot's username fix-up (auth_request_fix_username): the realm added from default_domain,
 * the username_chars check, then username_format, with the limits checked before any database
 * work. What comes out is the name every query of the login binds as %u.
 */
#include "query/query.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/str.h"

/* Refuses control bytes (which no log line or SQL value should carry) and names the first. */
static bool check_bytes(const char *s, const char *chars, const char *what, char *err,
                        size_t errlen)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			pgd_set_err(err, errlen, "%s contains control byte 0x%02x", what, *p);
			return false;
		}
		if (pgd_str_set(chars) && strchr(chars, *p) == NULL) {
			pgd_set_err(err, errlen,
			            "%s contains byte 0x%02x, not allowed by username_chars", what,
			            *p);
			return false;
		}
	}
	return true;
}

/* The checks on the name a format made: not empty, not too long, no control byte. */
static enum pgd_user_result check_result(const char *res, char *err, size_t errlen)
{
	if (*res == '\0') {
		pgd_set_err(err, errlen, "empty user name");
		return PGD_USER_INVALID;
	}
	/* The format may add %s, %r or %l: look at the result again. */
	if (strlen(res) > PGD_MAX_USER_LEN) {
		pgd_set_err(err, errlen, "user name longer than %d bytes", PGD_MAX_USER_LEN);
		return PGD_USER_INVALID;
	}
	return check_bytes(res, NULL, "user name", err, errlen) ? PGD_USER_OK : PGD_USER_INVALID;
}

enum pgd_user_result pgd_user_normalize(const char *pam_user, const char *format, const char *chars,
                                        const char *default_domain, const struct pgd_vars *vars,
                                        char **out, char *err, size_t errlen)
{
	struct pgd_vars v = vars != NULL ? *vars : (struct pgd_vars){0};
	struct pgd_buf name = {0};
	enum pgd_user_result r;
	char *res = NULL;
	size_t len;

	*out = NULL;
	/* Dovecot refuses an empty name only after the realm is added, which lets "" through as
	 * "@realm"; an empty PAM user is never a real login, so refuse it first. */
	if (!pgd_str_set(pam_user)) {
		pgd_set_err(err, errlen, "empty user name");
		return PGD_USER_INVALID;
	}
	/* Checked before any copy so a huge name costs nothing. */
	len = strnlen(pam_user, PGD_MAX_USER_LEN + 1);
	if (len > PGD_MAX_USER_LEN) {
		pgd_set_err(err, errlen, "user name longer than %d bytes", PGD_MAX_USER_LEN);
		return PGD_USER_INVALID;
	}
	/* Dovecot's auth_request_fix_username: realm first, then the character check on the
	 * result, then username_format with %u set to the name so far. */
	pgd_buf_add(&name, pam_user, len);
	if (pgd_str_set(default_domain) && strchr(pam_user, '@') == NULL) {
		pgd_buf_addc(&name, '@');
		pgd_buf_adds(&name, default_domain);
	}
	if (name.failed) {
		r = PGD_USER_NOMEM;
	} else if (!check_bytes(name.p, chars, "user name", err, errlen)) {
		r = PGD_USER_INVALID;
	} else if (!pgd_str_set(format)) {
		res = pgd_buf_take(&name);
		r = res != NULL ? PGD_USER_OK : PGD_USER_NOMEM;
	} else {
		v.user = name.p;
		switch (pgd_expand(format, &v, &res, err, errlen)) {
		case PGD_QUERY_OK:
			r = PGD_USER_OK;
			break;
		case PGD_QUERY_INVALID:
			r = PGD_USER_INVALID;
			break;
		case PGD_QUERY_NOMEM:
		default:
			r = PGD_USER_NOMEM;
			break;
		}
	}
	pgd_buf_free(&name);
	if (r == PGD_USER_NOMEM)
		pgd_set_err(err, errlen, "out of memory");
	if (r == PGD_USER_OK)
		r = check_result(res, err, errlen);
	if (r != PGD_USER_OK) {
		free(res);
		return r;
	}
	*out = res;
	return PGD_USER_OK;
}

enum pgd_user_result pgd_user_rename(const char *current, const char *field, const char *value,
                                     char **out, char *err, size_t errlen)
{
	const char *at = strchr(current, '@');
	struct pgd_buf b = {0};
	enum pgd_user_result r;

	*out = NULL;
	if (strcmp(field, "user") == 0 ||
	    (strcmp(field, "username") == 0 && strchr(value, '@') != NULL)) {
		pgd_buf_adds(&b, value);
	} else if (strcmp(field, "username") == 0) {
		pgd_buf_adds(&b, value);
		if (at != NULL)
			pgd_buf_adds(&b, at);
	} else if (strcmp(field, "domain") == 0) {
		pgd_buf_add(&b, current, at != NULL ? (size_t)(at - current) : strlen(current));
		pgd_buf_addc(&b, '@');
		pgd_buf_adds(&b, value);
	} else {
		pgd_set_err(err, errlen, "no rename by a %s column", field);
		return PGD_USER_INVALID;
	}
	if (b.failed) {
		pgd_buf_free(&b);
		pgd_set_err(err, errlen, "out of memory");
		return PGD_USER_NOMEM;
	}
	if (b.len == 0) {
		pgd_buf_free(&b);
		pgd_set_err(err, errlen, "the %s column renames the login to an empty name", field);
		return PGD_USER_INVALID;
	}
	*out = pgd_buf_take(&b);
	if (*out == NULL) {
		pgd_set_err(err, errlen, "out of memory");
		return PGD_USER_NOMEM;
	}
	r = check_result(*out, err, errlen);
	if (r != PGD_USER_OK) {
		free(*out);
		*out = NULL;
	}
	return r;
}
