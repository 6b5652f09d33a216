// SPDX-License-Identifier: MIT
/*
 * The Dovecot 2.4 settings that can refuse, filter or rewrite a login beside the users' sql
 * passdb, read as Dovecot 2.4.1's src/auth reads them (auth-settings.c, auth-request.c
 * auth_request_want_skip_passdb and auth_request_finish_passdb_lookup), and refused, with
 * file and line, wherever they would change the verdict of a login the module answers:
 *
 * - another passdb that is not a master passdb (master = yes: consulted only for a master
 *   login, "user*master", which the module has not), whatever its driver (passwd-file, static,
 *   pam, lua, checkpassword, oauth2, ldap, ...): Dovecot would consult it before or after ours;
 * - in the users' passdb, or at the top level where it applies to every passdb:
 *   username_filter and mechanisms_filter (the passdb is skipped for some logins), a fields
 *   { } block (2.4's override fields: allow_nets, nologin, ...), fields_import_all = no (the
 *   row's nologin, allow_nets... then count for nothing), skip = unauthenticated (the first
 *   passdb is then never consulted), and the result_* rules other than those that, for the
 *   only passdb, give Dovecot's default verdict: result_success return-ok or continue-ok
 *   (return, continue, *-fail fail every login), result_failure and result_internalfail
 *   continue, return, return-fail or continue-fail (return-ok and continue-ok let in a
 *   wrong password).
 * A construct in a master passdb changes no login of ours and is read past.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/v24_impl.h"
#include "util/err.h"
#include "util/printable.h"

/* Per setting, the values (NULL-terminated) that keep the only passdb's verdict; any other
 * value is refused, and why. */
static const struct {
	const char *key;
	const char *const *fine;
	const char *why;
} rules[] = {
    {"result_success", (const char *const[]){"return-ok", "continue-ok", NULL},
     "any other rule fails every login of the only passdb"},
    {"result_failure",
     (const char *const[]){"continue", "return", "return-fail", "continue-fail", NULL},
     "return-ok and continue-ok let in a wrong password or an unknown user"},
    {"result_internalfail",
     (const char *const[]){"continue", "return", "return-fail", "continue-fail", NULL},
     "return-ok and continue-ok let in a login the database could not answer"},
    {"skip", (const char *const[]){"never", "authenticated", NULL},
     "skip = unauthenticated never consults the first passdb"},
    {"fields_import_all", (const char *const[]){"yes", "y", "1", NULL},
     "without it the row's nologin, allow_nets and other fields count for nothing"},
    {"username_filter", (const char *const[]){"", NULL},
     "the passdb answers only the users it matches"},
    {"mechanisms_filter", (const char *const[]){"", NULL},
     "the passdb answers only the SASL mechanisms it names, which PAM does not know"},
    /* Dovecot 2.3's names (a 2.3 tree, v23_tree.c; 2.4 has none of them) */
    {"mechanisms", (const char *const[]){"", NULL},
     "the passdb answers only the SASL mechanisms it names, which PAM does not know"},
    {"override_fields", (const char *const[]){"", NULL},
     "it sets or overrides the fields of every row (allow_nets, nologin, ...); return them "
     "from the query"},
    {"default_fields", (const char *const[]){"", NULL},
     "it sets the fields of every row that lacks them (allow_nets, nologin, ...); return "
     "them from the query"},
};

/* rd's error: "FILE line N: " and msg, whose parts from the file went through
 * util/printable.h. Returns false. (v24_keys.c has the same helper; this file must not call
 * back into it.) */
static bool fail_at(struct pgd_v24_reader *rd, const struct pgd_v24_where *w, const char *msg)
{
	char shown[200];

	pgd_set_err(rd->err, rd->errlen, "%s line %u: %s",
	            pgd_printable(w->path, shown, sizeof(shown)), w->line, msg);
	return false;
}

static bool fine_value(const char *const *fine, const char *v)
{
	for (; *fine != NULL; fine++)
		if (strcasecmp(*fine, v) == 0)
			return true;
	return false;
}

/* "passdb_result_success" or "result_success" (in a passdb block) as "result_success". */
static const char *passdb_key(const char *key, bool root)
{
	if (strncmp(key, "passdb_", 7) == 0)
		return key + 7;
	return root ? NULL : key;
}

/*
 * Keeps msg as the block's refusal (the first one), or, at the top level, refuses now: a
 * top-level passdb_ setting applies to every passdb, the users' too.
 */
static bool refuse(struct pgd_v24_reader *rd, const struct pgd_v24_where *w, bool root,
                   const char *msg)
{
	char shown[200];

	if (root)
		return fail_at(rd, w, msg);
	if (rd->cur.refuse[0] == '\0')
		snprintf(rd->cur.refuse, sizeof(rd->cur.refuse), "%s line %u: passdb %s: %s",
		         pgd_printable(w->path, shown, sizeof(shown)), w->line,
		         rd->stack[rd->top].name, msg);
	return true;
}

/* Top-level auth settings that rewrite or refuse a login and that the module does not apply. */
static const struct {
	const char *key, *why;
} auth_refused[] = {
    {"auth_username_translation", "it rewrites the login name before the lookup"},
    {"auth_policy_server_url", "the policy server may refuse a login the module cannot ask"},
};

bool pgd_v24_passdb_key(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln, bool root, bool *taken)
{
	const char *k = passdb_key(ln->key, root);
	char msg[300], v[64];

	*taken = false;
	for (size_t i = 0; root && i < sizeof(auth_refused) / sizeof(auth_refused[0]); i++) {
		if (strcmp(ln->key, auth_refused[i].key) != 0)
			continue;
		*taken = true;
		if (ln->type == L_KEYVALUE && ln->value[0] == '\0')
			return true;
		snprintf(msg, sizeof(msg), "%s is not supported: %s", ln->key, auth_refused[i].why);
		return fail_at(rd, w, msg);
	}
	if (k == NULL)
		return true;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (strcmp(k, rules[i].key) != 0)
			continue;
		*taken = true;
		if (ln->type == L_KEYVALUE && fine_value(rules[i].fine, ln->value))
			return true;
		snprintf(msg, sizeof(msg), "%s = %s is not supported: %s", rules[i].key,
		         pgd_printable(ln->value, v, sizeof(v)), rules[i].why);
		return refuse(rd, w, root, msg);
	}
	return true;
}

/* The filters of Dovecot 2.4 that apply settings to some logins only. */
static bool is_filter(const char *type)
{
	static const char *const filters[] = {"protocol", "local", "remote", "local_name"};

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (strcmp(type, filters[i]) == 0)
			return true;
	return false;
}

bool pgd_v24_passdb_section(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                            const struct pgd_v24_line *ln, enum pgd_v24_kind in)
{
	const char *k = passdb_key(ln->key, in == K_ROOT);

	if (in != K_ROOT && in != K_PASSDB)
		return true;
	if (k != NULL && strcmp(k, "fields") == 0)
		return refuse(rd, w, in == K_ROOT,
		              "a fields { } block is not supported: it sets or overrides the "
		              "fields of every row (allow_nets, nologin, ...); return them from "
		              "the query");
	if (in == K_PASSDB && is_filter(ln->key))
		return refuse(rd, w, false,
		              "a filter block inside a passdb is not supported: its settings "
		              "would apply to some logins only");
	if (k != NULL && strcmp(k, "mechanisms_filter") == 0)
		return refuse(rd, w, in == K_ROOT,
		              "mechanisms_filter is not supported: the passdb answers only the "
		              "SASL mechanisms it names, which PAM does not know");
	return true;
}

bool pgd_v24_filter_key(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln)
{
	static const char *const auth_keys[] = {
	    "auth_username_format",      "auth_default_domain",     "auth_username_chars",
	    "auth_username_translation", "auth_allow_weak_schemes", "sql_driver",
	    "auth_default_realm",
	};
	const char *type = NULL;
	char key[64], msg[300];
	bool auth = strncmp(ln->key, "passdb_", 7) == 0;

	for (unsigned i = rd->top; i > 0 && type == NULL; i--)
		if (is_filter(rd->stack[i].type))
			type = rd->stack[i].type;
	for (size_t i = 0; !auth && i < sizeof(auth_keys) / sizeof(auth_keys[0]); i++)
		auth = strcmp(ln->key, auth_keys[i]) == 0;
	if (type == NULL || !auth)
		return true;
	snprintf(msg, sizeof(msg),
	         "%s inside a '%s' filter is not supported: this module applies the settings of "
	         "the top level to every login; set it there",
	         pgd_printable(ln->key, key, sizeof(key)), type);
	return fail_at(rd, w, msg);
}

bool pgd_v24_passdb_end(struct pgd_v24_reader *rd)
{
	const char *driver = rd->cur.driver != NULL ? rd->cur.driver : "";
	char shown[64];

	if (rd->cur.master)
		return true;
	if (strcmp(driver, "sql") != 0) {
		pgd_set_err(
		    rd->err, rd->errlen,
		    "%s: passdb %s (driver %s) is not supported: Dovecot consults it before "
		    "or after the sql passdb, and this module reads only that one (a master "
		    "passdb, master = yes, is fine)",
		    rd->cur.begin, rd->stack[rd->top].name,
		    pgd_printable(driver, shown, sizeof(shown)));
		return false;
	}
	if (rd->cur.refuse[0] != '\0') {
		pgd_set_err(rd->err, rd->errlen, "%s", rd->cur.refuse);
		return false;
	}
	return true;
}

void pgd_v24_passdb_begin(struct pgd_v24_reader *rd, const struct pgd_v24_where *w)
{
	char shown[200];

	snprintf(rd->cur.begin, sizeof(rd->cur.begin), "%s line %u",
	         pgd_printable(w->path, shown, sizeof(shown)), w->line);
	rd->cur.refuse[0] = '\0';
}
