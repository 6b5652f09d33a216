// SPDX-License-Identifier: MIT
/*
 * A catalogue of hostile input, run through the real libpam (under pam_wrapper) against the
 * test PostgreSQL. Each row: what it tries, the pam.d service (= a conf), the user and the
 * password, the PAM code expected, a piece of the log line expected (and optionally one that
 * must not be there). Every row runs with `debug` on, and every row's log is searched for
 * secrets: the passwords of the catalogue, the stored values of the fixtures table and the
 * database password. A last test searches the whole catalogue's log once more.
 *
 * NUL bytes: PAM's API passes the user name and the password as C strings, so nothing after a
 * NUL byte ever reaches a module; "good@example.org\0evil" *is* "good@example.org" to libpam,
 * to every module and to this one. The rows marked NUL show exactly that.
 *
 * Environment: PGD_MODULE, PGD_TEST_ADMIN (creates the hostile_users table), PGD_TEST_CONNINFO
 * (the module's conninfo), PAM_WRAPPER_SERVICE_DIR; pam_wrapper at PAM_WRAPPER_DEBUGLEVEL=2
 * (level 3 would print PAM_AUTHTOK itself).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <libpq-fe.h>
#include <security/pam_appl.h>

#include "hash.h"
#include "pam_test_util.h"

/* ------------------------------------------------------------------------------------------ */
/* The fixtures: rows of hostile_users, created by this test. */

/* doveadm pw -s SHA512-CRYPT of "correct horse battery", "other secret" and "bob pw". */
#define GOOD_HASH                                                                                  \
	"{SHA512-CRYPT}$6$sDzYV3U2gPfN4Icd$WkQML6JqKwHQLgz6nmgbgKtLK3JKPoSqV/"                     \
	"AobeTVQecECZhhXL1YAmu35e/yQc3ZzQALV/oXRD6OID5svVEwE/"
#define OTHER_HASH                                                                                 \
	"{SHA512-CRYPT}$6$/LZMHYOh7hDW/"                                                           \
	"4am$UoXXv6j5K7CoiXjGRAJ0bCKmdKsmqkzMrgEeF2S.r9qpHHUkm5mVGp6Hs"                            \
	"nV0ipOwfBdKVVvQvUZICZMe8NKFp1"
#define OFF_HASH                                                                                   \
	"{SHA512-CRYPT}$6$d99qvXer81Ea77Bd$.DkrJCdAhtNM.BtgsNrO1USgVD8wrGAAbaS.Vh/"                \
	"pKIQWQQEvE9s6tOtmPuzT9LHD1L0iaSdaVuevcgEuIiPHs1"
#define BCRYPT_TAIL "abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a"

#define GOOD_PW "correct horse battery"
#define PW "Hostile pw 1"

struct fixture {
	const char *userid;   /* domain is example.org */
	const char *password; /* NULL: SQL NULL */
	bool nologin;
};

static const struct fixture fixtures[] = {
    {"good", GOOD_HASH, false},
    {"other", OTHER_HASH, false},
    {"bcrypt", "{BLF-CRYPT}$2y$05$Wu0bnD8ws8wlFiUd8Jqsu.ukOGW0rvAvrUSR5f6P5duoirOi9cUFG", false},
    {"off", OFF_HASH, true},
    {"emptyplain", "{PLAIN}", false},
    {"nullpw", NULL, false},
    {"emptypw", "", false},
    {"space", " ", false},
    {"blanks", " \t \r\n ", false},
    {"garbage", "garbage, not a hash", false},
    {"braces", "{}", false},
    {"openbrace", "{SHA512-CRYPT", false},
    {"ctrl", "\x01\x1b[31mred\x1b[0m", false},
    {"dup", "{PLAIN}" PW, false},
    {"dup", "{PLAIN}" PW, false},
    /* malformed forms of each scheme hash.c knows */
    {"sha512-bare", "{SHA512-CRYPT}$6$", false},
    {"sha512-rounds-abc", "{SHA512-CRYPT}$6$rounds=abc$salt$hash", false},
    {"sha512-rounds-1", "{SHA512-CRYPT}$6$rounds=1$abcdefgh$AAAA", false},
    {"sha512-badsalt", "{SHA512-CRYPT}$6$ab!de$x", false},
    {"sha512-star", "{SHA512-CRYPT}*0", false},
    {"sha512-rounds-max",
     "{SHA512-CRYPT}$6$rounds=999999999$abcdefgh$"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     false},
    {"sha512-rounds-huge", "{SHA512-CRYPT}$6$rounds=99999999999999999999999$abcdefgh$AAAA", false},
    {"sha512-b64", "{SHA512-CRYPT.b64}!!!", false},
    {"sha512-hex", "{SHA512-CRYPT.hex}zz", false},
    {"sha256-rounds-max", "{SHA256-CRYPT}$5$rounds=999999999$abcdefgh$AAAA", false},
    {"sha256-rounds-neg", "{SHA256-CRYPT}$5$rounds=-5$x$y", false},
    {"bcrypt-31", "{BLF-CRYPT}$2y$31$" BCRYPT_TAIL, false},
    {"bcrypt-99", "{BLF-CRYPT}$2y$99$" BCRYPT_TAIL, false},
    {"bcrypt-short", "{BLF-CRYPT}$2y$05$short", false},
    {"bcrypt-onedigit", "{BLF-CRYPT}$2y$5$" BCRYPT_TAIL, false},
    {"bcrypt-badsalt", "{BLF-CRYPT}$2y$04$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
     false},
    {"bcrypt-3y", "{BLF-CRYPT}$3y$05$" BCRYPT_TAIL, false},
    {"crypt-bcrypt-31", "{CRYPT}$2y$31$" BCRYPT_TAIL, false},
    {"crypt-rounds-max", "{CRYPT}$6$rounds=999999999$a$b", false},
    {"crypt-empty", "{CRYPT}", false},
    {"des-short", "{DES-CRYPT}x", false},
    {"des-badsalt", "{DES-CRYPT}!!", false},
    {"md5crypt-empty", "{MD5-CRYPT}", false},
    {"md5crypt-nodollar", "{MD5-CRYPT}x9Qz7Wk2v", false},
    {"md5-zz", "{MD5}zz", false},
    {"plainmd5-b64", "{PLAIN-MD5}abc", false},
    {"plainmd5-short", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee", false},
    {"plainmd5-hex", "{PLAIN-MD5.hex}5ebe2294ecd0e0f08eab7690d2a6ee6", false},
    {"plainmd5-pad", "{PLAIN-MD5.b64}Xr4ilOzQ4PCOq3aQ0qbuaQ=", false},
    {"plainmd5-rot13", "{PLAIN-MD5.rot13}x", false},
    {"plain-b64", "{PLAIN.b64}@@@", false},
    {"plain-hex", "{PLAIN.hex}0", false},
    {"scheme-blank", "{ }x", false},
    {"scheme-ctrl", "{SHA512\x1b[2J}x", false},
    /* read with default_pass_scheme = PLAIN: the whole value is the password */
    {"troubador", "{Tr0ub4dor}&3", false},
};

/* ------------------------------------------------------------------------------------------ */
/* The services: one pam.d file and its conf each. */

#define QUERY                                                                                      \
	"SELECT userid || '@' || domain AS user, password, nologin FROM hostile_users "            \
	"WHERE userid = '%n' AND domain = '%d'"
#define CONF_HEAD "driver = pgsql\nconnect = %CONNECT%\n"
#define GOOD_CONF CONF_HEAD "default_pass_scheme = SHA512-CRYPT\npassword_query = " QUERY "\n"

enum conf_kind {
	CONF_FILE,     /* the text, mode as given */
	CONF_MISSING,  /* conf= names no file */
	CONF_SYMLINK,  /* conf= names a symlink to a good conf */
	CONF_HUGE,     /* a good conf padded past 64 KiB with comments */
	CONF_AT_CAP,   /* a good conf padded to exactly 64 KiB */
	CONF_DIR,      /* conf= names a folder */
	CONF_FIFO,     /* conf= names a FIFO: must not hang */
	CONF_RELATIVE, /* conf= a relative path */
	CONF_NOT_OURS, /* owned by another user (only as root) */
	CONF_NUL,      /* a NUL byte in the middle */
	CONF_UNKNOWN,  /* hundreds of unknown keys */
};

struct service {
	const char *name;
	const char *args; /* after conf=... nodelay debug */
	enum conf_kind kind;
	const char *conf;
	mode_t mode;
};

static const struct service services[] = {
    {"h", "", CONF_FILE, GOOD_CONF, 0600},
    {"h-nullok", "nullok", CONF_FILE, GOOD_CONF, 0600},
    {"h-nullok-down", "nullok", CONF_FILE,
     "driver = pgsql\nconnect = host=127.0.0.1 port=1 dbname=mail connect_timeout=2\n"
     "password_query = " QUERY "\n",
     0600},
    {"h-plain", "", CONF_FILE,
     CONF_HEAD "default_pass_scheme = PLAIN\npassword_query = " QUERY "\n", 0600},
    {"h-any", "", CONF_FILE, GOOD_CONF "username_chars =\n", 0600},
    {"h-down", "", CONF_FILE,
     "driver = pgsql\nconnect = host=127.0.0.1 port=1 dbname=mail connect_timeout=2\n"
     "password_query = " QUERY "\n",
     0600},
    {"h-md5", "", CONF_FILE, CONF_HEAD "password_query = " QUERY "\n", 0600},
    {"h-nocolumn", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT userid AS user FROM hostile_users WHERE userid = '%n'\n",
     0600},
    {"h-multi", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM hostile_users WHERE domain = '%d'\n", 0600},
    /* password_query with SQL errors: the server refuses them */
    {"q-selekt", "", CONF_FILE,
     CONF_HEAD "password_query = SELEKT password FROM hostile_users WHERE userid = '%n'\n", 0600},
    {"q-nocol", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT passwd AS password FROM hostile_users "
               "WHERE userid = '%n'\n",
     0600},
    {"q-notable", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM no_such_table WHERE userid = '%n'\n", 0600},
    {"q-stacked", "", CONF_FILE,
     CONF_HEAD "password_query = " QUERY "; DELETE FROM hostile_users\n", 0600},
    {"q-div0", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT (1/0)::text AS password FROM hostile_users "
               "WHERE userid = '%n'\n",
     0600},
    {"q-paren", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM hostile_users WHERE (userid = '%n'\n", 0600},
    /* password_query templates the module refuses before asking the server */
    {"q-unterminated", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM hostile_users WHERE userid = '%n\n", 0600},
    {"q-password", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM hostile_users WHERE password = '%w'\n", 0600},
    {"q-positional", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM hostile_users WHERE userid = $1\n", 0600},
    {"q-glued", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM hostile_users WHERE userid = x%u\n", 0600},
    {"q-comment", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM hostile_users -- %u\n", 0600},
    {"q-badvar", "", CONF_FILE,
     CONF_HEAD "password_query = SELECT password FROM hostile_users WHERE userid = '%z'\n", 0600},
    {"q-empty", "", CONF_FILE, CONF_HEAD "password_query =\n", 0600},
    /* conf files */
    {"c-missing", "", CONF_MISSING, NULL, 0600},
    {"c-world", "", CONF_FILE, GOOD_CONF, 0666},
    {"c-group", "", CONF_FILE, GOOD_CONF, 0620},
    {"c-symlink", "", CONF_SYMLINK, GOOD_CONF, 0600},
    {"c-huge", "", CONF_HUGE, GOOD_CONF, 0600},
    {"c-at-cap", "", CONF_AT_CAP, GOOD_CONF, 0600},
    {"c-dir", "", CONF_DIR, NULL, 0700},
    {"c-fifo", "", CONF_FIFO, NULL, 0600},
    {"c-relative", "", CONF_RELATIVE, NULL, 0600},
    {"c-not-ours", "", CONF_NOT_OURS, GOOD_CONF, 0600},
    {"c-nul", "", CONF_NUL, GOOD_CONF, 0600},
    {"c-unknown", "", CONF_UNKNOWN, GOOD_CONF, 0600},
    {"c-empty", "", CONF_FILE, "", 0600},
    {"c-binary", "", CONF_FILE,
     "\x7f"
     "ELF\x02\x01\x01\xff\xfe\x80garbage\x01\x02",
     0600},
    {"c-include", "", CONF_FILE, "!include /etc/shadow\n" GOOD_CONF, 0600},
    {"c-section", "", CONF_FILE, GOOD_CONF "passdb {\n  driver = sql\n}\n", 0600},
    {"c-continued", "", CONF_FILE, GOOD_CONF "user_query = SELECT 1 \\\n", 0600},
    {"c-badnumber", "", CONF_FILE, GOOD_CONF "max_crypt_rounds = 1e9\n", 0600},
    {"c-range", "", CONF_FILE, GOOD_CONF "max_bcrypt_cost = 32\n", 0600},
    {"c-negative", "", CONF_FILE, GOOD_CONF "max_crypt_rounds = -1\n", 0600},
    {"c-driver", "", CONF_FILE, "driver = mysql\nconnect = %CONNECT%\npassword_query = " QUERY "\n",
     0600},
    {"c-scheme", "", CONF_FILE, GOOD_CONF "default_pass_scheme = ROT13\n", 0600},
    {"c-format", "", CONF_FILE, GOOD_CONF "username_format = %Z\n", 0600},
    {"c-flag-in-file", "", CONF_FILE, GOOD_CONF "nullok = yes\n", 0600},
    {"a-connect", "connect=host=127.0.0.1", CONF_FILE, GOOD_CONF, 0600},
    {"a-unknown", "frobnicate", CONF_FILE, GOOD_CONF, 0600},
    {"a-bool", "nullok=maybe", CONF_FILE, GOOD_CONF, 0600},
    {"a-novalue", "default_domain", CONF_FILE, GOOD_CONF, 0600},
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

/* ------------------------------------------------------------------------------------------ */
/* The catalogue. */

struct row {
	const char *what;
	const char *service;
	const char *user;
	const char *password;
	int expected;
	const char *log;     /* a piece of what the module logs; NULL: no check */
	const char *not_log; /* must not be logged; NULL: no check */
	size_t user_pad;     /* prepend this many 'a' to user */
	size_t pw_pad;       /* prepend this many 'p' to password */
	bool account;        /* run acct_mgmt instead of authenticate */
	unsigned max_ms;     /* must answer within this many ms; 0: no check */
	int flags;           /* PAM flags for pam_authenticate (PAM_DISALLOW_NULL_AUTHTOK) */
};

/* clang-format off */
#define SVC_ERR(what, service, log)                                                                \
	{                                                                                          \
		what, service, "good@example.org", GOOD_PW, PAM_SERVICE_ERR, log                   \
	}
/* clang-format on */
/* clang-format off */
#define BAD_HASH(user, log)                                                                        \
	{                                                                                          \
		"stored " user, "h", user "@example.org", PW, PAM_AUTH_ERR, log                    \
	}
/* clang-format on */
/* clang-format off */
#define TOO_COSTLY(user, log)                                                                      \
	{                                                                                          \
		"stored " user " (refused fast)", "h", user "@example.org", PW, PAM_AUTH_ERR, log, \
		    .max_ms = 2000                                                                 \
	}
/* clang-format on */
/* clang-format off */
#define MISMATCH(user)                                                                             \
	{                                                                                          \
		"stored " user, "h", user "@example.org", PW, PAM_AUTH_ERR,                        \
		    "authentication failure"                                                       \
	}
/* clang-format on */

static const struct row rows[] = {
    /* controls: the catalogue's services work, and debug lines are captured */
    {"control: right password", "h", "good@example.org", GOOD_PW, PAM_SUCCESS,
     "authentication ok for user=good@example.org"},
    {"control: wrong password", "h", "good@example.org", PW, PAM_AUTH_ERR,
     "authentication failure; logname="},
    {"control: unknown user", "h", "nobody@example.org", PW, PAM_USER_UNKNOWN, "user unknown"},

    /* SQL injection through the user name */
    {"SQL: quote refused by username_chars", "h", "x' OR '1'='1@example.org", PW, PAM_USER_UNKNOWN,
     "0x27"},
    {"SQL: quote bound, not spliced", "h-any", "x' OR '1'='1@example.org", PW, PAM_USER_UNKNOWN,
     "user unknown"},
    {"SQL: comment", "h-any", "' OR 1=1 --@example.org", PW, PAM_USER_UNKNOWN, "user unknown"},
    {"SQL: comment after a real name", "h-any", "good' --@example.org", GOOD_PW, PAM_USER_UNKNOWN,
     "user unknown"},
    {"SQL: in the domain part", "h-any", "good@example.org' OR 'a'='a", GOOD_PW, PAM_USER_UNKNOWN,
     "user unknown"},
    {"SQL: stacked DROP TABLE", "h-any", "'; DROP TABLE hostile_users; --@example.org", PW,
     PAM_USER_UNKNOWN, "user unknown"},
    {"SQL: the table survived", "h", "good@example.org", GOOD_PW, PAM_SUCCESS, NULL},
    {"SQL: backslash quote", "h-any", "good\\'@example.org", GOOD_PW, PAM_USER_UNKNOWN,
     "user unknown"},
    {"SQL: dollar quote", "h-any", "$$good$$@example.org", GOOD_PW, PAM_USER_UNKNOWN,
     "user unknown"},
    {"SQL: positional parameter", "h-any", "$1@example.org", PW, PAM_USER_UNKNOWN, "user unknown"},
    {"SQL: UNION", "h-any", "x' UNION SELECT 'good', 'x', NULL --@example.org", "x",
     PAM_USER_UNKNOWN, "user unknown"},
    {"SQL: acct_mgmt too", "h-any", "x' OR '1'='1@example.org", "", PAM_USER_UNKNOWN,
     "user unknown", .account = true},
    {"%-variable in the name is data", "h-any", "%u@example.org", PW, PAM_USER_UNKNOWN,
     "user unknown"},
    {"%{password} in the name is data", "h-any", "%{password}@example.org", PW, PAM_USER_UNKNOWN,
     "user unknown"},
    {"%-variable refused by username_chars", "h", "%u@example.org", PW, PAM_USER_UNKNOWN, "0x25"},
    {"two @", "h", "good@example.org@evil.example", GOOD_PW, PAM_USER_UNKNOWN, "user unknown"},
    {"empty user part", "h", "@example.org", PW, PAM_USER_UNKNOWN, "user unknown"},
    {"empty domain part", "h", "good@", GOOD_PW, PAM_USER_UNKNOWN, "user unknown"},
    {"a lone @", "h", "@", PW, PAM_USER_UNKNOWN, "user unknown"},
    {"space refused by username_chars", "h", " good@example.org", GOOD_PW, PAM_USER_UNKNOWN,
     "0x20"},

    /* NUL: libpam's strings end there, for every module */
    {"NUL: bytes after it never reach the module", "h", "good@example.org\0evil", GOOD_PW,
     PAM_SUCCESS, "user=good@example.org", "evil"},
    {"NUL: in the password too", "h", "good@example.org", GOOD_PW "\0junk", PAM_SUCCESS, NULL,
     "junk"},

    /* control characters, refused even where username_chars allows everything */
    {"newline (log forging)", "h-any", "good\nFAKE: accepted@example.org", GOOD_PW,
     PAM_USER_UNKNOWN, "0x0a", "\nFAKE"},
    {"carriage return", "h-any", "good\r@example.org", GOOD_PW, PAM_USER_UNKNOWN, "0x0d"},
    {"tab", "h-any", "good\t@example.org", GOOD_PW, PAM_USER_UNKNOWN, "0x09"},
    {"escape sequence", "h-any", "\x1b[2Jgood@example.org", GOOD_PW, PAM_USER_UNKNOWN, "0x1b"},
    {"SOH", "h-any", "go\x01od@example.org", GOOD_PW, PAM_USER_UNKNOWN, "0x01"},
    {"DEL", "h-any", "good\x7f@example.org", GOOD_PW, PAM_USER_UNKNOWN, "0x7f"},
    {"control byte, acct_mgmt", "h-any", "good\n@example.org", "", PAM_USER_UNKNOWN, "0x0a",
     .account = true},
    {"control byte, default username_chars", "h", "good\x1b@example.org", GOOD_PW, PAM_USER_UNKNOWN,
     "0x1b"},

    /* invalid UTF-8 */
    {"UTF-8: 0xff", "h", "good\xff@example.org", GOOD_PW, PAM_USER_UNKNOWN, "0xff"},
    {"UTF-8: truncated sequence", "h", "\xc3\x28@example.org", PW, PAM_USER_UNKNOWN, "0xc3"},
    {"UTF-8: overlong '/'", "h", "\xc0\xaf@example.org", PW, PAM_USER_UNKNOWN, "0xc0"},
    {"UTF-8: surrogate", "h", "\xed\xa0\x80@example.org", PW, PAM_USER_UNKNOWN, "0xed"},
    /* with username_chars empty the bytes reach the server, which refuses them: no row is
     * read, nothing matches, and the log line names no byte raw */
    {"UTF-8: invalid, sent to a UTF8 server", "h-any", "\xc3\x28@example.org", PW,
     PAM_AUTHINFO_UNAVAIL, "invalid byte sequence", "\xc3\x28"},
    {"UTF-8: valid, not a user", "h-any",
     "g\xc3\xb6\xc3\xb6"
     "d@example.org",
     PW, PAM_USER_UNKNOWN, "user unknown"},

    /* over-long input: refused before any database work (h-down has no server) */
    {"user of 257 bytes", "h", "@example.org", PW, PAM_USER_UNKNOWN, "longer than 256",
     .user_pad = 245},
    {"user of 257 bytes, no database work", "h-down", "@example.org", PW, PAM_USER_UNKNOWN,
     "longer than 256", "database", .user_pad = 245},
    {"user of 256 bytes reaches the database", "h", "@example.org", PW, PAM_USER_UNKNOWN,
     "user unknown", .user_pad = 244},
    {"user of 100 kB", "h-down", "@example.org", PW, PAM_USER_UNKNOWN, "longer than 256",
     .user_pad = 100000},
    {"password of 1025 bytes", "h", "good@example.org", "", PAM_AUTH_ERR,
     "password longer than 1024", .pw_pad = 1025},
    {"password of 1025 bytes, no database work", "h-down", "good@example.org", "", PAM_AUTH_ERR,
     "password longer than 1024", "database", .pw_pad = 1025},
    {"password of 1024 bytes is checked", "h", "good@example.org", "", PAM_AUTH_ERR,
     "authentication failure", "cannot verify", .pw_pad = 1024},
    {"password of 1 MB", "h-down", "good@example.org", "", PAM_AUTH_ERR,
     "password longer than 1024", .pw_pad = 1 << 20},
    {"right password with 1000 bytes after it", "h", "good@example.org", GOOD_PW, PAM_AUTH_ERR,
     "authentication failure", .pw_pad = 1000},
    /* libxcrypt refuses passphrases of 512 bytes or more: a wrong password, not a bad hash */
    {"password of 512 bytes: a wrong password", "h", "good@example.org", "", PAM_AUTH_ERR,
     "authentication failure", "cannot verify", .pw_pad = 512},
    {"password of 511 bytes: a wrong password", "h", "good@example.org", "", PAM_AUTH_ERR,
     "authentication failure", "cannot verify", .pw_pad = 511},
    {"password of 600 bytes, bcrypt", "h", "bcrypt@example.org", "", PAM_AUTH_ERR,
     "authentication failure", "cannot verify", .pw_pad = 600},

    /* passwords that are not what they seem */
    {"pass-the-hash: the stored value as the password", "h", "good@example.org", GOOD_HASH,
     PAM_AUTH_ERR, "authentication failure"},
    {"pass-the-hash: its crypt part", "h", "good@example.org", GOOD_HASH + 14, PAM_AUTH_ERR,
     "authentication failure"},
    {"password with a newline", "h", "good@example.org", GOOD_PW "\nFAKE: ok", PAM_AUTH_ERR,
     "authentication failure", "FAKE"},
    {"password with escape sequences", "h", "good@example.org", "\x1b[2J\x1b]0;pwned\x07",
     PAM_AUTH_ERR, "authentication failure"},
    {"password with %-variables", "h", "good@example.org", "%u%{password}%w", PAM_AUTH_ERR,
     "authentication failure"},
    {"password of invalid UTF-8", "h", "good@example.org", "\xff\xfe\xc3\x28", PAM_AUTH_ERR,
     "authentication failure"},

    /* empty passwords */
    {"empty password without nullok", "h", "emptyplain@example.org", "", PAM_AUTH_ERR,
     "empty password refused"},
    {"empty password without nullok, no database work", "h-down", "good@example.org", "",
     PAM_AUTH_ERR, "empty password refused", "database"},
    {"empty password with nullok, empty stored", "h-nullok", "emptyplain@example.org", "",
     PAM_SUCCESS, NULL},
    {"empty password with nullok, real hash", "h-nullok", "good@example.org", "", PAM_AUTH_ERR,
     "authentication failure"},
    {"empty password with nullok, NULL stored", "h-nullok", "nullpw@example.org", "", PAM_AUTH_ERR,
     "stored password is NULL"},
    {"empty password with nullok, '' stored", "h-nullok", "emptypw@example.org", "", PAM_AUTH_ERR,
     "stored password is empty"},
    {"empty password with nullok, unknown user", "h-nullok", "nobody@example.org", "",
     PAM_USER_UNKNOWN, "user unknown"},
    {"a password against an empty stored one", "h-nullok", "emptyplain@example.org", "x",
     PAM_AUTH_ERR, "authentication failure"},
    /* the application's PAM_DISALLOW_NULL_AUTHTOK wins over nullok, as in pam_unix */
    {"empty password, nullok, PAM_DISALLOW_NULL_AUTHTOK", "h-nullok", "emptyplain@example.org", "",
     PAM_AUTH_ERR, "empty password refused: the application set PAM_DISALLOW_NULL_AUTHTOK",
     .flags = PAM_DISALLOW_NULL_AUTHTOK},
    {"empty password, nullok, PAM_DISALLOW_NULL_AUTHTOK: no database work", "h-nullok-down",
     "emptyplain@example.org", "", PAM_AUTH_ERR, "PAM_DISALLOW_NULL_AUTHTOK", "database",
     .flags = PAM_DISALLOW_NULL_AUTHTOK},
    {"empty password, nullok, no flag: the database is asked", "h-nullok-down",
     "emptyplain@example.org", "", PAM_AUTHINFO_UNAVAIL, "database unavailable"},
    {"PAM_DISALLOW_NULL_AUTHTOK without nullok", "h", "emptyplain@example.org", "", PAM_AUTH_ERR,
     "empty password refused without nullok", .flags = PAM_DISALLOW_NULL_AUTHTOK},
    {"PAM_DISALLOW_NULL_AUTHTOK, a password", "h-nullok", "good@example.org", GOOD_PW, PAM_SUCCESS,
     NULL, .flags = PAM_DISALLOW_NULL_AUTHTOK},

    /* stored values that are not hashes */
    {"stored NULL", "h", "nullpw@example.org", PW, PAM_AUTH_ERR, "stored password is NULL"},
    {"stored ''", "h", "emptypw@example.org", PW, PAM_AUTH_ERR, "stored password is empty"},
    BAD_HASH("space", "cannot verify user=space@example.org"),
    BAD_HASH("blanks", "crypt() rejects"),
    BAD_HASH("garbage", "crypt() rejects"),
    {"stored garbage under MD5", "h-md5", "garbage@example.org", PW, PAM_AUTH_ERR,
     "not a valid MD5-CRYPT or PLAIN-MD5"},
    BAD_HASH("braces", "unknown scheme (empty)"),
    BAD_HASH("openbrace", "crypt() rejects"),
    {"stored control bytes", "h", "ctrl@example.org", PW, PAM_AUTH_ERR, "cannot verify", "\x1b"},
    /* another user's password, and the hash of another user */
    {"another user's password", "h", "other@example.org", GOOD_PW, PAM_AUTH_ERR,
     "authentication failure"},
    {"the password of a disabled user", "h", "good@example.org", "bob pw", PAM_AUTH_ERR,
     "authentication failure"},
    {"nologin, right password", "h", "off@example.org", "bob pw", PAM_AUTH_ERR, "nologin"},
    {"nologin, wrong password: nologin not told", "h", "off@example.org", PW, PAM_AUTH_ERR,
     "authentication failure", "nologin"},
    {"nologin, acct_mgmt", "h", "off@example.org", "", PAM_PERM_DENIED, "nologin", .account = true},

    /* malformed forms of each scheme */
    MISMATCH("sha512-bare"),
    BAD_HASH("sha512-rounds-abc", "crypt() rejects"),
    BAD_HASH("sha512-rounds-1", "crypt() rejects"),
    BAD_HASH("sha512-badsalt", "crypt() rejects"),
    BAD_HASH("sha512-star", "crypt() rejects"),
    TOO_COSTLY("sha512-rounds-max", "rounds 999999999 above cap 1000000"),
    TOO_COSTLY("sha512-rounds-huge", "above cap"),
    BAD_HASH("sha512-b64", "not valid base64"),
    BAD_HASH("sha512-hex", "not valid hex"),
    TOO_COSTLY("sha256-rounds-max", "rounds 999999999 above cap"),
    BAD_HASH("sha256-rounds-neg", "crypt() rejects"),
    TOO_COSTLY("bcrypt-31", "bcrypt cost 31 above cap 14"),
    TOO_COSTLY("bcrypt-99", "bcrypt cost 99 above cap"),
    BAD_HASH("bcrypt-short", "not a bcrypt hash"),
    BAD_HASH("bcrypt-onedigit", "crypt() rejects"),
    BAD_HASH("bcrypt-badsalt", "crypt() rejects"),
    BAD_HASH("bcrypt-3y", "not a bcrypt hash"),
    TOO_COSTLY("crypt-bcrypt-31", "bcrypt cost 31 above cap"),
    TOO_COSTLY("crypt-rounds-max", "rounds 999999999 above cap"),
    BAD_HASH("crypt-empty", "empty hash"),
    BAD_HASH("des-short", "crypt() rejects"),
    BAD_HASH("des-badsalt", "crypt() rejects"),
    BAD_HASH("md5crypt-empty", "empty hash"),
    BAD_HASH("md5crypt-nodollar", "not an MD5-CRYPT hash"),
    BAD_HASH("md5-zz", "not a valid MD5-CRYPT or PLAIN-MD5"),
    BAD_HASH("plainmd5-b64", "not valid base64"),
    BAD_HASH("plainmd5-short", "not valid base64"),
    BAD_HASH("plainmd5-hex", "not valid hex"),
    BAD_HASH("plainmd5-pad", "not valid base64"),
    BAD_HASH("plainmd5-rot13", "unknown scheme (a name of 15 bytes)"),
    BAD_HASH("plain-b64", "not valid base64"),
    BAD_HASH("plain-hex", "not valid hex"),
    BAD_HASH("scheme-blank", "unknown scheme"),
    {"stored scheme with an escape sequence", "h", "scheme-ctrl@example.org", PW, PAM_AUTH_ERR,
     "unknown scheme (a name of 10 bytes)", "\x1b"},
    /* a password in braces read as PLAIN: no part of it, scheme-like or not, is logged */
    {"stored {Tr0ub4dor}&3 under PLAIN", "h-plain", "troubador@example.org", PW, PAM_AUTH_ERR,
     "unknown scheme"},
    {"stored {Tr0ub4dor}&3 under PLAIN, the right password", "h-plain", "troubador@example.org",
     "{Tr0ub4dor}&3", PAM_AUTH_ERR, "unknown scheme"},

    /* what the query returns */
    {"two rows for one user", "h", "dup@example.org", PW, PAM_AUTHINFO_UNAVAIL,
     "2 rows, expected one"},
    {"many rows", "h-multi", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "rows, expected one"},
    {"no password column", "h-nocolumn", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "no 'password' column"},
    {"no server", "h-down", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "database unavailable"},

    /* password_query with errors */
    {"query: syntax error", "q-selekt", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "syntax error"},
    {"query: unknown column", "q-nocol", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "does not exist"},
    {"query: unknown table", "q-notable", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "does not exist"},
    {"query: two statements", "q-stacked", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "multiple commands"},
    {"query: the second statement did not run", "h", "good@example.org", GOOD_PW, PAM_SUCCESS,
     NULL},
    {"query: division by zero", "q-div0", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "division by zero"},
    {"query: unbalanced parenthesis", "q-paren", "good@example.org", GOOD_PW, PAM_AUTHINFO_UNAVAIL,
     "syntax error"},
    SVC_ERR("query: unterminated literal", "q-unterminated", "unterminated string literal"),
    SVC_ERR("query: %w", "q-password", "%w is refused"),
    SVC_ERR("query: positional parameter", "q-positional", "positional parameter"),
    SVC_ERR("query: variable glued to a word", "q-glued", "glued"),
    SVC_ERR("query: variable in a comment", "q-comment", "inside a comment"),
    SVC_ERR("query: unknown variable", "q-badvar", "unknown or unsupported variable %z"),
    SVC_ERR("query: empty", "q-empty", "password_query not set"),

    /* conf files and module arguments */
    SVC_ERR("conf: missing", "c-missing", "No such file or directory"),
    SVC_ERR("conf: world-writable", "c-world", "group or world writable"),
    SVC_ERR("conf: group-writable", "c-group", "group or world writable"),
    SVC_ERR("conf: symlink", "c-symlink", "is a symlink"),
    SVC_ERR("conf: larger than 64 KiB", "c-huge", "larger than 65536 bytes"),
    {"conf: exactly 64 KiB is read", "c-at-cap", "good@example.org", GOOD_PW, PAM_SUCCESS, NULL},
    SVC_ERR("conf: a folder", "c-dir", "not a regular file"),
    SVC_ERR("conf: a FIFO (no hang)", "c-fifo", "not a regular file"),
    SVC_ERR("conf: relative path", "c-relative", "not an absolute path"),
    SVC_ERR("conf: owned by another user", "c-not-ours", "not owned by root"),
    SVC_ERR("conf: NUL byte", "c-nul", "NUL byte in line"),
    SVC_ERR("conf: full of unknown keys", "c-unknown", "unknown key 'unknown_key_0'"),
    SVC_ERR("conf: empty", "c-empty", "driver not set"),
    SVC_ERR("conf: binary garbage", "c-binary", "expecting '='"),
    /* !include and blocks make a Dovecot 2.4 file: /etc/shadow is no conf, a 2.3 key is refused */
    SVC_ERR("conf: !include", "c-include", "/etc/shadow line 1: Expecting '{'"),
    SVC_ERR("conf: section", "c-section", "'driver' is a Dovecot 2.3 dovecot-sql.conf.ext key"),
    SVC_ERR("conf: ends in a continued line", "c-continued", "continued line"),
    SVC_ERR("conf: not a number", "c-badnumber", "is not a number"),
    SVC_ERR("conf: bcrypt cap out of range", "c-range", "out of range"),
    SVC_ERR("conf: negative rounds", "c-negative", "is not a number"),
    SVC_ERR("conf: driver mysql", "c-driver", "driver 'mysql' is not supported"),
    SVC_ERR("conf: unknown scheme", "c-scheme", "'ROT13' is not a known scheme"),
    SVC_ERR("conf: bad username_format", "c-format", "username_format"),
    SVC_ERR("conf: a pam.d flag in the file", "c-flag-in-file", "is a module argument"),
    SVC_ERR("args: connect= in pam.d", "a-connect", "refused as a module argument"),
    SVC_ERR("args: unknown argument", "a-unknown", "unknown module argument 'frobnicate'"),
    SVC_ERR("args: boolean not yes/no", "a-bool", "expected yes or no"),
    SVC_ERR("args: key without value", "a-novalue", "needs a value"),
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ------------------------------------------------------------------------------------------ */
/* Writing the services. */

static char work_dir[] = "/tmp/pgd-hostile.XXXXXX";

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* good conf text followed by '#' comment lines up to exactly size bytes */
static char *padded_conf(const char *text, size_t size)
{
	char *conf = pgd_test_fill_conf(text);
	size_t len = strlen(conf);
	char *out = malloc(size + 1);

	assert_non_null(out);
	assert_true(len + 2 < size);
	memcpy(out, conf, len);
	memset(out + len, '#', size - len);
	for (size_t i = len + 80; i < size; i += 80)
		out[i] = '\n';
	out[size - 1] = '\n';
	out[size] = '\0';
	free(conf);
	return out;
}

static void write_conf(const struct service *s, char *path, size_t pathlen)
{
	char *text = NULL, target[512];

	snprintf(path, pathlen, "%s/%s.conf", work_dir, s->name);
	switch (s->kind) {
	case CONF_FILE:
		text = pgd_test_fill_conf(s->conf);
		write_file(path, text, strlen(text), s->mode);
		break;
	case CONF_MISSING:
		break;
	case CONF_SYMLINK:
		snprintf(target, sizeof(target), "%s/%s.target", work_dir, s->name);
		text = pgd_test_fill_conf(s->conf);
		write_file(target, text, strlen(text), s->mode);
		if (symlink(target, path) != 0)
			fail_msg("symlink %s: %s", path, strerror(errno));
		break;
	case CONF_HUGE:
		text = padded_conf(s->conf, 70 * 1024);
		write_file(path, text, strlen(text), s->mode);
		break;
	case CONF_AT_CAP:
		text = padded_conf(s->conf, 64 * 1024);
		write_file(path, text, strlen(text), s->mode);
		break;
	case CONF_DIR:
		if (mkdir(path, s->mode) != 0)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		break;
	case CONF_FIFO:
		if (mkfifo(path, s->mode) != 0)
			fail_msg("mkfifo %s: %s", path, strerror(errno));
		break;
	case CONF_RELATIVE:
		snprintf(path, pathlen, "relative/%s.conf", s->name);
		break;
	case CONF_NOT_OURS:
		text = pgd_test_fill_conf(s->conf);
		write_file(path, text, strlen(text), s->mode);
		/* as root: owned by nobody; otherwise the row is skipped */
		if (geteuid() == 0 && chown(path, 65534, 65534) != 0)
			fail_msg("chown %s: %s", path, strerror(errno));
		break;
	case CONF_NUL: {
		size_t len;

		text = pgd_test_fill_conf(s->conf);
		len = strlen(text);
		text[len / 2] = '\0';
		write_file(path, text, len, s->mode);
		break;
	}
	case CONF_UNKNOWN: {
		char *conf = pgd_test_fill_conf(s->conf);
		size_t cap = strlen(conf) + 500 * 40, n;

		text = malloc(cap);
		assert_non_null(text);
		n = (size_t)snprintf(text, cap, "%s", "driver = pgsql\n# then the typos\n");
		for (int i = 0; i < 500; i++)
			n += (size_t)snprintf(text + n, cap - n, "unknown_key_%d = value %d\n", i,
			                      i);
		snprintf(text + n, cap - n, "%s", conf);
		free(conf);
		write_file(path, text, strlen(text), s->mode);
		break;
	}
	}
	free(text);
}

static void write_services(void)
{
	const char *module = pgd_test_env("PGD_MODULE");
	char conf_path[512], svc_path[1024], line[4096];

	if (mkdtemp(work_dir) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	for (size_t i = 0; i < NSERVICES; i++) {
		const struct service *s = &services[i];

		write_conf(s, conf_path, sizeof(conf_path));
		snprintf(svc_path, sizeof(svc_path), "%s/%s",
		         pgd_test_env("PAM_WRAPPER_SERVICE_DIR"), s->name);
		snprintf(line, sizeof(line),
		         "auth required %s conf=%s nodelay debug %s\n"
		         "account required %s conf=%s debug %s\n",
		         module, conf_path, s->args, module, conf_path, s->args);
		write_file(svc_path, line, strlen(line), 0644);
	}
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* work_dir is ours: mkdtemp made it, and holds only what write_conf put there. */
static void remove_work_dir(void)
{
	if (nftw(work_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s: %s\n", work_dir, strerror(errno));
}

/* ------------------------------------------------------------------------------------------ */
/* Fixtures in the database. */

static void admin_exec(PGconn *conn, const char *sql, int n, const char *const *values)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("fixtures: %s", PQerrorMessage(conn));
	PQclear(res);
}

/* The row about invalid UTF-8 reaching the server needs a UTF8 server (initdb under a C locale
 * makes SQL_ASCII, which takes any byte). */
static bool server_utf8;

static void load_fixtures(void)
{
	PGconn *conn = pgd_test_admin();
	const char *enc = PQparameterStatus(conn, "server_encoding");

	server_utf8 = enc != NULL && strcmp(enc, "UTF8") == 0;

	admin_exec(conn, "DROP TABLE IF EXISTS hostile_users", 0, NULL);
	admin_exec(conn,
	           "CREATE TABLE hostile_users (userid text NOT NULL, domain text NOT NULL, "
	           "password text, nologin text)",
	           0, NULL);
	admin_exec(conn, "GRANT SELECT ON hostile_users TO PUBLIC", 0, NULL);
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const char *values[] = {fixtures[i].userid, fixtures[i].password,
		                        fixtures[i].nologin ? "Y" : NULL};

		admin_exec(conn, "INSERT INTO hostile_users VALUES ($1, 'example.org', $2, $3)", 3,
		           values);
	}
	PQfinish(conn);
}

/* ------------------------------------------------------------------------------------------ */
/* Secrets that must never be logged. */

static char *padded(const char *s, size_t pad, char fill);

/* The whole catalogue's log, for the last test. */
static char *all_logs;
static size_t all_logs_len;

static void keep_log(const char *log)
{
	size_t n = strlen(log);
	char *p = realloc(all_logs, all_logs_len + n + 1);

	assert_non_null(p);
	memcpy(p + all_logs_len, log, n + 1);
	all_logs = p;
	all_logs_len += n;
}

static void must_not_contain(const char *log, const char *secret, size_t min_len, const char *what,
                             const char *row)
{
	if (secret == NULL || strlen(secret) < min_len)
		return;
	if (strstr(log, secret) != NULL)
		fail_msg("%s: %s \"%s\" appears in the log:\n%s", row, what, secret, log);
}

/* The checksum of a crypt hash (after its last '$'), or the value after "{SCHEME}". */
static const char *hash_part(const char *stored)
{
	const char *dollar = strrchr(stored, '$');
	const char *brace = stored[0] == '{' ? strchr(stored, '}') : NULL;

	if (dollar != NULL)
		return dollar + 1;
	return brace != NULL ? brace + 1 : stored;
}

/* The password= of the module's conninfo. */
static void db_password(char *out, size_t outlen)
{
	const char *p = strstr(pgd_test_env("PGD_TEST_CONNINFO"), "password=");
	size_t n = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	for (p += 9; p[n] != '\0' && p[n] != ' ' && n + 1 < outlen; n++)
		out[n] = p[n];
	out[n] = '\0';
}

static void check_secrets(const char *log, const char *row)
{
	char dbpw[256];

	db_password(dbpw, sizeof(dbpw));
	must_not_contain(log, dbpw, 4, "the database password", row);
	for (size_t i = 0; i < NROWS; i++) {
		if (rows[i].pw_pad == 0)
			must_not_contain(log, rows[i].password, 4, "a password", row);
	}
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const char *stored = fixtures[i].password;

		if (stored == NULL)
			continue;
		must_not_contain(log, stored, 6, "a stored value", row);
		must_not_contain(log, hash_part(stored), 8, "a stored hash", row);
	}
	/* the padded passwords: 'p' * n, never logged either */
	if (strstr(log, "pppppppppppppppppppppppppppppppp") != NULL)
		fail_msg("%s: a long password appears in the log:\n%s", row, log);
}

/*
 * Nothing of a row's own secrets, not even a piece: no ECHO_LEN consecutive bytes of the row's
 * password, or of the secret part of its stored value, may appear in a line the row logged.
 * Every piece of ECHO_LEN bytes is searched, so a log line quoting 4 bytes of a salt, a
 * checksum, a scheme-like prefix of a PLAIN password ("{Tr0ub4dor}") or the password fails.
 *
 * Not secret, and so not searched:
 *   - in a stored value, the prefix "{NAME}" when NAME is a scheme the module knows (the
 *     debug line names the scheme), and in a crypt value ("$id$...") the id and the cost
 *     fields ("rounds=N", bcrypt's "$05$"), which cost-cap messages name;
 *   - a piece that is also in the user name the row sent, in the conf folder's path (both are
 *     logged), or in one of the words of the module's fixed messages below (a password
 *     "correct horse battery" shares "rect" with strerror's "directory"). Such a piece only
 *     hides an echo made of nothing but those pieces.
 */
#define ECHO_LEN 4

static const char *const vocabulary[] = {
    "cannot verify user=", "stored hash refused",       "stored hash: not a valid",
    "not a bcrypt hash",   "No such file or directory",
};

/* Is the ECHO_LEN-byte piece inside the string s? */
static bool in(const char *s, const char *piece)
{
	for (; s != NULL && *s != '\0'; s++)
		if (strncmp(s, piece, ECHO_LEN) == 0)
			return true;
	return false;
}

/* Fails if a line of log holds ECHO_LEN bytes of secret (len bytes) that are not excused. */
static void no_piece_of(const char *log, const char *secret, size_t len, const char *what,
                        const char *user, const char *row)
{
	if (len < ECHO_LEN)
		return;
	for (const char *p = log; *p != '\0'; p++) {
		bool excused = false;

		if (memchr(p, '\n', ECHO_LEN) != NULL || strnlen(p, ECHO_LEN) < ECHO_LEN ||
		    memmem(secret, len, p, ECHO_LEN) == NULL)
			continue;
		excused = in(user, p) || in(work_dir, p);
		for (size_t i = 0; !excused && i < sizeof(vocabulary) / sizeof(vocabulary[0]); i++)
			excused = in(vocabulary[i], p);
		if (!excused)
			fail_msg("%s: \"%.*s\" of %s appears in the log:\n%s", row, ECHO_LEN, p,
			         what, log);
	}
}

/* The secret fields of a stored value, each checked with no_piece_of. */
static void no_piece_of_stored(const char *log, const char *stored, const char *user,
                               const char *row)
{
	const char *body = stored, *close = stored[0] == '{' ? strchr(stored, '}') : NULL;

	if (close != NULL) {
		char name[64];
		size_t n = (size_t)(close - stored - 1);

		if (n < sizeof(name)) {
			memcpy(name, stored + 1, n);
			name[n] = '\0';
			if (pgd_hash_scheme_known(name))
				body = close + 1;
		}
	}
	if (body[0] != '$') {
		no_piece_of(log, body, strlen(body), "the stored value", user, row);
		return;
	}
	/* "$id$[cost$]salt$checksum": the id and the cost are no secret */
	for (const char *f = body + 1, *end; *f != '\0'; f = *end != '\0' ? end + 1 : end) {
		size_t n;
		bool digits;

		end = strchr(f, '$');
		end = end != NULL ? end : f + strlen(f);
		n = (size_t)(end - f);
		digits = n > 0 && strspn(f, "0123456789") == n;
		if (f == body + 1 || digits || strncmp(f, "rounds=", 7) == 0)
			continue;
		no_piece_of(log, f, n, "the stored value", user, row);
	}
}

/* The row's password and the stored value of its user (the fixtures row named like it). */
static void no_piece_of_row_secrets(const char *log, const struct row *r, const char *user,
                                    const char *row)
{
	/* 'p' * pad + password has the pieces of 'p' * ECHO_LEN + password */
	char *password = padded(r->password, r->pw_pad < ECHO_LEN ? r->pw_pad : ECHO_LEN, 'p');
	const char *at = strchr(r->user, '@');
	size_t idlen = at != NULL ? (size_t)(at - r->user) : 0;

	no_piece_of(log, password, strlen(password), "the password", user, row);
	free(password);
	if (r->user_pad != 0 || idlen == 0)
		return;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const char *stored = fixtures[i].password;

		if (stored != NULL && strlen(fixtures[i].userid) == idlen &&
		    strncmp(fixtures[i].userid, r->user, idlen) == 0)
			no_piece_of_stored(log, stored, user, row);
	}
}

/* No raw control byte but newline in anything logged: names and messages are escaped. */
static void check_escaped(const char *log, const char *row)
{
	for (const unsigned char *p = (const unsigned char *)log; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			fail_msg("%s: raw byte 0x%02x in the log:\n%s", row, *p, log);
	}
}

/* ------------------------------------------------------------------------------------------ */

static char *padded(const char *s, size_t pad, char fill)
{
	size_t n = strlen(s);
	char *out = malloc(pad + n + 1);

	assert_non_null(out);
	memset(out, fill, pad);
	memcpy(out + pad, s, n + 1);
	return out;
}

/* pgd_test_login with PAM flags for the operation. */
static int login(const char *service, const char *user, const char *password, enum pamtest_ops op,
                 int flags, char **log)
{
	const char *answers[] = {password, NULL};
	struct pamtest_conv_data conv = {.in_echo_off = answers};
	struct pam_testcase tests[] = {pam_test_flags(op, PAM_SUCCESS, flags)};
	int saved, file_fd;
	enum pamtest_err perr;

	saved = pgd_test_capture_start(&file_fd);
	perr = run_pamtest(service, user, &conv, tests, NULL);
	*log = pgd_test_capture_end(saved, file_fd);
	if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_CASE)
		fail_msg("run_pamtest: %s", pamtest_strerror(perr));
	return tests[0].op_rv;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void run_row(void **state)
{
	const struct row *r = *state;
	char *user = padded(r->user, r->user_pad, 'a');
	char *password = padded(r->password, r->pw_pad, 'p');
	char *log = NULL;
	double t0 = now_ms(), ms;
	int rc;

	if ((strcmp(r->service, "c-not-ours") == 0 && geteuid() != 0) ||
	    (r->expected == PAM_AUTHINFO_UNAVAIL && r->log != NULL &&
	     strstr(r->log, "invalid byte sequence") != NULL && !server_utf8)) {
		free(user);
		free(password);
		skip();
	}
	rc = login(r->service, user, password, r->account ? PAMTEST_ACCOUNT : PAMTEST_AUTHENTICATE,
	           r->flags, &log);
	ms = now_ms() - t0;
	keep_log(log);
	if (rc != r->expected)
		fail_msg("%s: got %s, expected %s; log:\n%s", r->what, pam_strerror(NULL, rc),
		         pam_strerror(NULL, r->expected), log);
	if (r->log != NULL && strstr(log, r->log) == NULL)
		fail_msg("%s: the log lacks \"%s\":\n%s", r->what, r->log, log);
	if (r->not_log != NULL && strstr(log, r->not_log) != NULL)
		fail_msg("%s: the log has \"%s\":\n%s", r->what, r->not_log, log);
	if (r->max_ms != 0 && ms > r->max_ms)
		fail_msg("%s: took %.0f ms, more than %u", r->what, ms, r->max_ms);
	check_secrets(log, r->what);
	no_piece_of_row_secrets(log, r, user, r->what);
	check_escaped(log, r->what);
	free(log);
	free(user);
	free(password);
}

/* All of it once more: a secret of one row must not show in another row's log either. */
static void test_whole_log(void **state)
{
	(void)state;
	assert_non_null(all_logs);
	/* the capture did see the module, at every level the catalogue reached */
	assert_non_null(strstr(all_logs, "authentication ok for user=")); /* LOG_DEBUG */
	assert_non_null(strstr(all_logs, "authentication failure;"));     /* LOG_NOTICE */
	assert_non_null(strstr(all_logs, "configuration error:"));        /* LOG_ERR */
	check_secrets(all_logs, "the whole catalogue");
	check_escaped(all_logs, "the whole catalogue");
}

static int group_setup(void **state)
{
	(void)state;
	load_fixtures();
	return 0;
}

static int group_teardown(void **state)
{
	PGconn *conn = pgd_test_admin();

	(void)state;
	admin_exec(conn, "DROP TABLE IF EXISTS hostile_users", 0, NULL);
	PQfinish(conn);
	free(all_logs);
	all_logs = NULL;
	return 0;
}

/*
 * pam_wrapper copies PAM_WRAPPER_SERVICE_DIR when the process starts, so the pam.d files are
 * written first and the catalogue runs in a child started afterwards.
 */
static int run_in_child(char **argv)
{
	int status;

	write_services();
	status = pgd_test_run_in_child(argv);
	for (size_t i = 0; i < NSERVICES; i++) {
		char svc_path[1024];

		snprintf(svc_path, sizeof(svc_path), "%s/%s",
		         pgd_test_env("PAM_WRAPPER_SERVICE_DIR"), services[i].name);
		unlink(svc_path);
	}
	remove_work_dir();
	return status;
}

int main(int argc, char **argv)
{
	struct CMUnitTest tests[NROWS + 1];

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL)
		return run_in_child(argv);
	for (size_t i = 0; i < NROWS; i++)
		tests[i] = (struct CMUnitTest){
		    .name = rows[i].what,
		    .test_func = run_row,
		    .initial_state = (void *)(uintptr_t)&rows[i],
		};
	tests[NROWS] = (struct CMUnitTest){.name = "log secrecy: the whole catalogue",
	                                   .test_func = test_whole_log};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
