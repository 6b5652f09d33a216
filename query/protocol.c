// SPDX-License-Identifier: MIT
/*
 * What a login's connection is, as Dovecot's variables say it: the protocol %s / %{protocol}
 * stands for, the transport of %c / %{secured} and the mechanism of %m / %{mechanism} as the
 * admin states them (saslauthd passes neither), and which of these values may be written into
 * SQL text. The protocol a login's %s / %{protocol} stands for. Dovecot fills it with its own
 * protocol names (imap, pop3, sieve, smtp, submission, lmtp); behind saslauthd we know the PAM
 * service, which is the SASL service name the server passed: Cyrus's pop3d passes "pop", where
 * Dovecot says "pop3". A query written for Dovecot ('%s' NOT IN ('imap','pop3'), enable%Ls=1) must
 * see Dovecot's name, or a row meant to refuse POP logs in over POP.
 */
#include "query/query.h"

#include <stdbool.h>
#include <string.h>

#include "util/err.h"
#include "util/printable.h"

#define MAX_NAME 32

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static bool sep(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

/* The next "service=protocol" pair of *p: its two spans; false at the end or on a bad pair. */
static bool next_pair(const char **p, const char **svc, size_t *svc_len, const char **proto,
                      size_t *proto_len, bool *bad)
{
	const char *s = *p;

	*bad = false;
	while (sep(*s))
		s++;
	if (*s == '\0')
		return false;
	*svc = s;
	while (name_char(*s))
		s++;
	*svc_len = (size_t)(s - *svc);
	if (*s != '=' || *svc_len == 0 || *svc_len > MAX_NAME) {
		*bad = true;
		return false;
	}
	*proto = ++s;
	while (name_char(*s))
		s++;
	*proto_len = (size_t)(s - *proto);
	if ((*s != '\0' && !sep(*s)) || *proto_len == 0 || *proto_len > MAX_NAME) {
		*bad = true;
		return false;
	}
	*p = s;
	return true;
}

bool pgd_service_map_check(const char *map, char *err, size_t errlen)
{
	const char *p = map != NULL ? map : "", *svc, *proto;
	size_t svc_len, proto_len;
	bool bad;
	char shown[96];

	while (next_pair(&p, &svc, &svc_len, &proto, &proto_len, &bad))
		;
	if (bad) {
		pgd_set_err(err, errlen,
		            "service_protocols: '%s' is not a list of service=protocol pairs "
		            "(lower-case names of at most %d characters)",
		            pgd_printable(map, shown, sizeof(shown)), MAX_NAME);
		return false;
	}
	return true;
}

const char *pgd_service_protocol(const char *map, const char *service, char *out, size_t outlen)
{
	const char *p = map != NULL ? map : PGD_DEFAULT_SERVICE_PROTOCOLS, *svc, *proto;
	size_t svc_len, proto_len;
	bool bad;

	if (service == NULL)
		return NULL;
	while (next_pair(&p, &svc, &svc_len, &proto, &proto_len, &bad)) {
		if (strlen(service) == svc_len && memcmp(service, svc, svc_len) == 0 &&
		    proto_len < outlen) {
			memcpy(out, proto, proto_len);
			out[proto_len] = '\0';
			return out;
		}
	}
	return service;
}

/* Dovecot's protocol names, as its services pass them to the auth process (Postfix's SASL
 * client says smtp). */
static const char *const dovecot_protocols[] = {"imap", "pop3",       "sieve",
                                                "lmtp", "submission", "smtp"};

bool pgd_protocol_closed(const char *map, const char *proto)
{
	const char *p = map != NULL ? map : PGD_DEFAULT_SERVICE_PROTOCOLS, *svc, *mapped;
	size_t svc_len, mapped_len, n;
	bool bad;

	if (proto == NULL || *proto == '\0')
		return false;
	n = strspn(proto, "abcdefghijklmnopqrstuvwxyz0123456789");
	if (proto[n] != '\0')
		return false;
	for (size_t i = 0; i < sizeof(dovecot_protocols) / sizeof(dovecot_protocols[0]); i++)
		if (strcmp(proto, dovecot_protocols[i]) == 0)
			return true;
	while (next_pair(&p, &svc, &svc_len, &mapped, &mapped_len, &bad))
		if (mapped_len == n && memcmp(mapped, proto, n) == 0)
			return true;
	return false;
}

const char *pgd_secured_value(const char *setting)
{
	if (setting == NULL)
		return NULL;
	if (strcmp(setting, "no") == 0)
		return "";
	if (strcmp(setting, "tls") == 0)
		return "TLS";
	if (strcmp(setting, "secured") == 0)
		return "secured";
	return NULL;
}

bool pgd_mechanism_check(const char *name)
{
	size_t n = name != NULL ? strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") : 0;

	return n > 0 && n <= 20 && name[n] == '\0';
}
