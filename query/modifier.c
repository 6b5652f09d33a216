// SPDX-License-Identifier: MIT
/*
 * Dovecot 2.3's variable modifiers and its %[offset.]width, applied to one value exactly as
 * lib/var-expand.c (2.3.19) does: modifiers left to right (%H and %N take the width and offset
 * for themselves), then the offset, then the width. Bytes, not characters; ASCII case only.
 */
#include "query/query.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "query/query_impl.h"
#include "util/buf.h"
#include "util/secret.h"

size_t pgd_query_digest(enum pgd_var_op_kind kind, const void *data, size_t n,
                        unsigned char out[PGD_QUERY_DIGEST_MAX])
{
	const EVP_MD *md = kind == OP_SHA1     ? EVP_sha1()
	                   : kind == OP_SHA256 ? EVP_sha256()
	                   : kind == OP_SHA384 ? EVP_sha384()
	                   : kind == OP_SHA512 ? EVP_sha512()
	                                       : EVP_md5();
	unsigned int len = 0;

	if (EVP_Digest(data, n, out, &len, md, NULL) != 1)
		return 0;
	return len;
}

void pgd_query_hex(struct pgd_buf *b, const unsigned char *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		pgd_buf_addc(b, hex[data[i] >> 4]);
		pgd_buf_addc(b, hex[data[i] & 15]);
	}
}

/* val becomes the n bytes at s (which may point into val). */
void pgd_query_set(struct pgd_buf *val, const char *s, size_t n)
{
	struct pgd_buf nb = {0};

	pgd_buf_add(&nb, s, n);
	if (nb.p == NULL && !nb.failed)
		pgd_buf_add(&nb, "", 0);
	pgd_buf_free(val);
	*val = nb;
}

static void set_hex(struct pgd_buf *val, unsigned long long x)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%llx", x);

	pgd_query_set(val, num, n > 0 ? (size_t)n : 0);
}

/* Dovecot's str_hash (lib/hash.c), the "ASU" hash from glib. */
static unsigned int str_hash(const char *s)
{
	unsigned int g, h = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		h = (h << 4) + *p;
		if ((g = h & 0xf0000000U) != 0) {
			h = h ^ (g >> 24);
			h = h ^ g;
		}
	}
	return h;
}

/* %H and %N: the hash modulo the width, in hex padded with '0' to the offset; both taken. */
static void hash_mod(struct pgd_buf *val, bool newhash, int *offset, int *width)
{
	char num[32];
	int n;

	if (!newhash) {
		unsigned int h = str_hash(val->p);

		if (*width != 0)
			h %= (unsigned int)*width;
		n = snprintf(num, sizeof(num), "%x", h);
	} else {
		unsigned char md[PGD_QUERY_DIGEST_MAX];
		uint64_t h = 0;

		if (pgd_query_digest(OP_MD5, val->p, val->len, md) == 0)
			memset(md, 0, sizeof(md));
		for (int i = 0; i < 8; i++)
			h = (h << 8) | md[i];
		if (*width != 0)
			h %= (uint64_t)(int64_t)*width;
		n = snprintf(num, sizeof(num), "%x", (unsigned int)h);
	}
	pgd_query_set(val, "", 0);
	for (; n < *offset; (*offset)--)
		pgd_buf_addc(val, '0');
	pgd_buf_adds(val, num);
	*offset = 0;
	*width = 0;
}

/* Dovecot's str_to_ullong: decimal digits only, no sign, no overflow. */
static bool to_ullong(const char *s, unsigned long long *x)
{
	*x = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (*x > (~0ULL - d) / 10)
			return false;
		*x = *x * 10 + d;
	}
	return *s == '\0';
}

static void modifier(struct pgd_buf *val, enum pgd_var_op_kind kind, int *offset, int *width)
{
	struct pgd_buf nb = {0};
	unsigned char md[PGD_QUERY_DIGEST_MAX];
	unsigned long long x;
	size_t n = val->len;

	switch (kind) {
	case OP23_LOWER:
	case OP23_UPPER:
		for (size_t i = 0; i < n; i++) {
			char c = val->p[i];

			if (kind == OP23_LOWER && c >= 'A' && c <= 'Z')
				val->p[i] = (char)(c - 'A' + 'a');
			else if (kind == OP23_UPPER && c >= 'a' && c <= 'z')
				val->p[i] = (char)(c - 'a' + 'A');
		}
		return;
	case OP23_ESCAPE:
		for (size_t i = 0; i < n; i++) {
			if (val->p[i] == '"' || val->p[i] == '\\' || val->p[i] == '\'')
				pgd_buf_addc(&nb, '\\');
			pgd_buf_addc(&nb, val->p[i]);
		}
		break;
	case OP23_HEX:
		set_hex(val, to_ullong(val->p, &x) ? x : 0);
		return;
	case OP23_REVERSE:
		for (size_t i = n; i > 0; i--)
			pgd_buf_addc(&nb, val->p[i - 1]);
		break;
	case OP23_HASH:
	case OP23_NEWHASH:
		hash_mod(val, kind == OP23_NEWHASH, offset, width);
		return;
	case OP23_MD5:
		n = pgd_query_digest(OP_MD5, val->p, n, md);
		pgd_query_hex(&nb, md, n);
		pgd_wipe(md, sizeof(md));
		break;
	case OP23_LDAP_DN:
		for (size_t i = 0; i < n; i++) {
			if (val->p[i] == '.')
				pgd_buf_adds(&nb, ",dc=");
			else
				pgd_buf_addc(&nb, val->p[i]);
		}
		break;
	case OP23_TRIM:
		while (n > 0 && strchr(" \t\n\v\f\r", val->p[n - 1]) != NULL)
			n--;
		val->len = n;
		val->p[n] = '\0';
		return;
	default:
		return;
	}
	if (nb.p == NULL && !nb.failed)
		pgd_buf_add(&nb, "", 0);
	pgd_buf_free(val);
	*val = nb;
}

void pgd_modifiers_run(struct pgd_buf *val, const struct pgd_var_ref *v)
{
	int offset = v->offset, width = v->width;
	size_t start = 0, len;

	for (unsigned i = 0; i < v->nops && !val->failed; i++)
		modifier(val, v->ops[i].kind, &offset, &width);
	if (val->failed || val->p == NULL)
		return;
	len = val->len;
	if (offset < 0) {
		size_t from_end = (size_t)-offset;

		if (len > from_end) {
			start = len - from_end;
			len = from_end;
		}
	} else {
		start = (size_t)offset < len ? (size_t)offset : len;
		len -= start;
	}
	if (width != 0 && !v->zero_pad) {
		/* lib/var-expand.c: a negative width leaves all but that many bytes at the end, or
		 * all when there are fewer (its size_t arithmetic wraps) */
		size_t w = width < 0 ? (size_t)-width : (size_t)width;

		if (width < 0 && len >= w)
			len -= w;
		else if (width > 0 && w < len)
			len = w;
	} else if (width > 0 && (size_t)width > len) {
		/* "%05n": zero padding, never a cut */
		struct pgd_buf nb = {0};

		for (size_t i = len; i < (size_t)width; i++)
			pgd_buf_addc(&nb, '0');
		pgd_buf_add(&nb, val->p + start, len);
		pgd_buf_free(val);
		*val = nb;
		return;
	}
	memmove(val->p, val->p + start, len);
	val->len = len;
	val->p[len] = '\0';
}
