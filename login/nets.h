// SPDX-License-Identifier: MIT
#ifndef PGD_NETS_H
#define PGD_NETS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Dovecot's allow_nets: a list of networks separated by commas or blanks, each an IPv4 or
 * IPv6 address with an optional /bits, or "local" for a login with no remote address.
 * rhost is PAM_RHOST: NULL or empty is "no remote address" (only "local" matches it); an IP
 * literal (IPv6 optionally in brackets or with a %zone id, which matching ignores) is matched
 * against the networks; anything else (a host name, garbage) matches nothing, "local"
 * included. True when rhost is allowed. On false, why (whylen bytes) says why, naming rhost
 * raw: the caller escapes it for its log line.
 */
bool pgd_nets_allow(const char *allow_nets, const char *rhost, char *why, size_t whylen);

#endif
