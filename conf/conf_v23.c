// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3's dovecot-sql.conf.ext grammar, as read by Dovecot 2.3's lib-settings/settings.c
 * settings_read_nosection(): flat "key = value" lines.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_impl.h"
#include "util/secret.h"

#define IS_WHITE(c) ((c) == ' ' || (c) == '\t')

/*
 * Cuts line at its comment: a '#' outside quotes. Quotes and backslash escapes are tracked as
 * Dovecot does; an unterminated quote leaves the rest of the line as it is.
 */
static void strip_comment(char *line)
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
			/* Dovecot warns when no blank precedes it but cuts all the same. */
			*p = '\0';
			return;
		}
	}
}

/* Dovecot's str_unescape: a backslash keeps the next byte as it is; a final one is dropped. */
static void unescape(char *s)
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

/* One logical line, already without comment and outer blanks: "key = value" or an error. */
static enum pgd_conf_result parse_line(struct pgd_conf *conf, const char *path, const char *name,
                                       unsigned lineno, char *line, char *err, size_t errlen)
{
	char *key = line, *p = line, *value;
	char msg[256];
	size_t len;
	enum pgd_conf_result r;

	while (!IS_WHITE(*p) && *p != '\0' && *p != '=')
		p++;
	if (IS_WHITE(*p)) {
		*p++ = '\0';
		while (IS_WHITE(*p))
			p++;
	}
	if (*p != '=') {
		if (strncmp(key, "!include", 8) == 0)
			pgd_conf_err(err, errlen, "%s line %u: !include is not supported", name,
			             lineno);
		else if (key[0] == '}' || strchr(p, '{') != NULL || strchr(key, '{') != NULL)
			pgd_conf_err(err, errlen, "%s line %u: sections are not supported", name,
			             lineno);
		else
			pgd_conf_err(err, errlen, "%s line %u: expecting '='", name, lineno);
		return PGD_CONF_INVALID;
	}
	*p++ = '\0';
	while (IS_WHITE(*p))
		p++;
	value = p;
	len = strlen(value);
	if (len >= 2 && ((value[0] == '"' && value[len - 1] == '"') ||
	                 (value[0] == '\'' && value[len - 1] == '\''))) {
		value[len - 1] = '\0';
		value++;
		unescape(value);
	}
	r = pgd_conf_set_from(conf, key, value, PGD_FROM_FILE, msg, sizeof(msg));
	if (r != PGD_CONF_OK)
		pgd_conf_err(err, errlen, "%s line %u: %s", name, lineno, msg);
	else if (path != NULL &&
	         (strcmp(key, "connect") == 0 || strcmp(key, "update_connect") == 0))
		r = pgd_conf_note_secret(conf, path);
	if (r == PGD_CONF_NOMEM)
		pgd_conf_err(err, errlen, "out of memory");
	return r;
}

/*
 * The line reader of Dovecot's settings_read_nosection: blank and '#' lines are skipped (also
 * between continued lines), a trailing comment is cut, and a line ending in '\' is joined to
 * the next with one space. Messages give the line where a logical line starts. Both work
 * buffers hold the database password at times and are wiped.
 */
enum pgd_conf_result pgd_conf_parse(struct pgd_conf *conf, const char *name, const char *text,
                                    size_t len, char *err, size_t errlen)
{
	enum pgd_conf_result r = PGD_CONF_OK;
	char *line = NULL, *full = NULL;
	size_t pos = 0, full_len = 0;
	unsigned lineno = 0, start = 0;
	bool continued = false;
	char shown[256];
	const char *path = name;

	/* The name reaches the log: keep terminal escapes out of it. */
	name = pgd_conf_printable(name != NULL ? name : "(conf)", shown, sizeof(shown));
	if (len > SIZE_MAX - 2) {
		pgd_conf_err(err, errlen, "%s: too large", name);
		return PGD_CONF_INVALID;
	}
	line = malloc(len + 1);
	full = malloc(len + 2);
	if (line == NULL || full == NULL) {
		free(line);
		free(full);
		pgd_conf_err(err, errlen, "out of memory");
		return PGD_CONF_NOMEM;
	}
	while (pos < len && r == PGD_CONF_OK) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		char *p;

		lineno++;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (memchr(line, '\0', n) != NULL) {
			pgd_conf_err(err, errlen, "%s line %u: NUL byte in line", name, lineno);
			r = PGD_CONF_INVALID;
			break;
		}
		for (p = line; IS_WHITE(*p); p++)
			;
		if (*p == '#' || *p == '\0')
			continue;
		strip_comment(p);
		n = strlen(p);
		while (n > 0 && IS_WHITE(p[n - 1]))
			n--;
		p[n] = '\0';
		if (!continued)
			start = lineno;
		if (n > 0 && p[n - 1] == '\\') {
			n--;
			while (n > 0 && IS_WHITE(p[n - 1]))
				n--;
			memcpy(full + full_len, p, n);
			full_len += n;
			full[full_len++] = ' ';
			continued = true;
			continue;
		}
		if (continued) {
			memcpy(full + full_len, p, n + 1);
			p = full;
			full_len = 0;
			continued = false;
		}
		r = parse_line(conf, path, name, start, p, err, errlen);
	}
	if (r == PGD_CONF_OK && continued) {
		/* Dovecot drops such a line without a word; a lost key deserves one. */
		pgd_conf_err(err, errlen, "%s line %u: file ends inside a continued line", name,
		             start);
		r = PGD_CONF_INVALID;
	}
	pgd_wipe(line, len + 1);
	pgd_wipe(full, len + 2);
	free(line);
	free(full);
	return r;
}
