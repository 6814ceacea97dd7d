/*
 * vtoken-bench-scale: one vtokend with many tokens (docs/PERFORMANCE.md,
 * "Scale").  On either backend (-b; PostgreSQL is a server of the
 * bench's own, started with tests/lib/pg_fixture.sh in the build tree):
 *
 *  1. tokens of SIZE are created through the REST API in bulk requests of
 *     BATCH until there are N, while a second connection asks GET /healthz
 *     every HEALTH_GAP_MS: per tenth of N, the bulk request latency and
 *     the /healthz latency (both must stay flat: per-token work does not
 *     grow with the number of tokens, and creation never blocks the event
 *     loop);
 *  2. at 0, 1,000, 10,000 and N tokens the daemon is restarted: start-up
 *     time (fork to "ready") and RSS after start-up (metadata only), and
 *     the RSS just before the restart;
 *  3. with N tokens: DEVLIST latency for a VM with 4 tokens (connect,
 *     list, close), and import latency (OP_REQ_IMPORT to its reply: the
 *     claim, the attach record and the token's blocks read from the
 *     store), against the loopback round trip of the same machine.
 *
 * usage: vtoken-bench-scale [-b sqlite|postgresql] [-n TOKENS] [-s SIZE]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "bench_util.h"
#include "../lib/usbip_client.h"
#include "../lib/vt_wait.h"
#include "common/monotime.h"

#define PG_DIR		VT_BINARY_DIR "/bench-pg"
#define BATCH		1000
#define HEALTH_GAP_MS	5
#define HEALTH_MAX	2000000
#define TENTHS		10
#define LIST_ROUNDS	1000
#define IMPORT_ROUNDS	400
#define VM_ADDR		"127.0.0.2"

struct scale {
	struct vtd d;
	unsigned n;
	const char *size;
	/* written by the main thread, read by the health thread */
	atomic_uint made;		/* tokens created so far */
	atomic_uint gen;		/* bumped when the daemon restarts */
	atomic_bool paused, stop;
	atomic_ushort api_port;
	/* the health thread's samples: latency (s) and tokens at the time */
	double *hl;
	unsigned *hat;
	size_t hn;
	/* bulk request latencies (s) and the tokens before each */
	double *bl;
	unsigned *bat;
	size_t bn;
};

static void *
health_run(void *arg)
{
	struct scale *s = arg;
	struct bench_api a;
	unsigned gen = ~0u;

	memset(&a, 0, sizeof(a));
	while (!atomic_load(&s->stop) && s->hn < HEALTH_MAX) {
		double t0;

		if (atomic_load(&s->paused)) {
			vt_sleep_ms(HEALTH_GAP_MS);
			continue;
		}
		if (gen != atomic_load(&s->gen)) {
			bench_api_close(&a);
			if (bench_api_open(&a, &s->d) < 0)
				break;
			gen = atomic_load(&s->gen);
		}
		t0 = monotime_sec();
		if (bench_api_do(&a, "GET", "/healthz", NULL) == 200) {
			s->hl[s->hn] = monotime_sec() - t0;
			s->hat[s->hn++] = atomic_load(&s->made);
		}
		vt_sleep_ms(HEALTH_GAP_MS);
	}
	bench_api_close(&a);
	return NULL;
}

/* Restarts the daemon: start-up ms; *rss_before and *rss_after in KiB. */
static double
restart(struct scale *s, long *rss_before, long *rss_after)
{
	double t0;

	atomic_store(&s->paused, true);
	vt_sleep_ms(50);	/* the health thread is out of its request */
	*rss_before = bench_rss_kib(s->d.pid);
	if (vtd_stop(&s->d) != 0)
		return -1;
	t0 = monotime_sec();
	if (vtd_start(&s->d, NULL) < 0) {
		fprintf(stderr, "restart: %s\n", s->d.err);
		return -1;
	}
	t0 = monotime_sec() - t0;
	*rss_after = bench_rss_kib(s->d.pid);
	atomic_fetch_add(&s->gen, 1);
	atomic_store(&s->paused, false);
	return t0 * 1e3;
}

struct milestone {
	unsigned tokens;
	double start_ms;
	long rss_live, rss_start;	/* KiB */
};

/* Creates tokens up to s->n, restarting at each milestone. */
static int
create_all(struct scale *s, struct milestone *m, size_t nm)
{
	struct bench_api a;
	char body[160];
	size_t next = 0;

	while (next < nm && m[next].tokens == 0) {
		m[next].start_ms = restart(s, &m[next].rss_live,
		    &m[next].rss_start);
		if (m[next++].start_ms < 0)
			return -1;
	}
	if (bench_api_open(&a, &s->d) < 0)
		return -1;
	for (unsigned b = 0; atomic_load(&s->made) < s->n; b++) {
		unsigned count = s->n - atomic_load(&s->made);
		double t0;

		count = count > BATCH ? BATCH : count;
		snprintf(body, sizeof(body), "{\"count\": %u, \"prefix\": "
		    "\"b%u\", \"size\": \"%s\"}", count, b, s->size);
		t0 = monotime_sec();
		if (bench_api_do(&a, "POST", "/v1/tokens", body) != 201) {
			fprintf(stderr, "bulk create: %s\n", a.body ? a.body :
			    "no answer");
			return -1;
		}
		s->bl[s->bn] = monotime_sec() - t0;
		s->bat[s->bn++] = atomic_load(&s->made);
		atomic_fetch_add(&s->made, count);
		if (next < nm && atomic_load(&s->made) >= m[next].tokens) {
			m[next].start_ms = restart(s, &m[next].rss_live,
			    &m[next].rss_start);
			if (m[next++].start_ms < 0)
				return -1;
			bench_api_close(&a);
			if (bench_api_open(&a, &s->d) < 0)
				return -1;
		}
	}
	bench_api_close(&a);
	return 0;
}

/* Latencies of v[] whose tokens-at-the-time fall in [lo, hi). */
static size_t
select_range(const double *v, const unsigned *at, size_t n, unsigned lo,
    unsigned hi, double *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (at[i] >= lo && at[i] < hi)
			out[k++] = v[i];
	return k;
}

/* " p50 | p99 | max |" in ms of n latencies in seconds (sorts v). */
static void
print_pcts(double *v, size_t n)
{
	double p50 = bench_pct(v, n, 50), p99 = bench_pct(v, n, 99);

	printf(" %.3f | %.3f | %.3f |\n", p50 * 1e3, p99 * 1e3,
	    v[n - 1] * 1e3);
}

static void
report_creation(struct scale *s)
{
	double *tmp = malloc((s->hn + s->bn + 1) * sizeof(double));
	unsigned step = s->n / TENTHS;

	printf("| tokens before | bulk request of %u: p50 ms | max ms | "
	    "per token µs | /healthz p50 ms | p99 ms | max ms |\n"
	    "|---|---:|---:|---:|---:|---:|---:|\n", BATCH);
	for (unsigned t = 0; t < TENTHS && tmp != NULL; t++) {
		unsigned lo = t * step, hi = t + 1 == TENTHS ? s->n : lo + step;
		size_t nb = select_range(s->bl, s->bat, s->bn, lo, hi, tmp);
		double b50, bmax;

		if (nb == 0)
			continue;
		b50 = bench_pct(tmp, nb, 50);
		bmax = tmp[nb - 1];	/* sorted by bench_pct */
		printf("| %u–%u | %.1f | %.1f | %.1f |", lo, hi, b50 * 1e3,
		    bmax * 1e3, b50 * 1e6 / BATCH);
		nb = select_range(s->hl, s->hat, s->hn, lo, hi, tmp);
		if (nb > 0)
			print_pcts(tmp, nb);
		else
			printf(" | | |\n");
	}
	free(tmp);
}

/* Connect from VM_ADDR, DEVLIST, close: n rounds; 4 devices each. */
static int
bench_devlist(const struct vtd *d, double *lat, size_t n)
{
	struct usbip_client_opts o = { .src_addr = VM_ADDR };
	struct usbip_dev_info devs[8];

	for (size_t i = 0; i < n; i++) {
		struct usbip_client c;
		double t0 = monotime_sec();
		size_t nd = 0;

		usbip_client_init(&c);
		if (usbip_client_connect(&c, d->host, d->port, &o) < 0 ||
		    usbip_client_devlist(&c, devs, 8, &nd) < 0 || nd != 4) {
			fprintf(stderr, "devlist: %zu devices\n", nd);
			usbip_client_close(&c);
			return -1;
		}
		lat[i] = monotime_sec() - t0;
		usbip_client_close(&c);
	}
	return 0;
}

/* Imports the 4 busids in turn; latency of the import exchange only. */
static int
bench_import(const struct vtd *d, char busids[4][32], double *lat,
    size_t n, unsigned *busy)
{
	struct usbip_client_opts o = { .src_addr = VM_ADDR };
	int64_t deadline = monotime_ms() + 120000;

	for (size_t i = 0; i < n && monotime_ms() < deadline; ) {
		struct usbip_client c;
		uint32_t st = 99;
		double t0;

		usbip_client_init(&c);
		if (usbip_client_connect(&c, d->host, d->port, &o) < 0)
			return -1;
		t0 = monotime_sec();
		if (usbip_client_import(&c, busids[i % 4], &st, NULL) < 0) {
			usbip_client_close(&c);
			return -1;
		}
		lat[i] = monotime_sec() - t0;
		usbip_client_close(&c);
		if (st == 0)
			i++;
		else if (st == 2)	/* the last detach not released yet */
			(*busy)++;
		else
			return -1;
	}
	return monotime_ms() < deadline ? 0 : -1;
}

static int
setup_vm(struct scale *s, char busids[4][32])
{
	struct bench_api a;
	char body[160];
	int rc = 0;

	if (bench_api_open(&a, &s->d) < 0)
		return -1;
	if (bench_api_do(&a, "POST", "/v1/vms", "{\"name\": \"vm\", "
	    "\"addresses\": [\"" VM_ADDR "\"]}") != 201)
		rc = -1;
	for (int i = 0; i < 4 && rc == 0; i++) {
		const char *b;

		snprintf(body, sizeof(body), "{\"token\": \"b0-%04d\", \"vm\": "
		    "\"vm\"}", i + 1);
		if (bench_api_do(&a, "POST", "/v1/assignments", body) != 201)
			rc = -1;
		snprintf(body, sizeof(body), "/v1/tokens/b0-%04d", i + 1);
		if (rc == 0 && bench_api_do(&a, "GET", body, NULL) == 200 &&
		    (b = strstr(a.body, "\"busid\": \"")) != NULL)
			sscanf(b + 10, "%31[0-9-]", busids[i]);
		else
			rc = -1;
	}
	bench_api_close(&a);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "usage: vtoken-bench-scale [-b sqlite|postgresql] "
	    "[-n TOKENS] [-s SIZE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct scale s;
	struct milestone m[4] = { { .tokens = 0 }, { .tokens = 1000 },
	    { .tokens = 10000 }, { .tokens = 0 } };
	double lt[LIST_ROUNDS], li[IMPORT_ROUNDS], rtt;
	char busids[4][32];
	pthread_t th;
	bool pg = false;
	unsigned busy = 0;
	struct utsname u;
	size_t nm;
	int opt;

	s.n = 100000;
	s.size = "4M";
	while ((opt = getopt(argc, argv, "b:n:s:")) != -1) {
		if (opt == 'b' && strcmp(optarg, "postgresql") == 0)
			pg = true;
		else if (opt == 'b' && strcmp(optarg, "sqlite") != 0)
			usage();
		else if (opt == 'n')
			s.n = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 's')
			s.size = optarg;
		else if (opt != 'b')
			usage();
	}
	if (s.n < 4 * TENTHS || s.n > 1000000)
		usage();
	m[3].tokens = s.n;
	nm = s.n > 10000 ? 4 : s.n > 1000 ? 3 : 2;
	if (nm < 4)
		m[nm - 1].tokens = s.n;
	s.hl = calloc(HEALTH_MAX, sizeof(double));
	s.hat = calloc(HEALTH_MAX, sizeof(unsigned));
	s.bl = calloc(s.n / BATCH + 2, sizeof(double));
	s.bat = calloc(s.n / BATCH + 2, sizeof(unsigned));
	if (s.hl == NULL || s.hat == NULL || s.bl == NULL || s.bat == NULL ||
	    (pg && bench_pg_start(PG_DIR) < 0) || vtd_start(&s.d, NULL) < 0) {
		fprintf(stderr, "setup failed: %s\n", s.d.err);
		return 1;
	}
	pthread_create(&th, NULL, health_run, &s);
	if (create_all(&s, m, nm) < 0)
		return 1;
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	if (setup_vm(&s, busids) < 0 ||
	    bench_devlist(&s.d, lt, LIST_ROUNDS) < 0 ||
	    bench_import(&s.d, busids, li, IMPORT_ROUNDS, &busy) < 0) {
		fprintf(stderr, "devlist/import failed; see %s\n", s.d.log);
		return 1;
	}
	rtt = bench_tcp_rtt_us(1000);
	vtd_stop(&s.d);
	vtd_cleanup(&s.d);
	if (pg)
		bench_pg_stop(PG_DIR);

	uname(&u);
	printf("Machine: %ld CPUs, Linux %s; %s; %u tokens of %s.\n\n",
	    sysconf(_SC_NPROCESSORS_ONLN), u.release, pg ? "PostgreSQL" :
	    "SQLite", s.n, s.size);
	printf("| tokens | start-up ms | RSS after start-up MiB | RSS before "
	    "the restart MiB |\n|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < nm; i++)
		printf("| %u | %.0f | %.1f | %.1f |\n", m[i].tokens,
		    m[i].start_ms, (double)m[i].rss_start / 1024.0,
		    (double)m[i].rss_live / 1024.0);
	printf("\n");
	report_creation(&s);
	printf("\n| with %u tokens | p50 ms | p99 ms | max ms |\n"
	    "|---|---:|---:|---:|\n", s.n);
	printf("| DEVLIST, a VM with 4 tokens (connect, list, close) |");
	print_pcts(lt, LIST_ROUNDS);
	printf("| import (OP_REQ_IMPORT to its reply) |");
	print_pcts(li, IMPORT_ROUNDS);
	printf("| baseline: loopback TCP round trip | %.3f | | |\n",
	    rtt / 1e3);
	printf("\n%u import(s) answered busy (the previous detach of that "
	    "token not yet released) and were retried.\n", busy);
	return 0;
}
