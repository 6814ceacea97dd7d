/*
 * vtoken-fleet: N VMs against a real vtokend (issue #15).  See fleet.h
 * for the files and docs/PERFORMANCE.md, "Fleet steady state and boot
 * storm", for figures.
 *
 * Steady state: setup, baselines (a bare 4 KiB write+fsync in the data
 * dir; GET /healthz with a full handshake, a resumed session and a
 * kept-alive connection; the idle daemon's CPU over one window), then
 * every VM imports its token and its agent starts, spread over one
 * interval; after one interval of warm-up the window is measured.
 * Storm (--storm): VM i imports at i * spread / N and does its first
 * verify at once; the run ends when every VM has had its first verify.
 *
 * usage: vtoken-fleet [-n VMS] [-w WINDOW_S] [-i INTERVAL_S]
 *   [--interval-scale F] [--rate AUTH_PER_S] [--storm] [--spread S]
 *   [-j IMPORT_THREADS] [--api-timeout S] [--store postgresql:DSN]
 *   [--nodes 2] [--pg-pid PID] [--operator-rate R] [--smoke]
 * -i is the agents' interval (30 s); --interval-scale F divides it (N VMs
 * then authenticate as F * N would at -i); --rate R sets it to N / R.
 * --nodes 2 starts two daemons on the --store database (VM v uses node
 * v % 2); --pg-pid names the PostgreSQL server's postmaster, whose CPU,
 * writes and memory (with its children's) are then reported too.
 * --operator-rate R (5 by default, 0: none): an operator's REST reads per
 * second meanwhile, each on a new HTTPS connection (fleet_operator.c).
 * --smoke marks the ctest run.  Exits 0 when nothing failed, 1 on any
 * error, 77 (skip) when run as the ctest smoke test without
 * VTOKEN_BENCH_TESTS=1.
 */
#include <getopt.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fleet.h"

#define FLEET_BASE_ROUNDS	200

struct fleet_run {
	struct fleet_sample setup, idle0, idle1, w0, w1;
	struct hist fsync;
	struct fleet_tls_base tls[3];
	double t_setup, t_import;
};

static void
fleet_usage(void)
{
	fprintf(stderr, "usage: vtoken-fleet [-n VMS] [-w WINDOW_S] "
	    "[-i INTERVAL_S] [--interval-scale F] [--rate AUTH_PER_S]\n"
	    "    [--storm] [--spread S] [-j IMPORT_THREADS] "
	    "[--api-timeout S] [--store postgresql:DSN]\n"
	    "    [--nodes 2] [--pg-pid PID] [--operator-rate R] [--smoke]\n");
	exit(2);
}

static double
fleet_num(const char *s, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);

	if (*end != '\0' || v < lo || v > hi)
		fleet_usage();
	return v;
}

static void
fleet_opts(int argc, char **argv, struct fleet_opts *o)
{
	static const struct option lo[] = {
		{ "interval-scale", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "storm", no_argument, NULL, 'S' },
		{ "spread", required_argument, NULL, 'p' },
		{ "api-timeout", required_argument, NULL, 'T' },
		{ "store", required_argument, NULL, 'd' },
		{ "smoke", no_argument, NULL, 'k' },
		{ "nodes", required_argument, NULL, 'N' },
		{ "pg-pid", required_argument, NULL, 'P' },
		{ "operator-rate", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};
	double scale = 1, rate = 0;
	int ch;

	*o = (struct fleet_opts){ .n = 1000, .window = 60, .interval = 30,
	    .storm_s = 5, .threads = 4, .nodes = 1, .oper_rate = 5 };
	while ((ch = getopt_long(argc, argv, "n:w:i:j:", lo, NULL)) != -1) {
		switch (ch) {
		case 'n': o->n = (unsigned)fleet_num(optarg, 1, FLEET_MAX_VMS);
			break;
		case 'w': o->window = (unsigned)fleet_num(optarg, 1, 3600);
			break;
		case 'i': o->interval = fleet_num(optarg, 0.01, 3600); break;
		case 'j': o->threads = (unsigned)fleet_num(optarg, 1, 32);
			break;
		case 's': scale = fleet_num(optarg, 0.001, 100000); break;
		case 'r': rate = fleet_num(optarg, 0.001, 1e6); break;
		case 'S': o->storm = true; break;
		case 'p': o->storm_s = (unsigned)fleet_num(optarg, 0, 600);
			break;
		case 'T': o->api_timeout = (unsigned)fleet_num(optarg, 1,
		    3600); break;
		case 'd': o->store = optarg; break;
		case 'N': o->nodes = (unsigned)fleet_num(optarg, 1,
		    FLEET_MAX_NODES); break;
		case 'P': o->pg_pid = (int)fleet_num(optarg, 1, 1 << 30);
			break;
		case 'O': o->oper_rate = fleet_num(optarg, 0, 1000); break;
		case 'k':
			if (getenv("VTOKEN_BENCH_TESTS") == NULL ||
			    strcmp(getenv("VTOKEN_BENCH_TESTS"), "1") != 0) {
				printf("vtoken-fleet: skipped (set "
				    "VTOKEN_BENCH_TESTS=1)\n");
				exit(77);
			}
			break;
		default: fleet_usage();
		}
	}
	if (o->nodes > 1 && o->store == NULL) {
		fprintf(stderr, "vtoken-fleet: --nodes 2 needs a shared "
		    "--store postgresql:DSN\n");
		exit(2);
	}
	/* --interval-scale F: N VMs make the rate of F * N at -i. */
	o->interval /= scale;
	if (rate > 0)
		o->interval = o->n / rate;
}

static double
fleet_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double
fleet_q(const struct hist *h, double q)
{
	return h->count ? fleet_ms(hist_quantile(h, q)) : 0;
}

static double
fleet_secs(const struct fleet_sample *a, const struct fleet_sample *b)
{
	return (double)(b->t - a->t) / 1e9;
}

/* Per-second rate of a field summed over the nodes (and its parts). */
struct fleet_sum {
	double all, node[FLEET_MAX_NODES];
};

enum fleet_field {
	FLEET_CPU,		/* cores */
	FLEET_WRITES,		/* KiB/s */
	FLEET_AUDIT,		/* records per hour */
};

static struct fleet_sum
fleet_rate(const struct fleet_ctx *x, const struct fleet_sample *a,
    const struct fleet_sample *b, enum fleet_field what)
{
	struct fleet_sum r = { 0 };
	double secs = fleet_secs(a, b);

	for (unsigned k = 0; k < x->o.nodes; k++) {
		const struct fleet_proc *p = &a->node[k], *q = &b->node[k];
		double d = what == FLEET_CPU ? q->cpu - p->cpu :
		    what == FLEET_WRITES ?
		    (double)(q->wbytes - p->wbytes) / 1024 :
		    (double)(q->audit - p->audit) * 3600;

		r.node[k] = d / secs;
		r.all += r.node[k];
	}
	return r;
}

/* " (a X, b Y)" for two nodes, "" for one; prec decimals. */
static const char *
fleet_parts(const struct fleet_ctx *x, const double *v, int prec,
    char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned k = 0; x->o.nodes > 1 && k < x->o.nodes && o < len;
	    k++)
		o += (size_t)snprintf(buf + o, len - o, "%s%c %.*f%s",
		    k ? ", " : " (", 'a' + k, prec, v[k],
		    k + 1 == x->o.nodes ? ")" : "");
	return buf;
}

static void
fleet_report_nodes(struct fleet_ctx *x, struct fleet_run *r)
{
	const struct fleet_sample *w0 = &r->w0, *w1 = &r->w1,
	    *i0 = &r->idle0, *i1 = &r->idle1;
	struct fleet_sum cpu = fleet_rate(x, w0, w1, FLEET_CPU);
	struct fleet_sum icpu = fleet_rate(x, i0, i1, FLEET_CPU);
	struct fleet_sum wr = fleet_rate(x, w0, w1, FLEET_WRITES);
	struct fleet_sum iwr = fleet_rate(x, i0, i1, FLEET_WRITES);
	struct fleet_sum au = fleet_rate(x, w0, w1, FLEET_AUDIT);
	struct fleet_sum iau = fleet_rate(x, i0, i1, FLEET_AUDIT);
	double rss[FLEET_MAX_NODES], fds[FLEET_MAX_NODES], rmax = 0, s0 = 0;
	char b1[160], b2[160];
	long long nrec = 0;
	int nfds = 0;

	for (unsigned k = 0; k < x->o.nodes; k++) {
		rss[k] = w1->node[k].rss_kib / 1024.0;
		fds[k] = w1->node[k].fds;
		nfds += w1->node[k].fds;
		rmax = rss[k] > rmax ? rss[k] : rmax;
		s0 += r->setup.node[k].rss_kib / 1024.0;
		nrec += w1->node[k].audit - w0->node[k].audit;
	}
	printf("| server CPU%s | %.3f cores%s | %.3f cores (idle, %.0f s) | "
	    "< 0.5 per node |\n", x->o.nodes > 1 ? ", all nodes" : "",
	    cpu.all, fleet_parts(x, cpu.node, 3, b1, sizeof(b1)),
	    icpu.all, fleet_secs(i0, i1));
	printf("| RSS%s | %.1f MiB%s | %.1f MiB (after setup%s) | < 512 "
	    "MiB |\n", x->o.nodes > 1 ? ", largest node" : "", rmax,
	    fleet_parts(x, rss, 1, b1, sizeof(b1)), s0,
	    x->o.nodes > 1 ? ", all nodes" : "");
	printf("| open descriptors | %d%s | %d (after setup) | |\n", nfds,
	    fleet_parts(x, fds, 0, b2, sizeof(b2)), r->setup.node[0].fds);
	printf("| disk writes | %.1f KiB/s%s | %.1f KiB/s (idle) | |\n",
	    wr.all, fleet_parts(x, wr.node, 1, b1, sizeof(b1)),
	    iwr.all);
	printf("| audit records | %.0f /h (%lld) | %.0f /h (idle) | ~0 |\n",
	    au.all, nrec, iau.all);
	if (x->o.pg_pid > 0) {
		const struct fleet_proc *p0 = &w0->pg, *p1 = &w1->pg,
		    *q0 = &i0->pg, *q1 = &i1->pg;
		double ws = fleet_secs(w0, w1), is = fleet_secs(i0, i1);

		printf("| PostgreSQL CPU (postmaster + children) | %.3f cores "
		    "| %.3f cores (idle) | |\n", (p1->cpu - p0->cpu) / ws,
		    (q1->cpu - q0->cpu) / is);
		printf("| PostgreSQL disk writes | %.1f KiB/s | %.1f KiB/s "
		    "(idle) | |\n", (double)(p1->wbytes - p0->wbytes) / ws /
		    1024, (double)(q1->wbytes - q0->wbytes) / is / 1024);
		printf("| PostgreSQL RSS, summed over %d processes (shared "
		    "buffers counted in each) | %.1f MiB | | |\n", p1->fds,
		    p1->rss_kib / 1024.0);
	}
}

static void
fleet_report(struct fleet_ctx *x, struct fleet_run *r)
{
	const struct fleet_sample *w0 = &r->w0, *w1 = &r->w1;
	double ww = fleet_secs(w0, w1);
	char mach[256];

	proc_machine(mach, sizeof(mach));
	printf("\nvtoken-fleet: %u VMs, %s%s, %s; interval %.3g s (%.1f "
	    "auth/s expected), %s %u s\n", x->o.n, x->o.nodes > 1 ?
	    "2 nodes, " : "", x->o.store ? "PostgreSQL" : "SQLite", mach,
	    x->o.interval, x->o.n / x->o.interval,
	    x->o.storm ? "storm spread" : "window", x->o.storm ? x->o.storm_s
	    : x->o.window);
	printf("setup %.1f s (tokens, VMs, assignments, keys); imports "
	    "%.1f s\n\n", r->t_setup, r->t_import);
	printf("| metric | %s | baseline | target |\n|---|---:|---:|---|\n",
	    x->o.storm ? "storm" : "fleet window");
	fleet_report_nodes(x, r);
	printf("| authentications | %.1f /s | %.1f /s expected | |\n",
	    (double)(w1->auths - w0->auths) / ww, x->o.n / x->o.interval);
	if (!x->o.storm)
		printf("| verify (challenge+verify) p50 / p99 / max | "
		    "%.2f / %.2f / %.2f ms (%llu) | | p99 < 20 ms |\n",
		    fleet_q(&x->h_verify, .5), fleet_q(&x->h_verify, .99),
		    fleet_ms(x->h_verify.max),
		    (unsigned long long)x->h_verify.count);
	printf("| first verify p50 / p99 / max | %.2f / %.2f / %.2f ms "
	    "(%llu) | | |\n", fleet_q(&x->h_first, .5),
	    fleet_q(&x->h_first, .99), fleet_ms(x->h_first.max),
	    (unsigned long long)x->h_first.count);
	if (x->o.storm)
		printf("| boot: scheduled start to first verify p50 / p99 / "
		    "max | %.2f / %.2f / %.2f ms | | |\n",
		    fleet_q(&x->h_boot, .5), fleet_q(&x->h_boot, .99),
		    fleet_ms(x->h_boot.max));
	printf("| import (connect + OP_REQ_IMPORT) p50 / p99 / max | "
	    "%.2f / %.2f / %.2f ms (%llu) | | |\n", fleet_q(&x->h_import, .5),
	    fleet_q(&x->h_import, .99), fleet_ms(x->h_import.max),
	    (unsigned long long)x->h_import.count);
	printf("| operator REST reads (new connection each) p50 / p99 / "
	    "max | %.2f / %.2f / %.2f ms (%llu) | | |\n",
	    fleet_q(&x->h_oper, .5), fleet_q(&x->h_oper, .99),
	    fleet_ms(x->h_oper.max), (unsigned long long)x->h_oper.count);
	printf("| new agent HTTPS connections | %lu (%lu before) | | |\n",
	    w1->conns - w0->conns, w0->conns);
	printf("| USB/IP 4 KiB reads | %lu | | |\n", atomic_load(&x->reads));
	printf("| errors | %lu (window: %lu) | | 0 |\n", fleet_errors(x),
	    w1->errors - w0->errors);
	printf("| bare 4 KiB write+fsync p50 / p99 | | %.3f / %.3f ms | |\n",
	    fleet_q(&r->fsync, .5), fleet_q(&r->fsync, .99));
	for (int m = 0; m < 3; m++)
		printf("| bare GET /healthz, %s: p50 / p99, server CPU | | "
		    "%.2f / %.2f ms, %.0f µs | |\n", m == 0 ? "full handshake"
		    : m == 1 ? "resumed session" : "kept-alive",
		    fleet_q(&r->tls[m].lat, .5), fleet_q(&r->tls[m].lat, .99),
		    r->tls[m].cpu_per * 1e6);
	fflush(stdout);
}

static void
fleet_phase(const char *what)
{
	fprintf(stderr, "vtoken-fleet: %s\n", what);
}

static int
fleet_steady(struct fleet_ctx *x, struct fleet_run *r,
    struct fleet_agents *a)
{
	uint64_t t0 = load_now_ns();

	fleet_phase("imports");
	if (fleet_usbip_start(x, t0) < 0)
		return -1;
	/* 60 s + 20 ms per import is far beyond any seen. */
	if (fleet_usbip_imports(x, t0 + (60 + x->o.n / 50) * FLEET_NS) < 0)
		load_error("%lu of %u imports succeeded",
		    atomic_load(&x->imports), x->o.n);
	r->t_import = (double)(load_now_ns() - t0) / 1e9;
	if (fleet_operator_start(x) < 0)
		return -1;
	fleet_phase("agents: warm-up of one interval");
	t0 = load_now_ns();
	fleet_agents_spread(a, t0);
	fleet_agents_run(a, t0 + (uint64_t)(x->o.interval * FLEET_NS) +
	    FLEET_NS, false);
	fleet_phase("agents: window");
	x->in_window = true;
	fleet_sample(x, &r->w0);
	fleet_agents_run(a, r->w0.t + (uint64_t)x->o.window * FLEET_NS,
	    false);
	fleet_sample(x, &r->w1);
	x->in_window = false;
	fleet_operator_stop(x);
	fleet_usbip_stop(x);
	return 0;
}

static int
fleet_storm(struct fleet_ctx *x, struct fleet_run *r, struct fleet_agents *a)
{
	uint64_t t0 = load_now_ns() + FLEET_NS / 10;
	uint64_t until = t0 + ((uint64_t)x->o.storm_s + 60) * FLEET_NS;

	fleet_phase("storm");
	x->in_window = true;
	fleet_sample(x, &r->w0);
	if (fleet_usbip_start(x, t0) < 0 || fleet_operator_start(x) < 0)
		return -1;
	fleet_agents_run(a, until, true);
	if (fleet_usbip_imports(x, until) < 0)
		load_error("%lu of %u imports succeeded",
		    atomic_load(&x->imports), x->o.n);
	r->t_import = (double)(load_now_ns() - t0) / 1e9;
	fleet_sample(x, &r->w1);
	x->in_window = false;
	fleet_operator_stop(x);
	fleet_usbip_stop(x);
	if (x->h_first.count < x->o.n)
		load_error("%llu of %u VMs had a first verify",
		    (unsigned long long)x->h_first.count, x->o.n);
	return 0;
}

unsigned long
fleet_errors(struct fleet_ctx *x)
{
	return load_errors() + atomic_load(&x->usbip_errors);
}

/* Memory both processes see (the USB/IP process is forked later). */
static void *
fleet_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static struct fleet_ctx *
fleet_ctx_new(int argc, char **argv)
{
	struct fleet_ctx *x = fleet_shared(sizeof(*x));
	pthread_mutexattr_t ma;

	if (x == NULL)
		return NULL;
	fleet_opts(argc, argv, &x->o);
	if ((x->vm = fleet_shared(x->o.n * sizeof(*x->vm))) == NULL) {
		munmap(x, sizeof(*x));
		return NULL;
	}
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&x->mtx, &ma);
	pthread_mutexattr_destroy(&ma);
	for (unsigned i = 0; i < x->o.n; i++)
		x->vm[i].uc.fd = -1;
	return x;
}

static void
fleet_ctx_free(struct fleet_ctx *x)
{
	for (unsigned i = 0; i < x->o.n; i++)
		EVP_PKEY_free(x->vm[i].key);
	munmap(x->vm, x->o.n * sizeof(*x->vm));
	munmap(x, sizeof(*x));
}

int
main(int argc, char **argv)
{
	static struct fleet_run r;
	struct fleet_agents *a = NULL;
	struct fleet_ctx *x;
	uint64_t t0;
	int rc = 1;

	if ((x = fleet_ctx_new(argc, argv)) == NULL) {
		fprintf(stderr, "vtoken-fleet: out of memory\n");
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    fleet_rlimit(x->o.n, x->o.nodes) < 0 || fleet_start_daemons(x) < 0)
		goto out;
	fleet_phase("setup");
	t0 = load_now_ns();
	if (fleet_populate(x) < 0)
		goto out;
	r.t_setup = (double)(load_now_ns() - t0) / 1e9;
	fleet_phase("baselines");
	fleet_sample(x, &r.setup);
	fleet_fsync_baseline(x, FLEET_BASE_ROUNDS, &r.fsync);
	fleet_tls_baseline(x, FLEET_BASE_ROUNDS, r.tls);
	fleet_sample(x, &r.idle0);
	sleep(x->o.storm ? 10 : x->o.window);
	fleet_sample(x, &r.idle1);
	if ((a = fleet_agents_new(x)) == NULL)
		goto out;
	if ((x->o.storm ? fleet_storm(x, &r, a) : fleet_steady(x, &r,
	    a)) < 0)
		goto out;
	fleet_report(x, &r);
	for (unsigned k = 0; k < x->o.nodes; k++)
		if (kill(x->d[k].pid, 0) != 0)
			load_error("vtokend died; see %s", x->d[k].log);
	if (x->auths == 0)
		load_error("no authentication succeeded");
	rc = fleet_errors(x) == 0 ? 0 : 1;
out:
	fleet_operator_stop(x);
	fleet_usbip_stop(x);
	fleet_agents_free(a);
	for (unsigned k = x->o.nodes; k-- > 0;)
		vtd_cleanup(&x->d[k]);
	curl_global_cleanup();
	printf("vtoken-fleet: %s (%lu errors)\n", rc == 0 ? "PASS" : "FAIL",
	    fleet_errors(x));
	fleet_ctx_free(x);
	return rc;
}
