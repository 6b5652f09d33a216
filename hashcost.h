// SPDX-License-Identifier: MIT
#ifndef PGD_HASHCOST_H
#define PGD_HASHCOST_H

/* Dovecot's defaults when a value names no cost (and what pgd_hash_generate makes). */
#define PGD_DEFAULT_CRYPT_ROUNDS 5000UL
#define PGD_DEFAULT_BCRYPT_COST 5UL

/*
 * The work factor a stored value ("{SCHEME}value" or an unprefixed value) of scheme asks for:
 * the rounds of SHA256-CRYPT/SHA512-CRYPT (5000 when it names none), the cost of BLF-CRYPT;
 * 0 for any other scheme. scheme is the canonical name pgd_hash_verify reported.
 */
unsigned long pgd_hash_cost(const char *scheme, const char *stored);

#endif
