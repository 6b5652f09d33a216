// SPDX-License-Identifier: MIT
/* Dovecot's allow_nets check: is the remote address in one of the listed networks? */
#include "nets.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct addr {
	int family; /* AF_INET, AF_INET6, or 0 when unknown */
	uint8_t bytes[16];
};

static bool parse_addr(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (s == NULL)
		return false;
	if (inet_pton(AF_INET, s, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, a->bytes) == 1)
		a->family = AF_INET6;
	/* An IPv4 address written as IPv6 (::ffff:a.b.c.d) is that IPv4 address, as in Dovecot. */
	if (a->family == AF_INET6 && memcmp(a->bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(a->bytes, a->bytes + 12, 4);
		memset(a->bytes + 4, 0, 12);
		a->family = AF_INET;
	}
	return a->family != 0;
}

/* One list entry: "local", "ADDR" or "ADDR/BITS"; a malformed entry matches nothing. */
static bool entry_matches(const char *entry, const struct addr *remote)
{
	char text[64];
	const char *slash = strchr(entry, '/');
	size_t len = slash != NULL ? (size_t)(slash - entry) : strlen(entry);
	unsigned long bits;
	struct addr net;
	char *end;

	if (strcmp(entry, "local") == 0)
		return remote->family == 0;
	if (remote->family == 0 || len >= sizeof(text))
		return false;
	memcpy(text, entry, len);
	text[len] = '\0';
	if (!parse_addr(text, &net) || net.family != remote->family)
		return false;
	bits = net.family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		unsigned long max = bits;

		if (slash[1] < '0' || slash[1] > '9')
			return false;
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			return false;
	}
	for (unsigned long i = 0; i < bits; i++) {
		uint8_t mask = (uint8_t)(0x80u >> (i % 8));

		if ((net.bytes[i / 8] & mask) != (remote->bytes[i / 8] & mask))
			return false;
	}
	return true;
}

bool pgd_nets_allow(const char *allow_nets, const char *rhost, char *why, size_t whylen)
{
	struct addr remote;
	const char *p = allow_nets;

	parse_addr(rhost, &remote);
	while (p != NULL && *p != '\0') {
		char entry[128];
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		if (len < sizeof(entry)) {
			memcpy(entry, p, len);
			entry[len] = '\0';
			if (entry_matches(entry, &remote))
				return true;
		}
		p += len;
	}
	if (remote.family == 0)
		snprintf(why, whylen,
		         "allow_nets: remote address not known and 'local' not listed");
	else
		snprintf(why, whylen, "allow_nets: %s is not in the allowed networks", rhost);
	return false;
}
