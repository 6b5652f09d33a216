// SPDX-License-Identifier: MIT
/*
 * What the subcommands that read the module's conf share: loading it with the module's rules,
 * and writing text that came from a row, a server or a file without letting its bytes reach
 * the terminal raw.
 */
#include <stdio.h>

#include "cmd.h"
#include "conf/conf.h"

void pgd_put_escaped(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, out);
		else
			fprintf(out, "\\x%02x", *p);
	}
}

bool pgd_cmd_load_conf(struct pgd_conf *conf, const char *path)
{
	char arg[4200], err[512];
	const char *argv[1] = {arg};

	if (pgd_conf_init(conf) != PGD_CONF_OK) {
		fprintf(stderr, "%s: out of memory\n", pgd_prog);
		return false;
	}
	snprintf(arg, sizeof(arg), "conf=%s", path);
	if (pgd_conf_load(conf, 1, argv, err, sizeof(err)) != PGD_CONF_OK) {
		fprintf(stderr, "%s: ", pgd_prog);
		pgd_put_escaped(stderr, err);
		fputc('\n', stderr);
		return false;
	}
	return true;
}
