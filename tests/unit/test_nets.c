// SPDX-License-Identifier: MIT
/* Dovecot's allow_nets, row by row: list, remote address, verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "login/nets.h"

static const struct {
	const char *nets;
	const char *rhost;
	bool allowed;
} rows[] = {
    {"192.0.2.0/24", "192.0.2.1", true},
    {"192.0.2.0/24", "192.0.3.1", false},
    {"192.0.2.7", "192.0.2.7", true},
    {"192.0.2.7", "192.0.2.8", false},
    {"192.0.2.7/32", "192.0.2.7", true},
    {"0.0.0.0/0", "203.0.113.5", true},
    {"10.0.0.0/8, 192.0.2.0/24", "192.0.2.200", true},
    {"10.0.0.0/8 192.0.2.0/24", "192.0.2.200", true},
    {"10.0.0.0/8,192.0.2.0/24", "10.255.255.255", true},
    {"10.0.0.0/8,,  ,192.0.2.0/24", "192.0.2.1", true},
    {"192.0.2.0/25", "192.0.2.128", false},
    {"192.0.2.128/25", "192.0.2.128", true},
    /* IPv6, and IPv4 written as IPv6 */
    {"2001:db8::/32", "2001:db8:1::5", true},
    {"2001:db8::/32", "2001:db9::5", false},
    {"::1", "::1", true},
    {"192.0.2.0/24", "::ffff:192.0.2.9", true},
    {"2001:db8::/32", "192.0.2.9", false},
    {"192.0.2.0/24", "2001:db8::1", false},
    /* "local": no remote address */
    {"local", NULL, true},
    {"local", "", true},
    {"local", "192.0.2.1", false},
    {"192.0.2.0/24", NULL, false},
    {"192.0.2.0/24, local", NULL, true},
    /* a host name is no address, and not "no address" either: it matches nothing */
    {"192.0.2.0/24", "mail.example.org", false},
    {"local", "mail.example.org", false},
    {"local", "attacker.example.net", false},
    {"local, 0.0.0.0/0, ::/0", "attacker.example.net", false},
    {"local", "localhost", false},
    /* brackets, as Dovecot's net_addr2ip: only around IPv6 */
    {"2001:db8::/32", "[2001:db8::5]", true},
    {"local", "[2001:db8::5]", false},
    {"192.0.2.0/24", "[::ffff:192.0.2.9]", true},
    {"local", "[192.0.2.1]", false},
    {"192.0.2.0/24", "[192.0.2.1]", false},
    {"local, 0.0.0.0/0, ::/0", "[192.0.2.1]", false},
    {"2001:db8::/32", "[2001:db8::5", false},
    {"2001:db8::/32", "2001:db8::5]", false},
    {"::/0", "[]", false},
    {"::/0", "[[::1]]", false},
    {"[2001:db8::]/32", "2001:db8::5", true},
    /* zone ids: the address is matched, the zone ignored (Dovecot 2.4) */
    {"fe80::/10", "fe80::1%eth0", true},
    {"fe80::/10", "fe80::1%2", true},
    {"fe80::/10", "[fe80::1%eth0]", true},
    {"local", "fe80::1%eth0", false},
    {"2001:db8::/32", "fe80::1%eth0", false},
    {"fe80::/10", "fe80::1%", false},
    {"fe80::/10", "fe80::1%eth0%eth1", false},
    {"fe80::/10", "fe80::1%eth 0", false},
    {"fe80::/10", "fe80::1%a-name-too-long-for-an-interface", false},
    {"0.0.0.0/0", "192.0.2.1%eth0", false},
    /* garbage, and forms inet_aton() would take but an IP literal is not */
    {"local, 0.0.0.0/0, ::/0", "garbage", false},
    {"local, 0.0.0.0/0, ::/0", " ", false},
    {"local, 0.0.0.0/0, ::/0", " 192.0.2.1", false},
    {"local, 0.0.0.0/0, ::/0", "192.0.2.1 ", false},
    {"local, 0.0.0.0/0, ::/0", "192.0.2.1:22", false},
    {"local, 0.0.0.0/0, ::/0", "192.0.2", false},
    {"local, 0.0.0.0/0, ::/0", "3221225985", false},
    {"local, 0.0.0.0/0, ::/0", "0xc0.0.2.1", false},
    {"local, 0.0.0.0/0, ::/0", "192.0.2.256", false},
    {"local, 0.0.0.0/0, ::/0", "2001:db8::1::2", false},
    {"local, 0.0.0.0/0, ::/0", "\x1b[31m", false},
    {"local, 0.0.0.0/0, ::/0",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    /* malformed entries match nothing */
    {"192.0.2.0/33", "192.0.2.1", false},
    {"192.0.2.0/", "192.0.2.1", false},
    {"192.0.2.0/x", "192.0.2.1", false},
    {"192.0.2.0/-1", "192.0.2.1", false},
    {"192.0.2.0/24junk", "192.0.2.1", false},
    {"not-an-address", "192.0.2.1", false},
    {"", "192.0.2.1", false},
    {"2001:db8::/129", "2001:db8::1", false},
};

static void test_rows(void **state)
{
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool got = pgd_nets_allow(rows[i].nets, rows[i].rhost, why, sizeof(why));

		if (got != rows[i].allowed)
			fail_msg("row %zu: '%s' with %s: got %s", i, rows[i].nets,
			         rows[i].rhost != NULL ? rows[i].rhost : "(none)",
			         got ? "allowed" : "refused");
	}
}

static void test_why(void **state)
{
	char why[128];

	(void)state;
	assert_false(pgd_nets_allow("192.0.2.0/24", "198.51.100.1", why, sizeof(why)));
	assert_string_equal(why, "allow_nets: 198.51.100.1 is not in the allowed networks");
	assert_false(pgd_nets_allow("192.0.2.0/24", NULL, why, sizeof(why)));
	assert_string_equal(why, "allow_nets: remote address not known and 'local' not listed");
	assert_false(pgd_nets_allow("local", "attacker.example.net", why, sizeof(why)));
	assert_string_equal(why,
	                    "allow_nets: remote host attacker.example.net is not an IP address");
	assert_false(pgd_nets_allow("local", "[192.0.2.1]", why, sizeof(why)));
	assert_string_equal(why, "allow_nets: remote host [192.0.2.1] is not an IP address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
