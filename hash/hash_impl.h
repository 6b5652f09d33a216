// SPDX-License-Identifier: MIT
/*
 * Inside the hash family: the scheme descriptor hash.c's table is made of, and what the files in
 * hash/ offer each other and hash.c (the codecs, the detail line, the schemes). Nothing here is
 * hash.c's: the schemes never call back into the dispatch. Not a public interface: hash.h is.
 */
#ifndef PGD_HASH_IMPL_H
#define PGD_HASH_IMPL_H

#include "hash/verdict.h"

#include <stdbool.h>
#include <stddef.h>

#define PGD_MD5_LEN 16
#define PGD_MAX_DIGEST_LEN 64

enum pgd_encoding {
	PGD_ENC_NONE,
	PGD_ENC_HEX,
	PGD_ENC_BASE64,
};

enum pgd_digest {
	PGD_DIGEST_NONE,
	PGD_DIGEST_MD4,
	PGD_DIGEST_MD5,
	PGD_DIGEST_SHA1,
	PGD_DIGEST_SHA256,
	PGD_DIGEST_SHA512,
};

/* Bytes of a stored value after decoding, or bytes a generator made. heap (heap_size bytes,
 * NUL-terminated after len) is ours and wiped on release; otherwise data points elsewhere. */
struct pgd_raw {
	const unsigned char *data;
	size_t len;
	unsigned char *heap;
	size_t heap_size;
};

struct pgd_scheme;

/* Checks password against the decoded stored bytes. */
typedef enum pgd_hash_result pgd_verify_fn(const struct pgd_scheme *s, const struct pgd_raw *raw,
                                           const char *password,
                                           const struct pgd_hash_policy *policy,
                                           struct pgd_hash_info *info);

/* Makes the raw (not yet encoded) value for password into out->heap; rounds 0 = default. */
typedef enum pgd_hash_result pgd_generate_fn(const struct pgd_scheme *s, const char *password,
                                             const char *user, unsigned long rounds,
                                             struct pgd_raw *out, struct pgd_hash_info *info);

struct pgd_scheme {
	const char *name;
	enum pgd_encoding default_encoding;
	size_t raw_len;        /* decoded length every value must have, or 0 */
	pgd_verify_fn *verify; /* NULL: generate from the password, compare (Dovecot's default) */
	pgd_generate_fn *generate;
	enum pgd_digest digest;                               /* for the digest-based schemes */
	const char *crypt_prefix;                             /* for crypt_gensalt_rn */
	unsigned long rounds_default, rounds_min, rounds_max; /* all 0: -r means nothing */
};

/* hash/verdict.c */
void pgd_hash_set_detail(struct pgd_hash_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* TOO_COSTLY, with the detail (fmt...) and the cap the value is above: its conf key and value. */
enum pgd_hash_result pgd_hash_too_costly(struct pgd_hash_info *info, const char *cap_key,
                                         unsigned long cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The cap in force: value, or fallback (the default) when value is 0. */
unsigned long pgd_policy_cap(unsigned long value, unsigned long fallback);

/* hash/codec.c */
/* Strict hex as Dovecot's hex_to_binary(): pairs of hex digits, either case, nothing else.
 * out needs len / 2 bytes. Returns false on any other input. */
bool pgd_hex_decode(const char *in, size_t len, unsigned char *out, size_t *out_len);
/* Base64 as Dovecot 2.3's base64_decode() accepts it; out needs len * 3 / 4 bytes. */
bool pgd_b64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len);
/* out gets 2 * len + 1 bytes (lower case), resp. (len + 2) / 3 * 4 + 1 (padded). */
void pgd_hex_encode(const unsigned char *in, size_t len, char *out);
void pgd_b64_encode(const unsigned char *in, size_t len, char *out);
/*
 * Decodes value as Dovecot's password_decode() does for a scheme of default encoding enc
 * (explicit_enc: a suffix named it) and decoded length raw_len (0: any). On success fills raw,
 * which the caller releases, and returns true; otherwise sets *res and the detail and returns
 * false with raw empty.
 */
bool pgd_value_decode(enum pgd_encoding enc, bool explicit_enc, size_t raw_len, const char *value,
                      struct pgd_raw *raw, enum pgd_hash_result *res, struct pgd_hash_info *info);
/* Allocates size zeroed bytes as out's heap; false on ENOMEM. */
bool pgd_raw_alloc(struct pgd_raw *out, size_t size);
/* Copies len bytes into a fresh heap raw; false on ENOMEM. */
bool pgd_raw_set(struct pgd_raw *out, const void *data, size_t len);
void pgd_raw_release(struct pgd_raw *raw);
/* Fills buf with len random bytes from the kernel; false if it cannot. */
bool pgd_random_bytes(void *buf, size_t len);
/* len random characters of crypt's alphabet, as Dovecot's password_generate_salt() */
bool pgd_random_salt(char *out, size_t len);

/* hash/hash_plain.c: the password itself, and Dovecot's generic verification */
pgd_generate_fn pgd_generate_plain, pgd_generate_plain_trunc;
pgd_verify_fn pgd_verify_plain_trunc;
/* Makes the value from the password with s->generate and compares the bytes with raw's. */
pgd_verify_fn pgd_verify_generated;
/* Decodes value by the PLAIN-MD5 rules and verifies; used by MD5. */
enum pgd_hash_result pgd_verify_plain_md5_str(const char *value, const char *password,
                                              const struct pgd_hash_policy *policy,
                                              struct pgd_hash_info *info);

/* hash/hash_crypt.c: the crypt(3) family and md5crypt */
pgd_verify_fn pgd_verify_crypt, pgd_verify_blf, pgd_verify_md5_crypt, pgd_verify_md5;
pgd_generate_fn pgd_generate_crypt, pgd_generate_md5_crypt;

/* hash/crypt_setting.c: the cost of a crypt(3) setting, as libxcrypt 4.4 reads it */
enum pgd_crypt_cost_kind {
	PGD_CRYPT_COST_NONE,   /* a fixed cost: md5crypt, NT, DES, bigcrypt */
	PGD_CRYPT_COST_ROUNDS, /* $5$/$6$ rounds=, $sha1$ iterations, $md5 rounds=, BSDi count */
	PGD_CRYPT_COST_BCRYPT, /* $2?$ log2 cost */
	PGD_CRYPT_COST_MEMORY, /* scrypt $7$, yescrypt $y$, gost-yescrypt $gy$ */
};

/* Why pgd_crypt_cost_read() refused a setting. */
enum pgd_crypt_refusal {
	PGD_CRYPT_REJECTED, /* libxcrypt refuses it too (cheaply) */
	PGD_CRYPT_TOO_HIGH, /* a count above libxcrypt's own maximum, or past 2^64 - 1 */
	PGD_CRYPT_STRICTER, /* libxcrypt would run it, but not in a form it writes back */
	PGD_CRYPT_UNKNOWN,  /* no method this reader knows */
};

struct pgd_crypt_cost {
	const char *family; /* libxcrypt's name of the method ("yescrypt"), "unknown" if none */
	enum pgd_crypt_cost_kind kind;
	enum pgd_crypt_refusal why; /* when refused; rounds or bcrypt_cost set for TOO_HIGH */
	unsigned long rounds;       /* PGD_CRYPT_COST_ROUNDS */
	bool default_rounds;        /* SHA-crypt without rounds=: 5000, never above a cap */
	unsigned long bcrypt_cost;  /* PGD_CRYPT_COST_BCRYPT */
	unsigned long memory_kib;   /* PGD_CRYPT_COST_MEMORY: 128 r N bytes, plus extra lanes */
	unsigned long passes;       /* PGD_CRYPT_COST_MEMORY: passes after the first, >= 1 */
};

/* Reads what setting would cost crypt(); false (cost->why says why) if any parameter that sets
 * a cost is not in the one form libxcrypt reads and writes back, or the method is unknown. */
bool pgd_crypt_cost_read(const char *setting, struct pgd_crypt_cost *cost);
/* PGD_HASH_MATCH when setting may go to crypt() under policy's caps; otherwise MALFORMED or
 * TOO_COSTLY with a detail that names the method, never the value. */
enum pgd_hash_result pgd_crypt_cost_check(const char *setting, const struct pgd_hash_policy *policy,
                                          struct pgd_hash_info *info);

/* hash/hash_digest.c: libcrypto digests, HMAC, PBKDF2 and the schemes made of them */
size_t pgd_digest_len(enum pgd_digest d);
/* out = H(a || b); false if libcrypto cannot give us that digest */
bool pgd_digest2(enum pgd_digest d, const void *a, size_t alen, const void *b, size_t blen,
                 unsigned char *out);
bool pgd_pbkdf2(enum pgd_digest d, const char *password, const unsigned char *salt, size_t salt_len,
                unsigned int iterations, unsigned char *out, size_t out_len);
pgd_generate_fn pgd_generate_digest, pgd_generate_salted, pgd_generate_digest_md5,
    pgd_generate_pbkdf2, pgd_generate_scram;
pgd_verify_fn pgd_verify_salted, pgd_verify_pbkdf2, pgd_verify_scram;

/* hash/hash_cram.c */
pgd_generate_fn pgd_generate_cram_md5;

/* hash/hash_otp.c */
pgd_generate_fn pgd_generate_otp;
pgd_verify_fn pgd_verify_otp;

/* hash/hash_argon2.c */
bool pgd_argon2_available(void);
/* The variant (*id: argon2id, else argon2i), m= (KiB), t= and p= of an encoded Argon2 string,
 * saturating at ULONG_MAX; false if it is not one libsodium would read. Built without
 * libsodium too: rehash and the audit read costs without verifying. */
bool pgd_argon2_cost_read(const char *v, bool *id, unsigned long *m, unsigned long *t,
                          unsigned long *p);
/* What pgd_generate_argon2 makes for rounds (0: the default), as Dovecot does: memory *m_kib
 * by libsodium's interactive/moderate/sensitive step that rounds reaches, *t passes (>= 3). */
void pgd_argon2_params(bool id, unsigned long rounds, unsigned long *m_kib, unsigned long *t);
pgd_generate_fn pgd_generate_argon2;
pgd_verify_fn pgd_verify_argon2;

#endif
