// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the conf file parsers (dovecot-sql.conf.ext syntax, and Dovecot 2.4's
 * dovecot.conf grammar, its relative includes pointing nowhere) and the validation. The input
 * is a whole file. Every message must be one printable line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_impl.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgd_conf conf;
	char err[256];
	enum pgd_conf_result r;

	if (size > PGD_MAX_CONF_SIZE)
		return 0;
	if (pgd_conf_init(&conf) != PGD_CONF_OK)
		return 0;
	memset(err, 'Z', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	r = pgd_conf_parse(&conf, "/etc/fuzz\n.conf", (const char *)data, size, err, sizeof(err));
	if (r == PGD_CONF_OK) {
		err[0] = '\0';
		r = pgd_conf_validate(&conf, err, sizeof(err));
	}
	if (r != PGD_CONF_OK)
		fuzz_check_message(err, sizeof(err));
	if (r > PGD_CONF_NOMEM)
		abort();
	pgd_conf_free(&conf);

	if (pgd_conf_init(&conf) != PGD_CONF_OK)
		return 0;
	memset(err, 'Z', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	r = pgd_conf_read_v24(&conf, "/nonexistent/fuzz\n.conf", (const char *)data, size, err,
	                      sizeof(err));
	if (r != PGD_CONF_OK)
		fuzz_check_message(err, sizeof(err));
	if (r > PGD_CONF_NOMEM)
		abort();
	pgd_conf_free(&conf);
	return 0;
}
