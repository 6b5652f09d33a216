// SPDX-License-Identifier: MIT
/*
 * pam-pgsql-dovecot pw: `doveadm pw` without Dovecot. Makes "{SCHEME}hash" for a password, or
 * with -t checks a password against a stored value exactly as the PAM module would (same code,
 * same default cost caps).
 */
#include "cmd.h"
#include "hash.h"
#include "util/printable.h"
#include "util/secret.h"

#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SCHEME "SHA512-CRYPT"

enum { OPT_PASSWORD_FILE = 256 };

struct pw_opts {
	const char *scheme;
	unsigned long rounds;
	const char *user;
	const char *test_hash;
	bool verbose;
	bool list;
	char *password; /* from -p, a copy we own */
	const char *password_file;
};

static void pw_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: %s pw [-l] [-s SCHEME] [-r ROUNDS] [-u USER] [-t HASH] [-V]\n"
	    "          [-p PASSWORD | --password-file FILE]\n"
	    "\n"
	    "Makes a Dovecot password hash, or with -t checks a password against one.\n"
	    "  -s SCHEME    scheme to make (default " DEFAULT_SCHEME "); .b64/.hex suffixes work\n"
	    "  -r ROUNDS    rounds/cost/iterations for schemes that take them\n"
	    "  -u USER      login name (DIGEST-MD5 hashes it in)\n"
	    "  -t HASH      verify the password against HASH ({SCHEME}value) instead\n"
	    "  -V           after making a hash, verify it and print \"(verified)\"\n"
	    "  -l           list the schemes this build knows\n"
	    "  -p PASSWORD  the password (visible to other users in ps: prefer the others)\n"
	    "  --password-file FILE  the password is FILE's exact bytes\n"
	    "Without -p or --password-file the password is asked on the terminal (twice when\n"
	    "making a hash), or read as one line of standard input when that is not a terminal.\n"
	    "\n"
	    "Exit status: 0 made or verified, 1 not verified (reason on stderr), 2 usage error.\n",
	    pgd_prog);
}

static int list_schemes(void)
{
	const char *name;

	for (size_t i = 0; (name = pgd_hash_scheme_name(i)) != NULL; i++)
		printf("%s ", name);
	printf("\n");
	return PGD_EXIT_OK;
}

static bool parse_rounds(const char *s, unsigned long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out != 0;
}

/* The options that only store their argument, or set a flag: where in struct pw_opts. */
static const struct {
	int option;
	size_t offset;
	bool flag; /* a bool set to true; otherwise a const char * set to the argument */
} pw_fields[] = {
    {'s', offsetof(struct pw_opts, scheme), false},
    {'u', offsetof(struct pw_opts, user), false},
    {'t', offsetof(struct pw_opts, test_hash), false},
    {OPT_PASSWORD_FILE, offsetof(struct pw_opts, password_file), false},
    {'V', offsetof(struct pw_opts, verbose), true},
    {'l', offsetof(struct pw_opts, list), true},
};

/* One option of pw (pgd_cmd_options' fn): -1 to go on, otherwise the exit status. */
static int pw_option(void *ctx, int option, char *arg)
{
	struct pw_opts *o = ctx;
	char shown[1024];

	for (size_t i = 0; i < sizeof(pw_fields) / sizeof(pw_fields[0]); i++) {
		char *field = (char *)o + pw_fields[i].offset;

		if (pw_fields[i].option != option)
			continue;
		if (pw_fields[i].flag)
			*(bool *)field = true;
		else
			*(const char **)field = arg;
		return -1;
	}
	switch (option) {
	case 'r':
		if (parse_rounds(arg, &o->rounds))
			return -1;
		fprintf(stderr, "%s pw: -r wants a positive number, not '%s'\n", pgd_prog,
		        pgd_printable(arg, shown, sizeof(shown)));
		return PGD_EXIT_USAGE;
	case 'p':
		pgd_free_secret(o->password);
		o->password = strdup(arg);
		/* hide it from ps where the kernel lets us */
		pgd_wipe(arg, strlen(arg));
		if (o->password != NULL)
			return -1;
		fprintf(stderr, "%s pw: out of memory\n", pgd_prog);
		return PGD_EXIT_FAIL;
	default:
		return PGD_EXIT_USAGE;
	}
}

/* Parses argv; returns -1 to go on, otherwise the exit status. */
static int parse(int argc, char **argv, struct pw_opts *o)
{
	static const struct option longopts[] = {
	    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char shown[1024];
	int status;

	optind = 1;
	status =
	    pgd_cmd_options(argc, argv, ":s:r:u:t:Vlp:", longopts, pw_usage, NULL, pw_option, o);
	if (status >= 0)
		return status;
	if (optind < argc) {
		fprintf(stderr, "%s pw: unexpected argument '%s'\n", pgd_prog,
		        pgd_printable(argv[optind], shown, sizeof(shown)));
		return PGD_EXIT_USAGE;
	}
	if (o->password != NULL && o->password_file != NULL) {
		fprintf(stderr, "%s pw: -p and --password-file exclude each other\n", pgd_prog);
		return PGD_EXIT_USAGE;
	}
	if (o->test_hash != NULL && (o->scheme != NULL || o->rounds != 0)) {
		fprintf(stderr, "%s pw: -t reads the scheme from the hash; drop -s and -r\n",
		        pgd_prog);
		return PGD_EXIT_USAGE;
	}
	if (o->scheme == NULL)
		o->scheme = DEFAULT_SCHEME;
	if (o->test_hash == NULL && !o->list && !pgd_hash_scheme_known(o->scheme)) {
		struct pgd_hash_info info;
		char *none = NULL;

		/* asks the hash part why: unknown, or known but not in this build */
		pgd_hash_generate_ex(o->scheme, "", NULL, 0, &none, &info);
		pgd_free_secret(none);
		fprintf(stderr, "%s pw: %s (-l lists the schemes)\n", pgd_prog,
		        pgd_printable(info.detail, shown, sizeof(shown)));
		return PGD_EXIT_USAGE;
	}
	return -1;
}

/*
 * doveadm pw -t's reading of a bare "$1$salt$hash[$tail]" (password_get_scheme() in Dovecot
 * 2.3's src/auth/password-scheme.c): MD5-CRYPT of "$1$salt$hash", whatever follows the next
 * '$' dropped. Returns that as "{MD5-CRYPT}$1$salt$hash" (the caller frees it), or NULL when
 * the rule does not apply. The SQL passdb never applies it: there the default scheme comes
 * first, and pgd_hash_verify() does the same.
 */
static char *doveadm_md5_crypt(const char *stored)
{
	const char *p, *end;
	char *out;

	if (strncmp(stored, "$1$", 3) != 0 || (p = strchr(stored + 3, '$')) == NULL)
		return NULL;
	end = strchr(p + 1, '$');
	if (end == NULL)
		end = p + strlen(p);
	out = malloc(strlen("{MD5-CRYPT}") + (size_t)(end - stored) + 1);
	if (out != NULL)
		sprintf(out, "{MD5-CRYPT}%.*s", (int)(end - stored), stored);
	return out;
}

static int verify(const char *stored, const char *password, const char *user, bool quiet,
                  bool as_doveadm)
{
	/* doveadm pw of Dovecot 2.4: ARGON2 known, weak schemes verified (it allows them). */
	struct pgd_hash_policy policy = {.login_user = user, .dovecot = 24, .allow_weak = true};
	struct pgd_hash_info info;
	char *md5 = as_doveadm ? doveadm_md5_crypt(stored) : NULL;
	enum pgd_hash_result r;
	int status = PGD_EXIT_FAIL;
	char shown[1024];

	if (md5 != NULL)
		stored = md5;
	r = pgd_hash_verify(stored, password, &policy, &info);
	if (r == PGD_HASH_MATCH) {
		if (!quiet) {
			pgd_put_printable(stdout, stored);
			puts(" (verified)");
		}
		status = PGD_EXIT_OK;
	} else {
		fprintf(stderr, "%s pw: not verified: %s%s%s\n", pgd_prog, pgd_hash_result_str(r),
		        info.detail[0] != '\0' ? ": " : "",
		        pgd_printable(info.detail, shown, sizeof(shown)));
	}
	pgd_free_secret(md5);
	return status;
}

static int make(const struct pw_opts *o, const char *password)
{
	struct pgd_hash_info info;
	char *out = NULL;
	enum pgd_hash_result r =
	    pgd_hash_generate_ex(o->scheme, password, o->user, o->rounds, &out, &info);
	int status;

	if (r != PGD_HASH_MATCH) {
		char scheme[256], detail[1024];

		fprintf(stderr, "%s pw: cannot make %s: %s%s%s\n", pgd_prog,
		        pgd_printable(o->scheme, scheme, sizeof(scheme)), pgd_hash_result_str(r),
		        info.detail[0] != '\0' ? ": " : "",
		        pgd_printable(info.detail, detail, sizeof(detail)));
		/* a bad -r or a missing -u is the caller's mistake */
		return r == PGD_HASH_MALFORMED || (r == PGD_HASH_UNSUPPORTED && o->user == NULL &&
		                                   strstr(info.detail, "login name") != NULL)
		           ? PGD_EXIT_USAGE
		           : PGD_EXIT_FAIL;
	}
	if (o->verbose) {
		status = verify(out, password, o->user, false, false);
	} else {
		printf("%s\n", out);
		status = PGD_EXIT_OK;
	}
	pgd_free_secret(out);
	return status;
}

int pgd_cmd_pw(int argc, char **argv)
{
	struct pw_opts o = {0};
	char *password = NULL;
	int status = parse(argc, argv, &o);

	if (status >= 0)
		goto out;
	if (o.list) {
		status = list_schemes();
		goto out;
	}
	if (o.password != NULL) {
		password = o.password;
		o.password = NULL;
	} else if (o.password_file != NULL) {
		password = pgd_read_password_file(o.password_file);
	} else if (o.test_hash != NULL) {
		password = pgd_read_password("Enter password to verify: ", NULL);
	} else {
		password = pgd_read_password("Enter new password: ", "Retype new password: ");
	}
	if (password == NULL) {
		status = PGD_EXIT_USAGE;
		goto out;
	}
	status = o.test_hash != NULL ? verify(o.test_hash, password, o.user, false, true)
	                             : make(&o, password);
out:
	pgd_free_secret(password);
	pgd_free_secret(o.password);
	fflush(stdout);
	return status;
}
