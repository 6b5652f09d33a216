// SPDX-License-Identifier: MIT
/*
 * Many PAM transactions in one process, as a saslauthd worker runs them, each answer checked:
 *   pam_loop CONFDIR SERVICE USERS ROUNDS
 * Round k logs in user u(k % USERS + 1)@example.org, whose password is pw-N: the right password
 * (PAM_SUCCESS) in two rounds of four, a wrong one (PAM_AUTH_ERR) in the third, and a user not
 * in the table (PAM_USER_UNKNOWN) in the fourth; another user's row would turn a success into a
 * failure. pam_start_confdir (libpam >= 1.4) reads CONFDIR/SERVICE, no pam_wrapper. Prints
 * "answers N wrong W" and exits 0 when W is 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			r[i].resp = strdup(data);
	*resp = r;
	return PAM_SUCCESS;
}

int main(int argc, char **argv)
{
	long users, rounds, wrong = 0;

	if (argc != 5 || (users = strtol(argv[3], NULL, 10)) < 1 ||
	    (rounds = strtol(argv[4], NULL, 10)) < 1) {
		fprintf(stderr, "usage: pam_loop CONFDIR SERVICE USERS ROUNDS\n");
		return 2;
	}
	for (long k = 0; k < rounds; k++) {
		long i = k % users + 1;
		char user[64], password[64];
		struct pam_conv c = {conv, password};
		pam_handle_t *h = NULL;
		int expected, rc;

		snprintf(user, sizeof(user), "%su%ld@example.org", k % 4 == 3 ? "no" : "", i);
		snprintf(password, sizeof(password), "pw-%ld%s", i, k % 4 == 2 ? "x" : "");
		expected = k % 4 == 3 ? PAM_USER_UNKNOWN : k % 4 == 2 ? PAM_AUTH_ERR : PAM_SUCCESS;
		rc = pam_start_confdir(argv[2], user, &c, argv[1], &h);
		if (rc == PAM_SUCCESS)
			rc = pam_authenticate(h, PAM_SILENT);
		pam_end(h, rc);
		if (rc != expected) {
			if (wrong++ < 5)
				fprintf(stderr, "%s: %s, expected %s\n", user,
				        pam_strerror(NULL, rc), pam_strerror(NULL, expected));
		}
	}
	printf("answers %ld wrong %ld\n", rounds, wrong);
	return wrong == 0 ? 0 : 1;
}
