// SPDX-License-Identifier: MIT
/*
 * Dovecot %-variables and their binding: every row is one TAP test named after what an admin
 * would check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "query/query.h"
#include "rows.h"

#define MAXV 4

struct bind_case {
	const char *name;
	const char *tmpl;
	const char *user;
	enum pgd_query_result want;
	const char *sql;          /* expected SQL, or for errors a substring of err */
	const char *values[MAXV]; /* expected values, in $k order */
	int nparams;
};

#define ALICE "alice@example.org"

/* A bound query: the SQL text and up to MAXV values. */
/* clang-format off */
#define BIND_OK(name, tmpl, user, sql, n, ...)                                                     \
	{                                                                                          \
		name, tmpl, user, PGD_QUERY_OK, sql, {__VA_ARGS__}, n                              \
	}
/* clang-format on */
/* A refused template: err is a substring of the message. */
/* clang-format off */
#define BIND_BAD(name, tmpl, err)                                                                  \
	{                                                                                          \
		name, tmpl, ALICE, PGD_QUERY_INVALID, err, {NULL}, 0                               \
	}
/* clang-format on */

static const struct bind_case bind_cases[] = {
    /* What Dovecot ships and documents */
    BIND_OK("dovecot default password_query",
            "SELECT username, domain, password FROM users WHERE username = '%n' AND domain = '%d'",
            ALICE,
            "SELECT username, domain, password FROM users WHERE username = $1 AND domain = $2", 2,
            "alice", "example.org"),
    BIND_OK("dovecot-sql.conf.ext example with AS user",
            "SELECT username AS user, password FROM users WHERE username = '%n' AND domain = '%d'",
            ALICE,
            "SELECT username AS user, password FROM users WHERE username = $1 AND domain = $2", 2,
            "alice", "example.org"),
    BIND_OK("'%u' is one parameter", "SELECT password FROM users WHERE userid = '%u'", ALICE,
            "SELECT password FROM users WHERE userid = $1", 1, ALICE),
    BIND_OK("'%n@%d' is one parameter", "SELECT password FROM users WHERE email = '%n@%d'", ALICE,
            "SELECT password FROM users WHERE email = $1", 1, ALICE),
    BIND_OK("%{user} long form", "SELECT password FROM users WHERE userid = '%{user}'", ALICE,
            "SELECT password FROM users WHERE userid = $1", 1, ALICE),
    BIND_OK("%{username}@%{domain} long forms", "SELECT 1 WHERE e = '%{username}@%{domain}'", ALICE,
            "SELECT 1 WHERE e = $1", 1, ALICE),
    BIND_OK("unquoted variable becomes $1", "SELECT password FROM users WHERE userid = %u", ALICE,
            "SELECT password FROM users WHERE userid = $1", 1, ALICE),
    BIND_OK("unquoted variable before a cast", "SELECT password FROM users WHERE id = %u::text",
            ALICE, "SELECT password FROM users WHERE id = $1::text", 1, ALICE),
    BIND_OK("quoted variable before a cast", "SELECT 1 WHERE u = '%u'::citext", ALICE,
            "SELECT 1 WHERE u = $1::citext", 1, ALICE),
    BIND_OK("function call around a variable", "SELECT 1 WHERE u = lower('%u')", ALICE,
            "SELECT 1 WHERE u = lower($1)", 1, ALICE),
    BIND_OK("each occurrence gets its own number", "SELECT 1 WHERE u = '%u' OR alias = '%u'", ALICE,
            "SELECT 1 WHERE u = $1 OR alias = $2", 2, ALICE, ALICE),

    /* Injection: whatever the user typed stays in a value */
    BIND_OK("injection in %u stays a value", "SELECT password FROM users WHERE userid = '%u'",
            "x' OR '1'='1", "SELECT password FROM users WHERE userid = $1", 1, "x' OR '1'='1"),
    BIND_OK("injection in %n and %d stays in values",
            "SELECT password FROM users WHERE username = '%n' AND domain = '%d'",
            "a'--@b'; DROP TABLE users; --",
            "SELECT password FROM users WHERE username = $1 AND domain = $2", 2, "a'--",
            "b'; DROP TABLE users; --"),
    BIND_OK("injection unquoted stays a value", "SELECT password FROM users WHERE userid = %u",
            "1 OR 1=1", "SELECT password FROM users WHERE userid = $1", 1, "1 OR 1=1"),
    BIND_OK("dollar and percent in a user name", "SELECT 1 WHERE u = '%u'", "$1%u%%'$$",
            "SELECT 1 WHERE u = $1", 1, "$1%u%%'$$"),
    BIND_OK("backslash in a user name", "SELECT 1 WHERE u = '%u'", "a\\' OR 1=1 --",
            "SELECT 1 WHERE u = $1", 1, "a\\' OR 1=1 --"),

    /* %n and %d as Dovecot splits them */
    BIND_OK("no @: %n is the whole name, %d empty", "SELECT 1 WHERE n = '%n' AND d = '%d'", "bob",
            "SELECT 1 WHERE n = $1 AND d = $2", 2, "bob", ""),
    BIND_OK("two @: split at the first", "SELECT 1 WHERE n = '%n' AND d = '%d'", "a@b@c",
            "SELECT 1 WHERE n = $1 AND d = $2", 2, "a", "b@c"),
    BIND_OK("NULL user reads as empty", "SELECT 1 WHERE u = '%u'", NULL, "SELECT 1 WHERE u = $1", 1,
            ""),

    /* Modifiers */
    BIND_OK("%Lu lowercases", "SELECT 1 WHERE u = '%Lu'", "Alice@Example.ORG",
            "SELECT 1 WHERE u = $1", 1, ALICE),
    BIND_OK("%Ud uppercases the domain", "SELECT 1 WHERE d = '%Ud'", ALICE, "SELECT 1 WHERE d = $1",
            1, "EXAMPLE.ORG"),
    BIND_OK("%L{user} long form with modifier", "SELECT 1 WHERE u = '%L{user}'", "Bob@X.Org",
            "SELECT 1 WHERE u = $1", 1, "bob@x.org"),
    BIND_OK("%Ln@%Ud inside one literal", "SELECT 1 WHERE u = '%Ln@%Ud'", "Bob@x.org",
            "SELECT 1 WHERE u = $1", 1, "bob@X.ORG"),
    BIND_OK("stacked modifiers apply in order (%LUu)", "SELECT 1 WHERE u = '%LUu'", "Bob",
            "SELECT 1 WHERE u = $1", 1, "BOB"),
    BIND_OK("modifiers leave non-ASCII bytes alone", "SELECT 1 WHERE u = '%Lu'",
            "\xc3\x84"
            "Bc",
            "SELECT 1 WHERE u = $1", 1,
            "\xc3\x84"
            "bc"),

    /* Literal text and %% */
    BIND_OK("%% outside quotes is a percent sign",
            "SELECT password FROM users WHERE id %% 2 = 0 AND u = '%u'", ALICE,
            "SELECT password FROM users WHERE id % 2 = 0 AND u = $1", 1, ALICE),
    BIND_OK("%% in a LIKE literal stays verbatim", "SELECT 1 WHERE n LIKE 'adm%%' AND u = '%u'",
            ALICE, "SELECT 1 WHERE n LIKE 'adm%' AND u = $1", 1, ALICE),
    BIND_OK("%% inside a bound literal", "SELECT 1 WHERE u LIKE '%n%%'", ALICE,
            "SELECT 1 WHERE u LIKE $1", 1, "alice%"),
    BIND_OK("literal without variables stays verbatim",
            "SELECT password FROM users WHERE active = 'yes' AND u = '%u'", ALICE,
            "SELECT password FROM users WHERE active = 'yes' AND u = $1", 1, ALICE),
    BIND_OK("'' inside a verbatim literal", "SELECT 1 WHERE note = 'it''s' AND u = '%u'", ALICE,
            "SELECT 1 WHERE note = 'it''s' AND u = $1", 1, ALICE),
    BIND_OK("'' inside a bound literal becomes '", "SELECT 1 WHERE u = '%n''s'", ALICE,
            "SELECT 1 WHERE u = $1", 1, "alice's"),
    BIND_OK("empty literal", "SELECT 1 WHERE u = '%u' AND x <> ''", ALICE,
            "SELECT 1 WHERE u = $1 AND x <> ''", 1, ALICE),
    BIND_OK("no variables at all", "SELECT 1", ALICE, "SELECT 1", 0, NULL),

    /* Other Dovecot variables */
    BIND_OK("%s %r %l", "SELECT 1 WHERE s = '%s' AND r = %r AND l = '%l'", ALICE,
            "SELECT 1 WHERE s = $1 AND r = $2 AND l = $3", 3, "imap", "203.0.113.9", "192.0.2.1"),
    BIND_OK("%{service} %{rip} %{lip}", "SELECT 1 WHERE s = '%{service}' AND r = '%{rip}/%{lip}'",
            ALICE, "SELECT 1 WHERE s = $1 AND r = $2", 2, "imap", "203.0.113.9/192.0.2.1"),

    /* SQL syntax the scanner must step over */
    BIND_OK("line comment kept", "SELECT password -- the hash\nFROM users WHERE u = '%u'", ALICE,
            "SELECT password -- the hash\nFROM users WHERE u = $1", 1, ALICE),
    BIND_OK("quote inside a line comment", "SELECT password -- don't\nFROM users WHERE u = '%u'",
            ALICE, "SELECT password -- don't\nFROM users WHERE u = $1", 1, ALICE),
    BIND_OK("block comment kept", "SELECT /* it's */ password FROM users WHERE u = '%u'", ALICE,
            "SELECT /* it's */ password FROM users WHERE u = $1", 1, ALICE),
    BIND_OK("nested block comment", "SELECT /* a /* b' */ c' */ 1 WHERE u = '%u'", ALICE,
            "SELECT /* a /* b' */ c' */ 1 WHERE u = $1", 1, ALICE),
    BIND_OK("double-quoted identifiers", "SELECT \"pass'word\" FROM \"Users\"\"x\" WHERE u = '%u'",
            ALICE, "SELECT \"pass'word\" FROM \"Users\"\"x\" WHERE u = $1", 1, ALICE),
    BIND_OK("E'' string with escaped quote", "SELECT E'it\\'s %%' AS x FROM t WHERE u = '%u'",
            ALICE, "SELECT E'it\\'s %' AS x FROM t WHERE u = $1", 1, ALICE),
    BIND_OK("dollar-quoted string", "SELECT $$it's$$ FROM t WHERE u = '%u'", ALICE,
            "SELECT $$it's$$ FROM t WHERE u = $1", 1, ALICE),
    BIND_OK("tagged dollar quote", "SELECT $q$a $$ 'b$q$ FROM t WHERE u = '%u'", ALICE,
            "SELECT $q$a $$ 'b$q$ FROM t WHERE u = $1", 1, ALICE),
    BIND_OK("$ inside an identifier", "SELECT pass$word FROM t WHERE u = '%u'", ALICE,
            "SELECT pass$word FROM t WHERE u = $1", 1, ALICE),
    BIND_OK("typed literal with a blank", "SELECT 1 WHERE u = text '%u'", ALICE,
            "SELECT 1 WHERE u = text $1", 1, ALICE),
    BIND_OK("multi-line query", "SELECT password\n  FROM users\n WHERE u = '%u'\n", ALICE,
            "SELECT password\n  FROM users\n WHERE u = $1\n", 1, ALICE),

    /* Refused: the password must never reach the database */
    /* the password (password_in_query; conf/load.c keeps it to password_query): a parameter,
     * never SQL text, whatever it holds */
    BIND_OK("%w is one parameter", "SELECT 1 WHERE p = md5('%w')", ALICE,
            "SELECT 1 WHERE p = md5($1)", 1, "pw' OR '1'='1"),
    BIND_OK("%{password} unquoted is one parameter", "SELECT 1 WHERE p = %{password}", ALICE,
            "SELECT 1 WHERE p = $1", 1, "pw' OR '1'='1"),
    BIND_OK("%Lw lowercases", "SELECT 1 WHERE p = '%Lw'", ALICE, "SELECT 1 WHERE p = $1", 1,
            "pw' or '1'='1"),

    /* Refused: variables and modifiers this module does not expand */
    BIND_BAD("unknown variable %x", "SELECT 1 WHERE u = '%x'", "%x"),
    BIND_BAD("unsupported %h (home)", "SELECT 1 WHERE u = '%h'", "%h"),
    BIND_BAD("unknown %{foo}", "SELECT 1 WHERE u = '%{foo}'", "%{foo}"),
    BIND_BAD("%{env:HOME} refused", "SELECT 1 WHERE u = '%{env:HOME}'", "%{env:HOME}"),
    BIND_BAD("a control byte in %{...} is shown as hex",
             "SELECT 1 WHERE u = '%{us\x01"
             "er}'",
             "%{us\\x01er}"),
    BIND_BAD("unterminated %{", "SELECT 1 WHERE u = '%{user'", "unterminated %{"),
    BIND_BAD("lone % at the end", "SELECT 1 WHERE u = 1 %", "end"),
    BIND_BAD("% before a quote (LIKE 'a%')", "SELECT 1 WHERE n LIKE 'a%'", "unknown"),
    BIND_OK("%E escapes a backslash", "SELECT 1 WHERE u = '%Eu'", "a\\b", "SELECT 1 WHERE u = $1",
            1, "a\\\\b"),
    BIND_OK("%3n of o'hara: Dovecot cuts the escaped value", "SELECT 1 WHERE u = '%3n'", "o'hara",
            "SELECT 1 WHERE u = $1", 1, "o'"),
    BIND_OK("%M is the MD5 in hex", "SELECT 1 WHERE u = '%Mu'", ALICE, "SELECT 1 WHERE u = $1", 1,
            "fbf7c6aec1d4280b7c2704c1c0478bd6"),
    BIND_OK("%X of a non-number is 0", "SELECT 1 WHERE u = '%LXu'", ALICE, "SELECT 1 WHERE u = $1",
            1, "0"),
    BIND_OK("width keeps the first bytes", "SELECT 1 WHERE u = '%3n'", ALICE,
            "SELECT 1 WHERE u = $1", 1, "ali"),
    BIND_OK("%.1n is width 1 at offset 0", "SELECT 1 WHERE u = '%.1n'", ALICE,
            "SELECT 1 WHERE u = $1", 1, "a"),
    BIND_OK("offset, then width", "SELECT 1 WHERE u = '%1.2n'", ALICE, "SELECT 1 WHERE u = $1", 1,
            "li"),
    BIND_OK("a sign without '.' is dropped, as in Dovecot", "SELECT 1 WHERE u = '%-1n'", ALICE,
            "SELECT 1 WHERE u = $1", 1, "a"),

    /* Refused: places where a value cannot be bound */
    BIND_BAD("variable in a double-quoted identifier", "SELECT \"%u\" FROM t", "identifier"),
    BIND_BAD("variable in an E'' string", "SELECT 1 WHERE u = E'%u'", "E'"),
    BIND_BAD("variable in a U&'' string", "SELECT 1 WHERE u = U&'%u'", "U&'"),
    BIND_BAD("variable in a dollar-quoted string", "SELECT 1 WHERE u = $$%u$$", "dollar"),
    BIND_BAD("variable in a line comment", "SELECT 1 -- for %u\nWHERE u = '%u'", "comment"),
    BIND_BAD("variable in a block comment", "SELECT 1 /* %u */ WHERE u = '%u'", "comment"),
    BIND_BAD("variable in N'' literal", "SELECT 1 WHERE u = N'%u'", "prefixed"),
    BIND_BAD("variable in X'' literal", "SELECT 1 WHERE u = X'%u'", "prefixed"),
    BIND_BAD("variable glued to a word", "SELECT 1 WHERE u = x%u", "glued"),
    BIND_BAD("variable glued to a digit after", "SELECT 1 WHERE u = %u1", "glued"),
    BIND_BAD("two variables side by side unquoted", "SELECT 1 WHERE u = %n%d", "glued"),
    BIND_BAD("bound literal glued to a digit", "SELECT 1 WHERE u = '%u'5", "glued"),
    BIND_BAD("positional $1 already there", "SELECT password FROM users WHERE u = $1",
             "positional"),
    BIND_BAD("positional $1 next to a variable", "SELECT 1 WHERE u = $1 OR v = '%u'", "positional"),

    /* Refused: broken SQL */
    BIND_BAD("unterminated literal", "SELECT 1 WHERE u = '%u", "unterminated string literal"),
    BIND_BAD("unterminated plain literal", "SELECT 'abc", "unterminated"),
    BIND_BAD("unterminated identifier", "SELECT \"abc FROM t", "unterminated"),
    BIND_BAD("unterminated block comment", "SELECT 1 /* abc", "unterminated comment"),
    BIND_BAD("unterminated nested comment", "SELECT 1 /* a /* b */", "unterminated comment"),
    BIND_BAD("unterminated dollar quote", "SELECT $$abc", "unterminated"),
    BIND_BAD("unterminated E'' string", "SELECT E'abc\\'", "unterminated"),
    BIND_BAD("empty template", "", "empty"),
    BIND_BAD("NULL template", NULL, "empty"),
};

static void check_bind(void **state)
{
	const struct bind_case *c = *state;
	struct pgd_vars vars = {.user = c->user,
	                        .service = "imap",
	                        .rip = "203.0.113.9",
	                        .lip = "192.0.2.1",
	                        .password = "pw' OR '1'='1"};
	struct pgd_query q;
	char err[256] = "";
	enum pgd_query_result r;
	int i;

	memset(&q, 0x5a, sizeof(q));
	r = pgd_query_bind(c->tmpl, &vars, &q, err, sizeof(err));
	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r != PGD_QUERY_OK) {
		assert_null(q.sql);
		assert_null(q.values);
		assert_int_equal(q.nparams, 0);
		if (strstr(err, c->sql) == NULL)
			fail_msg("err '%s' lacks '%s'", err, c->sql);
		/* A message names the template's problem, never the user's input. */
		if (c->user != NULL && strlen(c->user) > 3)
			assert_null(strstr(err, c->user));
		/* pgd_query_check agrees with the binder. */
		assert_int_equal(pgd_query_check(c->tmpl, err, sizeof(err)), c->want);
		return;
	}
	assert_string_equal(q.sql, c->sql);
	assert_int_equal(q.nparams, c->nparams);
	for (i = 0; i < c->nparams; i++)
		assert_string_equal(q.values[i], c->values[i]);
	/* Nothing the user typed reaches the SQL text. */
	if (c->user != NULL && strlen(c->user) > 3 && strstr(c->tmpl, c->user) == NULL)
		assert_null(strstr(q.sql, c->user));
	pgd_query_free(&q);
	assert_null(q.sql);
	assert_int_equal(q.nparams, 0);
	assert_int_equal(pgd_query_check(c->tmpl, err, sizeof(err)), PGD_QUERY_OK);
}

static void too_many_variables(void **state)
{
	char tmpl[2048] = "SELECT 1 WHERE u IN (";
	struct pgd_vars vars = {.user = ALICE};
	struct pgd_query q;
	char err[256] = "";
	int i;

	(void)state;
	for (i = 0; i < 101; i++)
		strcat(tmpl, i == 0 ? "'%u'" : ",'%u'");
	strcat(tmpl, ")");
	assert_int_equal(pgd_query_bind(tmpl, &vars, &q, err, sizeof(err)), PGD_QUERY_INVALID);
	assert_non_null(strstr(err, "more than"));
	assert_null(q.sql);
}

static void bind_null_vars(void **state)
{
	struct pgd_query q;
	char err[256] = "";

	(void)state;
	assert_int_equal(
	    pgd_query_bind("SELECT 1 WHERE u = '%u' AND s = %s", NULL, &q, err, sizeof(err)),
	    PGD_QUERY_OK);
	assert_string_equal(q.sql, "SELECT 1 WHERE u = $1 AND s = $2");
	assert_string_equal(q.values[0], "");
	assert_string_equal(q.values[1], "");
	pgd_query_free(&q);
	pgd_query_free(&q); /* twice is harmless */
	pgd_query_free(NULL);
}

struct expand_case {
	const char *name;
	const char *tmpl;
	const char *user;
	enum pgd_query_result want;
	const char *out; /* result, or a substring of err */
};

/* clang-format off */
#define EXPAND(name, tmpl, user, want, out)                                                        \
	{                                                                                          \
		name, tmpl, user, want, out                                                        \
	}
/* clang-format on */

static const struct expand_case expand_cases[] = {
    EXPAND("%Lu (Dovecot's default username_format)", "%Lu", "Alice@Example.ORG", PGD_QUERY_OK,
           "alice@example.org"),
    EXPAND("%Uu", "%Uu", "Alice@Example.org", PGD_QUERY_OK, "ALICE@EXAMPLE.ORG"),
    EXPAND("%n drops the domain", "%n", ALICE, PGD_QUERY_OK, "alice"),
    EXPAND("%d keeps only the domain", "%d", ALICE, PGD_QUERY_OK, "example.org"),
    EXPAND("%Ln@%d", "%Ln@%d", "Alice@Example.org", PGD_QUERY_OK, "alice@Example.org"),
    EXPAND("%{user} in text", "user=%{user};", "bob", PGD_QUERY_OK, "user=bob;"),
    EXPAND("%% and text", "100%% %n", "bob", PGD_QUERY_OK, "100% bob"),
    EXPAND("quotes are plain text here", "'%u'", "o'hara", PGD_QUERY_OK, "'o'hara'"),
    EXPAND("service and IPs", "%s/%r/%l", "bob", PGD_QUERY_OK, "imap/203.0.113.9/192.0.2.1"),
    EXPAND("no variables", "plain", "bob", PGD_QUERY_OK, "plain"),
    EXPAND("empty template", "", "bob", PGD_QUERY_OK, ""),
    EXPAND("%ULu lowercases (last modifier wins)", "%ULu", "BoB", PGD_QUERY_OK, "bob"),
    EXPAND("%w refused", "%w", "bob", PGD_QUERY_INVALID, "password"),
    EXPAND("%{password} refused", "%{password}", "bob", PGD_QUERY_INVALID, "password"),
    EXPAND("unknown %q", "%q", "bob", PGD_QUERY_INVALID, "%q"),
    EXPAND("non-printable variable letter is shown as hex", "%\x01", "bob", PGD_QUERY_INVALID,
           "\\x01"),
    EXPAND("a backslash as variable letter is shown as hex", "%\\", "bob", PGD_QUERY_INVALID,
           "%\\x5c"),
    EXPAND("unterminated %{user", "%{user", "bob", PGD_QUERY_INVALID, "unterminated"),
    EXPAND("trailing %", "%u%", "bob", PGD_QUERY_INVALID, "end"),
    EXPAND("%T cuts trailing blanks", "%Tu", "bob \t", PGD_QUERY_OK, "bob"),
};

static void check_expand(void **state)
{
	const struct expand_case *c = *state;
	struct pgd_vars vars = {
	    .user = c->user, .service = "imap", .rip = "203.0.113.9", .lip = "192.0.2.1"};
	char err[256] = "";
	char *out = (char *)1;
	enum pgd_query_result r = pgd_expand(c->tmpl, &vars, &out, err, sizeof(err));

	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r != PGD_QUERY_OK) {
		assert_null(out);
		if (strstr(err, c->out) == NULL)
			fail_msg("err '%s' lacks '%s'", err, c->out);
		return;
	}
	assert_string_equal(out, c->out);
	free(out);
}

struct user_case {
	const char *name;
	const char *user;
	const char *format;
	const char *chars; /* "D" stands for PGD_DEFAULT_USERNAME_CHARS */
	const char *domain;
	const char *service; /* NULL stands for "imap" */
	enum pgd_user_result want;
	const char *out; /* normalized name, or a substring of err */
};

/* chars "D" stands for PGD_DEFAULT_USERNAME_CHARS; the service is "imap". */
/* clang-format off */
#define USER_OK(name, user, format, chars, domain, out)                                            \
	{                                                                                          \
		name, user, format, chars, domain, NULL, PGD_USER_OK, out                          \
	}
/* clang-format on */
/* clang-format off */
#define USER_BAD(name, user, format, chars, domain, err)                                           \
	{                                                                                          \
		name, user, format, chars, domain, NULL, PGD_USER_INVALID, err                     \
	}
/* clang-format on */

static const struct user_case user_cases[] = {
    USER_OK("%Lu lowercases", "Alice@Example.ORG", "%Lu", "D", NULL, "alice@example.org"),
    USER_OK("default domain appended", "alice", "%Lu", "D", "example.org", "alice@example.org"),
    USER_OK("default domain appended before %Lu", "Alice", "%Lu", "D", "Example.ORG",
            "alice@example.org"),
    USER_OK("existing domain kept", "alice@other.org", "%Lu", "D", "example.org",
            "alice@other.org"),
    USER_OK("empty default domain means none", "alice", "%Lu", "D", "", "alice"),
    USER_OK("%n after the default domain", "alice", "%n", "D", "example.org", "alice"),
    USER_OK("%d after the default domain", "alice", "%d", "D", "example.org", "example.org"),
    USER_OK("NULL format leaves the name", "Alice", NULL, "D", NULL, "Alice"),
    USER_OK("empty format leaves the name", "Alice", "", "D", NULL, "Alice"),
    USER_OK("format with the service", "bob", "%u+%s", "D", NULL, "bob+imap"),
    USER_OK("all default chars accepted", "Az09.-_@x", "%u", "D", NULL, "Az09.-_@x"),
    USER_BAD("blank refused by default chars", "ali ce", "%Lu", "D", NULL, "0x20"),
    USER_BAD("quote refused by default chars", "al'ice", "%Lu", "D", NULL, "0x27"),
    USER_BAD("slash refused by default chars", "alice/../x", "%Lu", "D", NULL, "0x2f"),
    USER_BAD("percent refused by default chars", "%u", "%Lu", "D", NULL, "0x25"),
    USER_BAD("UTF-8 refused by default chars", "j\xc3\xb6rg", "%Lu", "D", NULL, "0xc3"),
    USER_BAD("default domain checked against chars", "alice", "%Lu", "D", "ex ample.org", "0x20"),
    USER_OK("custom chars", "bob+tag", "%u", "abcgot+", NULL, "bob+tag"),
    USER_BAD("custom chars refuse the rest", "bob-tag", "%u", "abcgot+", NULL, "0x2d"),
    USER_OK("empty chars allow a blank", "ali ce", "%u", "", NULL, "ali ce"),
    USER_OK("NULL chars allow UTF-8", "j\xc3\xb6rg", "%u", NULL, NULL, "j\xc3\xb6rg"),
    USER_BAD("empty chars still refuse newline", "ali\nce", "%u", "", NULL, "control byte 0x0a"),
    USER_BAD("empty chars still refuse tab", "ali\tce", "%u", "", NULL, "0x09"),
    USER_BAD("empty chars still refuse DEL", "alice\x7f", "%u", "", NULL, "0x7f"),
    {"control byte from the service refused", "bob", "%u%s", "", NULL, "imap\r", PGD_USER_INVALID,
     "0x0d"},
    USER_BAD("empty name refused", "", "%Lu", "D", NULL, "empty"),
    USER_BAD("empty name refused even with a domain", "", "%Lu", "D", "example.org", "empty"),
    USER_BAD("NULL name refused", NULL, "%Lu", "D", NULL, "empty"),
    USER_BAD("format making it empty refused", "bob", "%d", "D", NULL, "empty"),
    USER_BAD("bad format refused", "bob", "%x", "D", NULL, "%x"),
    USER_BAD("password in format refused", "bob", "%w", "D", NULL, "password"),
};

static void check_user(void **state)
{
	const struct user_case *c = *state;
	const char *chars =
	    c->chars != NULL && strcmp(c->chars, "D") == 0 ? PGD_DEFAULT_USERNAME_CHARS : c->chars;
	struct pgd_vars vars = {.user = "ignored",
	                        .service = c->service != NULL ? c->service : "imap"};
	char err[256] = "";
	char *out = (char *)1;
	enum pgd_user_result r =
	    pgd_user_normalize(c->user, c->format, chars, c->domain, &vars, &out, err, sizeof(err));

	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r != PGD_USER_OK) {
		assert_null(out);
		if (strstr(err, c->out) == NULL)
			fail_msg("err '%s' lacks '%s'", err, c->out);
		/* The refused name itself is never copied into the message. */
		if (c->user != NULL && strlen(c->user) > 3)
			assert_null(strstr(err, c->user));
		return;
	}
	assert_string_equal(out, c->out);
	free(out);
}

/*
 * Dovecot's rename of the login by the row's user, username and domain columns, applied in
 * column order. Every OK row was checked against the real Dovecot 2.3.19 (`doveadm auth test`
 * prints the user= it ends with) with the same columns in the same order.
 */
struct rename_case {
	const char *name, *current;
	const char *steps[3][2]; /* field, value; NULL field ends */
	enum pgd_user_result want;
	const char *out; /* the name, or a piece of err */
};

/* clang-format off */
#define RENAME_OK(n, cur, out, ...) {n, cur, {__VA_ARGS__}, PGD_USER_OK, out}
#define RENAME_BAD(n, cur, err, ...) {n, cur, {__VA_ARGS__}, PGD_USER_INVALID, err}
/* clang-format on */

static const struct rename_case rename_cases[] = {
    RENAME_OK("user replaces the name", "alice@x.org", "bob@y.org", {"user", "bob@y.org"}),
    RENAME_OK("user equal to the name", "alice@x.org", "alice@x.org", {"user", "alice@x.org"}),
    RENAME_OK("user differing in case", "alice@x.org", "Alice@x.org", {"user", "Alice@x.org"}),
    RENAME_OK("username keeps the domain", "alice@x.org", "bob@x.org", {"username", "bob"}),
    RENAME_OK("username of a bare name", "alice", "bob", {"username", "bob"}),
    RENAME_OK("username with @ replaces all", "alice@x.org", "bob@y.org",
              {"username", "bob@y.org"}),
    RENAME_OK("domain replaces the domain", "alice@x.org", "alice@z.org", {"domain", "z.org"}),
    RENAME_OK("domain appended to a bare name", "alice", "alice@z.org", {"domain", "z.org"}),
    RENAME_OK("empty domain leaves a bare @", "alice@x.org", "alice@", {"domain", ""}),
    RENAME_OK("username then domain", "alice@x.org", "bob@z.org", {"username", "bob"},
              {"domain", "z.org"}),
    RENAME_OK("username@ then domain", "alice", "bob@z.org", {"username", "bob@y.org"},
              {"domain", "z.org"}),
    RENAME_OK("domain then user: the last wins", "alice@x.org", "bob", {"domain", "z.org"},
              {"user", "bob"}),
    RENAME_OK("domain after the first @", "alice", "a@q", {"username", "a@b@c"}, {"domain", "q"}),
    RENAME_OK("PostfixAdmin: username AS user", "alice@x.org", "alice@x.org",
              {"user", "alice@x.org"}),
    RENAME_OK("Dovecot's default query: username, domain", "alice@x.org", "alice@x.org",
              {"username", "alice"}, {"domain", "x.org"}),
    RENAME_BAD("empty user refused (Dovecot fails the login)", "alice@x.org", "empty",
               {"user", ""}),
    RENAME_BAD("empty username of a bare name", "alice", "empty", {"username", ""}),
    RENAME_BAD("control byte refused", "alice", "0x0a", {"user", "bob\nx"}),
    RENAME_BAD("other column", "alice", "no rename", {"home", "/x"}),
};

static void check_rename(void **state)
{
	const struct rename_case *c = *state;
	char *name = strdup(c->current), err[256] = "";
	enum pgd_user_result r = PGD_USER_OK;

	assert_non_null(name);
	for (size_t i = 0; i < 3 && c->steps[i][0] != NULL && r == PGD_USER_OK; i++) {
		char *next = (char *)1;

		r = pgd_user_rename(name, c->steps[i][0], c->steps[i][1], &next, err, sizeof(err));
		free(name);
		name = r == PGD_USER_OK ? next : NULL;
		if (r != PGD_USER_OK)
			assert_null(next);
	}
	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r != PGD_USER_OK) {
		if (strstr(err, c->out) == NULL)
			fail_msg("err '%s' lacks '%s'", err, c->out);
		return;
	}
	assert_string_equal(name, c->out);
	free(name);
}

static void user_length_limits(void **state)
{
	char name[PGD_MAX_USER_LEN + 2];
	char err[256] = "";
	char *out = NULL;

	(void)state;
	memset(name, 'a', PGD_MAX_USER_LEN);
	name[PGD_MAX_USER_LEN] = '\0';
	assert_int_equal(pgd_user_normalize(name, "%Lu", PGD_DEFAULT_USERNAME_CHARS, NULL, NULL,
	                                    &out, err, sizeof(err)),
	                 PGD_USER_OK);
	assert_int_equal(strlen(out), PGD_MAX_USER_LEN);
	free(out);

	name[PGD_MAX_USER_LEN] = 'a';
	name[PGD_MAX_USER_LEN + 1] = '\0';
	assert_int_equal(pgd_user_normalize(name, "%Lu", PGD_DEFAULT_USERNAME_CHARS, NULL, NULL,
	                                    &out, err, sizeof(err)),
	                 PGD_USER_INVALID);
	assert_non_null(strstr(err, "longer than"));
	assert_null(out);

	/* The limit holds for the name after the default domain is added. */
	name[PGD_MAX_USER_LEN - 4] = '\0';
	assert_int_equal(pgd_user_normalize(name, "%Lu", PGD_DEFAULT_USERNAME_CHARS, "example.org",
	                                    NULL, &out, err, sizeof(err)),
	                 PGD_USER_INVALID);
	assert_non_null(strstr(err, "longer than"));
}

/* Dovecot 2.4 templates: the 2.3 form they become, then bound with hostile values. */
struct v24_case {
	const char *name;
	const char *tmpl;
	const char *want;   /* the 2.3 form, or NULL: refused */
	const char *err;    /* substring of the error */
	const char *sql;    /* after binding, or NULL: not bound */
	const char *value1; /* $1 */
};

static const struct v24_case v24_cases[] = {
    {"user and its parts", "'%{user}' '%{user | username}' '%{user|domain}'", "'%u' '%n' '%d'",
     NULL, "$1 $2 $3", "Alice@Example.org"},
    {"chained filters, blanks inside", "%{ user | domain | upper }", "%Ud", NULL, "$1",
     "EXAMPLE.ORG"},
    {"%u is the text %u, as in 2.4", "x = '%u' AND y = '%{user}'", "x = '%%u' AND y = '%u'", NULL,
     "x = '%u' AND y = $1", "Alice@Example.org"},
    {"%%{ is the text %{", "'%%{user}'", "'%%{user}'", NULL, "'%{user}'", NULL},
    {"a quoted literal holding an expansion is one parameter", "'%{user|username}@x'", "'%n@x'",
     NULL, "$1", "Alice@x"},
    {"protocol, remote_ip, local_ip, original_user",
     "%{protocol} %{remote_ip} %{local_ip} %{original_user}", "%s %r %l %{orig_user}", NULL, NULL,
     NULL},
    {"an unknown variable is named", "'%{usr}'", NULL, "unknown or unsupported variable %{usr}",
     NULL, NULL},
    {"an unknown filter is named", "'%{user | sha3}'", NULL, "unknown filter sha3", NULL, NULL},
    {"a non-ASCII filter is shown as hex", "'%{user | l\xc3\xb6wer}'", NULL,
     "filter l\\xc3\\xb6wer", NULL, NULL},
    {"a filter with arguments travels marked", "'%{user | default('x')}'",
     "'%{\x01u\x01| default('x')}'", NULL, "$1", "Alice@Example.org"},
    {"username after domain travels marked", "'%{user | domain | username}'",
     "'%{\x01u\x01| domain | username}'", NULL, "$1", "Example.org"},
    {"username on protocol travels marked", "%{protocol | username}", "%{\x01s\x01| username}",
     NULL, "$1", "imap"},
    /* conf/load.c lets it only into password_query, with password_in_query */
    {"%{password} is the 2.3 %{password}", "crypt('%{password}', pw)", "crypt('%{password}', pw)",
     NULL, "crypt($1, pw)", ""},
    {"an unterminated %{ is refused", "'%{user'", NULL, "unterminated", NULL, NULL},
};

static void check_v24(void **state)
{
	const struct v24_case *c = *state;
	char err[256] = "";
	char *out = NULL;
	enum pgd_query_result r = pgd_template_v24(c->tmpl, &out, err, sizeof(err));

	if (c->want == NULL) {
		assert_int_equal(r, PGD_QUERY_INVALID);
		if (strstr(err, c->err) == NULL)
			fail_msg("err '%s' lacks '%s'", err, c->err);
		return;
	}
	assert_int_equal(r, PGD_QUERY_OK);
	assert_string_equal(out, c->want);
	if (c->sql != NULL) {
		struct pgd_vars vars = {.user = "Alice@Example.org", .service = "imap"};
		struct pgd_query q;

		assert_int_equal(pgd_query_bind(out, &vars, &q, err, sizeof(err)), PGD_QUERY_OK);
		assert_string_equal(q.sql, c->sql);
		if (c->value1 != NULL) {
			assert_true(q.nparams >= 1);
			assert_string_equal(q.values[0], c->value1);
		}
		pgd_query_free(&q);
	}
	free(out);
}

/*
 * Variables glued into identifiers (iRedMail's enable%Ls%Lc): written into the SQL text only
 * for a closed set of values (%s a known protocol, %c, %m), checked first; every other
 * variable stays bound or refused, and a template naming %c / %m with nothing stated refuses.
 */
struct glue_case {
	const char *name;
	const char *tmpl; /* 2.3 form; with v24 set, a 2.4 template */
	bool v24;
	const char *service, *secured, *mechanism, *protocols;
	enum pgd_query_result want;
	const char *sql; /* expected SQL, or for errors a substring of err */
	int nparams;
	const char *value1; /* $1, when nparams > 0 */
};

#define IRM23 "SELECT password FROM mailbox WHERE username='%u' AND mailbox.\"enable%Ls%Lc\"=1"
#define IRM23_SQL(cols) "SELECT password FROM mailbox WHERE username=$1 AND mailbox.\"" cols "\"=1"
#define IRM24                                                                                      \
	"SELECT password FROM mailbox WHERE username='%{user | lower}' AND "                       \
	"mailbox.\"enable%{protocol | lower }%{secured | lower}\"=1"

/* clang-format off */
#define GLUE_OK(name, tmpl, v24, svc, sec, mech, map, sql, n, v1)                                  \
	{name, tmpl, v24, svc, sec, mech, map, PGD_QUERY_OK, sql, n, v1}
#define GLUE_BAD(name, tmpl, svc, sec, mech, map, err)                                             \
	{name, tmpl, false, svc, sec, mech, map, PGD_QUERY_INVALID, err, 0, NULL}
/* clang-format on */

static const struct glue_case glue_cases[] = {
    GLUE_OK("iRedMail 2.3, plaintext: enableimap", IRM23, false, "imap", "", NULL, NULL,
            IRM23_SQL("enableimap"), 1, ALICE),
    GLUE_OK("iRedMail 2.3, TLS: enableimaptls", IRM23, false, "imap", "TLS", NULL, NULL,
            IRM23_SQL("enableimaptls"), 1, ALICE),
    GLUE_OK("iRedMail 2.3, trusted network: enableimapsecured", IRM23, false, "imap", "secured",
            NULL, NULL, IRM23_SQL("enableimapsecured"), 1, ALICE),
    GLUE_OK("iRedMail 2.3, pop3 (Cyrus's pop mapped): enablepop3tls", IRM23, false, "pop3", "TLS",
            NULL, NULL, IRM23_SQL("enablepop3tls"), 1, ALICE),
    GLUE_OK("iRedMail 2.4, TLS: enablesmtptls", IRM24, true, "smtp", "TLS", NULL, NULL,
            IRM23_SQL("enablesmtptls"), 1, ALICE),
    GLUE_OK("iRedMail 2.4, sieve over plaintext", IRM24, true, "sieve", "", NULL, NULL,
            IRM23_SQL("enablesieve"), 1, ALICE),
    GLUE_OK("unquoted word: mailbox.enable%Ls%Lc=1", "SELECT 1 WHERE mailbox.enable%Ls%Lc=1", false,
            "imap", "TLS", NULL, NULL, "SELECT 1 WHERE mailbox.enableimaptls=1", 0, NULL),
    GLUE_OK("%Us keeps Dovecot's case filter", "SELECT \"enable_%Us\" FROM t", false, "lmtp", "",
            NULL, NULL, "SELECT \"enable_LMTP\" FROM t", 0, NULL),
    GLUE_OK("a protocol service_protocols names", "SELECT enable%s FROM t", false, "smtps", "",
            NULL, "submission=smtps", "SELECT enablesmtps FROM t", 0, NULL),
    GLUE_OK("%Lm glued: auth_plain", "SELECT auth_%Lm FROM t", false, "imap", NULL, "PLAIN", NULL,
            "SELECT auth_plain FROM t", 0, NULL),
    GLUE_OK("%{mechanism | lower} in a quoted name may hold '-'",
            "SELECT \"auth_%{mechanism | lower}\" FROM t", true, "imap", NULL, "SCRAM-SHA-1", NULL,
            "SELECT \"auth_scram-sha-1\" FROM t", 0, NULL),
    GLUE_OK("%s not glued stays bound", "SELECT 1 WHERE s = %s AND u = '%u'", false, "imap", NULL,
            NULL, NULL, "SELECT 1 WHERE s = $1 AND u = $2", 2, "imap"),
    GLUE_OK("'%c' in a literal is bound", "SELECT 1 WHERE t = '%c'", false, "imap", "TLS", NULL,
            NULL, "SELECT 1 WHERE t = $1", 1, "TLS"),
    GLUE_OK("%m not glued is bound", "SELECT 1 WHERE m = %m", false, "imap", NULL, "LOGIN", NULL,
            "SELECT 1 WHERE m = $1", 1, "LOGIN"),

    /* The user's bytes never glued into a name */
    GLUE_BAD("%u glued into a word stays refused", "SELECT enable%u FROM t", "imap", "", NULL, NULL,
             "glued"),
    GLUE_BAD("%n inside a quoted name stays refused", "SELECT \"enable%n\" FROM t", "imap", "",
             NULL, NULL, "closed set"),
    GLUE_BAD("%r glued stays refused", "SELECT x%r FROM t", "imap", "", NULL, NULL, "glued"),
    GLUE_BAD("%{orig_user} in a quoted name stays refused", "SELECT \"%{orig_user}\" FROM t",
             "imap", "", NULL, NULL, "identifier"),
    GLUE_BAD("%s glued beside $ is refused", "SELECT x$%s FROM t", "imap", "", NULL, NULL, "glued"),

    /* Hostile or unknown service names: not written into the SQL */
    GLUE_BAD("service with a quote", IRM23, "imap\"=1 OR \"x", "", NULL, NULL, "protocol"),
    GLUE_BAD("service with a semicolon", "SELECT enable%s FROM t", "imap;drop", "", NULL, NULL,
             "protocol"),
    GLUE_BAD("service with a blank", IRM23, "imap x", "", NULL, NULL, "protocol"),
    GLUE_BAD("service in upper case", IRM23, "IMAP", "", NULL, NULL, "protocol"),
    GLUE_BAD("service not a protocol (cyrus)", IRM23, "cyrus", "", NULL, NULL, "protocol"),
    GLUE_BAD("service pop unmapped (Dovecot says pop3)", IRM23, "pop", "", NULL, NULL, "protocol"),
    GLUE_BAD("empty service", IRM23, "", "", NULL, NULL, "protocol"),
    GLUE_BAD("service with a non-ASCII byte", IRM23, "im\xc3\xa4p", "", NULL, NULL, "protocol"),
    GLUE_BAD("service with a $", "SELECT enable%s FROM t", "imap$1", "", NULL, NULL, "protocol"),
    GLUE_BAD("service with a comment", IRM23, "imap--", "", NULL, NULL, "protocol"),
    GLUE_BAD("service_protocols with '-' gives no unquoted name", "SELECT enable%s FROM t", "x-y",
             "", NULL, "a=x-y", "protocol"),
    GLUE_BAD("a word may not start with a digit", "SELECT %sx FROM t", "3d", "", NULL, "a=3d",
             "protocol"),
    GLUE_BAD("glued after a number: 5imap is no name", "SELECT 5%s FROM t", "imap", "", NULL, NULL,
             "protocol"),
    GLUE_BAD("glued after a bound value: $1imap is no name", "SELECT 1 WHERE a = %c%s", "imap", "",
             NULL, NULL, "protocol"),
    GLUE_BAD("mechanism with '-' in an unquoted name", "SELECT auth_%Lm FROM t", "imap", NULL,
             "SCRAM-SHA-1", NULL, "mechanism"),
    GLUE_BAD("mechanism not a SASL name", "SELECT \"auth_%m\" FROM t", "imap", NULL, "plain\"x",
             NULL, "mechanism"),
    GLUE_BAD("secured outside its three values", IRM23, "imap", "TLS\"x", NULL, NULL,
             "secured value"),

    /* Nothing stated: refused, naming the variable and the key */
    GLUE_BAD("%c glued, secured unset", IRM23, "imap", NULL, NULL, NULL, "secured is not set"),
    GLUE_BAD("'%c' in a literal, secured unset", "SELECT 1 WHERE t = '%c'", "imap", NULL, NULL,
             NULL, "%c (%{secured})"),
    GLUE_BAD("%c bound, secured unset", "SELECT 1 WHERE t = %c", "imap", NULL, NULL, NULL,
             "secured = no, tls or secured"),
    GLUE_BAD("%m glued, mechanism unset", "SELECT auth_%Lm FROM t", "imap", "", NULL, NULL,
             "mechanism is not set"),
    GLUE_BAD("%{mechanism} in a literal, mechanism unset", "SELECT 1 WHERE m = '%{mechanism}'",
             "imap", "", NULL, NULL, "%m (%{mechanism})"),
};

static void check_glue(void **state)
{
	const struct glue_case *c = *state;
	struct pgd_vars vars = {.user = ALICE,
	                        .service = c->service,
	                        .secured = c->secured,
	                        .mechanism = c->mechanism,
	                        .protocols = c->protocols};
	struct pgd_query q;
	char err[512] = "", *tmpl = NULL;
	enum pgd_query_result r;

	if (c->v24)
		assert_int_equal(pgd_template_v24(c->tmpl, &tmpl, err, sizeof(err)), PGD_QUERY_OK);
	r = pgd_query_bind(tmpl != NULL ? tmpl : c->tmpl, &vars, &q, err, sizeof(err));
	if (r != c->want)
		fail_msg("result %d, want %d (err: %s)", r, c->want, err);
	if (r != PGD_QUERY_OK) {
		assert_null(q.sql);
		if (strstr(err, c->sql) == NULL)
			fail_msg("err '%s' lacks '%s'", err, c->sql);
	} else {
		assert_string_equal(q.sql, c->sql);
		assert_int_equal(q.nparams, c->nparams);
		if (c->nparams > 0)
			assert_string_equal(q.values[0], c->value1);
		pgd_query_free(&q);
	}
	free(tmpl);
}

/* Without values (a conf check), closed-set variables glue as "", user ones are refused. */
static void glue_check_without_values(void **state)
{
	struct pgd_query q;
	char err[256] = "";

	(void)state;
	assert_int_equal(pgd_query_check(IRM23, err, sizeof(err)), PGD_QUERY_OK);
	assert_int_equal(pgd_query_bind(IRM23, NULL, &q, err, sizeof(err)), PGD_QUERY_OK);
	assert_string_equal(q.sql, IRM23_SQL("enable"));
	pgd_query_free(&q);
	assert_int_equal(pgd_query_check("SELECT \"enable%Lu\" FROM t", err, sizeof(err)),
	                 PGD_QUERY_INVALID);
	assert_int_equal(pgd_query_check("SELECT enable%d FROM t", err, sizeof(err)),
	                 PGD_QUERY_INVALID);
}

/* The words the conf keys take, and the closed set of protocols. */
static void stated_values(void **state)
{
	struct pgd_vars vars = {.user = ALICE, .service = "imap", .secured = "TLS"};
	char err[512] = "", *out = NULL;

	(void)state;
	assert_string_equal(pgd_secured_value("no"), "");
	assert_string_equal(pgd_secured_value("tls"), "TLS");
	assert_string_equal(pgd_secured_value("secured"), "secured");
	assert_null(pgd_secured_value("yes"));
	assert_null(pgd_secured_value("TLS"));
	assert_null(pgd_secured_value(""));
	assert_null(pgd_secured_value(NULL));
	assert_true(pgd_mechanism_check("PLAIN"));
	assert_true(pgd_mechanism_check("SCRAM-SHA-256"));
	assert_true(pgd_mechanism_check("DIGEST-MD5"));
	assert_false(pgd_mechanism_check("plain"));
	assert_false(pgd_mechanism_check(""));
	assert_false(pgd_mechanism_check(NULL));
	assert_false(pgd_mechanism_check("ABCDEFGHIJKLMNOPQRSTU"));
	assert_true(pgd_protocol_closed(NULL, "pop3"));
	assert_true(pgd_protocol_closed(NULL, "submission"));
	assert_false(pgd_protocol_closed(NULL, "pop"));
	assert_false(pgd_protocol_closed("", "smtps"));
	assert_true(pgd_protocol_closed("submission=smtps", "smtps"));
	assert_false(pgd_protocol_closed("smtps=submission", "smtps"));
	/* plain expansion (username_format) reads them too */
	assert_int_equal(pgd_expand("%s-%Lc", &vars, &out, err, sizeof(err)), PGD_QUERY_OK);
	assert_string_equal(out, "imap-tls");
	free(out);
	vars.secured = NULL;
	assert_int_equal(pgd_expand("%c", &vars, &out, err, sizeof(err)), PGD_QUERY_INVALID);
	assert_non_null(strstr(err, "secured is not set"));
}

#define NROWS                                                                                      \
	(sizeof(bind_cases) / sizeof(bind_cases[0]) +                                              \
	 sizeof(expand_cases) / sizeof(expand_cases[0]) +                                          \
	 sizeof(user_cases) / sizeof(user_cases[0]) + sizeof(v24_cases) / sizeof(v24_cases[0]) +   \
	 sizeof(glue_cases) / sizeof(glue_cases[0]) +                                              \
	 sizeof(rename_cases) / sizeof(rename_cases[0]) + 7)

/* %s is Dovecot's protocol name: Cyrus's "pop" is "pop3" unless the map says otherwise. */
static void service_protocol(void **state)
{
	static const struct {
		const char *map, *service, *want;
	} rows[] = {
	    {NULL, "pop", "pop3"},
	    {NULL, "imap", "imap"},
	    {NULL, "sieve", "sieve"},
	    {NULL, "smtp", "smtp"},
	    {NULL, "popx", "popx"},
	    {NULL, "po", "po"},
	    {"", "pop", "pop"},
	    {"pop=pop3, submission=smtp", "submission", "smtp"},
	    {"pop=pop3, submission=smtp", "pop", "pop3"},
	    {"imap=imap4", "pop", "pop"},
	    {"\tpop3s=pop3\t", "pop3s", "pop3"},
	};
	char out[64], small[4];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_true(pgd_service_map_check(rows[i].map, NULL, 0));
		assert_string_equal(
		    pgd_service_protocol(rows[i].map, rows[i].service, out, sizeof(out)),
		    rows[i].want);
	}
	assert_null(pgd_service_protocol(NULL, NULL, out, sizeof(out)));
	/* a name that does not fit out: the service as it is */
	assert_string_equal(pgd_service_protocol(NULL, "pop", small, 4), "pop");

	static const char *const bad[] = {
	    "pop",      "pop=",          "=pop3",      "pop=pop3;",
	    "POP=pop3", "pop=pop3 imap", "pop = pop3", "abcdefghijklmnopqrstuvwxyzabcdefg=x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";

		assert_false(pgd_service_map_check(bad[i], err, sizeof(err)));
		assert_non_null(strstr(err, "service_protocols"));
	}
}

/* The log's saslauthd hint reads whether a query uses the domain of the name. */
static void uses_domain(void **state)
{
	(void)state;
	assert_true(pgd_query_uses_domain("SELECT p FROM u WHERE n = '%n' AND d = '%d'"));
	assert_true(pgd_query_uses_domain("SELECT p FROM u WHERE d = '%Ld'"));
	assert_true(pgd_query_uses_domain("SELECT p FROM u WHERE d = %{domain}"));
	assert_true(pgd_query_uses_domain("SELECT p FROM u WHERE u = '%n@%d'"));
	assert_false(pgd_query_uses_domain("SELECT p FROM u WHERE u = '%u'"));
	assert_false(pgd_query_uses_domain("SELECT p FROM u WHERE u = '%n' AND x LIKE '%%d'"));
	assert_false(pgd_query_uses_domain("SELECT p FROM u WHERE u = '%n' AND s = '%s'"));
	assert_false(pgd_query_uses_domain(""));
	assert_false(pgd_query_uses_domain(NULL));
}

int main(void)
{
	static struct CMUnitTest query[NROWS];
	static char names[NROWS][PGD_ROW_NAME_MAX];
	struct pgd_rows rows = {query, names, 0, NROWS};

	PGD_ROWS_ADD_TABLE(&rows, bind_cases, check_bind, "bind");
	PGD_ROWS_ADD_TABLE(&rows, expand_cases, check_expand, "expand");
	PGD_ROWS_ADD_TABLE(&rows, user_cases, check_user, "user");
	PGD_ROWS_ADD_TABLE(&rows, v24_cases, check_v24, "2.4");
	PGD_ROWS_ADD_TABLE(&rows, rename_cases, check_rename, "rename");
	PGD_ROWS_ADD_TEST(&rows, too_many_variables);
	PGD_ROWS_ADD_TEST(&rows, bind_null_vars);
	PGD_ROWS_ADD_TEST(&rows, user_length_limits);
	PGD_ROWS_ADD_TEST(&rows, uses_domain);
	PGD_ROWS_ADD_TEST(&rows, service_protocol);
	PGD_ROWS_ADD_TABLE(&rows, glue_cases, check_glue, "glue");
	PGD_ROWS_ADD_TEST(&rows, glue_check_without_values);
	PGD_ROWS_ADD_TEST(&rows, stated_values);
	if (!pgd_rows_full(&rows))
		return 1;
	return cmocka_run_group_tests(query, NULL, NULL);
}
