// SPDX-License-Identifier: MIT
/*
 * What the Dovecot 2.4 reader's files share, and no one else: the reader's state, a line as
 * the lexer (v24_lex.c) splits it, and the sections-and-keys half (v24_keys.c) that the lexer
 * hands each line to.
 */
#ifndef PGD_CONF_V24_IMPL_H
#define PGD_CONF_V24_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/result.h"
#include "conf/v24_conninfo.h"

#define PGD_V24_MAX_DEPTH 8
#define PGD_V24_MAX_SECTIONS 32
#define PGD_V24_MAX_HOSTS 16

enum pgd_v24_kind {
	K_ROOT,
	K_PASSDB,
	K_USERDB,
	K_PGSQL,
	K_PARAMS,
	K_OTHER, /* a block of another part of Dovecot: read past */
};

struct pgd_v24_section {
	enum pgd_v24_kind kind;
	char type[32];
	char name[64]; /* "passdb NAME {": printable, for messages */
};

struct pgd_v24_passdb {
	char *driver;
	char *query; /* in a 2.3 tree (v23_tree.c): the passdb's args */
	char *scheme;
	bool master;     /* master = yes: consulted only for master logins, which PAM has none of */
	char begin[240]; /* "FILE line N" of the block's first line, printable */
	char refuse[480]; /* the first construct of the block the module cannot apply (file,
	                   * line, why): the error if the block is the users' passdb */
};

struct pgd_v24_reader {
	const struct pgd_conf_setter *set;
	char *err;
	size_t errlen;
	unsigned files;
	size_t total;
	unsigned depth;
	const char *open_paths[PGD_V24_MAX_DEPTH + 1]; /* the files being read, outermost first */
	struct pgd_v24_section stack[PGD_V24_MAX_SECTIONS];
	unsigned top; /* stack[0] is the root */
	struct pgd_v24_host hosts[PGD_V24_MAX_HOSTS];
	size_t nhosts;
	struct pgd_v24_passdb cur; /* the passdb block being read */
	struct pgd_v24_passdb sql; /* the first passdb of driver sql */
	bool have_sql;
	char *udriver;      /* the driver of the userdb block being read */
	char *uiterate;     /* its iterate_query */
	char *iterate;      /* the iterate_query of the first userdb of driver sql that has one */
	char *root_iterate; /* userdb_sql_iterate_query outside any block */
	char *root_query;   /* passdb_sql_query outside any block */
	char *root_scheme;  /* passdb_default_password_scheme outside any block */
	char *driver;       /* sql_driver */
	char *version;      /* dovecot_config_version */
	/* a Dovecot 2.3 dovecot.conf tree (v23_tree.c), read with the same lexer for its auth
	 * settings and passdbs; sql_path is the dovecot-sql.conf.ext the module reads, which
	 * the users' sql passdb must name in its args */
	bool v23;
	const char *sql_path;
};

/* A file and line, for messages ("NAME line N: "). */
struct pgd_v24_where {
	const char *path;
	unsigned line;
};

enum pgd_v24_line_type {
	L_SKIP,
	L_KEYVALUE,
	L_KEYFILE,
	L_KEYVARIABLE,
	L_SECTION_BEGIN,
	L_SECTION_END,
	L_INCLUDE,
	L_INCLUDE_TRY,
	L_ERROR,
};

struct pgd_v24_line {
	enum pgd_v24_line_type type;
	const char *key;
	const char *value;
};

/* err gets "NAME line N: " and the message, printable. Returns false, for the caller's
 * return. */
bool pgd_v24_err(struct pgd_v24_reader *rd, const struct pgd_v24_where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* err gets "out of memory". Returns false. */
bool pgd_v24_nomem(struct pgd_v24_reader *rd);

/* A key line (L_KEYVALUE, L_KEYFILE, L_KEYVARIABLE) in the section on top of the stack. */
bool pgd_v24_key_line(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                      const struct pgd_v24_line *ln);
bool pgd_v24_section_begin(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                           const struct pgd_v24_line *ln);
bool pgd_v24_section_end(struct pgd_v24_reader *rd, const struct pgd_v24_where *w);

/*
 * v24_passdb.c: what beside the users' sql passdb can change a login's verdict. key: a key
 * line in a passdb block, or at the top level (root) where a passdb_ key applies to every
 * passdb; *taken says it was one of those settings. section: a block opened in a passdb
 * block or at the top level (in). filter_key: a key inside a protocol/local/remote filter.
 * begin/end: a passdb block opens and closes (end refuses a block that is not a master
 * passdb and that is not of driver sql, or that holds a construct key or section refused).
 */
bool pgd_v24_passdb_key(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln, bool root, bool *taken);
bool pgd_v24_passdb_section(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                            const struct pgd_v24_line *ln, enum pgd_v24_kind in);
bool pgd_v24_filter_key(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                        const struct pgd_v24_line *ln);
void pgd_v24_passdb_begin(struct pgd_v24_reader *rd, const struct pgd_v24_where *w);
bool pgd_v24_passdb_end(struct pgd_v24_reader *rd);

/* v23_tree.c: the same for a Dovecot 2.3 tree (rd->v23), and its end. */
bool pgd_v23_key_line(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                      const struct pgd_v24_line *ln);
bool pgd_v23_section_begin(struct pgd_v24_reader *rd, const struct pgd_v24_where *w,
                           const struct pgd_v24_line *ln);
bool pgd_v23_section_end(struct pgd_v24_reader *rd, const struct pgd_v24_where *w);
bool pgd_v23_finish(struct pgd_v24_reader *rd, const char *path);

/* The whole tree is read (path is its top file): hands what it said to the setter. */
bool pgd_v24_finish(struct pgd_v24_reader *rd, const char *path);
/* Frees what the reader holds (wiping the secrets). */
void pgd_v24_reader_free(struct pgd_v24_reader *rd);

#endif
