// SPDX-License-Identifier: MIT
/*
 * The option table and its one setter: the conf file's keys (Dovecot's dovecot-sql.conf.ext
 * names, their dovecot.conf counterparts, our own) and the module arguments all go through
 * pgd_conf_set_from. Also struct pgd_conf's life (init, free) and what it tells the hash code,
 * and the glue that hands each grammar reader (reader.h) a setter into this table. Loading
 * the module arguments and validating the whole is load.c's.
 */
#include "conf/conf.h"
#include "conf/conf_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_file.h"
#include "conf/reader.h"
#include "hash.h"
#include "util/err.h"
#include "util/printable.h"
#include "util/secret.h"

enum opt_type {
	OPT_STR,
	OPT_SECRET, /* a string that may hold a password: wiped, never echoed */
	OPT_ULONG,
	OPT_BOOL,
	OPT_IGNORED,   /* a Dovecot key that means nothing to a password check */
	OPT_DOVECOT,   /* dovecot_config: read Dovecot 2.4's dovecot.conf here */
	OPT_DOVECOT23, /* dovecot_conf: Dovecot 2.3's dovecot.conf, for its auth settings */
	OPT_WORD,      /* one of its word_keys words: the field (unsigned) gets its index */
};

struct option {
	const char *name;
	enum opt_type type;
	size_t offset;
	unsigned flags;
	unsigned long min, max; /* OPT_ULONG only */
};

/* The words of each OPT_WORD key, in the order of its enum (prepare: enum pgd_conf_prepare). */
static const struct {
	const char *name;
	const char *words[4]; /* NULL-terminated */
} word_keys[] = {
    {"prepare", {"auto", "yes", "no", NULL}},
};

#define FIELD(f) offsetof(struct pgd_conf, f)

/* Where a key may be given. */
#define ANYWHERE (PGD_FROM_FILE | PGD_FROM_ARG)
#define FILE_ONLY PGD_FROM_FILE
#define ARG_ONLY PGD_FROM_ARG

/* A key that sets the struct pgd_conf field of its own name; a Dovecot key read and ignored. */
// clang-format off
#define TEXT(key, from) {#key, OPT_STR, FIELD(key), from, 0, 0}
#define SECRET(key, from) {#key, OPT_SECRET, FIELD(key), from, 0, 0}
#define FLAG(key, from) {#key, OPT_BOOL, FIELD(key), from, 0, 0}
#define NUMBER(key, from, min, max) {#key, OPT_ULONG, FIELD(key), from, min, max}
#define IGNORED(key, from) {#key, OPT_IGNORED, 0, from, 0, 0}
// clang-format on

/*
 * Dovecot's own keys (auth/db-sql.c setting_defs) are all accepted so that an existing
 * dovecot-sql.conf.ext loads unchanged. user_query and userdb_warning_disable only serve
 * Dovecot's userdb; update_query is Dovecot's password-change query (it embeds %w) and this
 * module never changes passwords: those three are read and ignored. iterate_query is kept for
 * the audit command (it lists the users); a login never runs it.
 * The PAM-stack flags are module arguments only: they describe one line of a pam.d stack, and
 * a conf file may be shared by several stacks.
 */
static const struct option options[] = {
    {"conf", OPT_STR, FIELD(path), ARG_ONLY, 0, 0},
    FLAG(debug, ARG_ONLY),
    FLAG(nodelay, ARG_ONLY),
    FLAG(nullok, ARG_ONLY),
    FLAG(use_first_pass, ARG_ONLY),
    FLAG(try_first_pass, ARG_ONLY),

    TEXT(driver, ANYWHERE),
    /* /etc/pam.d is world-readable: the conninfo, which may hold a password, is file-only. */
    SECRET(connect, FILE_ONLY),
    TEXT(password_query, ANYWHERE),
    TEXT(default_pass_scheme, ANYWHERE),
    IGNORED(user_query, ANYWHERE),
    IGNORED(update_query, ANYWHERE),
    TEXT(iterate_query, ANYWHERE),
    IGNORED(userdb_warning_disable, ANYWHERE),

    /* Our own file may name Dovecot 2.4's, which is then read where the key stands. */
    {"dovecot_config", OPT_DOVECOT, 0, FILE_ONLY, 0, 0},
    {"dovecot_config_version", OPT_STR, FIELD(config_version), FILE_ONLY, 0, 0},
    /* Dovecot 2.3's dovecot.conf beside conf=: its auth settings and passdbs */
    {"dovecot_conf", OPT_DOVECOT23, 0, ANYWHERE, 0, 0},
    FLAG(allow_weak_schemes, ANYWHERE),
    TEXT(username_format, ANYWHERE),
    TEXT(username_chars, ANYWHERE),
    TEXT(default_domain, ANYWHERE),
    TEXT(service_protocols, ANYWHERE),
    /* What saslauthd does not pass (%c, %m): stated per pam.d line, or for all in the file. */
    TEXT(secured, ANYWHERE),
    TEXT(mechanism, ANYWHERE),
    /* SHA-crypt accepts 1000..999999999 rounds; bcrypt 4..31. */
    NUMBER(max_crypt_rounds, ANYWHERE, 1000, 999999999),
    NUMBER(max_bcrypt_cost, ANYWHERE, 4, 31),
    NUMBER(max_iterations, ANYWHERE, 1000, 999999999),
    NUMBER(max_memory_kib, ANYWHERE, 1024, 16777216),
    NUMBER(max_argon2_ops, ANYWHERE, 1, 1000),
    FLAG(connection_cache, ANYWHERE),
    NUMBER(query_timeout, ANYWHERE, 1, 300),
    {"prepare", OPT_WORD, FIELD(prepare), ANYWHERE, 0, 0},
    SECRET(update_connect, FILE_ONLY),
    NUMBER(verify_cache_ttl, ANYWHERE, 0, 86400),
    NUMBER(verify_cache_size, ANYWHERE, 1, 100000),
    NUMBER(verify_cache_stale_if_error, ANYWHERE, 0, 86400),
    TEXT(account_query, ANYWHERE),
    TEXT(password_update_query, ANYWHERE),
    TEXT(update_scheme, ANYWHERE),
    /* 0 is the scheme's default; the generator refuses what its scheme cannot take. */
    NUMBER(update_rounds, ANYWHERE, 0, 999999999),
    FLAG(rehash, ANYWHERE),
    FLAG(rehash_any_scheme, ANYWHERE),
    FLAG(allow_nopassword, ANYWHERE),
    FLAG(allow_rename, ANYWHERE),
    FLAG(password_in_query, ANYWHERE),
    FLAG(pin_modules, ANYWHERE),
    TEXT(session_open_query, ANYWHERE),
    TEXT(session_close_query, ANYWHERE),
    TEXT(auth_success_query, ANYWHERE),
    TEXT(auth_failure_query, ANYWHERE),
};

static enum pgd_conf_result note_secret(void *ctx, const char *path)
{
	struct pgd_conf *conf = ctx;
	char *copy = strdup(path);

	if (copy == NULL)
		return PGD_CONF_NOMEM;
	free(conf->secret_path);
	conf->secret_path = copy;
	return PGD_CONF_OK;
}

static const struct option *find_option(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	}
	return NULL;
}

/* Replaces the string at *field with a copy of value; old secrets are wiped. */
static enum pgd_conf_result set_string(char **field, const char *value, bool secret, char *err,
                                       size_t errlen)
{
	char *copy = strdup(value);

	if (copy == NULL) {
		pgd_set_err(err, errlen, "out of memory");
		return PGD_CONF_NOMEM;
	}
	if (secret)
		pgd_free_secret(*field);
	else
		free(*field);
	*field = copy;
	return PGD_CONF_OK;
}

/* Decimal only: strtoul alone would take "-1", " 7" and "0x10". */
static enum pgd_conf_result set_ulong(const struct option *opt, unsigned long *field,
                                      const char *value, char *err, size_t errlen)
{
	char shown[32];
	unsigned long v;
	char *end;

	if (*value < '0' || *value > '9') {
		pgd_set_err(err, errlen, "%s: '%s' is not a number", opt->name,
		            pgd_printable(value, shown, sizeof(shown)));
		return PGD_CONF_INVALID;
	}
	errno = 0;
	v = strtoul(value, &end, 10);
	if (*end != '\0') {
		pgd_set_err(err, errlen, "%s: '%s' is not a number", opt->name,
		            pgd_printable(value, shown, sizeof(shown)));
		return PGD_CONF_INVALID;
	}
	if (errno == ERANGE || v < opt->min || v > opt->max) {
		pgd_set_err(err, errlen, "%s: %s is out of range (%lu to %lu)", opt->name,
		            pgd_printable(value, shown, sizeof(shown)), opt->min, opt->max);
		return PGD_CONF_INVALID;
	}
	*field = v;
	return PGD_CONF_OK;
}

/* Dovecot's booleans are "yes"/"no" (case aside); a bare argument (value NULL) means yes. */
static enum pgd_conf_result set_bool(const struct option *opt, bool *field, const char *value,
                                     char *err, size_t errlen)
{
	if (value == NULL || strcasecmp(value, "yes") == 0) {
		*field = true;
	} else if (strcasecmp(value, "no") == 0) {
		*field = false;
	} else {
		pgd_set_err(err, errlen, "%s: expected yes or no", opt->name);
		return PGD_CONF_INVALID;
	}
	return PGD_CONF_OK;
}

/* One of opt->words; the error lists them. */
static enum pgd_conf_result set_word(const struct option *opt, unsigned *field, const char *value,
                                     char *err, size_t errlen)
{
	const char *const *words = NULL;
	char shown[32];

	for (size_t k = 0; k < sizeof(word_keys) / sizeof(word_keys[0]); k++)
		if (strcmp(word_keys[k].name, opt->name) == 0)
			words = word_keys[k].words;
	for (unsigned i = 0; words != NULL && words[i] != NULL; i++) {
		if (strcasecmp(value, words[i]) == 0) {
			*field = i;
			return PGD_CONF_OK;
		}
	}
	pgd_set_err(err, errlen, "%s: '%s' is not one of %s, %s, %s", opt->name,
	            pgd_printable(value, shown, sizeof(shown)), words != NULL ? words[0] : "",
	            words != NULL ? words[1] : "", words != NULL ? words[2] : "");
	return PGD_CONF_INVALID;
}

/* A key given where it may not be: a secret as a module argument, a pam.d flag in the file. */
static enum pgd_conf_result misplaced(const struct option *opt, char *err, size_t errlen)
{
	if (opt->type == OPT_SECRET)
		pgd_set_err(err, errlen,
		            "%s= is refused as a module argument: /etc/pam.d is world-readable; "
		            "set it in the conf file",
		            opt->name);
	else
		pgd_set_err(err, errlen, "'%s' is a module argument (pam.d), not a conf file key",
		            opt->name);
	return PGD_CONF_INVALID;
}

static struct pgd_conf_setter setter_of(struct pgd_conf *conf);

/* dovecot_conf = PATH: Dovecot 2.3's tree, beside the dovecot-sql.conf.ext conf= names. */
static enum pgd_conf_result read_dovecot23(struct pgd_conf *conf, const char *path, char *err,
                                           size_t errlen)
{
	struct pgd_conf_setter set = setter_of(conf);
	enum pgd_conf_result r;
	char *buf;
	size_t len;

	if (conf->dialect == PGD_DIALECT_V24) {
		pgd_set_err(err, errlen,
		            "dovecot_conf is for a Dovecot 2.3 setup: a 2.4 dovecot.conf is conf= "
		            "itself");
		return PGD_CONF_INVALID;
	}
	r = pgd_conf_read_file(path, &buf, &len, err, errlen);
	if (r != PGD_CONF_OK)
		return r;
	r = pgd_v23_tree_read(&set, path, buf, len, conf->path != NULL ? conf->path : "", err,
	                      errlen);
	pgd_conf_free_file(buf, len);
	return r;
}

/* The one setter (conf_impl.h). */
enum pgd_conf_result pgd_conf_set_from(struct pgd_conf *conf, const char *key, const char *value,
                                       unsigned from, char *err, size_t errlen)
{
	const struct option *opt = find_option(key);
	char shown[64];
	void *field;

	if (opt == NULL) {
		if (from == PGD_FROM_ARG)
			pgd_set_err(err, errlen, "unknown module argument '%s'",
			            pgd_printable_word(key, shown, sizeof(shown)));
		else
			pgd_set_err(err, errlen, "unknown key '%s'",
			            pgd_printable_word(key, shown, sizeof(shown)));
		return PGD_CONF_INVALID;
	}
	if ((opt->flags & from) == 0)
		return misplaced(opt, err, errlen);
	if (value == NULL && opt->type != OPT_BOOL) {
		pgd_set_err(err, errlen, "'%s' needs a value (%s=...)", opt->name, opt->name);
		return PGD_CONF_INVALID;
	}
	field = (char *)conf + opt->offset;
	switch (opt->type) {
	case OPT_STR:
		return set_string(field, value, false, err, errlen);
	case OPT_SECRET:
		return set_string(field, value, true, err, errlen);
	case OPT_ULONG:
		return set_ulong(opt, field, value, err, errlen);
	case OPT_BOOL:
		return set_bool(opt, field, value, err, errlen);
	case OPT_WORD:
		return set_word(opt, field, value, err, errlen);
	case OPT_IGNORED:
		return PGD_CONF_OK;
	case OPT_DOVECOT:
		/* dovecot_config = PATH in our own file: read where the key stands. */
		return pgd_conf_read_path(conf, value, true, err, errlen);
	case OPT_DOVECOT23:
		return read_dovecot23(conf, value, err, errlen);
	}
	return PGD_CONF_INVALID;
}

enum pgd_conf_result pgd_conf_set(struct pgd_conf *conf, const char *key, const char *value,
                                  char *err, size_t errlen)
{
	return pgd_conf_set_from(conf, key, value, PGD_FROM_FILE | PGD_FROM_ARG, err, errlen);
}

enum pgd_conf_result pgd_conf_init(struct pgd_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->max_crypt_rounds = PGD_DEFAULT_MAX_CRYPT_ROUNDS;
	conf->max_bcrypt_cost = PGD_DEFAULT_MAX_BCRYPT_COST;
	conf->connection_cache = true;
	conf->query_timeout = PGD_DEFAULT_QUERY_TIMEOUT;
	conf->verify_cache_size = PGD_DEFAULT_VERIFY_CACHE_SIZE;
	conf->default_pass_scheme = strdup("MD5");
	conf->username_format = strdup("%Lu");
	conf->username_chars = strdup(PGD_DEFAULT_USERNAME_CHARS);
	conf->password_query = strdup(PGD_DEFAULT_PASSWORD_QUERY);
	conf->update_scheme = strdup(PGD_DEFAULT_UPDATE_SCHEME);
	if (conf->default_pass_scheme == NULL || conf->username_format == NULL ||
	    conf->username_chars == NULL || conf->password_query == NULL ||
	    conf->update_scheme == NULL) {
		pgd_conf_free(conf);
		return PGD_CONF_NOMEM;
	}
	return PGD_CONF_OK;
}

struct pgd_hash_policy pgd_conf_hash_policy(const struct pgd_conf *conf, const char *login_user)
{
	return (struct pgd_hash_policy){
	    .default_scheme = conf->default_pass_scheme,
	    .max_crypt_rounds = conf->max_crypt_rounds,
	    .max_bcrypt_cost = conf->max_bcrypt_cost,
	    .login_user = login_user,
	    .max_iterations = conf->max_iterations,
	    .max_memory_kib = conf->max_memory_kib,
	    .max_argon2_ops = conf->max_argon2_ops,
	    .dovecot = conf->dialect == PGD_DIALECT_V24 ? 24 : 23,
	    .allow_weak = conf->allow_weak_schemes,
	};
}

struct pgd_rehash_target pgd_conf_rehash_target(const struct pgd_conf *conf)
{
	return (struct pgd_rehash_target){
	    .scheme = conf->update_scheme,
	    .rounds = conf->update_rounds,
	    .any_scheme = conf->rehash_any_scheme,
	};
}

void pgd_conf_free(struct pgd_conf *conf)
{
	if (conf == NULL)
		return;
	free(conf->path);
	free(conf->config_version);
	free(conf->secret_path);
	free(conf->driver);
	pgd_free_secret(conf->connect);
	pgd_free_secret(conf->update_connect);
	free(conf->password_query);
	free(conf->default_pass_scheme);
	free(conf->username_format);
	free(conf->username_chars);
	free(conf->default_domain);
	free(conf->service_protocols);
	free(conf->secured);
	free(conf->mechanism);
	free(conf->account_query);
	free(conf->iterate_query);
	free(conf->password_update_query);
	free(conf->update_scheme);
	free(conf->session_open_query);
	free(conf->session_close_query);
	free(conf->auth_success_query);
	free(conf->auth_failure_query);
	memset(conf, 0, sizeof(*conf));
}

const char *pgd_conf_dialect_name(enum pgd_conf_dialect d)
{
	return d == PGD_DIALECT_V24 ? "Dovecot 2.4 dovecot.conf"
	                            : "Dovecot 2.3 dovecot-sql.conf.ext";
}

static enum pgd_conf_result set_file_key(void *ctx, const char *key, const char *value, char *err,
                                         size_t errlen)
{
	return pgd_conf_set_from(ctx, key, value, PGD_FROM_FILE, err, errlen);
}

/* What a reader is handed: a file key goes to the table as if from the file. */
static struct pgd_conf_setter setter_of(struct pgd_conf *conf)
{
	return (struct pgd_conf_setter){set_file_key, note_secret, conf};
}

enum pgd_conf_result pgd_conf_parse(struct pgd_conf *conf, const char *name, const char *text,
                                    size_t len, char *err, size_t errlen)
{
	struct pgd_conf_setter set = setter_of(conf);

	return pgd_v23_read(&set, name, text, len, err, errlen);
}

enum pgd_conf_result pgd_conf_read_v24(struct pgd_conf *conf, const char *path, const char *text,
                                       size_t len, char *err, size_t errlen)
{
	struct pgd_conf_setter set = setter_of(conf);

	return pgd_v24_read(&set, path, text, len, err, errlen);
}

/*
 * Dovecot 2.4's defaults differ from 2.3's: the passdb's default scheme is PLAIN, the name is
 * lowercased by "%{user | lower}", and there is no default query. Set before the file is read,
 * so that the file and the arguments override them.
 */
enum pgd_conf_result pgd_conf_load_v24(struct pgd_conf *conf, const char *path, const char *text,
                                       size_t len, char *err, size_t errlen)
{
	enum pgd_conf_result r;

	if (conf->dialect != PGD_DIALECT_V24) {
		conf->dialect = PGD_DIALECT_V24;
		r = pgd_conf_set_from(conf, "default_pass_scheme", "PLAIN", PGD_FROM_FILE, err,
		                      errlen);
		if (r == PGD_CONF_OK)
			r = pgd_conf_set_from(conf, "username_format", "%{user | lower}",
			                      PGD_FROM_FILE, err, errlen);
		if (r != PGD_CONF_OK)
			return r;
		free(conf->password_query);
		conf->password_query = NULL;
	}
	return pgd_conf_read_v24(conf, path, text, len, err, errlen);
}

enum pgd_conf_result pgd_conf_read_path(struct pgd_conf *conf, const char *path, bool only_v24,
                                        char *err, size_t errlen)
{
	enum pgd_conf_result r;
	char *buf, shown[200];
	size_t len;

	r = pgd_conf_read_file(path, &buf, &len, err, errlen);
	if (r != PGD_CONF_OK)
		return r;
	if (pgd_conf_detect(buf, len) == PGD_DIALECT_V24) {
		r = pgd_conf_load_v24(conf, path, buf, len, err, errlen);
	} else if (!only_v24) {
		r = pgd_conf_parse(conf, path, buf, len, err, errlen);
	} else {
		pgd_set_err(err, errlen,
		            "dovecot_config: %s is not a Dovecot 2.4 dovecot.conf (name a 2.3 "
		            "dovecot-sql.conf.ext with conf= instead)",
		            pgd_printable(path, shown, sizeof(shown)));
		r = PGD_CONF_INVALID;
	}
	pgd_conf_free_file(buf, len);
	return r;
}
