/*
 * vtoken-load: a bounded load test of a real vtokend (see load.h).
 *
 * Phases: raise RLIMIT_NOFILE; start the daemon; create the tokens, VMs
 * and assignments; note the daemon's RSS and descriptors; attach one
 * session per token; run sessions, DEVLIST churn and REST traffic for -t
 * seconds; stop; close every session; wait until the daemon has let go of
 * them; note RSS and descriptors again; stop the daemon (it must exit 0,
 * which under ASan includes LeakSanitizer's verdict).  The report is
 * Markdown on stdout for docs/PERFORMANCE.md; any error exits 1.
 *
 * usage: vtoken-load [-t SECONDS] [-n SESSIONS] [-g PER_VM] [-w THREADS]
 *                    [-k VERIFIED]
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/vt_wait.h"
#include "load.h"

#define LOAD_DRAIN_MS		30000	/* all sessions gone from the daemon */
#define LOAD_FD_WAIT_MS		5000	/* then descriptors back to baseline */
#define LOAD_SETTLE_MS		2000	/* baseline: two equal readings */
#define LOAD_RSS_SLACK_KIB	(10 * 1024)
#define LOAD_RSS_SLACK_PCT	20
#define LOAD_RSS_WAIT_MS	5000	/* then RSS back within the slack */
/* Fewest commands of one session, relative to the mean: starvation. */
#define LOAD_FAIR_DIVISOR	10

#if defined(__SANITIZE_ADDRESS__)
#define LOAD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOAD_ASAN 1
#endif
#endif
#ifndef LOAD_ASAN
#define LOAD_ASAN 0
#endif

struct load_run {
	char machine[256];
	char note[256];
	double t_setup, t_attach, t_load, t_drain, t_fds, t_rss;
	long rss_start, rss_peak, rss_end;	/* KiB */
	int fd_base, fd_peak, fd_end;
	unsigned long log_errors, log_warnings;
	unsigned long log_errors0, log_warnings0;	/* at startup */
	int exit_status;
	bool rss_ok, fds_ok, fair_ok, exit_ok;
};

static void
usage(void)
{
	fprintf(stderr, "usage: vtoken-load [-t SECONDS] [-n SESSIONS] "
	    "[-g PER_VM] [-w THREADS] [-k VERIFIED]\n"
	    "  -t  load phase in seconds (default 60, 1..3600)\n"
	    "  -n  tokens = concurrent sessions (default 1000)\n"
	    "  -g  tokens per VM, a power of two up to 16 (default 4)\n"
	    "  -w  session engine threads (default 2)\n"
	    "  -k  tokens whose whole image is verified (default 8)\n");
}

static bool
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return false;
	*out = (unsigned)v;
	return true;
}

static int
parse_opts(int argc, char **argv, struct load_opts *o)
{
	int ch;
	bool ok = true;

	o->seconds = 60;
	o->sessions = 1000;
	o->per_vm = 4;
	o->threads = 2;
	o->verify = 8;
	while ((ch = getopt(argc, argv, "t:n:g:w:k:")) != -1) {
		switch (ch) {
		case 't':
			ok &= parse_uint(optarg, 1, 3600, &o->seconds);
			break;
		case 'n':
			ok &= parse_uint(optarg, 1, LOAD_MAX_SESSIONS,
			    &o->sessions);
			break;
		case 'g':
			ok &= parse_uint(optarg, 1, LOAD_MAX_PER_VM,
			    &o->per_vm) && (o->per_vm & (o->per_vm - 1)) == 0;
			break;
		case 'w':
			ok &= parse_uint(optarg, 1, LOAD_MAX_THREADS,
			    &o->threads);
			break;
		case 'k':
			ok &= parse_uint(optarg, 0, 64, &o->verify);
			break;
		default:
			return -1;
		}
	}
	return ok && optind == argc ? 0 : -1;
}

static double
secs_since(uint64_t t0)
{
	return (double)(load_now_ns() - t0) / 1e9;
}

/* Descriptor count once two readings 100 ms apart agree. */
static int
settled_fds(int pid)
{
	int prev = proc_fd_count(pid), cur = prev;

	for (unsigned t = 0; t < LOAD_SETTLE_MS; t += 100) {
		vt_sleep_ms(100);
		cur = proc_fd_count(pid);
		if (cur == prev)
			break;
		prev = cur;
	}
	return cur;
}

/* True while the daemon runs (not gone, not a zombie). */
static bool
daemon_alive(int pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}

/* Samples RSS and descriptors once a second for the load phase. */
static void
run_load_phase(struct load_ctx *x, struct load_run *run)
{
	uint64_t t0 = load_now_ns(), end = t0 +
	    (uint64_t)x->o.seconds * 1000000000u;
	long rss;
	int fds;

	for (unsigned i = 0; i <= x->o.seconds + 1; i++) {
		uint64_t now = load_now_ns();

		if (now >= end)
			break;
		vt_sleep_ms(end - now > 1000000000u ? 1000 :
		    (unsigned)((end - now) / 1000000u) + 1);
		if (!daemon_alive(x->d.pid)) {
			load_error("vtokend died during the load; see %s",
			    x->d.log);
			break;
		}
		if ((rss = proc_rss_kib(x->d.pid)) > run->rss_peak)
			run->rss_peak = rss;
		if ((fds = proc_fd_count(x->d.pid)) > run->fd_peak)
			run->fd_peak = fds;
	}
	run->t_load = secs_since(t0);
}

/* Waits until the daemon reports no USB/IP connection at all. */
static int
wait_drained(struct load_ctx *x)
{
	struct vt_http_resp r;
	char url[512];
	long long n = 1;

	vt_api_url(&x->d, "/metrics", url, sizeof(url));
	for (unsigned t = 0; t < LOAD_DRAIN_MS; t += 50) {
		if (vt_http("GET", url, vt_admin_key(&x->d), NULL, &r) == 0 &&
		    r.status == 200)
			n = vt_metric(r.body, "vtoken_usbip_connections");
		vt_http_resp_free(&r);
		if (n == 0)
			return 0;
		vt_sleep_ms(50);
	}
	load_error("%lld USB/IP connection(s) still open %d s after the "
	    "clients closed", n, LOAD_DRAIN_MS / 1000);
	return -1;
}

/*
 * After the drain, every descriptor a session, DEVLIST or REST connection
 * used must be gone.  No tolerance: the baseline is taken after setup
 * with the same long-lived descriptors (listeners, SQLite, log, epoll),
 * and nothing in the load adds a long-lived one.
 */
static void
wait_fds(struct load_ctx *x, struct load_run *run)
{
	uint64_t t0 = load_now_ns();

	for (unsigned t = 0; t <= LOAD_FD_WAIT_MS; t += 50) {
		run->fd_end = proc_fd_count(x->d.pid);
		if (run->fd_end == run->fd_base)
			break;
		vt_sleep_ms(50);
	}
	run->t_fds = secs_since(t0);
	run->fds_ok = run->fd_end == run->fd_base;
	if (!run->fds_ok)
		load_error("vtokend holds %d descriptors, %d before the load "
		    "(after %d ms)", run->fd_end, run->fd_base,
		    LOAD_FD_WAIT_MS);
}

/*
 * RSS after the run may exceed RSS after setup by max(10 MiB, 20%), and
 * must get there within LOAD_RSS_WAIT_MS of the drain (vtokend returns
 * freed heap a second after a burst of sessions has ended; see
 * usbip_server_conns_changed).  The slack is for what legitimately stays:
 * SQLite's page cache (up to 2 MiB) and WAL index grown by the run's
 * thousands of audit and session rows, free heap the allocator keeps in
 * tcache and partly used pages, and libevent's grown epoll event array.
 * Those are a few MiB (measured: under 1 MiB).  At the defaults the run
 * makes about 2 * 10^6 commands, 4,000 DEVLISTs and 130 token lives, so
 * the check catches a leak of 8 bytes per command, 3 KiB per DEVLIST or
 * 80 KiB per token life; 10 KiB per session is at its edge, which
 * LeakSanitizer covers in the ASan run.  10 MiB covers a small daemon,
 * 20% a large one.  Under ASan the quarantine keeps up to 256 MiB of
 * freed memory on purpose, so there the RSS figures are only reported
 * and LeakSanitizer at the daemon's exit is the leak check.
 */
static void
wait_rss(struct load_ctx *x, struct load_run *run)
{
	long slack = run->rss_start * LOAD_RSS_SLACK_PCT / 100;
	uint64_t t0 = load_now_ns();

	if (slack < LOAD_RSS_SLACK_KIB)
		slack = LOAD_RSS_SLACK_KIB;
	for (unsigned t = 0; t <= LOAD_RSS_WAIT_MS; t += 100) {
		run->rss_end = proc_rss_kib(x->d.pid);
		run->rss_ok = run->rss_end >= 0 && run->rss_start >= 0 &&
		    run->rss_end <= run->rss_start + slack;
		if (run->rss_ok || LOAD_ASAN)
			break;
		vt_sleep_ms(100);
	}
	run->t_rss = secs_since(t0);
	if (!run->rss_ok && !LOAD_ASAN)
		load_error("vtokend RSS %ld KiB after the run, %ld KiB before "
		    "(allowed: +%ld KiB)", run->rss_end, run->rss_start, slack);
}

/*
 * With one command in flight per session and FIFO event queues on both
 * sides, sessions progress at about the same rate; one that finished
 * under a tenth of the mean was starved.
 */
static void
check_fair(struct load_ctx *x, struct load_run *run)
{
	double mean = x->o.sessions ? (double)x->cmds / x->o.sessions : 0;

	run->fair_ok = x->min_cmds > 0 &&
	    (double)x->min_cmds * LOAD_FAIR_DIVISOR >= mean;
	if (!run->fair_ok)
		load_error("unfair: a session completed %llu commands, the "
		    "mean is %.0f", (unsigned long long)x->min_cmds, mean);
}

/*
 * Nothing in the load may make the daemon log an error or a warning
 * (a bad-input close, a refused connection, a store failure); lines from
 * its startup (the admin key notice) do not count.
 */
static void
check_log(struct load_ctx *x, struct load_run *run)
{
	char line[512];

	run->log_errors = (unsigned long)vtd_log_count(&x->d, "]: error: ") -
	    run->log_errors0;
	run->log_warnings = (unsigned long)vtd_log_count(&x->d, "]: warn: ") -
	    run->log_warnings0;
	if (run->log_errors > 0 && vtd_log_last(&x->d, "]: error: ", line,
	    sizeof(line)))
		load_error("vtokend logged %lu error(s), last: %s",
		    run->log_errors, line);
	if (run->log_warnings > 0 && vtd_log_last(&x->d, "]: warn: ", line,
	    sizeof(line)))
		load_error("vtokend logged %lu warning(s), last: %s",
		    run->log_warnings, line);
}

static int
start_threads(struct load_ctx *x, struct load_engine **eng, pthread_t *et,
    pthread_barrier_t *go)
{
	for (unsigned i = 0; i < x->o.threads; i++) {
		eng[i] = load_engine_new(x, i, x->o.threads, go);
		if (eng[i] == NULL || pthread_create(&et[i], NULL,
		    load_engine_run, eng[i]) != 0) {
			fprintf(stderr, "vtoken-load: engine %u: cannot "
			    "start\n", i);
			return -1;	/* the barrier never opens: exit */
		}
	}
	return 0;
}

/* Attach, load, stop, close: the measured part. */
static int
run(struct load_ctx *x, struct load_run *r)
{
	struct load_engine *eng[LOAD_MAX_THREADS] = { NULL };
	pthread_t et[LOAD_MAX_THREADS], dt, rt;
	pthread_barrier_t go;
	uint64_t t0 = load_now_ns();

	pthread_barrier_init(&go, NULL, x->o.threads + 1);
	if (start_threads(x, eng, et, &go) < 0)
		return -1;
	pthread_barrier_wait(&go);
	r->t_attach = secs_since(t0);
	if (pthread_create(&dt, NULL, load_devlist_run, x) != 0 ||
	    pthread_create(&rt, NULL, load_rest_run, x) != 0)
		return -1;
	run_load_phase(x, r);
	atomic_store(&x->stop_side, true);
	pthread_join(dt, NULL);
	pthread_join(rt, NULL);
	atomic_store(&x->stop, true);
	x->min_cmds = UINT64_MAX;
	for (unsigned i = 0; i < x->o.threads; i++) {
		pthread_join(et[i], NULL);
		load_engine_merge(eng[i], x);
	}
	t0 = load_now_ns();
	for (unsigned i = 0; i < x->o.threads; i++)
		load_engine_free(eng[i]);
	pthread_barrier_destroy(&go);
	(void)wait_drained(x);
	r->t_drain = secs_since(t0);
	wait_fds(x, r);
	wait_rss(x, r);
	return 0;
}

static void
fmt_ms(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
}

static void
report_rest(const struct load_ctx *x, double secs)
{
	char p50[32], p99[32], mx[32];

	printf("\n| REST request | count | per second | p50 | p99 | max |\n"
	    "|---|---:|---:|---:|---:|---:|\n");
	for (int k = 0; k < REST_NKINDS; k++) {
		const struct load_rest_kind *rk = &x->rest[k];

		fmt_ms(p50, sizeof(p50), hist_quantile(&rk->lat, 0.5));
		fmt_ms(p99, sizeof(p99), hist_quantile(&rk->lat, 0.99));
		fmt_ms(mx, sizeof(mx), rk->lat.max);
		printf("| %s | %lu | %.1f | %s | %s | %s |\n", rk->name,
		    atomic_load(&rk->n), (double)atomic_load(&rk->n) / secs,
		    p50, p99, mx);
	}
}

static void
report_daemon(const struct load_run *r)
{
	printf("\n| vtokend | RSS | open fds |\n|---|---:|---:|\n");
	printf("| start (after setup, before sessions) | %.1f MiB | %d |\n",
	    r->rss_start / 1024.0, r->fd_base);
	printf("| during (peak of 1 s samples) | %.1f MiB | %d |\n",
	    r->rss_peak / 1024.0, r->fd_peak);
	printf("| end (all sessions closed) | %.1f MiB | %d |\n",
	    r->rss_end / 1024.0, r->fd_end);
}

static void
report(const struct load_ctx *x, const struct load_run *r)
{
	const struct load_opts *o = &x->o;
	double s = r->t_load > 0 ? r->t_load : 1;
	char p50[32], p99[32], mx[32];

	printf("### vtoken-load: %u sessions for %u s%s\n\n", o->sessions,
	    o->seconds, LOAD_ASAN ? " (ASan/UBSan build)" : "");
	printf("Machine: %s\n\n", r->machine);
	if (r->note[0] != '\0')
		printf("**Note:** %s\n\n", r->note);
	printf("Setup: %u tokens of 1 MiB, %u VMs (%u tokens and a /%d of "
	    "127.1.0.0/16 each), every token assigned: %.1f s; %u sessions "
	    "attached (import, enumerate, READ CAPACITY) in %.1f s; %u "
	    "engine threads, whole-image check on %u tokens.\n\n",
	    o->sessions, x->nvm, o->per_vm, 32 - __builtin_ctz(o->per_vm),
	    r->t_setup, o->sessions, r->t_attach, o->threads, o->verify);
	printf("| measure | value |\n|---|---:|\n");
	printf("| errors | %lu |\n", load_errors());
	printf("| concurrent sessions | %u |\n", o->sessions);
	printf("| load phase | %.1f s |\n", r->t_load);
	printf("| READ(10) commands/s (1, 8 or 64 sectors) | %.0f |\n",
	    (double)x->cmds / s);
	printf("| URBs/s | %.0f |\n", (double)x->urbs / s);
	printf("| data read | %.1f MiB/s |\n", (double)x->bytes / s / 1048576);
	fmt_ms(p50, sizeof(p50), hist_quantile(&x->urb_lat, 0.5));
	fmt_ms(p99, sizeof(p99), hist_quantile(&x->urb_lat, 0.99));
	fmt_ms(mx, sizeof(mx), x->urb_lat.max);
	printf("| URB latency p50 / p99 / max | %s / %s / %s |\n", p50, p99,
	    mx);
	fmt_ms(p50, sizeof(p50), hist_quantile(&x->cmd_lat, 0.5));
	fmt_ms(p99, sizeof(p99), hist_quantile(&x->cmd_lat, 0.99));
	fmt_ms(mx, sizeof(mx), x->cmd_lat.max);
	printf("| command latency (CBW to CSW) p50 / p99 / max | %s / %s / "
	    "%s |\n", p50, p99, mx);
	printf("| commands per session min / mean / max | %llu / %.0f / "
	    "%llu |\n", (unsigned long long)x->min_cmds,
	    (double)x->cmds / (o->sessions ? o->sessions : 1),
	    (unsigned long long)x->max_cmds);
	printf("| DEVLIST connections/s | %.1f |\n",
	    (double)atomic_load(&x->devlists) / s);
	printf("| extra-token imports (then revoked) | %lu |\n",
	    atomic_load(&x->extra_imports));
	printf("| drain after close | %.2f s |\n", r->t_drain);
	printf("\nEach session keeps one URB in flight, as usb-storage does "
	    "(CBW, data, CSW, each after the previous reply); URB latency runs "
	    "from CMD_SUBMIT sent to RET_SUBMIT (with its data) received.\n");
	report_rest(x, s);
	report_daemon(r);
	printf("\nChecks: fds back to baseline within %d s: %s (%.2f s); RSS "
	    "end <= start + max(10 MiB, 20%%) within %d s: %s (%.2f s); "
	    "slowest session >= mean/%d: %s; daemon log errors/warnings: "
	    "%lu/%lu; daemon exit status: %d (%s).\n",
	    LOAD_FD_WAIT_MS / 1000, r->fds_ok ? "pass" : "FAIL", r->t_fds,
	    LOAD_RSS_WAIT_MS / 1000, r->rss_ok ? "pass" : LOAD_ASAN ?
	    "exceeded, not enforced under ASan" : "FAIL", r->t_rss,
	    LOAD_FAIR_DIVISOR, r->fair_ok ? "pass" : "FAIL", r->log_errors,
	    r->log_warnings, r->exit_status, r->exit_ok ? "pass" : "FAIL");
}

/* On failure: the end of the daemon's log, before it is removed. */
static void
log_tail(const struct load_ctx *x, unsigned nlines)
{
	size_t len = 0;
	char *text = (char *)vtd_read_file(x->d.log, &len), *p;
	unsigned n = 0;

	if (text == NULL)
		return;
	for (p = text + len; p > text; p--)
		if (p[-1] == '\n' && ++n > nlines)
			break;
	fprintf(stderr, "vtoken-load: last lines of %s:\n%s", x->d.log, p);
	free(text);
}

static void
ctx_init(struct load_ctx *x)
{
	static const char *const names[REST_NKINDS] = {
		"GET /v1/tokens", "GET /v1/sessions", "GET /metrics",
		"POST /v1/tokens", "POST /v1/assignments",
		"DELETE /v1/assignments/ID", "DELETE /v1/tokens/ID",
	};

	for (int k = 0; k < REST_NKINDS; k++)
		x->rest[k].name = names[k];
}

static void
ctx_free(struct load_ctx *x)
{
	for (unsigned i = 0; x->tok != NULL && i < x->o.sessions; i++)
		free(x->tok[i].image);
	free(x->tok);
	free(x->vm);
}

int
main(int argc, char **argv)
{
	static struct load_ctx x;	/* histograms: keep off the stack */
	struct load_run r;
	uint64_t t0;

	memset(&r, 0, sizeof(r));
	ctx_init(&x);
	if (parse_opts(argc, argv, &x.o) < 0) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	proc_machine(r.machine, sizeof(r.machine));
	if (load_rlimit(&x.o, r.note, sizeof(r.note)) < 0 ||
	    load_start_daemon(&x) < 0)
		return 1;
	r.log_errors0 = (unsigned long)vtd_log_count(&x.d, "]: error: ");
	r.log_warnings0 = (unsigned long)vtd_log_count(&x.d, "]: warn: ");
	t0 = load_now_ns();
	if (load_populate(&x) < 0) {
		fprintf(stderr, "vtoken-load: setup failed; see %s\n", x.d.log);
		return 1;
	}
	r.t_setup = secs_since(t0);
	r.fd_base = r.fd_peak = settled_fds(x.d.pid);
	r.rss_start = r.rss_peak = proc_rss_kib(x.d.pid);
	fprintf(stderr, "vtoken-load: setup done in %.1f s; load for %u s\n",
	    r.t_setup, x.o.seconds);
	if (run(&x, &r) < 0)
		return 1;
	check_fair(&x, &r);
	r.exit_status = vtd_stop(&x.d);
	r.exit_ok = r.exit_status == 0;
	if (!r.exit_ok)
		load_error("vtokend exited with status %d; see %s",
		    r.exit_status, x.d.log);
	check_log(&x, &r);
	report(&x, &r);
	fflush(stdout);
	if (load_errors() == 0)
		vtd_cleanup(&x.d);
	else {
		fprintf(stderr, "vtoken-load: %lu error(s)\n", load_errors());
		log_tail(&x, 30);
	}
	ctx_free(&x);
	curl_global_cleanup();
	return load_errors() == 0 ? 0 : 1;
}
