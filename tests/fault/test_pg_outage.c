/*
 * test_pg_outage: the PostgreSQL server goes away under a running
 * cluster.  The test starts a server of its own (tests/lib/pg_fixture.sh
 * in VT_PG_DIR), since it restarts and stops it; nodes A and B share a
 * fresh database of it (docs/CLUSTER.md, "Failure modes").
 *
 *  - restart: while a session on A reads without pause, the server is
 *    restarted.  Every read succeeds; an assignment made through B as
 *    soon as B can write reaches A (A's feed reconnected and caught up)
 *    and a new import through A works again, both within RECOVER_MS.
 *  - stopped: a reader's latency is measured undisturbed, then with the
 *    server stopped for OUTAGE_MS: the p99 may not exceed twice the
 *    undisturbed one plus P99_SLACK_MS (at p99s of 0.03 ms, tens of
 *    microseconds are the noise of a shared 2-CPU machine; a read that
 *    waited for the database would take milliseconds).  Meanwhile the API answers 503 store_unavailable,
 *    /healthz says degraded, an import is refused with a log line saying
 *    why, a flush fails to the guest as a write error, and a session
 *    that ends leaves its claim to be released later.  After the server
 *    is back: the acknowledged write reads back from the store, the write
 *    that failed is stored by the next flush, the token whose session
 *    ended can be imported through B, and the audit chain verifies.
 *  - stuck: every server process stopped (SIGSTOP): nothing fails, the
 *    store waits; /healthz says degraded ("has not answered") and ok
 *    again after SIGCONT, and a session reads throughout;
 *  - concurrent start: two nodes started at the same moment on an empty
 *    database both come up, and each migration ran once.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotime.h"

#include "../lib/control_fixture.h"
#include "../lib/store_fixture.h"
#include "../lib/vt_wait.h"
#include "fault_util.h"

#define VM_ADDR		"127.0.0.9"
#define RECOVER_MS	15000	/* store back-off tops out at 10 s */
#define AUDIT_KEY	"00112233445566778899aabbccddeeff" \
			"00112233445566778899aabbccddeeff"
#define OUTAGE_MS	10000
#define BASELINE_MS	4000
#define P99_SLACK_MS	0.5	/* see the head comment */
#define READ_BLOCKS	64	/* 32 KiB per READ(10) */
#define MAX_SAMPLES	2000000

static struct vtd node[2];	/* A, B */

static int
pg_fixture(const char *cmd)
{
	return fu_sh("sh '%s/tests/lib/pg_fixture.sh' %s '%s'", VT_SOURCE_DIR,
	    cmd, getenv("VT_PG_DIR"));
}

static void
pg(const char *cmd)
{
	ck_assert_msg(pg_fixture(cmd) == 0, "pg_fixture %s", cmd);
}

/* A session that reads the token's first blocks over and over. */
struct reader {
	pthread_t th;
	struct usbip_client *c;
	atomic_bool stop;
	double *ms;		/* latency of each read */
	size_t n;
	unsigned errors;
};

static void *
reader_run(void *arg)
{
	struct reader *r = arg;
	static uint8_t buf[READ_BLOCKS * 512];

	while (!atomic_load(&r->stop) && r->n < MAX_SAMPLES) {
		double t0 = monotime_sec();

		if (usbip_client_read10(r->c, 0, READ_BLOCKS, buf) != 0) {
			r->errors++;
			break;
		}
		r->ms[r->n++] = (monotime_sec() - t0) * 1000.0;
	}
	return NULL;
}

static void
reader_start(struct reader *r, struct usbip_client *c)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->ms = malloc(MAX_SAMPLES * sizeof(*r->ms));
	ck_assert_ptr_nonnull(r->ms);
	ck_assert_int_eq(pthread_create(&r->th, NULL, reader_run, r), 0);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Stops the reader; its p99 in ms.  Every read must have succeeded. */
static double
reader_stop(struct reader *r, const char *phase)
{
	double p99;

	atomic_store(&r->stop, true);
	pthread_join(r->th, NULL);
	ck_assert_msg(r->errors == 0, "%s: a read failed", phase);
	ck_assert_msg(r->n >= 100, "%s: only %zu reads", phase, r->n);
	qsort(r->ms, r->n, sizeof(*r->ms), dbl_cmp);
	p99 = r->ms[r->n * 99 / 100];
	fprintf(stderr, "pg_outage: %s: %zu reads of %d KiB, p50 %.3f ms, "
	    "p99 %.3f ms, max %.3f ms\n", phase, r->n, READ_BLOCKS / 2,
	    r->ms[r->n / 2], p99, r->ms[r->n - 1]);
	free(r->ms);
	return p99;
}

/* An attached session of t on d (imported and enumerated). */
static void
attach(struct vtd *d, const struct fx_token *t, struct usbip_client *c)
{
	ck_assert_uint_eq(fx_import(d, VM_ADDR, t->busid, c), 0);
	ck_assert_int_eq(usbip_client_enumerate(c), 0);
}

/* Imports t through d, retrying until RECOVER_MS; the time it took. */
static int64_t
attach_eventually(struct vtd *d, const struct fx_token *t,
    struct usbip_client *c)
{
	int64_t t0 = monotime_ms();

	while (fx_import(d, VM_ADDR, t->busid, c) != 0) {
		ck_assert_msg(monotime_ms() - t0 < RECOVER_MS, "%s: import of "
		    "%s still refused after %d ms", d->log, t->busid,
		    RECOVER_MS);
		vt_sleep_ms(100);
	}
	ck_assert_int_eq(usbip_client_enumerate(c), 0);
	return monotime_ms() - t0;
}

/* POST body to path on d until it is not 503; the final status. */
static long
api_eventually(struct vtd *d, const char *path, const char *body)
{
	int64_t t0 = monotime_ms();
	struct vt_http_resp r;
	long st;

	for (;;) {
		ck_assert_int_eq(vt_api(d, "POST", path, body, &r), 0);
		st = r.status;
		vt_http_resp_free(&r);
		if (st != 503)
			return st;
		ck_assert_msg(monotime_ms() - t0 < RECOVER_MS, "%s: still 503 "
		    "after %d ms", path, RECOVER_MS);
		vt_sleep_ms(100);
	}
}

/* Checked setup: a test that failed mid-outage left the server down. */
static void
pg_up(void)
{
	(void)fu_sh("pid=$(head -n 1 '%s/data/postmaster.pid' 2>/dev/null) "
	    "&& { pkill -CONT -P \"$pid\"; kill -CONT \"$pid\"; }; true",
	    getenv("VT_PG_DIR"));
	pg("ensure");
}

static void
cluster_up(struct fx_token *t, size_t n, const bool *writable)
{
	char name[32];

	fx_node_start(&node[0], "a", NULL);
	fx_node_start(&node[1], "b", &node[0]);
	fx_vm(&node[0], "vm", VM_ADDR);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "t%zu", i);
		fx_token(&node[0], name, writable[i], &t[i]);
	}
}

START_TEST(restart)
{
	static const bool writable[3] = { false, false, false };
	struct fx_token t[3];
	struct usbip_client c, c2;
	struct reader rd;
	char body[128], busids[4][32];
	int64_t t0;

	cluster_up(t, 3, writable);
	fx_assign(&node[0], t[0].id, "vm");
	fx_assign(&node[0], t[1].id, "vm");
	attach(&node[0], &t[0], &c);
	reader_start(&rd, &c);
	vt_sleep_ms(300);
	pg("restart");
	t0 = monotime_ms();
	/* A change through B while A may not have its feed back yet. */
	snprintf(body, sizeof(body), "{\"token\": \"%s\", \"vm\": \"vm\"}",
	    t[2].id);
	ck_assert_int_eq(api_eventually(&node[1], "/v1/assignments", body),
	    201);
	fprintf(stderr, "pg_outage: B wrote again %lld ms after the "
	    "restart\n", (long long)(monotime_ms() - t0));
	while (fx_devlist(&node[0], VM_ADDR, busids, 4) != 3) {
		ck_assert_msg(monotime_ms() - t0 < RECOVER_MS, "A never saw "
		    "the assignment made through B");
		vt_sleep_ms(50);
	}
	fprintf(stderr, "pg_outage: A saw B's change %lld ms after the "
	    "restart\n", (long long)(monotime_ms() - t0));
	fprintf(stderr, "pg_outage: new import through A after %lld ms\n",
	    (long long)attach_eventually(&node[0], &t[1], &c2));
	(void)reader_stop(&rd, "reading through the restart");
	usbip_client_close(&c2);
	usbip_client_close(&c);
	fx_stop(&node[1]);
	fx_stop(&node[0]);
}
END_TEST

/* Writes one block of 0xNN at lba and flushes; the flush's result. */
static int
write_flush(struct usbip_client *c, uint32_t lba, uint8_t fill)
{
	uint8_t blk[512];

	memset(blk, fill, sizeof(blk));
	ck_assert_int_eq(usbip_client_write10(c, lba, 1, blk), 0);
	return usbip_client_sync_cache(c);
}

static void
expect_block(struct usbip_client *c, uint32_t lba, uint8_t fill)
{
	uint8_t blk[512];

	ck_assert_int_eq(usbip_client_read10(c, lba, 1, blk), 0);
	for (size_t i = 0; i < sizeof(blk); i++)
		ck_assert_msg(blk[i] == fill, "block %u byte %zu: %02x, not "
		    "%02x", lba, i, blk[i], fill);
}

/* While the server is stopped: what the API, healthz and imports say. */
static void
check_degraded(const struct fx_token *spare)
{
	struct vt_http_resp r;
	struct usbip_client c;

	ck_assert_int_eq(vt_api(&node[0], "POST", "/v1/vms",
	    "{\"name\": \"other\", \"addresses\": [\"127.0.0.10\"]}", &r), 0);
	ck_assert_msg(r.status == 503 && strstr(r.body, "store_unavailable"),
	    "during the outage: %ld %s", r.status, r.body);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&node[0], "GET", "/healthz", NULL, &r), 0);
	ck_assert_msg(strstr(r.body, "degraded") != NULL, "healthz: %ld %s",
	    r.status, r.body);
	vt_http_resp_free(&r);
	ck_assert_uint_ne(fx_import(&node[0], VM_ADDR, spare->busid, &c), 0);
	ck_assert_msg(vtd_log_wait(&node[0], "the store is unavailable", 1,
	    2000), "no log line for the refused import in %s", node[0].log);
}

START_TEST(stopped)
{
	static const bool writable[4] = { true, false, false, false };
	struct fx_token t[4];
	struct usbip_client w, c, gone;
	struct reader rd;
	struct vt_http_resp r;
	double base, out;

	cluster_up(t, 4, writable);
	for (int i = 0; i < 4; i++)
		fx_assign(&node[0], t[i].id, "vm");
	attach(&node[0], &t[0], &w);
	attach(&node[0], &t[1], &c);
	attach(&node[0], &t[2], &gone);
	ck_assert_int_eq(write_flush(&w, 100, 0xa5), 0);	/* acknowledged */

	reader_start(&rd, &c);
	vt_sleep_ms(BASELINE_MS);
	base = reader_stop(&rd, "undisturbed");

	reader_start(&rd, &c);
	pg("halt");
	check_degraded(&t[3]);
	ck_assert_int_ne(write_flush(&w, 101, 0x5a), 0);	/* fails cleanly */
	usbip_client_close(&gone);	/* its release must wait */
	vt_sleep_ms(OUTAGE_MS);
	out = reader_stop(&rd, "database stopped");
	pg("start-again");
	ck_assert_msg(out <= 2.0 * base + P99_SLACK_MS, "read p99 %.3f ms "
	    "during the outage, %.3f ms undisturbed", out, base);

	/* Back: the failed write is kept and stored by the next flush. */
	(void)attach_eventually(&node[1], &t[2], &gone);
	ck_assert_int_eq(usbip_client_sync_cache(&w), 0);
	usbip_client_close(&w);
	attach_eventually(&node[1], &t[0], &w);
	expect_block(&w, 100, 0xa5);
	expect_block(&w, 101, 0x5a);
	ck_assert_int_eq(vt_api(&node[0], "GET", "/healthz", NULL, &r), 0);
	ck_assert_msg(strstr(r.body, "\"ok\"") != NULL, "healthz: %s", r.body);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&node[1], "GET", "/v1/audit/verify", NULL,
	    &r), 0);
	ck_assert_msg(r.status == 200, "verify: %ld %s", r.status, r.body);
	vt_http_resp_free(&r);
	usbip_client_close(&w);
	usbip_client_close(&c);
	usbip_client_close(&gone);
	fx_stop(&node[1]);
	fx_stop(&node[0]);
}
END_TEST

/* Sends sig to the test server's postmaster and every backend. */
static void
pg_signal(const char *sig)
{
	ck_assert_int_eq(fu_sh("pid=$(head -n 1 '%s/data/postmaster.pid') && "
	    "pkill -%s -P \"$pid\"; kill -%s \"$pid\"", getenv("VT_PG_DIR"),
	    sig, sig), 0);
}

/* /healthz of d says want within ms (polled). */
static void
health_becomes(struct vtd *d, const char *want, int ms)
{
	int64_t deadline = monotime_ms() + ms;

	for (;;) {
		struct vt_http_resp r;
		bool is;

		ck_assert_int_eq(vt_api(d, "GET", "/healthz", NULL, &r), 0);
		is = r.body != NULL && strstr(r.body, want) != NULL;
		vt_http_resp_free(&r);
		if (is)
			return;
		ck_assert_msg(monotime_ms() < deadline, "healthz never said "
		    "%s", want);
		vt_sleep_ms(200);
	}
}

/*
 * The server up but not answering (every process stopped): nothing
 * fails, the store thread waits; /healthz must say so, sessions read on.
 */
START_TEST(stuck)
{
	static const bool writable[1] = { false };
	struct fx_token t[1];
	struct usbip_client c;
	struct reader rd;

	cluster_up(t, 1, writable);
	fx_assign(&node[0], t[0].id, "vm");
	attach(&node[0], &t[0], &c);
	reader_start(&rd, &c);
	pg_signal("STOP");
	health_becomes(&node[0], "has not answered", 15000);
	pg_signal("CONT");
	health_becomes(&node[0], "\"ok\"", 15000);
	(void)reader_stop(&rd, "database stuck");
	usbip_client_close(&c);
	fx_stop(&node[1]);
	fx_stop(&node[0]);
}
END_TEST

/*
 * Each node is started, and stopped, by a thread of its own: a daemon
 * gets SIGKILL when the thread that forked it ends (PR_SET_PDEATHSIG is
 * per thread), so the thread lives as long as its node.
 */
struct starter {
	pthread_t th;
	struct vtd *d;
	const char *name;
	pthread_barrier_t *up, *down;
	int started, stopped;
};

static void *
start_thread(void *arg)
{
	struct starter *s = arg;
	const char *args[] = { "--node", s->name, NULL };

	s->started = vtd_start(s->d, args);
	pthread_barrier_wait(s->up);
	pthread_barrier_wait(s->down);
	s->stopped = s->started == 0 ? vtd_stop(s->d) : -1;
	return NULL;
}

START_TEST(concurrent_start)
{
	pthread_barrier_t up, down;
	struct starter st[2] = {
		{ .d = &node[0], .name = "a", .up = &up, .down = &down },
		{ .d = &node[1], .name = "b", .up = &up, .down = &down },
	};
	bool ok;

	ck_assert_msg(vtd_init(&node[0]) == 0, "%s", node[0].err);
	ck_assert_msg(vtd_init(&node[1]) == 0, "%s", node[1].err);
	memcpy(node[1].store, node[0].store, sizeof(node[1].store));
	/* Both start at once: give them the cluster's audit key first. */
	for (int i = 0; i < 2; i++)
		ck_assert_msg(vtd_audit_key_write(&node[i], AUDIT_KEY) == 0,
		    "%s", node[i].err);
	pthread_barrier_init(&up, NULL, 3);
	pthread_barrier_init(&down, NULL, 3);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&st[i].th, NULL, start_thread,
		    &st[i]), 0);
	pthread_barrier_wait(&up);
	/* Each version once, none missing (the DSN after "postgresql:"). */
	ok = st[0].started == 0 && st[1].started == 0 &&
	    fu_sh("test \"$(psql -X -Atq '%s' -c 'SELECT count(*) = "
	    "max(version) AND count(DISTINCT version) = max(version) FROM "
	    "schema_version')\" = t", node[0].store + 11) == 0;
	pthread_barrier_wait(&down);
	for (int i = 0; i < 2; i++)
		pthread_join(st[i].th, NULL);
	for (int i = 0; i < 2; i++)
		ck_assert_msg(st[i].started == 0, "node %d: %s", i,
		    node[i].err);
	ck_assert_msg(ok, "schema_version is not 1..N");
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(st[i].stopped == 0, "node %d: exit status %d; "
		    "see %s", i, st[i].stopped, node[i].log);
		vtd_cleanup(&node[i]);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pg_outage");
	TCase *tc = tcase_create("pg_outage");
	SRunner *sr;
	int failed;

	if (!store_fx_is_pg() || getenv("VT_PG_DIR") == NULL) {
		fprintf(stderr, "run with VT_STORE=postgresql VT_PG_DIR=DIR\n");
		return 1;
	}
	if (pg_fixture("start") != 0)
		return 1;
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, pg_up, NULL);
	tcase_add_test(tc, restart);
	tcase_add_test(tc, stopped);
	tcase_add_test(tc, stuck);
	tcase_add_loop_test(tc, concurrent_start, 0, 5);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	(void)pg_fixture("stop");
	return failed ? 1 : 0;
}
