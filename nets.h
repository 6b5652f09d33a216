// SPDX-License-Identifier: MIT
#ifndef PGD_NETS_H
#define PGD_NETS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Dovecot's allow_nets: a list of networks separated by commas or blanks, each an IPv4 or
 * IPv6 address with an optional /bits, or "local" for a login with no remote address.
 * rhost is PAM_RHOST (NULL, empty or a host name: no remote address known). True when it is
 * in one of the networks. On false, why (whylen bytes) says so, naming the address.
 */
bool pgd_nets_allow(const char *allow_nets, const char *rhost, char *why, size_t whylen);

#endif
