// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3's modifiers, width and offset, and Dovecot 2.4's filters: one template bound as a
 * login binds it (a 2.4 one read as its conf would be first), its one value compared with what
 * Dovecot sends (tests/dovecot/filters.sh checks the same against the real Dovecot); a template
 * Dovecot would not expand exactly is refused when the conf is read, naming the filter; a filter
 * that fails on one login's value fails that login, as Dovecot fails the lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"
#include "rows.h"

#define A "Alice@Example.org"

struct filter_case {
	const char *name;
	bool v24;
	const char *tmpl; /* the value part: bound as '<tmpl>' */
	const char *user;
	const char *want; /* the value, or a substring of the error */
	enum {
		WANT_VALUE,
		WANT_CONF_ERROR, /* refused when the conf is read */
		WANT_LOGIN_ERROR /* the conf is read; this login's value fails */
	} kind;
};

/* clang-format off */
#define V23(name, tmpl, user, want) {name, false, tmpl, user, want, WANT_VALUE}
#define V24(name, tmpl, user, want) {name, true, tmpl, user, want, WANT_VALUE}
#define BAD24(name, tmpl, err) {name, true, tmpl, A, err, WANT_CONF_ERROR}
#define FAIL23(name, tmpl, user, err) {name, false, tmpl, user, err, WANT_LOGIN_ERROR}
#define FAIL24(name, tmpl, user, err) {name, true, tmpl, user, err, WANT_LOGIN_ERROR}
/* clang-format on */

static const struct filter_case cases[] = {
    V23("%H: Dovecot's string hash in hex", "%Hu", A, "249f67"),
    V23("%256H: the hash modulo 256", "%256Hu", A, "67"),
    V23("%4.256H: padded to the offset", "%4.256Hu", A, "0067"),
    V23("%N: 32 bits of the first 8 MD5 bytes in hex", "%Nu", A, "dc930d3b"),
    V23("%16N: modulo 16", "%16Nu", A, "b"),
    V23("%LM: MD5 in hex, after lowercasing", "%LMu", A, "fbf7c6aec1d4280b7c2704c1c0478bd6"),
    V23("%M{user}: the long form", "%M{user}", A, "6e8fb51cdc930d3b6842886b92f5ba37"),
    V23("%X: a decimal number in hex", "%Xu", "255", "ff"),
    V23("%X: 0 for anything else", "%Xu", "12a", "0"),
    V23("%R reverses", "%Rn", A, "ecilA"),
    V23("%D: a dot becomes ,dc=", "%Dd", A, "Example,dc=org"),
    V23("%T cuts trailing blanks only", "%Tu", " bob \t\n", " bob"),
    V23("%E escapes a backslash", "%Eu", "a\\b", "a\\\\b"),
    V23("%3n: the first 3 bytes", "%3n", A, "Ali"),
    V23("%1.2n: offset 1, then 2 bytes", "%1.2n", A, "li"),
    V23("%-1.2n: from the last byte", "%-1.2n", A, "e"),
    V23("%-3n: a sign without '.' is dropped", "%-3n", A, "Ali"),
    V23("%05n pads with zeros", "%05n", "ab@x", "000ab"),
    V23("%05n never cuts", "%05n", A, "Alice"),
    V23("%.-2u: all but the last 2 bytes", "%.-2u", A, "Alice@Example.o"),
    V23("%.-20u: fewer bytes than that: all", "%.-20u", A, A),
    V23("%-4.u: the last 4 bytes", "%-4.u", A, ".org"),
    V23("%200u: a width past the end", "%200u", A, A),
    V23("%3{username}: a width on the long form", "%3{username}", A, "Ali"),
    V23("%LRDd: modifiers left to right", "%LRDd", A, "gro,dc=elpmaxe"),
    V23("%3n of o'hara: Dovecot cuts the value escaped for SQL", "%3n", "o'hara", "o'"),
    V23("%M of o'hara: the MD5 of the escaped value", "%Mu", "o'h",
        "ae8201658fa44708d854ea73f6a207a5"),
    FAIL23("%2n of o'hara splits an escaped quote: Dovecot's SQL breaks", "%2n", "o'hara",
           "splits a quote"),
    FAIL23("%E of o'hara: Dovecot's SQL breaks", "%Eu", "o'hara", "splits a quote"),

    V24("md5", "%{user | md5}", A, "6e8fb51cdc930d3b6842886b92f5ba37"),
    V24("sha1", "%{user | sha1}", A, "85f7ea2f11effbe7504fa6d4a8ed05820e32a8b7"),
    V24("sha256", "%{user | sha256}", A,
        "cfd44c4f8b695cedf265b5c47e945f7d4bfc6adc3a0d3eadd8136726d968d3a0"),
    V24("sha384", "%{user | sha384}", A,
        "67c442627a931c4490f9cb0d7fb4503e6a7cbd39904933aabb7dfcc82f21f09a5d4d04cd02725a4d6ebfad8"
        "9cc14185a"),
    V24("sha512", "%{user | sha512}", A,
        "ca1778aae821682c1539473a69e91abe2f73d4c8df0c78e7944162e50aebadbcd375433fdc32eb82dc0027"
        "97297fe145e905cba5192e7ef6733e3dcb8d1938e1"),
    V24("md5 | substr cuts the digest's bytes, not its hex", "%{user | md5 | substr(0, 4)}", A,
        "6e8fb51c"),
    V24("md5 | hexlify: the same hex", "%{user | md5 | hexlify}", A,
        "6e8fb51cdc930d3b6842886b92f5ba37"),
    V24("substr(0, 3)", "%{user | substr(0, 3)}", A, "Ali"),
    V24("substr(-3)", "%{user | substr(-3)}", A, "org"),
    V24("substr(1, -1)", "%{user | substr(1, -1)}", A, "lice@Example.or"),
    V24("substr(2)", "%{user | substr(2)}", A, "ice@Example.org"),
    V24("default keeps a value", "%{user | domain | default('none')}", A, "Example.org"),
    V24("default fills an empty value", "%{user | domain | default('none')}", "bob", "none"),
    V24("default with a number", "%{user | domain | default(0)}", "bob", "0"),
    V24("default without an argument", "%{user | domain | default}", "bob", ""),
    V24("default replaces a failed filter", "%{user | substr(0, 9) | default(\"short\")}", "ab@x",
        "short"),
    V24("regexp: only the replacement remains", "%{user | regexp('^([^@]*)@(.*)$', '\\\\2/\\\\1')}",
        A, "Example.org/Alice"),
    V24("regexp: no match leaves the value", "%{user | regexp('^z', 'y')}", A, A),
    V24("regexp: \\0 is the whole match", "%{user | regexp('[a-z]+', '<\\\\0>')}", A, "<lice>"),
    V24("hex of a number", "%{user | hex}", "255", "ff"),
    V24("hex(4) pads on the left", "%{user | hex(4)}", "255", "00ff"),
    V24("hex(-4) pads on the right", "%{user | hex(-4)}", "255", "ff00"),
    V24("hex(1) keeps the last digit", "%{user | hex(1)}", "255", "f"),
    V24("hex, failed, then default", "%{user | hex | default('nan')}", A, "nan"),
    V24("hexlify", "%{user | hexlify}", "ab", "6162"),
    V24("hexlify(6) pads", "%{user | hexlify(6)}", "ab", "006162"),
    V24("hexlify(3) cuts", "%{user | hexlify(3)}", "ab", "616"),
    V24("reverse", "%{user | username | reverse}", A, "ecilA"),
    V24("ldap_dn", "%{user | domain | ldap_dn}", A, "Example,dc=org"),
    V24("username after domain", "%{user | domain | username}", "a@b@c", "b"),
    V24("domain is all after the first @", "%{user | domain}", "a@b@c", "b@c"),
    V24("a filter on protocol", "%{protocol | upper}", A, "IMAP"),
    V24("escapes in a string", "%{user | domain | default('\\x41\\101\\'\\\\')}", "bob", "AA'\\"),
    V24("2.4 filters see the value unescaped", "%{user | substr(0, 2)}", "o'hara", "o'"),

    BAD24("an unknown filter", "%{user | sha3}", "unknown filter sha3"),
    BAD24("base64: Dovecot's, not supported", "%{user | base64}", "unsupported filter base64"),
    BAD24("a variable as an argument", "%{user | default(original_user)}",
          "a variable or key=value"),
    BAD24("a named argument", "%{user | md5(rounds=2)}", "a variable or key=value"),
    BAD24("arithmetic", "%{user | md5 % 10}", "arithmetic"),
    BAD24("an empty filter", "%{user | }", "empty filter"),
    BAD24("empty parentheses", "%{user | hexlify()}", "cannot read its arguments"),
    BAD24("too many arguments", "%{user | substr(1, 2, 3)}", "too many arguments"),
    BAD24("a string where a number goes", "%{user | substr('1')}", "number arguments"),
    BAD24("substr without an offset", "%{user | substr}", "substr takes"),
    BAD24("hexlify with a negative width", "%{user | hexlify(-1)}", "positive"),
    BAD24("a regexp that does not compile", "%{user | regexp('(', 'x')}", "filter regexp"),
    BAD24("a back-reference in a regexp", "%{user | regexp('(a)\\\\1', 'x')}", "back-references"),
    BAD24("repeat counts past 100", "%{user | regexp('(a{20}){20}', 'x')}", "repeat counts"),
    BAD24("a backslash before a non-digit in the replacement (Dovecot 2.4.1 loops)",
          "%{user | regexp('a', '\\\\x')}", "backslash in the replacement"),
    BAD24("a replacement group the pattern lacks", "%{user | regexp('(a)', '\\\\2')}",
          "does not have"),
    BAD24("an invalid escape", "%{user | default('\\q')}", "invalid escape"),
    BAD24("a NUL escape", "%{user | default('\\0')}", "NUL"),
    BAD24("invalid UTF-8 in a string", "%{user | default('\xff')}", "UTF-8"),
    BAD24("an unterminated string", "%{user | default('x)}", "unterminated"),
    BAD24("eleven filters",
          "%{user | lower | lower | lower | lower | lower | lower | lower | lower | lower | lower "
          "| lower}",
          "more than 10"),
    BAD24("arguments on the variable", "%{user(1)}", "cannot read the filters"),
    BAD24("the byte that marks a translated expression", "%{user}\x01", "0x01"),

    FAIL24("substr past the end", "%{user | substr(0, 9)}", "ab@x", "Length out of bounds"),
    FAIL24("substr: an offset past the end", "%{user | substr(9)}", "ab@x", "Offset out of bounds"),
    FAIL24("hex of a non-number", "%{user | hex}", A, "Input is not a number"),
    FAIL24("after a failed filter only default helps", "%{user | substr(9) | upper | default('x')}",
           "ab", "Offset out of bounds"),
    FAIL24("a regexp group that took no part", "%{user | regexp('(x)|(b)', '<\\\\1>')}", "bob",
           "Invalid capture group"),
};

static void check(void **state)
{
	const struct filter_case *c = *state;
	struct pgd_vars vars = {.user = c->user, .orig_user = c->user, .service = "imap"};
	char tmpl[512], err[512] = "", *t = NULL;
	struct pgd_query q;
	enum pgd_query_result r;

	snprintf(tmpl, sizeof(tmpl), "SELECT p FROM u WHERE x = '%s'", c->tmpl);
	if (c->v24)
		r = pgd_template_v24(tmpl, &t, err, sizeof(err));
	else
		r = (t = strdup(tmpl)) != NULL ? PGD_QUERY_OK : PGD_QUERY_NOMEM;
	if (r == PGD_QUERY_OK)
		r = pgd_query_check(t, err, sizeof(err));
	if (c->kind == WANT_CONF_ERROR) {
		assert_int_equal(r, PGD_QUERY_INVALID);
		if (strstr(err, c->want) == NULL)
			fail_msg("err '%s' lacks '%s'", err, c->want);
		free(t);
		return;
	}
	if (r != PGD_QUERY_OK)
		fail_msg("refused: %s", err);
	r = pgd_query_bind(t, &vars, &q, err, sizeof(err));
	free(t);
	if (c->kind == WANT_LOGIN_ERROR) {
		assert_int_equal(r, PGD_QUERY_INVALID);
		if (strstr(err, c->want) == NULL)
			fail_msg("err '%s' lacks '%s'", err, c->want);
		/* the message names the filter, never the login's value */
		assert_null(strstr(err, c->user));
		return;
	}
	if (r != PGD_QUERY_OK)
		fail_msg("bind failed: %s", err);
	assert_string_equal(q.sql, "SELECT p FROM u WHERE x = $1");
	assert_int_equal(q.nparams, 1);
	assert_string_equal(q.values[0], c->want);
	pgd_query_free(&q);
}

/* A regexp stays cheap on the longest name: what glibc makes of nested stars and bounded
 * repeats on 256 bytes (back-references and counts past 100 are refused above). */
static void regexp_bounded(void **state)
{
	static const char *const pats[] = {
	    "^(a+)+$",
	    "^((a|aa|aaa)*)*(a|aa)*$",
	    "((((((((a*)*)*)*)*)*)*)*)*$",
	    "(.*)(.*)(.*)(.*)(.*)(.*)(.*)(.*)(.*)$",
	    "((.?){99})(.?)*$",
	    "((a|b)?){100}$",
	};
	char user[PGD_MAX_USER_LEN + 1], tmpl[256], err[256], *t;
	struct pgd_vars vars = {.user = user};
	struct pgd_query q;

	(void)state;
	memset(user, 'a', PGD_MAX_USER_LEN);
	user[PGD_MAX_USER_LEN] = '\0';
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		snprintf(tmpl, sizeof(tmpl), "'%%{user | regexp('%s', '\\\\1')}'", pats[i]);
		assert_int_equal(pgd_template_v24(tmpl, &t, err, sizeof(err)), PGD_QUERY_OK);
		assert_int_equal(pgd_query_bind(t, &vars, &q, err, sizeof(err)), PGD_QUERY_OK);
		pgd_query_free(&q);
		free(t);
	}
}

/* The saslauthd hint reads the domain through a 2.4 filter too. */
static void uses_domain_filter(void **state)
{
	char err[256], *t;

	(void)state;
	assert_int_equal(
	    pgd_template_v24("'%{user | domain | default(\"x\")}'", &t, err, sizeof(err)),
	    PGD_QUERY_OK);
	assert_true(pgd_query_uses_domain(t));
	free(t);
	assert_int_equal(pgd_template_v24("'%{user | md5}'", &t, err, sizeof(err)), PGD_QUERY_OK);
	assert_false(pgd_query_uses_domain(t));
	free(t);
}

#define NROWS (sizeof(cases) / sizeof(cases[0]) + 2)

int main(void)
{
	static struct CMUnitTest tests[NROWS];
	static char names[NROWS][PGD_ROW_NAME_MAX];
	struct pgd_rows rows = {tests, names, 0, NROWS};

	PGD_ROWS_ADD_TABLE(&rows, cases, check, NULL);
	PGD_ROWS_ADD_TEST(&rows, regexp_bounded);
	PGD_ROWS_ADD_TEST(&rows, uses_domain_filter);
	if (!pgd_rows_full(&rows))
		return 1;
	return cmocka_run_group_tests_name("query_filters", tests, NULL, NULL);
}
