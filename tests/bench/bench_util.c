/*
 * bench_util: see bench_util.h.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/vt_http.h"

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

double
bench_pct(double *v, size_t n, double p)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double
bench_sum(const double *v, size_t n)
{
	double t = 0;

	for (size_t i = 0; i < n; i++)
		t += v[i];
	return t;
}

void
bench_row(const char *what, double *lat, size_t n, double secs,
    const char *unit)
{
	double p50 = bench_pct(lat, n, 50), p99 = bench_pct(lat, n, 99);

	printf("| %s | %.0f %s/s | %.2f | %.2f |\n", what, (double)n / secs,
	    unit, p50 * 1e3, p99 * 1e3);
}

static size_t
bench_api_collect(char *p, size_t s, size_t n, void *arg)
{
	struct bench_api *a = arg;
	char *b = realloc(a->body, a->len + s * n + 1);

	if (b == NULL)
		return 0;
	memcpy(b + a->len, p, s * n);
	a->len += s * n;
	b[a->len] = '\0';
	a->body = b;
	return s * n;
}

int
bench_api_open(struct bench_api *a, const struct vtd *d)
{
	char auth[256];

	memset(a, 0, sizeof(*a));
	if ((a->c = curl_easy_init()) == NULL)
		return -1;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    vt_admin_key(d));
	a->h = curl_slist_append(NULL, auth);
	a->h = curl_slist_append(a->h, "Content-Type: application/json");
	snprintf(a->base, sizeof(a->base), "http://127.0.0.1:%u", d->api_port);
	curl_easy_setopt(a->c, CURLOPT_HTTPHEADER, a->h);
	curl_easy_setopt(a->c, CURLOPT_WRITEFUNCTION, bench_api_collect);
	curl_easy_setopt(a->c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(a->c, CURLOPT_TIMEOUT, 120L);
	return 0;
}

void
bench_api_close(struct bench_api *a)
{
	curl_slist_free_all(a->h);
	if (a->c != NULL)
		curl_easy_cleanup(a->c);
	free(a->body);
	memset(a, 0, sizeof(*a));
}

long
bench_api_do(struct bench_api *a, const char *method, const char *path,
    const char *body)
{
	char url[512];
	long status = 0;

	free(a->body);
	a->body = NULL;
	a->len = 0;
	snprintf(url, sizeof(url), "%s%s", a->base, path);
	curl_easy_setopt(a->c, CURLOPT_URL, url);
	curl_easy_setopt(a->c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(a->c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(a->c, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(body));
	} else
		curl_easy_setopt(a->c, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(a->c) == CURLE_OK)
		curl_easy_getinfo(a->c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

long
bench_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int
bench_pg_fixture(const char *cmd, const char *dir)
{
	char sh[1024];

	snprintf(sh, sizeof(sh), "sh '%s/tests/lib/pg_fixture.sh' %s '%s' "
	    ">&2", VT_SOURCE_DIR, cmd, dir);
	return system(sh) == 0 ? 0 : -1;
}

int
bench_pg_start(const char *dir)
{
	if (bench_pg_fixture("start", dir) < 0)
		return -1;
	setenv("VT_STORE", "postgresql", 1);
	setenv("VT_PG_DIR", dir, 1);
	return 0;
}

void
bench_pg_stop(const char *dir)
{
	(void)bench_pg_fixture("stop", dir);
}
