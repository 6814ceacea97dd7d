/*
 * vtoken-bench-api: durable assign+revoke pairs per second through the
 * REST API, with per-request latency percentiles, against two baselines
 * measured in the same run on the same machine and disk:
 *   - GET /healthz over the same keep-alive connection (HTTP and event
 *     loop cost, no storage);
 *   - write(4 KiB) + fsync() on a file in the daemon's data directory (the
 *     floor under any durable commit).
 * Each assign and each revoke is one SQLite transaction (row + hash-chained
 * audit record) with synchronous=FULL.
 *
 * usage: vtoken-bench-api [-n PAIRS]
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "../lib/vt_http.h"
#include "../lib/vtd_spawn.h"
#include "common/monotime.h"

#define PAIRS_MAX 100000

struct api_conn {
	CURL *c;
	struct curl_slist *h;
	char base[128];
};

static size_t
sink(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

static int
api_open(struct api_conn *a, const struct vtd *d)
{
	char auth[256];

	a->c = curl_easy_init();
	if (a->c == NULL)
		return -1;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    vt_admin_key(d));
	a->h = curl_slist_append(NULL, auth);
	a->h = curl_slist_append(a->h, "Content-Type: application/json");
	snprintf(a->base, sizeof(a->base), "http://127.0.0.1:%u", d->api_port);
	curl_easy_setopt(a->c, CURLOPT_HTTPHEADER, a->h);
	curl_easy_setopt(a->c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(a->c, CURLOPT_TIMEOUT, 10L);
	return 0;
}

/* One request on the kept-alive connection; returns the status. */
static long
api_do(struct api_conn *a, const char *method, const char *path,
    const char *body)
{
	char url[256];
	long status = 0;

	snprintf(url, sizeof(url), "%s%s", a->base, path);
	curl_easy_setopt(a->c, CURLOPT_URL, url);
	curl_easy_setopt(a->c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(a->c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(a->c, CURLOPT_POSTFIELDSIZE,
	    body ? (long)strlen(body) : 0L);
	if (body == NULL)
		curl_easy_setopt(a->c, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(a->c) == CURLE_OK)
		curl_easy_getinfo(a->c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* Sorts v and returns its p-th percentile (0..100). */
static double
pct(double *v, size_t n, double p)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static double
sum(const double *v, size_t n)
{
	double t = 0;

	for (size_t i = 0; i < n; i++)
		t += v[i];
	return t;
}

static void
row(const char *what, double *lat, size_t n, double secs, const char *unit)
{
	double p50 = pct(lat, n, 50), p99 = pct(lat, n, 99);

	printf("| %s | %.0f %s/s | %.2f | %.2f |\n", what, (double)n / secs,
	    unit, p50 * 1e3, p99 * 1e3);
}

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

int
main(int argc, char **argv)
{
	size_t n = argc > 2 && strcmp(argv[1], "-n") == 0 ?
	    strtoul(argv[2], NULL, 10) : 500;
	double *la, *lr, *lp, *lh, *lf, t0, secs, hsecs, fsecs;
	struct api_conn a;
	struct utsname u;
	struct vtd d;

	if (n < 10 || n > PAIRS_MAX) {
		fprintf(stderr, "usage: vtoken-bench-api [-n PAIRS]\n");
		return 2;
	}
	la = calloc(n, sizeof(double));
	lr = calloc(n, sizeof(double));
	lp = calloc(n, sizeof(double));
	lh = calloc(n, sizeof(double));
	lf = calloc(n, sizeof(double));
	memset(&d, 0, sizeof(d));
	if (la == NULL || lr == NULL || lp == NULL || lh == NULL ||
	    lf == NULL || vtd_start(&d, NULL) < 0 || api_open(&a, &d) < 0) {
		fprintf(stderr, "setup failed: %s\n", d.err);
		return 1;
	}
	if (api_do(&a, "POST", "/v1/tokens", "{\"name\": \"bench\"}") != 201 ||
	    api_do(&a, "POST", "/v1/vms", "{\"name\": \"vm\", \"addresses\": "
	    "[\"127.0.0.2\"]}") != 201) {
		fprintf(stderr, "setup requests failed\n");
		return 1;
	}
	t0 = monotime_sec();
	for (size_t i = 0; i < n; i++) {
		double s = monotime_sec();

		if (api_do(&a, "GET", "/healthz", NULL) != 200)
			return 1;
		lh[i] = monotime_sec() - s;
	}
	hsecs = monotime_sec() - t0;
	t0 = monotime_sec();
	for (size_t i = 0; i < n; i++) {
		double s = monotime_sec(), m;

		if (api_do(&a, "POST", "/v1/assignments", "{\"token\": "
		    "\"bench\", \"vm\": \"vm\"}") != 201)
			return 1;
		m = monotime_sec();
		if (api_do(&a, "DELETE", "/v1/assignments/bench", NULL) != 204)
			return 1;
		la[i] = m - s;
		lr[i] = monotime_sec() - m;
		lp[i] = monotime_sec() - s;
	}
	secs = monotime_sec() - t0;
	if (bench_fsync(&d, lf, n, &fsecs) < 0)
		return 1;
	curl_slist_free_all(a.h);
	curl_easy_cleanup(a.c);
	vtd_stop(&d);
	vtd_cleanup(&d);

	uname(&u);
	printf("Machine: %ld CPUs, Linux %s; %zu pairs.\n\n",
	    sysconf(_SC_NPROCESSORS_ONLN), u.release, n);
	printf("| operation | rate | p50 ms | p99 ms |\n|---|---:|---:|---:|\n");
	row("assign+revoke pair (2 durable commits)", lp, n, secs, "pairs");
	row("  assign (POST /v1/assignments)", la, n, sum(la, n), "req");
	row("  revoke (DELETE /v1/assignments/T)", lr, n, sum(lr, n), "req");
	row("baseline: GET /healthz (no storage)", lh, n, hsecs, "req");
	row("baseline: 4 KiB write + fsync", lf, n, fsecs, "op");
	printf("\nPair time / (2 x fsync time), medians: %.2f\n",
	    pct(lp, n, 50) / (2 * pct(lf, n, 50)));
	free(la); free(lr); free(lp); free(lh); free(lf);
	return 0;
}
