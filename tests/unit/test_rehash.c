// SPDX-License-Identifier: MIT
/*
 * rehash's one rule (pgd_hash_rehash_verdict, hash/stored_cost.h), which the login and the audit
 * command share: stored value x default_pass_scheme x update_scheme/update_rounds x
 * rehash_any_scheme -> rewrite or keep. The stored values were made by the real `doveadm pw`
 * (Dovecot 2.3.19.1) with the password "secret", the yescrypt and $2b$ ones by libxcrypt's
 * crypt(); the rule reads them and hashes nothing. Then every scheme the module can write:
 * a value just made at update_scheme/update_rounds is never rewritten by the same conf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hash.h"
#include "hash/stored_cost.h"
#include "util/secret.h"

#include "rows.h"

/* doveadm pw -s SHA512-CRYPT -r 200000 -p secret, without its {SCHEME} */
#define SHA512_200000                                                                              \
	"$6$rounds=200000$5UUhvSx9QFZ18Fv9$HMIxPpbGorcSEVjAHNGPkHlJ2FiFpVJpU4."                    \
	"aG2JxOHpUpkZ3NHeUvBIm"                                                                    \
	"b81bs0cN75F0C1HYkZErwMzlXaW1z1"
/* -r 1000 */
#define SHA512_1000                                                                                \
	"$6$rounds=1000$ZYsdnQfPHCc6q/"                                                            \
	"FD$dBr.CXuXi9dLBnGNF43mBtLBXpyV6oDaS7hIxUQdODF7otkQSXvZtRSsLB"                            \
	"qqYt/dR2K.NETUvzqFv05RO1vz9/"
/* no -r: Dovecot's 5000, written without rounds= */
#define SHA512_5000                                                                                \
	"$6$gBXAnbkkPDEAZ2Am$yiagP9LlKGpscwYZSdVmqUN/GwpDrLH1BToTheSEU1t.9T86A3zGb9kxmbr46XpX/"    \
	"8CG2J"                                                                                    \
	"dTpRJcXXB7fZFI4."
#define SHA256_5000 "$5$ddFNuDWzf/eBCg9m$PctA5J3PGR3jiF4GGwhMGYE3cMmjsfm1hVBeGLlknm1"
#define SHA256_200000                                                                              \
	"$5$rounds=200000$TyLjudVWUxbSTPc5$NjlsE8bn6vN57xtI5lz4BCdZwvnZ/z0dpLGYeGzKOM2"
#define BLF_12 "$2y$12$0Gdrd71cSecxxdPqbw3B2O7xaqH9lBQLWj0UFpnsE0rrozFI2Q2We"
#define BLF_5 "$2y$05$q7nFAeh7kpaGK2sxdilugOAQ8Qq6AAZ.EdRf1kdVLjqYV20EO1./y"
#define BLF_4 "$2y$04$ukNpPxtR5/B9WUyXySba/uYiWtUXrjl0cFSM82rgmrq/BtX.2oRa6"
#define BCRYPT_2B_12 "$2b$12$XJoYE74zCzhHSugOQ5h0nO2IeZArJHlpjT3ZTU/6l3nBxxnLi.Kz."
#define YESCRYPT "$y$j9T$hscfFYJY6H8mI8UhNydiH1$VsADXfuMKmLVNTUGSu.pfSYyO81O2wkO0SJWdQTm7jC"
/* doveadm's default ARGON2ID (m=64 MiB, t=3), -r 3 (256 MiB), and ARGON2I's default */
#define ARGON2ID_DEFAULT                                                                           \
	"$argon2id$v=19$m=65536,t=3,p=1$0/p5JpocGEmDsz5xdH/fOw$s2sCB9rwl5P10nDDl/"                 \
	"PPURD1yb1vw+4PRa5w2B"                                                                     \
	"Lultk"
#define ARGON2ID_R3                                                                                \
	"$argon2id$v=19$m=262144,t=3,p=1$LH7lEWVRdiCQrPEspgiVVQ$gyNGhEKSEwBet/"                    \
	"DdmDVyCgR81nCh5RMtBK2E"                                                                   \
	"lKBOgPY"
#define ARGON2I_DEFAULT                                                                            \
	"$argon2i$v=19$m=32768,t=4,p=1$qfH8H2fIg61W2BmA3d97wA$3y3CtJmYPoyP1PejBsYA+vTJ2tuwjhYpz/"  \
	"7wmAP"                                                                                    \
	"HmpY"
#define MD5_CRYPT "$1$kelQySFI$oovYZAdZJUoH5MKlFARQ4/"
#define SSHA512                                                                                    \
	"{SSHA512}5A4s/i/"                                                                         \
	"TPIeohKQYLYz36ZlyRlTgDREuLXsHJ897H2LvMEdTJqYdwtuo5EZuXEpAU+eMR1OJOlY1C+RRKcq"             \
	"u1wi3MDo="
#define PBKDF2_5000 "{PBKDF2}$1$MFpd6nya9f/R3vw6$5000$75f55f628a0fabd1ed00f84e4c1dedde05cb18d2"
#define PBKDF2_10000 "{PBKDF2}$1$ypvgkj2SdqaJqPyq$10000$01e48513ed7b82b5407040f4ce7f3a0948f37d31"
#define SCRAM_256                                                                                  \
	"{SCRAM-SHA-256}4096,ijRxESm9dWhhwP8hdnvUVA==,ZY1LwvnWdgXysLsr/GZ6qwqMqZxZAye8bwb/"        \
	"WPorduE=,z"                                                                               \
	"SgF77nfWF83dJUp5Cyc/PKnoBru1H4+cJJDBAlfMT8="

enum {
	DEFAULT_CONF = 0, /* update_scheme SHA512-CRYPT, update_rounds 0, rehash_any_scheme = no */
	ANY = 1,          /* rehash_any_scheme = yes */
	NOSCHEME = 2,     /* the value came from password_noscheme */
};

struct row {
	const char *name;
	const char *stored;
	const char *default_scheme; /* NULL: MD5, Dovecot 2.3's SQL default */
	const char *update_scheme;  /* NULL: SHA512-CRYPT */
	unsigned long update_rounds;
	unsigned flags;
	enum pgd_rehash_verdict want;
};

#define UPGRADE PGD_REHASH_UPGRADE
#define KEEP_COST PGD_REHASH_KEEP_COST
#define KEEP_FAMILY PGD_REHASH_KEEP_FAMILY
#define KEEP_UNREADABLE PGD_REHASH_KEEP_UNREADABLE

static const struct row rows[] = {
    /* issue 18, finding 3: each of these became a 5000-round {SHA512-CRYPT} at one login */
    {"{CRYPT} holding sha512crypt at 200000 rounds is kept", "{CRYPT}" SHA512_200000, NULL, NULL, 0,
     DEFAULT_CONF, KEEP_COST},
    {"a bare $6$ at 200000 rounds under default_pass_scheme CRYPT is kept", SHA512_200000, "CRYPT",
     NULL, 0, DEFAULT_CONF, KEEP_COST},
    {"{BLF-CRYPT} cost 12 is kept", "{BLF-CRYPT}" BLF_12, NULL, NULL, 0, DEFAULT_CONF, KEEP_FAMILY},
    {"{ARGON2ID} is kept", "{ARGON2ID}" ARGON2ID_DEFAULT, NULL, NULL, 0, DEFAULT_CONF, KEEP_FAMILY},
    /* the same algorithm: only a lower cost is rewritten; the label alone is not */
    {"{SHA512-CRYPT} at 200000 rounds, update_rounds 5000", "{SHA512-CRYPT}" SHA512_200000, NULL,
     NULL, 5000, DEFAULT_CONF, KEEP_COST},
    {"{CRYPT}$6$ at Dovecot's 5000 rounds: only the label differs", "{CRYPT}" SHA512_5000, NULL,
     NULL, 0, DEFAULT_CONF, KEEP_COST},
    {"{SHA512-CRYPT} at 5000 rounds, update_rounds 0 (5000)", "{SHA512-CRYPT}" SHA512_5000, NULL,
     NULL, 0, DEFAULT_CONF, KEEP_COST},
    {"{SHA512-CRYPT} at 1000 rounds, update_rounds 5000", "{SHA512-CRYPT}" SHA512_1000, NULL, NULL,
     5000, DEFAULT_CONF, UPGRADE},
    {"{SHA512-CRYPT} at 5000 rounds, update_rounds 200001", "{SHA512-CRYPT}" SHA512_5000, NULL,
     NULL, 200001, DEFAULT_CONF, UPGRADE},
    {"{CRYPT}$6$ at 1000 rounds, update_rounds 0", "{CRYPT}" SHA512_1000, NULL, NULL, 0,
     DEFAULT_CONF, UPGRADE},
    {"a bare $6$ at 1000 rounds under CRYPT", SHA512_1000, "CRYPT", NULL, 0, DEFAULT_CONF, UPGRADE},
    /* weaker ranks: always upgraded */
    {"{MD5-CRYPT}", "{MD5-CRYPT}" MD5_CRYPT, NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    {"{MD5} holding md5crypt", "{MD5}" MD5_CRYPT, NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    {"a bare $1$ under Dovecot 2.3's default MD5", MD5_CRYPT, NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    {"{CRYPT}$1$ (md5crypt)", "{CRYPT}" MD5_CRYPT, NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    {"{SHA512-CRYPT} holding $1$ (md5crypt)", "{SHA512-CRYPT}" MD5_CRYPT, NULL, NULL, 0,
     DEFAULT_CONF, UPGRADE},
    {"{DES-CRYPT}", "{DES-CRYPT}9kZ1wENGwXsok", NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    {"{PLAIN}", "{PLAIN}secret", NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    {"a bare value under default_pass_scheme PLAIN", "secret", "PLAIN", NULL, 0, DEFAULT_CONF,
     UPGRADE},
    {"{PLAIN-MD5}", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69", NULL, NULL, 0, DEFAULT_CONF,
     UPGRADE},
    {"{SSHA512}", SSHA512, NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    {"{PBKDF2}", PBKDF2_5000, NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    {"{SCRAM-SHA-256}", SCRAM_256, NULL, NULL, 0, DEFAULT_CONF, UPGRADE},
    /* other adaptive algorithms: kept by default, rewritten with rehash_any_scheme */
    {"{SHA256-CRYPT} is another algorithm", "{SHA256-CRYPT}" SHA256_5000, NULL, NULL, 0,
     DEFAULT_CONF, KEEP_FAMILY},
    {"{ARGON2I} is kept", "{ARGON2I}" ARGON2I_DEFAULT, NULL, NULL, 0, DEFAULT_CONF, KEEP_FAMILY},
    {"a bare yescrypt under CRYPT is kept", YESCRYPT, "CRYPT", NULL, 0, DEFAULT_CONF, KEEP_FAMILY},
    {"{CRYPT}$2b$ cost 12 is kept", "{CRYPT}" BCRYPT_2B_12, NULL, NULL, 0, DEFAULT_CONF,
     KEEP_FAMILY},
    {"rehash_any_scheme: {BLF-CRYPT} cost 12 is rewritten", "{BLF-CRYPT}" BLF_12, NULL, NULL, 0,
     ANY, UPGRADE},
    {"rehash_any_scheme: {ARGON2ID} is rewritten", "{ARGON2ID}" ARGON2ID_DEFAULT, NULL, NULL, 0,
     ANY, UPGRADE},
    {"rehash_any_scheme: {SHA256-CRYPT} at 200000 rounds is rewritten",
     "{SHA256-CRYPT}" SHA256_200000, NULL, NULL, 0, ANY, UPGRADE},
    {"rehash_any_scheme: yescrypt is rewritten", YESCRYPT, "CRYPT", NULL, 0, ANY, UPGRADE},
    {"rehash_any_scheme never lowers rounds: {CRYPT}$6$ at 200000", "{CRYPT}" SHA512_200000, NULL,
     NULL, 0, ANY, KEEP_COST},
    {"rehash_any_scheme never lowers rounds: bare $6$ at 200000", SHA512_200000, "CRYPT", NULL,
     5000, ANY, KEEP_COST},
    {"rehash_any_scheme still upgrades 1000 rounds", "{SHA512-CRYPT}" SHA512_1000, NULL, NULL, 0,
     ANY, UPGRADE},
    {"rehash_any_scheme: {MD5-CRYPT}", "{MD5-CRYPT}" MD5_CRYPT, NULL, NULL, 0, ANY, UPGRADE},
    /* update_scheme BLF-CRYPT (and CRYPT, which Dovecot makes as bcrypt) */
    {"BLF-CRYPT 12: cost 4 is upgraded", "{BLF-CRYPT}" BLF_4, NULL, "BLF-CRYPT", 12, DEFAULT_CONF,
     UPGRADE},
    {"BLF-CRYPT 12: cost 12 is kept", "{BLF-CRYPT}" BLF_12, NULL, "BLF-CRYPT", 12, DEFAULT_CONF,
     KEEP_COST},
    {"BLF-CRYPT 12: {CRYPT}$2y$05$ is bcrypt at a lower cost", "{CRYPT}" BLF_5, NULL, "BLF-CRYPT",
     12, DEFAULT_CONF, UPGRADE},
    {"BLF-CRYPT 12: a bare $2b$12$ under CRYPT is kept", BCRYPT_2B_12, "CRYPT", "BLF-CRYPT", 12,
     DEFAULT_CONF, KEEP_COST},
    {"BLF-CRYPT 0 (cost 5): cost 12 is never lowered, even with rehash_any_scheme",
     "{BLF-CRYPT}" BLF_12, NULL, "BLF-CRYPT", 0, ANY, KEEP_COST},
    {"BLF-CRYPT: sha512crypt at 200000 rounds is kept", "{SHA512-CRYPT}" SHA512_200000, NULL,
     "BLF-CRYPT", 0, DEFAULT_CONF, KEEP_FAMILY},
    {"BLF-CRYPT: {MD5-CRYPT} is upgraded", "{MD5-CRYPT}" MD5_CRYPT, NULL, "BLF-CRYPT", 0,
     DEFAULT_CONF, UPGRADE},
    {"CRYPT (bcrypt cost 5): {BLF-CRYPT} cost 5 is the same", "{BLF-CRYPT}" BLF_5, NULL, "CRYPT", 0,
     DEFAULT_CONF, KEEP_COST},
    {"update_scheme in lower case", "{SHA512-CRYPT}" SHA512_1000, NULL, "sha512-crypt", 0,
     DEFAULT_CONF, UPGRADE},
    /* Argon2: memory and passes, neither ever lowered */
    {"ARGON2ID: its own default is kept", "{ARGON2ID}" ARGON2ID_DEFAULT, NULL, "ARGON2ID", 0,
     DEFAULT_CONF, KEEP_COST},
    {"ARGON2ID: 256 MiB is not lowered to 64 MiB", "{ARGON2ID}" ARGON2ID_R3, NULL, "ARGON2ID", 0,
     DEFAULT_CONF, KEEP_COST},
    {"ARGON2ID -r 4 (1 GiB, t=4): 256 MiB t=3 is upgraded", "{ARGON2ID}" ARGON2ID_R3, NULL,
     "ARGON2ID", 4, DEFAULT_CONF, UPGRADE},
    {"ARGON2ID: an argon2i value is another algorithm", "{ARGON2I}" ARGON2I_DEFAULT, NULL,
     "ARGON2ID", 0, DEFAULT_CONF, KEEP_FAMILY},
    {"ARGON2ID: {ARGON2} holding argon2id is read from the string", "{ARGON2}" ARGON2ID_DEFAULT,
     NULL, "ARGON2ID", 0, DEFAULT_CONF, KEEP_COST},
    {"ARGON2ID: sha512crypt is kept", "{SHA512-CRYPT}" SHA512_5000, NULL, "ARGON2ID", 0,
     DEFAULT_CONF, KEEP_FAMILY},
    {"ARGON2ID: {SSHA512} is upgraded", SSHA512, NULL, "ARGON2ID", 0, DEFAULT_CONF, UPGRADE},
    /* update_scheme below the adaptive rank */
    {"PBKDF2 10000: 5000 rounds is upgraded", PBKDF2_5000, NULL, "PBKDF2", 10000, DEFAULT_CONF,
     UPGRADE},
    {"PBKDF2 0 (5000): 10000 rounds is kept", PBKDF2_10000, NULL, "PBKDF2", 0, DEFAULT_CONF,
     KEEP_COST},
    {"PBKDF2: SCRAM-SHA-256 is the same rank", SCRAM_256, NULL, "PBKDF2", 0, DEFAULT_CONF,
     KEEP_FAMILY},
    {"PBKDF2: sha512crypt is ranked above", "{SHA512-CRYPT}" SHA512_5000, NULL, "PBKDF2", 0,
     DEFAULT_CONF, KEEP_FAMILY},
    {"PBKDF2: {SSHA512} is ranked below", SSHA512, NULL, "PBKDF2", 0, DEFAULT_CONF, UPGRADE},
    {"SSHA512: {PLAIN} is ranked below", "{PLAIN}secret", NULL, "SSHA512", 0, DEFAULT_CONF,
     UPGRADE},
    {"SSHA512: {PLAIN-MD5} is the same rank", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69", NULL,
     "SSHA512", 0, DEFAULT_CONF, KEEP_FAMILY},
    {"SSHA512: {SSHA512} is the same algorithm", SSHA512, NULL, "SSHA512", 0, DEFAULT_CONF,
     KEEP_COST},
    {"SSHA512 with rehash_any_scheme: {BLF-CRYPT} is rewritten", "{BLF-CRYPT}" BLF_12, NULL,
     "SSHA512", 0, ANY, UPGRADE},
    /* what cannot be read is never rewritten */
    {"rounds with a leading zero", "{SHA512-CRYPT}$6$rounds=01000$ZYsdnQfPHCc6q/FD$x", NULL, NULL,
     0, ANY, KEEP_UNREADABLE},
    {"a crypt method libxcrypt does not know", "{CRYPT}$sm3$saltsalt$x", NULL, NULL, 0, ANY,
     KEEP_UNREADABLE},
    {"an unknown scheme", "{NOPE-CRYPT}x", NULL, NULL, 0, ANY, KEEP_UNREADABLE},
    {"PBKDF2 rounds that are not a number", "{PBKDF2}$1$salt$many$00", NULL, NULL, 0, ANY,
     KEEP_UNREADABLE},
    {"an Argon2 string without m=", "{ARGON2ID}$argon2id$v=19$t=3,p=1$c2FsdA$aGFzaA", NULL, NULL, 0,
     ANY, KEEP_UNREADABLE},
    {"password_noscheme: no room for a prefix", "secret", "PLAIN", NULL, 0, NOSCHEME | ANY,
     PGD_REHASH_KEEP_NOSCHEME},
};

static void check_row(void **state)
{
	const struct row *r = *state;
	struct pgd_hash_policy policy = {.default_scheme = r->default_scheme,
	                                 .noscheme = (r->flags & NOSCHEME) != 0};
	struct pgd_rehash_target target = {.scheme = r->update_scheme != NULL ? r->update_scheme
	                                                                      : "SHA512-CRYPT",
	                                   .rounds = r->update_rounds,
	                                   .any_scheme = (r->flags & ANY) != 0};
	enum pgd_rehash_verdict want = r->want, got;

	/* Without libsodium: no conf names ARGON2* as update_scheme (it is not a known scheme),
	 * and an Argon2 value never logs in, so it is never rewritten either. */
	if (!pgd_hash_scheme_known("ARGON2ID")) {
		if (strstr(target.scheme, "ARGON2") != NULL)
			return;
		if (strstr(r->stored, "$argon2") != NULL)
			want = KEEP_UNREADABLE;
	}
	got = pgd_hash_rehash_verdict(r->stored, &policy, &target);
	if (got != want)
		fail_msg("%s: got %s, want %s", r->name, pgd_rehash_verdict_str(got),
		         pgd_rehash_verdict_str(want));
}

/* What rehash writes, read back by the rule with the conf that wrote it: never rewritten. */
static void check_made(const char *scheme, unsigned long rounds)
{
	struct pgd_hash_policy policy = {0};
	struct pgd_rehash_target target = {.scheme = scheme, .rounds = rounds};
	char *value = NULL;
	enum pgd_rehash_verdict got[2];

	assert_int_equal(pgd_hash_generate_ex(scheme, "secret", "user", rounds, &value, NULL),
	                 PGD_HASH_MATCH);
	got[0] = pgd_hash_rehash_verdict(value, &policy, &target);
	target.any_scheme = true;
	got[1] = pgd_hash_rehash_verdict(value, &policy, &target);
	pgd_free_secret(value);
	if (got[0] != KEEP_COST || got[1] != KEEP_COST)
		fail_msg("%s -r %lu: got %s / %s with rehash_any_scheme", scheme, rounds,
		         pgd_rehash_verdict_str(got[0]), pgd_rehash_verdict_str(got[1]));
}

/* Every scheme this build makes at its default cost, and some at others. */
static void test_made_is_kept(void **state)
{
	static const struct {
		const char *scheme;
		unsigned long rounds;
	} costs[] = {
	    {"SHA512-CRYPT", 1000}, {"SHA512-CRYPT", 20000},
	    {"SHA256-CRYPT", 6000}, {"BLF-CRYPT", 6},
	    {"CRYPT", 4},           {"PBKDF2", 7000},
	    {"SCRAM-SHA-256", 100}, {"SCRAM-SHA-256", 5000},
	    {"ARGON2ID", 3},        {"ARGON2I", 6},
	    {"sha512-crypt", 2000}, {"SSHA512.hex", 0},
	};
	const char *name;

	(void)state;
	for (size_t i = 0; (name = pgd_hash_scheme_name(i)) != NULL; i++)
		check_made(name, 0);
	for (size_t i = 0; i < sizeof(costs) / sizeof(costs[0]); i++)
		if (pgd_hash_scheme_known(costs[i].scheme))
			check_made(costs[i].scheme, costs[i].rounds);
}

int main(void)
{
	struct CMUnitTest rehash[PGD_N_ROWS(rows) + 1] = {
	    [PGD_N_ROWS(rows)] = {"a value rehash makes is kept by the conf that made it",
	                          test_made_is_kept, NULL, NULL, NULL},
	};

	PGD_ROW_CASES(rehash, rows, check_row);
	return cmocka_run_group_tests(rehash, NULL, NULL);
}
