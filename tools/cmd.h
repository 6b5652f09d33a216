// SPDX-License-Identifier: MIT
#ifndef PGD_CMD_H
#define PGD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses every subcommand uses. */
enum {
	PGD_EXIT_OK = 0,    /* verified, made, listed */
	PGD_EXIT_FAIL = 1,  /* not verified: mismatch, malformed or unsupported hash */
	PGD_EXIT_USAGE = 2, /* bad options or input */
};

/* A subcommand: argv[0] is its own name; returns the exit status. */
struct pgd_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int pgd_cmd_pw(int argc, char **argv);
int pgd_cmd_check(int argc, char **argv);
int pgd_cmd_audit(int argc, char **argv);

/* The program's name for messages ("pam-pgsql-dovecot"). */
extern const char *pgd_prog;

/*
 * Writes s to out with every byte outside printable ASCII, and the backslash, as \xHH or \\:
 * a row's columns, names and nets (or a server's message quoting them) cannot send a terminal
 * escape sequence, a carriage return or a fake line through a subcommand.
 */
void pgd_put_escaped(FILE *out, const char *s);

/* Loads the conf at path as the module does (pgd_conf_init, then pgd_conf_load); prints why on
 * stderr and returns false when it cannot. The caller frees conf with pgd_conf_free. */
struct pgd_conf;
bool pgd_cmd_load_conf(struct pgd_conf *conf, const char *path);

/*
 * Reads a password into a fresh heap string the caller frees with pgd_free_secret():
 *   - from the terminal with echo off when stdin is one (prompt, and confirm when not NULL:
 *     asked twice, and the two must be equal);
 *   - otherwise one line of standard input, its newline removed.
 * Returns NULL after printing why (no input, too long, holds a NUL, answers differ).
 */
char *pgd_read_password(const char *prompt, const char *confirm);

/* The exact bytes of path as a password (nothing removed); NULL after printing why. */
char *pgd_read_password_file(const char *path);

#endif
