/*
 * vtoken-bench-api: durable assign+revoke pairs per second through the
 * REST API, with per-request latency percentiles, against two baselines
 * measured in the same run on the same machine and disk:
 *   - GET /healthz over the same keep-alive connection (HTTP and event
 *     loop cost, no storage);
 *   - the floor under any durable commit of the backend: on SQLite a
 *     write(4 KiB) + fsync() on a file in the daemon's data directory; on
 *     PostgreSQL a bare "BEGIN; INSERT; COMMIT" round trip through libpq
 *     to the same server.
 * Each assign and each revoke is one transaction (row + hash-chained
 * audit record + change row): SQLite with synchronous=FULL, PostgreSQL
 * with its default synchronous_commit.  -b postgresql starts a server of
 * the bench's own (tests/lib/pg_fixture.sh) in the build tree.
 *
 * usage: vtoken-bench-api [-n PAIRS] [-b sqlite|postgresql]
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "bench_util.h"
#include "../lib/vt_http.h"
#include "../lib/vtd_spawn.h"
#include "common/monotime.h"

#define PAIRS_MAX 100000
#define PG_DIR VT_BINARY_DIR "/bench-pg"

static int
bench_fsync(const struct vtd *d, double *lat, size_t n, double *secs)
{
	char path[512], buf[4096];
	int fd;
	double t0;

	memset(buf, 0x5a, sizeof(buf));
	snprintf(path, sizeof(path), "%s/var/fsync.bench", d->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	t0 = monotime_sec();
	for (size_t i = 0; i < n; i++) {
		double s = monotime_sec();

		if (pwrite(fd, buf, sizeof(buf), (off_t)(i % 64) * 4096) !=
		    (ssize_t)sizeof(buf) || fsync(fd) < 0) {
			close(fd);
			return -1;
		}
		lat[i] = monotime_sec() - s;
	}
	*secs = monotime_sec() - t0;
	close(fd);
	unlink(path);
	return 0;
}

/* The PostgreSQL floor: one-row transactions on the daemon's server. */
static int
bench_insert_commit(const struct vtd *d, double *lat, size_t n, double *secs)
{
	PGconn *pg = PQconnectdb(d->store + strlen("postgresql:"));
	PGresult *res;
	double t0;
	int rc = 0;

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "libpq: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return -1;
	}
	PQclear(PQexec(pg, "CREATE TABLE bench_floor(i bigint, t text)"));
	t0 = monotime_sec();
	for (size_t i = 0; i < n && rc == 0; i++) {
		double s = monotime_sec();

		res = PQexec(pg, "BEGIN; INSERT INTO bench_floor "
		    "VALUES(1, 'x'); COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = -1;
		PQclear(res);
		lat[i] = monotime_sec() - s;
	}
	*secs = monotime_sec() - t0;
	PQfinish(pg);
	return rc;
}

/* n assign+revoke pairs of token "bench" to VM "vm". */
static int
bench_pairs(struct bench_api *a, size_t n, double *la, double *lr,
    double *lp, double *secs)
{
	double t0 = monotime_sec();

	for (size_t i = 0; i < n; i++) {
		double s = monotime_sec(), m;

		if (bench_api_do(a, "POST", "/v1/assignments", "{\"token\": "
		    "\"bench\", \"vm\": \"vm\"}") != 201)
			return -1;
		m = monotime_sec();
		if (bench_api_do(a, "DELETE", "/v1/assignments/bench", NULL) !=
		    204)
			return -1;
		la[i] = m - s;
		lr[i] = monotime_sec() - m;
		lp[i] = monotime_sec() - s;
	}
	*secs = monotime_sec() - t0;
	return 0;
}

static int
bench_healthz(struct bench_api *a, size_t n, double *lh, double *secs)
{
	double t0 = monotime_sec();

	for (size_t i = 0; i < n; i++) {
		double s = monotime_sec();

		if (bench_api_do(a, "GET", "/healthz", NULL) != 200)
			return -1;
		lh[i] = monotime_sec() - s;
	}
	*secs = monotime_sec() - t0;
	return 0;
}

int
main(int argc, char **argv)
{
	size_t n = 500;
	bool pg = false;
	double *la, *lr, *lp, *lh, *lf, secs, hsecs, fsecs;
	struct bench_api a;
	struct utsname u;
	struct vtd d;
	int opt;

	while ((opt = getopt(argc, argv, "n:b:")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (opt == 'b' && (strcmp(optarg, "postgresql") == 0 ||
		    strcmp(optarg, "sqlite") == 0))
			pg = strcmp(optarg, "postgresql") == 0;
		else
			n = 0;
	}
	if (n < 10 || n > PAIRS_MAX) {
		fprintf(stderr, "usage: vtoken-bench-api [-n PAIRS] "
		    "[-b sqlite|postgresql]\n");
		return 2;
	}
	la = calloc(n, sizeof(double));
	lr = calloc(n, sizeof(double));
	lp = calloc(n, sizeof(double));
	lh = calloc(n, sizeof(double));
	lf = calloc(n, sizeof(double));
	memset(&d, 0, sizeof(d));
	if (la == NULL || lr == NULL || lp == NULL || lh == NULL ||
	    lf == NULL || (pg && bench_pg_start(PG_DIR) < 0) ||
	    vtd_start(&d, NULL) < 0 || bench_api_open(&a, &d) < 0) {
		fprintf(stderr, "setup failed: %s\n", d.err);
		return 1;
	}
	if (bench_api_do(&a, "POST", "/v1/tokens", "{\"name\": \"bench\"}")
	    != 201 || bench_api_do(&a, "POST", "/v1/vms", "{\"name\": \"vm\", "
	    "\"addresses\": [\"127.0.0.2\"]}") != 201) {
		fprintf(stderr, "setup requests failed\n");
		return 1;
	}
	if (bench_healthz(&a, n, lh, &hsecs) < 0 ||
	    bench_pairs(&a, n, la, lr, lp, &secs) < 0 ||
	    (pg ? bench_insert_commit(&d, lf, n, &fsecs) :
	    bench_fsync(&d, lf, n, &fsecs)) < 0) {
		fprintf(stderr, "a request failed\n");
		return 1;
	}
	bench_api_close(&a);
	vtd_stop(&d);
	vtd_cleanup(&d);
	if (pg)
		bench_pg_stop(PG_DIR);

	uname(&u);
	printf("Machine: %ld CPUs, Linux %s; %s; %zu pairs.\n\n",
	    sysconf(_SC_NPROCESSORS_ONLN), u.release, pg ? "PostgreSQL" :
	    "SQLite", n);
	printf("| operation | rate | p50 ms | p99 ms |\n|---|---:|---:|---:|\n");
	bench_row("assign+revoke pair (2 durable commits)", lp, n, secs,
	    "pairs");
	bench_row("  assign (POST /v1/assignments)", la, n, bench_sum(la, n),
	    "req");
	bench_row("  revoke (DELETE /v1/assignments/T)", lr, n,
	    bench_sum(lr, n), "req");
	bench_row("baseline: GET /healthz (no storage)", lh, n, hsecs, "req");
	bench_row(pg ? "baseline: BEGIN; INSERT; COMMIT (libpq)" :
	    "baseline: 4 KiB write + fsync", lf, n, fsecs, "op");
	printf("\nPair time / (2 x baseline commit), medians: %.2f\n",
	    bench_pct(lp, n, 50) / (2 * bench_pct(lf, n, 50)));
	free(la); free(lr); free(lp); free(lh); free(lf);
	return 0;
}
