// SPDX-License-Identifier: MIT
/* Where the admin command gets a password from: the terminal, standard input or a file. */
#include "cmd.h"
#include "util/printable.h"
#include "util/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* Longer than any password a PAM stack passes on, short enough to hold in memory. */
#define PASSWORD_MAX 65536

/* Reads up to a newline or EOF from fd into a heap buffer; *len is the byte count, newline
 * excluded; *saw_newline says whether one ended it. NULL on error or when too long. */
static char *read_line(int fd, size_t *len, bool *saw_newline)
{
	char *buf = malloc(PASSWORD_MAX + 1);
	size_t n = 0;

	*saw_newline = false;
	if (buf == NULL)
		return NULL;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			pgd_wipe(buf, n);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		if (c == '\n') {
			*saw_newline = true;
			break;
		}
		if (n == PASSWORD_MAX) {
			pgd_wipe(buf, n);
			free(buf);
			errno = EFBIG;
			return NULL;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *checked(char *pw, size_t len, const char *where)
{
	char shown[1024];

	pgd_printable(where, shown, sizeof(shown));
	if (pw == NULL) {
		fprintf(stderr, "%s: cannot read the password from %s: %s\n", pgd_prog, shown,
		        errno == EFBIG ? "longer than 65536 bytes" : strerror(errno));
		return NULL;
	}
	if (strlen(pw) != len) {
		fprintf(stderr, "%s: the password from %s holds a NUL byte\n", pgd_prog, shown);
		pgd_wipe(pw, len);
		free(pw);
		return NULL;
	}
	return pw;
}

/* One answer from the terminal with echo off. Echo goes off before the prompt shows, so that
 * nothing typed after the prompt is flushed away or echoed. */
static char *ask(int tty, const char *prompt)
{
	struct termios old, quiet;
	bool restore = false;
	size_t len = 0;
	bool nl;
	char *pw;

	if (tcgetattr(tty, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		restore = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
	}
	if (write(tty, prompt, strlen(prompt)) < 0) {
		if (restore)
			tcsetattr(tty, TCSANOW, &old);
		return NULL;
	}
	pw = read_line(tty, &len, &nl);
	if (restore)
		tcsetattr(tty, TCSANOW, &old);
	if (write(tty, "\n", 1) < 0) {
		/* the answer is read; a lost newline on the screen does not matter */
	}
	/* a terminal line may end in CR when the terminal is raw */
	if (pw != NULL && len > 0 && pw[len - 1] == '\r')
		pw[--len] = '\0';
	return checked(pw, len, "the terminal");
}

char *pgd_read_password(const char *prompt, const char *confirm)
{
	size_t len = 0;
	bool nl;
	char *pw, *again;
	int tty;

	if (!isatty(STDIN_FILENO)) {
		pw = read_line(STDIN_FILENO, &len, &nl);
		return checked(pw, len, "standard input");
	}

	tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty < 0)
		tty = STDIN_FILENO;
	pw = ask(tty, prompt);
	if (pw != NULL && confirm != NULL) {
		again = ask(tty, confirm);
		if (again != NULL && !pgd_ct_streq(pw, again)) {
			fprintf(stderr, "%s: the passwords do not match\n", pgd_prog);
			pgd_free_secret(pw);
			pw = NULL;
		}
		if (again == NULL) {
			pgd_free_secret(pw);
			pw = NULL;
		}
		pgd_free_secret(again);
	}
	if (tty != STDIN_FILENO)
		close(tty);
	return pw;
}

char *pgd_read_password_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf, shown[1024];
	size_t n = 0;

	pgd_printable(path, shown, sizeof(shown));
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", pgd_prog, shown, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PASSWORD_MAX) {
		fprintf(stderr, "%s: %s: not a regular file of at most 65536 bytes\n", pgd_prog,
		        shown);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf != NULL && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf == NULL || n != (size_t)st.st_size) {
		if (buf != NULL) {
			pgd_wipe(buf, n);
			free(buf);
		}
		fprintf(stderr, "%s: %s: cannot read it whole\n", pgd_prog, shown);
		return NULL;
	}
	buf[n] = '\0';
	return checked(buf, n, path);
}
