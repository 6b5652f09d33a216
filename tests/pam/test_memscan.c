// SPDX-License-Identifier: MIT
/*
 * What stays in the process after a login: the test logs in through the real libpam, ends
 * the transaction with pam_end, then reads all of its own memory (/proc/self/mem) for the
 * plaintext password and for the stored hash. The test itself holds neither as plain bytes:
 * both are kept XOR-masked, the password is unmasked into a page of its own only for the
 * login and wiped after.
 *
 * Promised (SECURITY.md): the plaintext password is nowhere after pam_end; the stored hash is
 * nowhere but in libpq's receive buffer of a cached connection (at most one copy, until the
 * next lookup's answer overwrites it) and, with connection_cache = no, in the freed receive
 * buffer of the closed connection, which libpq does not wipe. Each count is printed.
 *
 * Environment: as test_pam.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "pam_test_util.h"

#define QUERY "password_query = SELECT password FROM users WHERE userid = '%n' AND domain = '%d'\n"
#define MASK 0x5a

/*
 * alice@example.org's password ("correct horse battery") and 32 bytes of her stored
 * SHA512-CRYPT value, each byte XOR MASK: this file holds them in no other form.
 */
static const unsigned char password_masked[] = {0x39, 0x35, 0x28, 0x28, 0x3f, 0x39, 0x2e,
                                                0x7a, 0x32, 0x35, 0x28, 0x29, 0x3f, 0x7a,
                                                0x38, 0x3b, 0x2e, 0x2e, 0x3f, 0x28, 0x23};
static const unsigned char hash_masked[] = {
    0x0d, 0x31, 0x0b, 0x17, 0x16, 0x6c, 0x10, 0x2b, 0x11, 0x2d, 0x12, 0x0b, 0x16, 0x3d, 0x20, 0x6c,
    0x34, 0x37, 0x3d, 0x38, 0x3d, 0x11, 0x2e, 0x16, 0x11, 0x69, 0x10, 0x11, 0x0a, 0x35, 0x09, 0x2b};
static const size_t password_len = sizeof(password_masked), hash_len = sizeof(hash_masked);
static unsigned char *scan_buf; /* a mapping of its own, left out of the scan */
#define SCAN_CHUNK (1 << 20)

/*
 * The hash needle starts 34 bytes into alice's value; in libpq's receive buffer the value is
 * the one column of a DataRow message: 'D', int32 length, int16 column count 1, int32 value
 * length. A copy of the value elsewhere (a PGresult, a strdup) has no such header.
 */
#define HASH_OFFSET 34
static int data_rows; /* hits of the last count_in_memory that sit in a DataRow */

static bool in_data_row(const unsigned char *buf, size_t i)
{
	const unsigned char *v = buf + i - HASH_OFFSET;

	return i >= HASH_OFFSET + 11 && v[-11] == 'D' && v[-6] == 0 && v[-5] == 1;
}

/* Counts the places where the masked needle appears in this process's memory. */
static int count_in_memory(const unsigned char *needle, size_t len, char *where, size_t wlen)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	char line[512];
	int hits = 0;

	assert_non_null(maps);
	assert_true(mem >= 0);
	where[0] = '\0';
	data_rows = 0;
	while (fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		char perms[8], name[256] = "";

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255[^\n]", &lo, &hi, perms, name) < 3)
			continue;
		if (perms[0] != 'r' || (uintptr_t)lo == (uintptr_t)scan_buf ||
		    strcmp(name, "[vvar]") == 0 || strcmp(name, "[vsyscall]") == 0)
			continue;
		/* chunks overlap by len - 1 bytes so that no hit is cut in two */
		for (unsigned long at = lo; at < hi;) {
			size_t want = hi - at < SCAN_CHUNK ? hi - at : SCAN_CHUNK;
			ssize_t got = pread(mem, scan_buf, want, (off_t)at);

			if (got <= 0)
				break;
			for (size_t i = 0; i + len <= (size_t)got; i++) {
				size_t j = 0;

				while (j < len && (scan_buf[i + j] ^ MASK) == needle[j])
					j++;
				if (j == len) {
					size_t n = strlen(where);
					bool row = in_data_row(scan_buf, i);

					hits++;
					data_rows += row;
					snprintf(where + n, wlen - n, "%s%s+0x%lx%s",
					         n > 0 ? ", " : "",
					         name[0] != '\0' ? name : "[anon]", at + i - lo,
					         row ? " (in a DataRow message)" : "");
				}
			}
			if ((size_t)got < want || at + (size_t)got >= hi)
				break;
			at += (size_t)got - (len - 1);
		}
		explicit_bzero(scan_buf, SCAN_CHUNK);
	}
	fclose(maps);
	close(mem);
	return hits;
}

/*
 * One transaction (authenticate and acct_mgmt, then pam_end) for user with alice's password;
 * returns authenticate's code. With check_while_held, first checks that the scan finds the
 * password while the test holds it (the scan can see what it looks for).
 */
static int login(const char *service, const char *user, bool check_while_held)
{
	char *pw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *answers[] = {pw, NULL};
	struct pamtest_conv_data conv = {.in_echo_off = answers};
	struct pam_testcase t[] = {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
	                           pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS)};
	char where[2048];
	enum pamtest_err err;
	int saved, fd;

	assert_true(pw != MAP_FAILED);
	for (size_t i = 0; i < password_len; i++)
		pw[i] = (char)(password_masked[i] ^ MASK);
	if (check_while_held)
		assert_int_equal(
		    count_in_memory(password_masked, password_len, where, sizeof(where)), 1);
	saved = pgd_test_capture_start(&fd);
	err = run_pamtest(service, user, &conv, t, NULL);
	free(pgd_test_capture_end(saved, fd));
	explicit_bzero(pw, 4096);
	munmap(pw, 4096);
	return err == PAMTEST_ERR_OK || err == PAMTEST_ERR_CASE ? t[0].op_rv : -1;
}

static int hash_copies(const char *what)
{
	char where[2048];
	int hits = count_in_memory(hash_masked, hash_len, where, sizeof(where));

	print_message("# %s: stored hash found %d times %s\n", what, hits, where);
	return hits;
}

static int password_copies(const char *what)
{
	char where[2048];
	int hits = count_in_memory(password_masked, password_len, where, sizeof(where));

	print_message("# %s: plaintext password found %d times %s\n", what, hits, where);
	return hits;
}

/*
 * Cached connection: after pam_end the password is nowhere and the hash in one place, libpq's
 * receive buffer: the next lookup's answer (another user's value, as long) overwrites it.
 */
static void test_cached(void **state)
{
	(void)state;
	/* a process keeps its connection once it has ended a transaction: end one first */
	assert_int_equal(login("scancache", "alice@other.org", false), PAM_AUTH_ERR);
	assert_int_equal(login("scancache", "alice@example.org", true), PAM_SUCCESS);
	assert_int_equal(password_copies("cached, after pam_end"), 0);
	assert_int_equal(hash_copies("cached, after pam_end"), 1);
	assert_int_equal(data_rows, 1);
	assert_int_equal(login("scancache", "alice@other.org", false), PAM_AUTH_ERR);
	assert_int_equal(password_copies("cached, after another user's login"), 0);
	assert_int_equal(hash_copies("cached, after another user's login"), 0);
}

/*
 * Connection closed after each lookup (connection_cache = no, or the first transaction of a
 * process): libpq frees its receive buffer without wiping it.
 */
static void test_not_cached(void **state)
{
	(void)state;
	assert_int_equal(login("scannocache", "alice@example.org", true), PAM_SUCCESS);
	assert_int_equal(password_copies("not cached, after pam_end"), 0);
	int hits = hash_copies("not cached, after pam_end");

	assert_int_equal(hits, data_rows);
	assert_true(data_rows <= 1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cached),
	    cmocka_unit_test(test_not_cached),
	};

	(void)argc;
	if (getenv("PGD_TEST_CHILD") == NULL) {
		/* meson sets it: glibc would then fill freed memory, which no production caller has
		 */
		unsetenv("MALLOC_PERTURB_");
		pgd_test_write_service("scancache", "",
		                       "driver = pgsql\nconnect = %CONNECT%\n" QUERY, 0600, 0);
		pgd_test_write_service("scannocache", "",
		                       "driver = pgsql\nconnect = %CONNECT%\n"
		                       "connection_cache = no\n" QUERY,
		                       0600, 0);
		return pgd_test_run_in_child(argv);
	}
	scan_buf =
	    mmap(NULL, SCAN_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(scan_buf != MAP_FAILED);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
