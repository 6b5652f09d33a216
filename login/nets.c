// SPDX-License-Identifier: MIT
/* Dovecot's allow_nets check: is the remote address in one of the listed networks? */
#include "login/nets.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"

struct addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

/* A zone id (RFC 4007): an interface name or index, as getaddrinfo() takes after '%'. */
static bool valid_zone(const char *z)
{
	size_t n = strlen(z);

	if (n == 0 || n >= IF_NAMESIZE)
		return false;
	for (; *z != '\0'; z++) {
		unsigned char c = (unsigned char)*z;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * Reads an IP literal of len bytes at s, as Dovecot's net_addr2ip does: a dotted-quad IPv4
 * address, or an IPv6 address, optionally in brackets ("[2001:db8::1]", brackets only around
 * something with a ':', so "[192.0.2.1]" is not one), optionally with a zone id
 * ("fe80::1%eth0", accepted as Dovecot 2.4's getaddrinfo() does and ignored when matching, as
 * its net_is_in_network() does). An IPv4 address written as IPv6 (::ffff:a.b.c.d) is that IPv4
 * address. False for anything else: a host name, garbage, a port, blanks.
 */
static bool parse_addr(const char *s, size_t len, struct addr *a)
{
	char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 3];
	char *p = text, *zone;

	memset(a, 0, sizeof(*a));
	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	if (p[0] == '[') {
		if (len < 3 || p[len - 1] != ']' || strchr(p, ':') == NULL)
			return false;
		p[len - 1] = '\0';
		p++;
	}
	if (inet_pton(AF_INET, p, a->bytes) == 1) {
		a->family = AF_INET;
		return true;
	}
	zone = strchr(p, '%');
	if (zone != NULL) {
		*zone++ = '\0';
		if (!valid_zone(zone))
			return false;
	}
	if (inet_pton(AF_INET6, p, a->bytes) != 1)
		return false;
	a->family = AF_INET6;
	if (memcmp(a->bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(a->bytes, a->bytes + 12, 4);
		memset(a->bytes + 4, 0, 12);
		a->family = AF_INET;
	}
	return true;
}

/*
 * One list entry: "local", "ADDR" or "ADDR/BITS" (ADDR as parse_addr reads it). remote is NULL
 * when there is no remote address. A malformed entry matches nothing.
 */
static bool entry_matches(const char *entry, const struct addr *remote)
{
	const char *slash = strchr(entry, '/');
	size_t len = slash != NULL ? (size_t)(slash - entry) : strlen(entry);
	unsigned long bits;
	struct addr net;
	char *end;

	if (strcmp(entry, "local") == 0)
		return remote == NULL;
	if (remote == NULL || !parse_addr(entry, len, &net) || net.family != remote->family)
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
	bool known = pgd_str_set(rhost);
	const char *p = allow_nets;

	/* Only "no remote address" is "local": a name or garbage is not, and matches nothing. */
	if (known && !parse_addr(rhost, strlen(rhost), &remote)) {
		snprintf(why, whylen, "allow_nets: remote host %s is not an IP address", rhost);
		return false;
	}
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
			if (entry_matches(entry, known ? &remote : NULL))
				return true;
		}
		p += len;
	}
	if (!known)
		snprintf(why, whylen,
		         "allow_nets: remote address not known and 'local' not listed");
	else
		snprintf(why, whylen, "allow_nets: %s is not in the allowed networks", rhost);
	return false;
}
