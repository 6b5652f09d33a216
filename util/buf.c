// SPDX-License-Identifier: MIT
#include "util/buf.h"

#include "util/secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void grow(struct pgd_buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return;
	if (more > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return;
	}
	need = b->len + more + 1;
	if (need <= b->cap)
		return;
	cap = b->cap != 0 ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = malloc(cap);
	if (p == NULL) {
		b->failed = true;
		return;
	}
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		pgd_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	b->p[b->len] = '\0';
}

void pgd_buf_add(struct pgd_buf *b, const char *s, size_t n)
{
	grow(b, n);
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void pgd_buf_addc(struct pgd_buf *b, char c)
{
	pgd_buf_add(b, &c, 1);
}

void pgd_buf_adds(struct pgd_buf *b, const char *s)
{
	pgd_buf_add(b, s, strlen(s));
}

char pgd_buf_last(const struct pgd_buf *b, size_t back)
{
	return b->len > back ? b->p[b->len - 1 - back] : '\0';
}

char *pgd_buf_take(struct pgd_buf *b)
{
	char *p;

	if (!b->failed && b->p == NULL)
		grow(b, 0);
	if (b->failed) {
		pgd_buf_free(b);
		return NULL;
	}
	p = b->p;
	*b = (struct pgd_buf){0};
	return p;
}

void pgd_buf_free(struct pgd_buf *b)
{
	if (b->p != NULL) {
		pgd_wipe(b->p, b->cap);
		free(b->p);
	}
	*b = (struct pgd_buf){0};
}
