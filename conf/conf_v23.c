// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3's dovecot-sql.conf.ext grammar, as read by Dovecot 2.3's lib-settings/settings.c
 * settings_read_nosection(): flat "key = value" lines, each handed to the setter (reader.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "conf/lines.h"
#include "conf/reader.h"
#include "util/err.h"
#include "util/printable.h"

#define IS_WHITE(c) ((c) == ' ' || (c) == '\t')

/* Why a line without '=' is refused: the 2.4 forms get their own word. */
static void no_equals(const char *name, unsigned lineno, const char *key, const char *rest,
                      char *err, size_t errlen)
{
	if (strncmp(key, "!include", 8) == 0)
		pgd_set_err(err, errlen, "%s line %u: !include is not supported", name, lineno);
	else if (key[0] == '}' || strchr(rest, '{') != NULL || strchr(key, '{') != NULL)
		pgd_set_err(err, errlen, "%s line %u: sections are not supported", name, lineno);
	else
		pgd_set_err(err, errlen, "%s line %u: expecting '='", name, lineno);
}

/* One logical line, already without comment and outer blanks: "key = value" or an error. */
static enum pgd_conf_result parse_line(const struct pgd_conf_setter *set, const char *path,
                                       const char *name, unsigned lineno, char *line, char *err,
                                       size_t errlen)
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
		no_equals(name, lineno, key, p, err, errlen);
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
		pgd_conf_unescape(value);
	}
	r = set->set(set->ctx, key, value, msg, sizeof(msg));
	if (r != PGD_CONF_OK)
		pgd_set_err(err, errlen, "%s line %u: %s", name, lineno, msg);
	else if (path != NULL &&
	         (strcmp(key, "connect") == 0 || strcmp(key, "update_connect") == 0))
		r = set->secret_file(set->ctx, path);
	if (r == PGD_CONF_NOMEM)
		pgd_set_err(err, errlen, "out of memory");
	return r;
}

/*
 * The lines are read as Dovecot's settings_read_nosection reads them (lines.h, 2.3 rules).
 * Messages give the line where a logical line starts.
 */
enum pgd_conf_result pgd_v23_read(const struct pgd_conf_setter *set, const char *name,
                                  const char *text, size_t len, char *err, size_t errlen)
{
	enum pgd_conf_result r = PGD_CONF_OK;
	enum pgd_lines_result got = PGD_LINES_END;
	struct pgd_lines lr;
	char shown[256], *line;
	const char *path = name;

	/* The name reaches the log: keep terminal escapes out of it. */
	name = pgd_printable(name != NULL ? name : "(conf)", shown, sizeof(shown));
	if (len > SIZE_MAX - 2) {
		pgd_set_err(err, errlen, "%s: too large", name);
		return PGD_CONF_INVALID;
	}
	if (!pgd_lines_open(&lr, &pgd_lines_v23, text, len)) {
		pgd_set_err(err, errlen, "out of memory");
		return PGD_CONF_NOMEM;
	}
	while (r == PGD_CONF_OK && (got = pgd_lines_next(&lr, &line)) == PGD_LINES_LINE)
		r = parse_line(set, path, name, lr.start, line, err, errlen);
	if (r == PGD_CONF_OK && got == PGD_LINES_NUL) {
		pgd_set_err(err, errlen, "%s line %u: NUL byte in line", name, lr.line);
		r = PGD_CONF_INVALID;
	} else if (r == PGD_CONF_OK && got == PGD_LINES_UNFINISHED) {
		/* Dovecot drops such a line without a word; a lost key deserves one. */
		pgd_set_err(err, errlen, "%s line %u: file ends inside a continued line", name,
		            lr.start);
		r = PGD_CONF_INVALID;
	}
	pgd_lines_close(&lr);
	return r;
}
