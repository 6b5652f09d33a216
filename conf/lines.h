// SPDX-License-Identifier: MIT
/*
 * The logical lines of a conf file, read the way both Dovecot dialects read them: physical
 * lines split at '\n', blank and '#' lines skipped (also inside a continued line), a trailing
 * comment cut outside quotes, and a line ending in '\' joined to the next with one blank. The
 * two dialects differ in what a blank is and in one detail of the join, which the rules say.
 * Also Dovecot's str_unescape, which both apply to a quoted value.
 */
#ifndef PGD_CONF_LINES_H
#define PGD_CONF_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct pgd_line_rules {
	/* What counts as a blank at either end of a line and before its '\'. */
	bool (*blank)(char c);
	/* Dovecot 2.3: one '\r' before the '\n' is dropped before anything else. */
	bool drop_cr;
	/* Dovecot 2.3: a line that is nothing but '\' still adds its joining blank; 2.4 drops
	 * it, so that the join never doubles a blank. */
	bool empty_join_blank;
};

/* Dovecot 2.4's blank: C's isspace() set (' ', '\t', '\r', '\n', '\v', '\f'). */
bool pgd_conf_isspace(char c);

/* Dovecot 2.3's settings_read_nosection(): blanks are ' ' and '\t'. */
extern const struct pgd_line_rules pgd_lines_v23;
/* Dovecot 2.4's config_parse_line(): blanks are pgd_conf_isspace's. */
extern const struct pgd_line_rules pgd_lines_v24;

/* Start from pgd_lines_open; the buffers hold secrets at times and are wiped by the close. */
struct pgd_lines {
	const struct pgd_line_rules *rules;
	const char *text;
	size_t len, pos;
	unsigned line;  /* the physical line read last, from 1 */
	unsigned start; /* the physical line where the logical line returned last starts */
	char *buf, *full;
	size_t full_len;
	bool continued;
};

enum pgd_lines_result {
	PGD_LINES_LINE, /* *out holds one logical line, cut and trimmed, until the next call */
	PGD_LINES_END,  /* the text is read */
	PGD_LINES_NUL,  /* a NUL byte in physical line ->line */
	PGD_LINES_UNFINISHED, /* the text ends inside the continued line that starts at ->start */
};

/* Readies lr for text (len bytes, need not be NUL-terminated); false when out of memory. */
bool pgd_lines_open(struct pgd_lines *lr, const struct pgd_line_rules *rules, const char *text,
                    size_t len);
enum pgd_lines_result pgd_lines_next(struct pgd_lines *lr, char **out);
/* Wipes and frees the buffers. */
void pgd_lines_close(struct pgd_lines *lr);

/* Cuts line at its comment: a '#' outside quotes (quotes and backslash escapes tracked as
 * Dovecot does; an unterminated quote leaves the rest of the line as it is). */
void pgd_conf_cut_comment(char *line);

/* Dovecot's str_unescape, in place: a backslash keeps the next byte as it is; a final one is
 * dropped. */
void pgd_conf_unescape(char *s);

#endif
