// SPDX-License-Identifier: MIT
/* The safe open of conf files and of the files they include. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_impl.h"
#include "secret.h"

static const char *errno_str(int e, char *buf, size_t n)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(e, buf, n);
#else
	if (strerror_r(e, buf, n) != 0)
		snprintf(buf, n, "error %d", e);
	return buf;
#endif
}

/*
 * Reads the conf file at path like pam-u2f's open_safely: absolute path, final component not a
 * symlink, a regular file owned by root (or by the effective uid, for tests and the admin
 * command), not group/world-writable, at most PGD_MAX_CONF_SIZE bytes. On success *buf is a
 * heap buffer of PGD_MAX_CONF_SIZE + 1 bytes holding *len bytes; the caller wipes and frees it.
 */
enum pgd_conf_result pgd_conf_read_file(const char *path, char **buf, size_t *len, char *err,
                                        size_t errlen)
{
	char shown[256], ebuf[128];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *b;
	int fd;

	*buf = NULL;
	*len = 0;
	pgd_conf_printable(path, shown, sizeof(shown));
	if (path[0] != '/') {
		pgd_conf_err(err, errlen, "%s: not an absolute path", shown);
		return PGD_CONF_INVALID;
	}
	/* O_NONBLOCK: a FIFO planted at the path must not hang the login. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP)
			pgd_conf_err(err, errlen, "%s: is a symlink", shown);
		else
			pgd_conf_err(err, errlen, "%s: %s", shown,
			             errno_str(e, ebuf, sizeof(ebuf)));
		return PGD_CONF_INVALID;
	}
	if (fstat(fd, &st) != 0) {
		pgd_conf_err(err, errlen, "%s: %s", shown, errno_str(errno, ebuf, sizeof(ebuf)));
		close(fd);
		return PGD_CONF_INVALID;
	}
	if (!S_ISREG(st.st_mode)) {
		pgd_conf_err(err, errlen, "%s: not a regular file", shown);
		close(fd);
		return PGD_CONF_INVALID;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		if (geteuid() == 0)
			pgd_conf_err(err, errlen, "%s: not owned by root", shown);
		else
			pgd_conf_err(err, errlen, "%s: not owned by root or uid %u", shown,
			             (unsigned)geteuid());
		close(fd);
		return PGD_CONF_INVALID;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		pgd_conf_err(err, errlen, "%s: group or world writable", shown);
		close(fd);
		return PGD_CONF_INVALID;
	}
	if (st.st_size > PGD_MAX_CONF_SIZE) {
		pgd_conf_err(err, errlen, "%s: larger than %d bytes", shown, PGD_MAX_CONF_SIZE);
		close(fd);
		return PGD_CONF_INVALID;
	}
	b = malloc(PGD_MAX_CONF_SIZE + 1);
	if (b == NULL) {
		close(fd);
		pgd_conf_err(err, errlen, "out of memory");
		return PGD_CONF_NOMEM;
	}
	/* Read one byte past the cap so a file that grew since fstat is still refused. */
	while (got <= PGD_MAX_CONF_SIZE) {
		n = read(fd, b + got, PGD_MAX_CONF_SIZE + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pgd_conf_err(err, errlen, "%s: %s", shown,
			             errno_str(errno, ebuf, sizeof(ebuf)));
			close(fd);
			pgd_wipe(b, PGD_MAX_CONF_SIZE + 1);
			free(b);
			return PGD_CONF_INVALID;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > PGD_MAX_CONF_SIZE) {
		pgd_conf_err(err, errlen, "%s: larger than %d bytes", shown, PGD_MAX_CONF_SIZE);
		pgd_wipe(b, PGD_MAX_CONF_SIZE + 1);
		free(b);
		return PGD_CONF_INVALID;
	}
	*buf = b;
	*len = got;
	return PGD_CONF_OK;
}
