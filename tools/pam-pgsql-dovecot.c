// SPDX-License-Identifier: MIT
/*
 * pam-pgsql-dovecot: the admin command. One subcommand per file (cmd_*.c), found through the
 * table below; "pw" makes and checks hashes like `doveadm pw`, "check" shows what a login
 * would see, "audit" does it for every user.
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

const char *pgd_prog = "pam-pgsql-dovecot";

static const struct pgd_cmd commands[] = {
    {"pw", pgd_cmd_pw, "make or verify a password hash, like doveadm pw"},
    {"check", pgd_cmd_check, "check the conf, the database and what a login of USER would see"},
    {"audit", pgd_cmd_audit, "what every user's login would meet, before a switch"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: %s COMMAND [OPTIONS]\n\ncommands:\n", pgd_prog);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'%s COMMAND --help' tells more.\n", pgd_prog);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return PGD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return PGD_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '", pgd_prog);
	pgd_put_printable(stderr, argv[1]);
	fputs("'\n", stderr);
	usage(stderr);
	return PGD_EXIT_USAGE;
}
