// SPDX-License-Identifier: MIT
/* The logical-line reader both conf dialects share (lines.h). */
#include "conf/lines.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/secret.h"

static bool blank_v23(char c)
{
	return c == ' ' || c == '\t';
}

bool pgd_conf_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

const struct pgd_line_rules pgd_lines_v23 = {blank_v23, true, true};
const struct pgd_line_rules pgd_lines_v24 = {pgd_conf_isspace, false, false};

void pgd_conf_cut_comment(char *line)
{
	char *p, quote;

	for (p = line; *p != '\0'; p++) {
		if (*p == '\'' || *p == '"') {
			quote = *p;
			for (p++; *p != quote && *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '\0')
				return;
		} else if (*p == '#') {
			/* Dovecot 2.3 warns when no blank precedes it but cuts all the same. */
			*p = '\0';
			return;
		}
	}
}

void pgd_conf_unescape(char *s)
{
	char *d = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			s++;
			if (*s == '\0')
				break;
		}
		*d++ = *s;
	}
	*d = '\0';
}

bool pgd_lines_open(struct pgd_lines *lr, const struct pgd_line_rules *rules, const char *text,
                    size_t len)
{
	*lr = (struct pgd_lines){.rules = rules, .text = text, .len = len};
	if (len > SIZE_MAX - 2)
		return false;
	lr->buf = malloc(len + 1);
	lr->full = malloc(len + 2);
	if (lr->buf == NULL || lr->full == NULL) {
		pgd_lines_close(lr);
		return false;
	}
	return true;
}

void pgd_lines_close(struct pgd_lines *lr)
{
	if (lr->buf != NULL)
		pgd_wipe(lr->buf, lr->len + 1);
	if (lr->full != NULL)
		pgd_wipe(lr->full, lr->len + 2);
	free(lr->buf);
	free(lr->full);
	lr->buf = lr->full = NULL;
}

/* The next physical line into lr->buf, without its '\n'; its length in *n. */
static bool next_physical(struct pgd_lines *lr, size_t *n)
{
	const char *nl;

	if (lr->pos >= lr->len)
		return false;
	nl = memchr(lr->text + lr->pos, '\n', lr->len - lr->pos);
	*n = nl != NULL ? (size_t)(nl - (lr->text + lr->pos)) : lr->len - lr->pos;
	lr->line++;
	memcpy(lr->buf, lr->text + lr->pos, *n);
	lr->buf[*n] = '\0';
	lr->pos += *n + (nl != NULL ? 1 : 0);
	if (lr->rules->drop_cr && *n > 0 && lr->buf[*n - 1] == '\r')
		lr->buf[--*n] = '\0';
	return true;
}

/* Drops the blanks before p[n]; returns the new length. */
static size_t trim_end(const struct pgd_lines *lr, const char *p, size_t n)
{
	while (n > 0 && lr->rules->blank(p[n - 1]))
		n--;
	return n;
}

enum pgd_lines_result pgd_lines_next(struct pgd_lines *lr, char **out)
{
	size_t n;
	char *p;

	while (next_physical(lr, &n)) {
		if (memchr(lr->buf, '\0', n) != NULL)
			return PGD_LINES_NUL;
		for (p = lr->buf; lr->rules->blank(*p); p++)
			;
		if (*p == '#' || *p == '\0')
			continue;
		/* The comment first, so that the continuation test sees the line's real end. */
		pgd_conf_cut_comment(p);
		n = trim_end(lr, p, strlen(p));
		p[n] = '\0';
		if (!lr->continued)
			lr->start = lr->line;
		if (n > 0 && p[n - 1] == '\\') {
			n = trim_end(lr, p, n - 1);
			if (n > 0 || lr->rules->empty_join_blank) {
				memcpy(lr->full + lr->full_len, p, n);
				lr->full_len += n;
				lr->full[lr->full_len++] = ' ';
			}
			lr->continued = true;
			continue;
		}
		if (lr->continued) {
			memcpy(lr->full + lr->full_len, p, n + 1);
			p = lr->full;
			lr->full_len = 0;
			lr->continued = false;
		}
		*out = p;
		return PGD_LINES_LINE;
	}
	return lr->continued ? PGD_LINES_UNFINISHED : PGD_LINES_END;
}
