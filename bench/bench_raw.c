// SPDX-License-Identifier: MIT
/*
 * The raw warm libpq query loop, in its own process so that the PAM process does not keep
 * libpq loaded (saslauthd does not link it: without -z nodelete the module reloads it at every
 * login, and the benchmark must see that). One connection, opened at start; then for each
 * line "q" on stdin it runs the module's query once with PQexecParams and answers
 * "MICROSECONDS ROWS" on stdout. "x" or end of input ends it.
 *
 *   bench_raw CONNINFO USER DOMAIN
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "bench_util.h"

#define QUERY "SELECT password FROM users WHERE userid = $1 AND domain = $2"

int main(int argc, char **argv)
{
	const char *const keys[] = {"application_name", "dbname", NULL};
	const char *values[] = {BENCH_RAW_APPNAME, NULL, NULL};
	const char *params[2];
	char line[64];
	PGconn *conn;

	if (argc != 4)
		bench_die("usage: bench_raw CONNINFO USER DOMAIN");
	values[1] = argv[1];
	params[0] = argv[2];
	params[1] = argv[3];
	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		bench_die("bench_raw: cannot connect: %s",
		          conn != NULL ? PQerrorMessage(conn) : "out of memory");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin) != NULL && line[0] == 'q') {
		double t0 = bench_now_us(), t1;
		PGresult *res = PQexecParams(conn, QUERY, 2, NULL, params, NULL, NULL, 0);
		int rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : -1;

		if (rows == 1 && PQgetlength(res, 0, 0) == 0)
			rows = -1;
		PQclear(res);
		t1 = bench_now_us();
		printf("%.3f %d\n", t1 - t0, rows);
	}
	PQfinish(conn);
	return 0;
}
