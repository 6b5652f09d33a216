// SPDX-License-Identifier: MIT
/*
 * CRAM-MD5 / HMAC-MD5: Dovecot stores the HMAC-MD5 key schedule, not a digest: the MD5 chaining
 * values (A, B, C, D, little-endian) after one block of key^opad, then after one block of
 * key^ipad (hmac_md5_get_cram_context), so that a CRAM-MD5 server can finish the HMAC without
 * the password. No EVP interface exposes chaining values; OpenSSL's MD5_CTX (deprecated in 3.0,
 * still shipped) is the only library API that does, so this file uses it on purpose.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "hash/hash_impl.h"
#include "util/secret.h"

#include <string.h>

#include <openssl/md5.h>

#define CRAM_CONTEXT_LEN 32
#define MD5_BLOCK 64

static void put_le32(unsigned char *p, MD5_LONG v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)(v >> 8 & 0xff);
	p[2] = (unsigned char)(v >> 16 & 0xff);
	p[3] = (unsigned char)(v >> 24 & 0xff);
}

/* The chaining values after one 64-byte block of key ^ pad. */
static bool pad_state(const unsigned char key[MD5_BLOCK], unsigned char pad, unsigned char *out)
{
	unsigned char block[MD5_BLOCK];
	MD5_CTX ctx;
	bool ok;

	for (size_t i = 0; i < MD5_BLOCK; i++)
		block[i] = key[i] ^ pad;
	ok = MD5_Init(&ctx) == 1 && MD5_Update(&ctx, block, sizeof(block)) == 1;
	if (ok) {
		put_le32(out, ctx.A);
		put_le32(out + 4, ctx.B);
		put_le32(out + 8, ctx.C);
		put_le32(out + 12, ctx.D);
	}
	pgd_wipe(block, sizeof(block));
	pgd_wipe(&ctx, sizeof(ctx));
	return ok;
}

enum pgd_hash_result pgd_generate_cram_md5(const struct pgd_scheme *s, const char *password,
                                           const char *user, unsigned long rounds,
                                           struct pgd_raw *out, struct pgd_hash_info *info)
{
	unsigned char key[MD5_BLOCK] = {0};
	size_t len = strlen(password);
	bool ok;

	(void)user;
	(void)rounds;
	/* HMAC: a key longer than a block is replaced by its digest */
	if (len > MD5_BLOCK)
		ok = pgd_digest2(PGD_DIGEST_MD5, password, len, "", 0, key);
	else
		ok = (memcpy(key, password, len), true);
	if (!pgd_raw_alloc(out, CRAM_CONTEXT_LEN)) {
		pgd_wipe(key, sizeof(key));
		return PGD_HASH_NOMEM;
	}
	ok = ok && pad_state(key, 0x5c, out->heap) && pad_state(key, 0x36, out->heap + 16);
	pgd_wipe(key, sizeof(key));
	if (!ok) {
		pgd_raw_release(out);
		pgd_hash_set_detail(info, "libcrypto cannot compute %s", s->name);
		return PGD_HASH_UNSUPPORTED;
	}
	out->len = CRAM_CONTEXT_LEN;
	return PGD_HASH_MATCH;
}
