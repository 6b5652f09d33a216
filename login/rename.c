// SPDX-License-Identifier: MIT
/*
 * Dovecot's rename of a login by its row (the user, username and domain columns), and what a
 * login does about it: saslauthd hands its callers back only the name typed.
 */
#include "login/login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pgd_user_result pgd_login_renamed(const char *canonical, const struct pgd_row *row, char **out,
                                       const char **column, char *err, size_t errlen)
{
	const char *last = NULL;
	char *name = strdup(canonical);

	*out = NULL;
	if (column != NULL)
		*column = NULL;
	if (name == NULL) {
		snprintf(err, errlen, "out of memory");
		return PGD_USER_NOMEM;
	}
	for (int i = 0; i < row->nrenames; i++) {
		char *next = NULL;
		enum pgd_user_result r = pgd_user_rename(name, row->renames[i].field,
		                                         row->renames[i].value, &next, err, errlen);

		if (r != PGD_USER_OK) {
			free(name);
			return r;
		}
		if (strcmp(next, name) != 0)
			last = row->renames[i].field;
		free(name);
		name = next;
	}
	if (column != NULL && strcmp(name, canonical) != 0)
		*column = last;
	*out = name;
	return PGD_USER_OK;
}

/*
 * Dovecot renames the login from the row's user, username and domain columns (the mailbox, the
 * user= Postfix takes as sasl_username); saslauthd hands the caller back only the name typed,
 * so Cyrus would open another mailbox than Dovecot did. Any byte of difference is a rename:
 * refused unless allow_rename, which keeps the new name in login->renamed.
 */
enum pgd_outcome pgd_login_check_rename(const struct pgd_conf *conf, struct pgd_login *login,
                                        const struct pgd_row *row)
{
	const char *column = NULL;
	char *name = NULL, err[128];

	if (row->nrenames == 0)
		return PGD_LOGIN_OK;
	switch (pgd_login_renamed(login->canonical, row, &name, &column, err, sizeof(err))) {
	case PGD_USER_OK:
		break;
	case PGD_USER_NOMEM:
		return PGD_LOGIN_NOMEM;
	case PGD_USER_INVALID:
		snprintf(login->detail, sizeof(login->detail), "user=%s: %s", login->canonical,
		         err);
		return PGD_RENAMED;
	}
	if (column == NULL) {
		free(name);
		return PGD_LOGIN_OK;
	}
	if (!conf->allow_rename) {
		snprintf(login->detail, sizeof(login->detail),
		         "user=%s renamed to %s by the row's %s column: saslauthd and its callers "
		         "keep the name given (allow_rename = yes lets it log in)",
		         login->canonical, name, column);
		free(name);
		return PGD_RENAMED;
	}
	free(login->renamed);
	login->renamed = name;
	return PGD_LOGIN_OK;
}
