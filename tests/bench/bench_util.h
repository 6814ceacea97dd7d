/*
 * bench_util: what the vtoken benchmarks share besides raw TCP
 * (bench.h): percentiles, a kept-alive REST connection to a vtokend, the
 * daemon's RSS, and a PostgreSQL server of the bench's own (started with
 * tests/lib/pg_fixture.sh, so that the *.pg runs need nothing set up).
 * Nothing here exits; failures return -1 (or a negative value).
 */
#ifndef VTOKEN_BENCH_UTIL_H
#define VTOKEN_BENCH_UTIL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../lib/vtd_spawn.h"

/* Sorts v (n > 0) and returns its p-th percentile (0..100). */
double bench_pct(double *v, size_t n, double p);
double bench_sum(const double *v, size_t n);
/* "| what | rate unit/s | p50 ms | p99 ms |" for latencies in seconds. */
void bench_row(const char *what, double *lat, size_t n, double secs,
    const char *unit);

/* One kept-alive HTTP connection to d's API with the admin key. */
struct bench_api {
	CURL *c;
	struct curl_slist *h;
	char base[128];
	char *body;		/* the last response body (owned), or NULL */
	size_t len;
};
int bench_api_open(struct bench_api *a, const struct vtd *d);
void bench_api_close(struct bench_api *a);
/* One request (body NULL: none); the status, or 0 on transport failure. */
long bench_api_do(struct bench_api *a, const char *method, const char *path,
    const char *body);

/* VmRSS of pid in KiB, or -1. */
long bench_rss_kib(pid_t pid);

/*
 * A PostgreSQL server in dir for this run: started, and VT_STORE and
 * VT_PG_DIR set so that vtd_init gives each daemon a fresh database of
 * it.  0 or -1.  bench_pg_stop stops it and removes dir.
 */
int bench_pg_start(const char *dir);
void bench_pg_stop(const char *dir);

#endif
