// SPDX-License-Identifier: MIT
/*
 * From a conf's templates and one login's values to what the database is sent: Dovecot's
 * %-variables become bound parameters, never SQL text. Pure code (no PAM, no libpq), one job a
 * file:
 *   template.c      a 2.3 variable (%u, %Ln, %3n, %{user}): read, expanded (pgd_expand)
 *   modifier.c      2.3's modifiers (%M, %H, ...), width and offset applied to a value
 *   template_v24.c  a 2.4 template ("%{user | lower}") in the 2.3 form (pgd_template_v24)
 *   filter_v24.c    2.4's filters (| substr(0, 1) | default('x')) read
 *   filter_run.c    2.4's filters applied to a value
 *   bind.c          the SQL scanner and binder (pgd_query_bind, pgd_query_check)
 *   user.c          the login name's fix-up before any query (pgd_user_normalize)
 *   protocol.c      the protocol %s stands for, from the PAM service (pgd_service_protocol)
 * query_impl.h is what they share among themselves.
 */
#ifndef PGD_QUERY_H
#define PGD_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The longest login name, before and after the fix-up; checked before any database work and
 * documented in pam_pgsql_dovecot.conf(5), LIMITS.
 */
#define PGD_MAX_USER_LEN 256

/* The values Dovecot's %-variables expand to. NULL reads as "". */
struct pgd_vars {
	const char *user;      /* %u %{user}; %n %{username} and %d %{domain} derive from it */
	const char *service;   /* %s %{service} */
	const char *rip;       /* %r %{rip}: remote IP (PAM_RHOST) */
	const char *lip;       /* %l %{lip}: local IP */
	const char *hash;      /* %{hash}: the new stored value (password_update_query) */
	const char *orig_user; /* %{orig_user}, 2.4's %{original_user}: the name as given */
	/* What the caller states about the connection (conf keys secured, mechanism): NULL is
	 * unstated, and a template using the variable then fails to bind (configuration error). */
	const char *secured;   /* %c %{secured}: "", "TLS" or "secured" (pgd_secured_value) */
	const char *mechanism; /* %m %{mechanism}: the SASL mechanism, as PLAIN */
	/* service_protocols (NULL: the default), for the closed set of protocols that %s may
	 * spell when it is written into an identifier (pgd_protocol_closed) */
	const char *protocols;
	const char *password; /* %w %{password}: the password typed; secret (password_in_query) */
};

/*
 * A query ready for PQexecParams: SQL text with $1..$n and the n values it binds. secret: it was
 * bound with a %{hash} value at hand (password_update_query), so a value may be the new hash:
 * the server's messages about it are not logged (db/exec.c logs its SQLSTATE and names only).
 */
struct pgd_query {
	char *sql;
	int nparams;
	char **values;
	bool secret;
};

/* What the template functions below answer. */
enum pgd_query_result {
	PGD_QUERY_OK,
	PGD_QUERY_INVALID, /* err holds one line */
	PGD_QUERY_NOMEM,
};

/* bind.c */

/*
 * Turns a password_query template into SQL text plus bound values. A variable outside quotes
 * becomes $k; a single-quoted literal holding variables ('%u', '%n@%d') becomes one $k whose
 * value is the literal's expanded content. Only a variable of a closed set of values (%s, %c,
 * %m) glued into an identifier (enable%Ls, "enable%Ls%Lc") is written into q->sql, and only
 * once its value is checked (a known protocol; a SASL mechanism name): nothing a user typed
 * ever reaches q->sql. With vars NULL (a check) the values are "" and go unchecked. On success
 * the caller frees q with pgd_query_free; on failure q is left empty.
 */
enum pgd_query_result pgd_query_bind(const char *tmpl, const struct pgd_vars *vars,
                                     struct pgd_query *q, char *err, size_t errlen);

/* Checks a template without values: every variable known, quotes closed. */
enum pgd_query_result pgd_query_check(const char *tmpl, char *err, size_t errlen);

/* Frees what pgd_query_bind made and zeroes q. */
void pgd_query_free(struct pgd_query *q);

/* template.c */

/* Plain %-expansion (no SQL), as for auth_username_format. *out is the caller's to free. */
enum pgd_query_result pgd_expand(const char *tmpl, const struct pgd_vars *vars, char **out,
                                 char *err, size_t errlen);

/* True if the (2.3-form) template uses the domain of the name: %d, %{domain}, any case. */
bool pgd_query_uses_domain(const char *tmpl);

/* True if the (2.3-form) template uses %c / %{secured}, or %m / %{mechanism}: values only
 * the conf keys secured and mechanism state. */
bool pgd_query_uses_secured(const char *tmpl);
bool pgd_query_uses_mechanism(const char *tmpl);
/*
 * True if the (2.3-form) template uses the password typed: %w, %{password} (2.4's
 * %{password}). Only password_query with password_in_query = yes may (conf/load.c).
 */
bool pgd_query_uses_password(const char *tmpl);

/* template_v24.c */

/*
 * Reads a Dovecot 2.4 template (lib-var-expand: "%{user | username | lower}") and writes the
 * same template in the 2.3 form the functions above read ("%Ln"): literal text stays literal
 * ('%' becomes "%%", so 2.4's "%u" stays the text "%u"; "%%{" is the text "%{"), and every
 * %{...} becomes one 2.3 variable, so quoting and binding work as for a 2.3 template.
 * Variables: user, original_user, protocol, remote_ip, local_ip, secured, mechanism, hash
 * (ours), password; filters: lower, upper, username, domain, default, substr, regexp, md5, sha1,
 * sha256, sha384, sha512, hex, hexlify, reverse, ldap_dn, chained (those 2.3 cannot spell travel
 * marked: query_impl.h). Anything else is PGD_QUERY_INVALID with err naming it. *out is the
 * caller's to free.
 */
enum pgd_query_result pgd_template_v24(const char *tmpl, char **out, char *err, size_t errlen);

/* user.c */

enum pgd_user_result {
	PGD_USER_OK,
	PGD_USER_INVALID, /* empty, too long, or a byte outside username_chars; err says which */
	PGD_USER_NOMEM,
};

/*
 * Dovecot's username fix-up: append "@default_domain" when the name has no '@' and a domain is
 * set, refuse bytes outside chars ("" or NULL allows all but control bytes), then expand format
 * ("%Lu" lowercases) with vars (whose user field is ignored). *out is the caller's to free.
 */
enum pgd_user_result pgd_user_normalize(const char *pam_user, const char *format, const char *chars,
                                        const char *default_domain, const struct pgd_vars *vars,
                                        char **out, char *err, size_t errlen);

/*
 * Dovecot's rename of a login by one result column (auth-request.c get_updated_username, 2.3 and
 * 2.4): field "user" replaces the whole name with value; "username" replaces the part before
 * the first '@' (value whole when it holds an '@'); "domain" replaces the part after the first
 * '@', or appends "@value" to a name without one. *out (the caller's to free) is the name after
 * the step; PGD_USER_INVALID (err says why) when it is empty (Dovecot fails the login), longer
 * than PGD_MAX_USER_LEN or holds a control byte, or field is none of the three.
 */
enum pgd_user_result pgd_user_rename(const char *current, const char *field, const char *value,
                                     char **out, char *err, size_t errlen);

/* protocol.c */

/* Dovecot's name for the PAM services whose SASL name differs from it (Cyrus's pop3d: "pop"). */
#define PGD_DEFAULT_SERVICE_PROTOCOLS "pop=pop3"

/*
 * The protocol %s and %{protocol} stand for in a login through PAM service `service`: the pair
 * of map ("service=protocol" pairs separated by blanks or commas; NULL for
 * PGD_DEFAULT_SERVICE_PROTOCOLS, "" for none) that names the service, copied into out; the
 * service itself when no pair names it (or the name does not fit out).
 */
const char *pgd_service_protocol(const char *map, const char *service, char *out, size_t outlen);

/* True when map reads as such pairs (lower-case names of at most 32 characters); else err. */
bool pgd_service_map_check(const char *map, char *err, size_t errlen);

/*
 * True when proto may be written into SQL text: [a-z0-9]+ and one of Dovecot's protocol names
 * (imap, pop3, sieve, lmtp, submission, smtp) or a protocol map (as above) names.
 */
bool pgd_protocol_closed(const char *map, const char *proto);

/*
 * The value %c / %{secured} takes for the conf key secured: "no" -> "", "tls" -> "TLS",
 * "secured" -> "secured" (Dovecot's words for plaintext, TLS, a trusted network without TLS);
 * NULL for NULL or any other word.
 */
const char *pgd_secured_value(const char *setting);

/* True when name reads as a SASL mechanism name (RFC 4422: [A-Z0-9_-], 1 to 20 bytes). */
bool pgd_mechanism_check(const char *name);

#endif
