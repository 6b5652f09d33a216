// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.4's dovecot.conf tree, as read by Dovecot 2.4.1's src/config/config-parser.c
 * (config_parse_line): "key = value", "type [name] {", "}", "!include" and "!include_try" with
 * globs relative to the including file, quoted keys and values, "key = <file", a line continued
 * with '\'. This file is the lexer and the includes; v24_keys.c takes what a login needs:
 *   sql_driver, pgsql NAME { host, parameters { libpq keywords } } (several blocks: one
 *   multi-host conninfo, v24_conninfo.c), passdb NAME { driver, query, default_password_scheme }
 *   of driver sql, the root passdb_sql_query and passdb_default_password_scheme,
 *   auth_username_format, auth_default_domain, auth_username_chars, auth_allow_weak_schemes,
 *   dovecot_config_version; and for the audit command the iterate_query of userdb NAME
 *   { driver = sql } (or the root userdb_sql_iterate_query), which lists the users.
 * Every other setting and block is read past. Files are opened as the conf file is
 * (pgd_conf_read_file), at most PGD_V24_MAX_DEPTH deep, MAX_FILES files and MAX_TOTAL bytes in
 * all.
 */
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_file.h"
#include "conf/lines.h"
#include "conf/reader.h"
#include "conf/v24_impl.h"
#include "util/printable.h"

#define MAX_FILES 128
#define MAX_TOTAL (1024 * 1024)

#define is_space pgd_conf_isspace

/* Splits the key off line (a quoted key may hold blanks and escapes); returns what follows,
 * blanks skipped. */
static char *split_key(char *line, const char **key)
{
	*key = line;
	if (*line == '"') {
		*key = ++line;
		while (*line != '\0') {
			if (*line == '\\' && line[1] != '\0') {
				line += 2;
			} else if (*line == '"') {
				*line++ = '\0';
				break;
			} else {
				line++;
			}
		}
	} else {
		while (!is_space(*line) && *line != '\0' && *line != '=')
			line++;
	}
	if (is_space(*line)) {
		*line++ = '\0';
		while (is_space(*line))
			line++;
	}
	return line;
}

/* What follows "key =": "<file", a $variable, or a value (unquoted and unescaped). */
static void key_value(char *line, struct pgd_v24_line *out)
{
	size_t len;

	while (is_space(*line))
		line++;
	if (*line == '<') {
		while (is_space(line[1]))
			line++;
		out->value = line + 1;
		out->type = L_KEYFILE;
		return;
	}
	if (*line != '\'' && *line != '"' && strchr(line, '$') != NULL) {
		out->value = line;
		out->type = L_KEYVARIABLE;
		return;
	}
	len = strlen(line);
	if (len > 0 &&
	    ((*line == '"' && line[len - 1] == '"') || (*line == '\'' && line[len - 1] == '\''))) {
		line[len - 1] = '\0';
		line++;
		pgd_conf_unescape(line);
	}
	out->value = line;
	out->type = L_KEYVALUE;
}

/* What follows "type": "[name] {" (a quoted name may hold blanks; "group @name value {"). */
static void section_line(char *line, const char *key, struct pgd_v24_line *out)
{
	if (*line == '{') {
		out->value = "";
	} else {
		if (*line != '"') {
			out->value = line;
			while (!is_space(*line) && *line != '\0')
				line++;
			if (*line != '\0') {
				*line++ = '\0';
				while (is_space(*line))
					line++;
			}
		} else {
			char *value = ++line;

			while (*line != '"' && *line != '\0')
				line++;
			if (*line == '"') {
				*line++ = '\0';
				while (is_space(*line))
					line++;
				pgd_conf_unescape(value);
				out->value = value;
			}
		}
		if (strcmp(key, "group") == 0) {
			/* group @name value { : the value is a second word */
			while (!is_space(*line) && *line != '\0' && *line != '{')
				line++;
			while (is_space(*line))
				line++;
		}
		if (*line != '{') {
			out->value = "Expecting '{'";
			out->type = L_ERROR;
			return;
		}
	}
	if (line[1] != '\0') {
		out->value = "Garbage after '{'";
		out->type = L_ERROR;
		return;
	}
	out->type = L_SECTION_BEGIN;
}

/* config_parse_line() of Dovecot 2.4.1 on one logical line. */
static void parse_line(char *line, struct pgd_v24_line *out)
{
	const char *key;
	size_t len;

	*out = (struct pgd_v24_line){L_SKIP, NULL, NULL};
	while (is_space(*line))
		line++;
	if (*line == '#' || *line == '\0')
		return;
	pgd_conf_cut_comment(line);
	len = strlen(line);
	while (len > 0 && is_space(line[len - 1]))
		len--;
	line[len] = '\0';

	line = split_key(line, &key);
	out->key = key;
	out->value = line;
	if (strcmp(key, "!include") == 0) {
		out->type = L_INCLUDE;
	} else if (strcmp(key, "!include_try") == 0) {
		out->type = L_INCLUDE_TRY;
	} else if (*line == '=') {
		*line = '\0';
		key_value(line + 1, out);
	} else if (strcmp(key, "}") == 0 && *line == '\0') {
		out->type = L_SECTION_END;
	} else if (line == key) {
		/* a lone word: no '=' and no '{' */
		out->value = "Expecting '='";
		out->type = L_ERROR;
	} else {
		line[-1] = '\0';
		section_line(line, key, out);
	}
}

static bool read_tree(struct pgd_v24_reader *rd, const char *path, const char *text, size_t len);

/* One file an include names, read where the include stands. */
static bool include_one(struct pgd_v24_reader *rd, const struct pgd_v24_where *w, const char *file)
{
	char *buf = NULL, shown[200], msg[256];
	size_t n = 0;
	bool ok;

	if (++rd->files > MAX_FILES)
		return pgd_v24_err(rd, w, "more than %d included files", MAX_FILES);
	for (unsigned d = 0; d <= rd->depth; d++) {
		if (rd->open_paths[d] != NULL && strcmp(rd->open_paths[d], file) == 0)
			return pgd_v24_err(rd, w, "recursive include of %s",
			                   pgd_printable(file, shown, sizeof(shown)));
	}
	if (pgd_conf_read_file(file, &buf, &n, rd->err, rd->errlen) != PGD_CONF_OK) {
		/* Dovecot's include_try skips only files it cannot open; a file it could open
		 * but we refuse (owner, mode, symlink) is still refused. */
		snprintf(msg, sizeof(msg), "%s", rd->err != NULL ? rd->err : "");
		return pgd_v24_err(rd, w, "include %s", msg);
	}
	rd->total += n;
	if (rd->total > MAX_TOTAL) {
		ok = pgd_v24_err(rd, w, "the files of the include tree are larger than %d bytes",
		                 MAX_TOTAL);
	} else {
		rd->depth++;
		rd->open_paths[rd->depth] = file;
		ok = read_tree(rd, file, buf, n);
		rd->open_paths[rd->depth] = NULL;
		rd->depth--;
	}
	pgd_conf_free_file(buf, n);
	return ok;
}

/*
 * For the conf cache (conf/cache.c): the folder whose listing decides which files the include
 * path full reads, when one does: a glob in its last component, or an include_try (whose file
 * may appear later). A plain !include reads one file, which the cache checks as it checks every
 * file read. A glob in a folder component cannot be followed: the load is not cached.
 */
static void note_listing(const char *full, bool try)
{
	const char *slash = strrchr(full, '/');
	char *dir;

	if (slash == NULL)
		return; /* not absolute: the read that follows refuses it */
	if (strpbrk(slash + 1, "*?[{") == NULL && !try)
		return;
	dir = strndup(full, slash == full ? 1 : (size_t)(slash - full));
	if (dir == NULL || strpbrk(dir, "*?[{") != NULL)
		pgd_conf_record_dir(NULL);
	else
		pgd_conf_record_dir(dir);
	free(dir);
}

/* !include / !include_try: the pattern relative to the including file, globbed, sorted. */
static bool do_include(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                       const char *pattern, bool try)
{
	char *full = pgd_conf_relative_path(w->path, pattern);
	glob_t g;
	int gr;
	bool ok = true;

	if (full == NULL)
		return pgd_v24_nomem(rd);
	if (rd->depth >= PGD_V24_MAX_DEPTH) {
		free(full);
		return pgd_v24_err(rd, w, "includes nested deeper than %d", PGD_V24_MAX_DEPTH);
	}
	note_listing(full, try);
	gr = glob(full, GLOB_BRACE, NULL, &g);
	free(full);
	if (gr == GLOB_NOMATCH)
		return try ? true : pgd_v24_err(rd, w, "!include: no file matches");
	if (gr != 0)
		return pgd_v24_err(rd, w, "!include: glob failed");
	for (size_t i = 0; i < g.gl_pathc && ok; i++)
		ok = include_one(rd, w, g.gl_pathv[i]);
	globfree(&g);
	return ok;
}

/* One logical line at w, to the part of the reader that takes it. */
static bool take_line(struct pgd_v24_reader *rd, const struct pgd_v24_where *w, char *text)
{
	struct pgd_v24_line ln;

	parse_line(text, &ln);
	switch (ln.type) {
	case L_SKIP:
		break;
	case L_ERROR:
		return pgd_v24_err(rd, w, "%s", ln.value);
	case L_KEYVALUE:
	case L_KEYFILE:
	case L_KEYVARIABLE:
		return rd->v23 ? pgd_v23_key_line(rd, w, &ln) : pgd_v24_key_line(rd, w, &ln);
	case L_SECTION_BEGIN:
		return rd->v23 ? pgd_v23_section_begin(rd, w, &ln)
		               : pgd_v24_section_begin(rd, w, &ln);
	case L_SECTION_END:
		return rd->v23 ? pgd_v23_section_end(rd, w) : pgd_v24_section_end(rd, w);
	case L_INCLUDE:
	case L_INCLUDE_TRY:
		return do_include(rd, w, ln.value, ln.type == L_INCLUDE_TRY);
	}
	return true;
}

/*
 * Reads one file's text, its lines read with Dovecot 2.4's rules (lines.h), includes followed
 * where they stand. Blocks may open in one file and close in another, as in Dovecot.
 */
static bool read_tree(struct pgd_v24_reader *rd, const char *path, const char *text, size_t len)
{
	enum pgd_lines_result got = PGD_LINES_END;
	struct pgd_v24_where w = {path, 0};
	struct pgd_lines lr;
	bool ok = true;
	char *line;

	if (!pgd_lines_open(&lr, rd->v23 ? &pgd_lines_v23 : &pgd_lines_v24, text, len))
		return pgd_v24_nomem(rd);
	while (ok && (got = pgd_lines_next(&lr, &line)) == PGD_LINES_LINE) {
		w.line = lr.start;
		ok = take_line(rd, &w, line);
	}
	if (ok && got == PGD_LINES_NUL) {
		w.line = lr.line;
		ok = pgd_v24_err(rd, &w, "NUL byte in line");
	} else if (ok && got == PGD_LINES_UNFINISHED) {
		w.line = lr.start;
		ok = pgd_v24_err(rd, &w, "file ends inside a continued line");
	}
	pgd_lines_close(&lr);
	return ok;
}

/* Either dialect's tree: sql_path is NULL for 2.4. */
static enum pgd_conf_result read_dialect(const struct pgd_conf_setter *set, const char *path,
                                         const char *text, size_t len, const char *sql_path,
                                         char *err, size_t errlen)
{
	struct pgd_v24_reader rd = {.set = set,
	                            .err = err,
	                            .errlen = errlen,
	                            .files = 1,
	                            .total = len,
	                            .v23 = sql_path != NULL,
	                            .sql_path = sql_path};
	bool ok;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	rd.open_paths[0] = path;
	rd.stack[0].kind = K_ROOT;
	snprintf(rd.stack[0].type, sizeof(rd.stack[0].type), "(top)");
	ok = read_tree(&rd, path, text, len) &&
	     (rd.v23 ? pgd_v23_finish(&rd, path) : pgd_v24_finish(&rd, path));
	pgd_v24_reader_free(&rd);
	if (ok)
		return PGD_CONF_OK;
	return err != NULL && strcmp(err, "out of memory") == 0 ? PGD_CONF_NOMEM : PGD_CONF_INVALID;
}

enum pgd_conf_result pgd_v24_read(const struct pgd_conf_setter *set, const char *path,
                                  const char *text, size_t len, char *err, size_t errlen)
{
	return read_dialect(set, path, text, len, NULL, err, errlen);
}

enum pgd_conf_result pgd_v23_tree_read(const struct pgd_conf_setter *set, const char *path,
                                       const char *text, size_t len, const char *sql_path,
                                       char *err, size_t errlen)
{
	return read_dialect(set, path, text, len, sql_path != NULL ? sql_path : "", err, errlen);
}
