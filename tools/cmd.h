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
 * Writes s (NULL: nothing) to out through util/printable.h, whatever its length: blanks kept,
 * every other byte outside printable ASCII and the backslash as \xNN. A row's columns, names
 * and nets, a server's message, a file's bytes or an argument cannot send a terminal escape
 * sequence, a carriage return or a fake line through a subcommand.
 */
void pgd_put_printable(FILE *out, const char *s);

/* "label" then value through pgd_put_printable, and a newline, on out. */
void pgd_cmd_field(FILE *out, const char *label, const char *value);

/* "prog: what" then message through pgd_put_printable, and a newline, on stderr. */
void pgd_cmd_error(const char *what, const char *message);

/*
 * A subcommand's options (getopt_long with shortopts, which starts with ':' after any '+', and
 * longopts): -c CONF sets *path (when path is not NULL), -h or --help prints usage on stdout,
 * an unknown option or a missing value is said (escaped) on stderr with usage. fn (may be
 * NULL) takes every other option with its argument and returns -1 to go on, or the exit status
 * after saying why. Returns -1 to go on (optind names the first operand), otherwise the exit
 * status.
 */
struct option;
typedef int (*pgd_cmd_option_fn)(void *ctx, int option, char *arg);
int pgd_cmd_options(int argc, char **argv, const char *shortopts, const struct option *longopts,
                    void (*usage)(FILE *out), const char **path, pgd_cmd_option_fn fn, void *ctx);

/* Loads the conf at path as the module does (pgd_conf_init, then pgd_conf_load); prints why on
 * stderr and returns false when it cannot. The caller frees conf with pgd_conf_free. */
struct pgd_conf;
bool pgd_cmd_load_conf(struct pgd_conf *conf, const char *path);
/* When set (check -d), pgd_cmd_load_conf also gives the module argument dovecot_conf=. */
extern const char *pgd_cmd_dovecot_conf;

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

/*
 * What --secured and --mechanism state (NULL: not given; either overrides the conf's key, as a
 * pam.d argument does), checked as the module checks the keys; then, for each query template
 * that uses %c or %m with nothing stated, a line naming the variable, the key and the option:
 * an error on stderr when required (the caller stops), else a "warning:" line on stdout.
 * False on a bad value, or when required and something is missing.
 */
bool pgd_cmd_state(struct pgd_conf *conf, const char *secured, const char *mechanism,
                   bool required);

#endif
