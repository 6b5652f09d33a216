// SPDX-License-Identifier: MIT
#ifndef PGD_CONF_H
#define PGD_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/result.h"
#include "hash.h"
#include "hash/stored_cost.h"
#include "query/query.h" /* PGD_MAX_USER_LEN */

#define PGD_DEFAULT_CONF_PATH "/etc/security/pam_pgsql_dovecot.conf"
/* Dovecot's auth_username_chars default. */
#define PGD_DEFAULT_USERNAME_CHARS                                                                 \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"
/* Dovecot 2.3's password_query when dovecot-sql.conf.ext sets none. */
#define PGD_DEFAULT_PASSWORD_QUERY                                                                 \
	"SELECT username, domain, password FROM users WHERE username = '%n' AND domain = '%d'"
/* Limits checked before any database work; documented in pam_pgsql_dovecot.conf(5), LIMITS. */
#define PGD_MAX_PASSWORD_LEN 1024
/* New hashes (chauthtok, rehash) are made in this scheme unless update_scheme says otherwise. */
#define PGD_DEFAULT_UPDATE_SCHEME "SHA512-CRYPT"
/* Seconds a lookup may take (connect and query), unless query_timeout says otherwise. */
#define PGD_DEFAULT_QUERY_TIMEOUT 5
/* Entries of the verified-login cache unless verify_cache_size says otherwise. */
#define PGD_DEFAULT_VERIFY_CACHE_SIZE 1000
/* prepare = auto|yes|no: prepared statements on a kept connection (db/db.h's enum, same order). */
enum pgd_conf_prepare { PGD_PREPARE_AUTO, PGD_PREPARE_YES, PGD_PREPARE_NO };
/* The length of struct pgd_conf's lookup_digest (SHA-256). */
#define PGD_CONF_DIGEST_LEN 32
/* Everything the module knows about what to do; one instance per PAM call. */
struct pgd_conf {
	/* module arguments (pam.d) */
	char *path; /* conf= */
	bool debug;
	bool nodelay;
	bool nullok;
	bool use_first_pass;
	bool try_first_pass;

	/* what the conf file is */
	enum pgd_conf_dialect dialect;
	char *config_version; /* Dovecot 2.4's dovecot_config_version; NULL in a 2.3 file */
	/* The file whose text holds connect (2.3: the file of its connect or update_connect
	 * line) or the database password (2.4: the file of the pgsql password parameter, or
	 * the file its "<file" value names); NULL when none does. For check's mode warning. */
	char *secret_path;

	/* conf file keys (dovecot-sql.conf.ext syntax, or their dovecot.conf names) */
	char *driver;              /* must be "pgsql" */
	char *connect;             /* libpq conninfo; secret: may hold a password */
	char *password_query;      /* Dovecot %-variables */
	char *default_pass_scheme; /* default "MD5" */
	char *username_format;     /* Dovecot's auth_username_format, default "%Lu" */
	char *username_chars;      /* Dovecot's auth_username_chars; "" allows every byte */
	char *default_domain;      /* Dovecot's auth_default_realm; NULL if unset */
	char *service_protocols;   /* PAM service -> %s (pgd_service_protocol); NULL: the default */
	char *secured;             /* %c: no, tls or secured (pgd_secured_value); NULL: unstated */
	char *mechanism;           /* %m: a SASL mechanism name; NULL: unstated */
	bool allow_weak_schemes;   /* Dovecot 2.4's auth_allow_weak_schemes (2.4 files only) */
	unsigned long max_crypt_rounds;
	unsigned long max_bcrypt_cost;
	unsigned long max_iterations; /* PBKDF2, SCRAM, OTP; 0: hash.h's default */
	unsigned long max_memory_kib; /* Argon2, scrypt, yescrypt; 0: hash.h's default */
	unsigned long max_argon2_ops; /* Argon2 passes; 0: hash.h's default */
	bool connection_cache;        /* keep one connection per process; default yes */
	unsigned long query_timeout;  /* seconds; default PGD_DEFAULT_QUERY_TIMEOUT */
	unsigned prepare;             /* enum pgd_conf_prepare; default auto */

	/* accounts, password changes, upgrade on login, sessions, audit: all optional */
	char *account_query;         /* acct_mgmt's own query; NULL: reuse password_query */
	char *iterate_query;         /* Dovecot's: lists the users (audit command only) */
	char *password_update_query; /* chauthtok and rehash; %{hash} is the new stored value */
	char *update_scheme;         /* scheme of new hashes, default PGD_DEFAULT_UPDATE_SCHEME */
	unsigned long update_rounds; /* rounds/cost of new hashes; 0: the scheme's default */
	bool rehash;                 /* upgrade weaker hashes on a successful login */
	bool rehash_any_scheme;      /* rehash also replaces algorithms not ranked below */
	bool allow_nopassword;       /* honour a nopassword column */
	bool allow_rename;      /* a row's user/username/domain may rename the login (PAM_USER) */
	bool password_in_query; /* password_query may bind %w / %{password} (SQL-side check) */
	bool pin_modules; /* keep the process's PAM modules loaded after pam_end (util/pin.h) */
	char *session_open_query;
	char *session_close_query;
	char *auth_success_query;
	char *auth_failure_query;

	/* writes to a primary, and the verified-login cache (verify_cache.h): optional */
	char *update_connect;            /* conninfo for every write; NULL: connect; secret */
	unsigned long verify_cache_ttl;  /* seconds a verified login is remembered; 0: off */
	unsigned long verify_cache_size; /* entries; default PGD_DEFAULT_VERIFY_CACHE_SIZE */
	/* seconds since the database last confirmed an entry during which it may answer while
	 * the database cannot be reached; 0 (default): never; needs verify_cache_ttl */
	unsigned long verify_cache_stale_if_error;

	/* What decides which row a login reads, as pgd_conf_load left it: the SHA-256 of path,
	 * driver, connect, password_query, username_format, username_chars, default_domain,
	 * secured, mechanism and service_protocols (conf/load.c). Made once per loaded conf (a
	 * cached conf carries it), so that a login compares 32 bytes, not the fields; a digest,
	 * since connect may hold the database password. lookup_digest_set is false when it could
	 * not be made or the conf was not loaded by pgd_conf_load. Stale if one of those fields
	 * is changed after the load. */
	unsigned char lookup_digest[PGD_CONF_DIGEST_LEN];
	bool lookup_digest_set;
};

/* "Dovecot 2.3 dovecot-sql.conf.ext" or "Dovecot 2.4 dovecot.conf", for log lines. */
const char *pgd_conf_dialect_name(enum pgd_conf_dialect d);

/* Sets every field to its default (strings owned, NULL where unset). */
enum pgd_conf_result pgd_conf_init(struct pgd_conf *conf);

/*
 * Reads the module arguments: conf=PATH first, then the file (opened safely: absolute path,
 * no symlink, regular file, owned by root or by the effective uid, not group/world-writable,
 * at most PGD_MAX_CONF_SIZE), then the other arguments, which override file keys (except
 * connect, which only the file may set). The file is either dialect, told from its content;
 * a Dovecot 2.4 file is read with its includes, and every template (the file's and the
 * arguments') is then read as Dovecot 2.4 reads it. Validates the result. conf must come from
 * pgd_conf_init. On failure err (errlen bytes) holds a one-line message without secrets.
 */
enum pgd_conf_result pgd_conf_load(struct pgd_conf *conf, int argc, const char **argv, char *err,
                                   size_t errlen);

/* Loads pgd_conf_load answered from its per-process cache (tests and the bench). */
unsigned long pgd_conf_cache_hits(void);

/*
 * Parses conf file text of len bytes (need not be NUL-terminated); name is used in messages
 * ("NAME line N: ..."). Keys are set on conf; no validation of the whole.
 */
enum pgd_conf_result pgd_conf_parse(struct pgd_conf *conf, const char *name, const char *text,
                                    size_t len, char *err, size_t errlen);

/* Sets one key (conf file key or module argument value); the one setter for both. */
enum pgd_conf_result pgd_conf_set(struct pgd_conf *conf, const char *key, const char *value,
                                  char *err, size_t errlen);

/* Checks the whole: driver, connect and password_query present and valid, schemes known. */
enum pgd_conf_result pgd_conf_validate(const struct pgd_conf *conf, char *err, size_t errlen);

/* The hash verification rules conf sets (scheme default, cost caps) for login_user. */
struct pgd_hash_policy pgd_conf_hash_policy(const struct pgd_conf *conf, const char *login_user);

/* What rehash makes and how far it goes (update_scheme, update_rounds, rehash_any_scheme): the
 * target of pgd_hash_rehash_verdict; its strings are conf's. */
struct pgd_rehash_target pgd_conf_rehash_target(const struct pgd_conf *conf);

/* Frees every field (wiping connect) and leaves conf zeroed. */
void pgd_conf_free(struct pgd_conf *conf);

#endif
