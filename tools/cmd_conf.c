// SPDX-License-Identifier: MIT
/*
 * What the subcommands share: their options loop, loading the module's conf with the module's
 * rules, and writing text that came from a row, a server, a file or the command line through
 * util/printable.h, so that none of its bytes reaches the terminal raw.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "conf/conf.h"
#include "query/query.h"
#include "util/printable.h"
#include "util/str.h"

/* Bytes of s escaped per piece: a piece's escaped form always fits the buffer. */
#define PIECE 256

void pgd_put_printable(FILE *out, const char *s)
{
	char buf[PIECE * 4 + 1];

	while (pgd_str_set(s)) {
		fputs(pgd_printable_n(s, PIECE, buf, sizeof(buf), PGD_PRINT_BLANKS), out);
		for (size_t i = 0; i < PIECE && *s != '\0'; i++)
			s++;
	}
}

void pgd_cmd_field(FILE *out, const char *label, const char *value)
{
	fputs(label, out);
	pgd_put_printable(out, value);
	fputc('\n', out);
}

void pgd_cmd_error(const char *what, const char *message)
{
	fprintf(stderr, "%s: ", pgd_prog);
	pgd_cmd_field(stderr, what, message);
}

/* "prog name: " then before, the word (escaped) of argv that getopt refused, and after. */
static void refused(const char *name, const char *before, const char *word, const char *after)
{
	fprintf(stderr, "%s %s: %s", pgd_prog, name, before);
	pgd_put_printable(stderr, word);
	fprintf(stderr, "%s\n", after);
}

int pgd_cmd_options(int argc, char **argv, const char *shortopts, const struct option *longopts,
                    void (*usage)(FILE *out), const char **path, pgd_cmd_option_fn fn, void *ctx)
{
	int c, status;

	/* getopt's own messages would quote an unknown option's bytes raw */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'c' && path != NULL) {
			*path = optarg;
		} else if (c == 'h') {
			usage(stdout);
			return PGD_EXIT_OK;
		} else if (c == '?' || c == ':') {
			char opt[3] = {'-', (char)optopt, '\0'};

			if (c == ':')
				refused(argv[0], "option ", argv[optind - 1], " needs a value");
			else
				refused(argv[0], "unknown option ",
				        optopt != 0 && strncmp(argv[optind - 1], "--", 2) != 0
				            ? opt
				            : argv[optind - 1],
				        "");
			usage(stderr);
			return PGD_EXIT_USAGE;
		} else if ((status = fn != NULL ? fn(ctx, c, optarg) : PGD_EXIT_USAGE) >= 0) {
			return status;
		}
	}
	return -1;
}

const char *pgd_cmd_dovecot_conf;

bool pgd_cmd_load_conf(struct pgd_conf *conf, const char *path)
{
	char arg[4200], arg23[4200], err[512];
	const char *argv[2] = {arg, arg23};

	if (pgd_conf_init(conf) != PGD_CONF_OK) {
		fprintf(stderr, "%s: out of memory\n", pgd_prog);
		return false;
	}
	snprintf(arg, sizeof(arg), "conf=%s", path);
	if (pgd_cmd_dovecot_conf != NULL)
		snprintf(arg23, sizeof(arg23), "dovecot_conf=%s", pgd_cmd_dovecot_conf);
	if (pgd_conf_load(conf, pgd_cmd_dovecot_conf != NULL ? 2 : 1, argv, err, sizeof(err)) !=
	    PGD_CONF_OK) {
		pgd_cmd_error("", err);
		return false;
	}
	return true;
}

/* One query template's missing statements, said as pgd_cmd_state promises. */
static bool stated_for(const struct pgd_conf *conf, const char *name, const char *tmpl,
                       bool required)
{
	static const struct {
		bool (*uses)(const char *tmpl);
		const char *var, *key, *values;
		size_t offset;
	} needs[] = {
	    {pgd_query_uses_secured, "%c (%{secured})", "secured", "no, tls or secured",
	     offsetof(struct pgd_conf, secured)},
	    {pgd_query_uses_mechanism, "%m (%{mechanism})", "mechanism",
	     "a SASL mechanism as PLAIN", offsetof(struct pgd_conf, mechanism)},
	};
	bool ok = true;

	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
		const char *value = *(char *const *)((const char *)conf + needs[i].offset);

		if (!pgd_str_set(tmpl) || value != NULL || !needs[i].uses(tmpl))
			continue;
		ok = false;
		fprintf(required ? stderr : stdout,
		        "%s%s uses %s, which saslauthd does not pass: %s is not set, so a login "
		        "through a pam.d line without %s= is refused (give --%s %s, the value "
		        "of that line)\n",
		        required ? "" : "warning: ", name, needs[i].var, needs[i].key, needs[i].key,
		        needs[i].key, needs[i].values);
	}
	return ok;
}

bool pgd_cmd_state(struct pgd_conf *conf, const char *secured, const char *mechanism, bool required)
{
	char err[512];
	bool ok;

	if ((secured != NULL &&
	     pgd_conf_set(conf, "secured", secured, err, sizeof(err)) != PGD_CONF_OK) ||
	    (mechanism != NULL &&
	     pgd_conf_set(conf, "mechanism", mechanism, err, sizeof(err)) != PGD_CONF_OK) ||
	    pgd_conf_validate(conf, err, sizeof(err)) != PGD_CONF_OK) {
		pgd_cmd_error("", err);
		return false;
	}
	ok = stated_for(conf, "password_query", conf->password_query, required);
	ok = stated_for(conf, "account_query", conf->account_query, required) && ok;
	return ok || !required;
}
