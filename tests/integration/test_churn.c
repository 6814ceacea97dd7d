/*
 * test_churn: a guest that imports and closes its token as fast as it
 * can, from its VM's own address, for CHURN_SECONDS (30 s; the
 * VT_CHURN_SECONDS environment variable may shorten it for a quick
 * run), against the real daemon:
 *
 *  - the audit log grows by what the churn limit allows (a burst and 30
 *    recorded sessions a minute, control_churn.c), not by two records a
 *    cycle: the rest are counted in attach.coalesced records (or the
 *    "coalesced" of the next recorded attach), and every cycle is
 *    accounted for;
 *  - another VM reading its own token meanwhile keeps its read p99
 *    within twice that of the same reads undisturbed (or within 2 ms:
 *    p99s here are a fraction of a millisecond, and the machine has two
 *    cores for the daemon, the churner and the reader; the test runs
 *    alone, RUN_SERIAL, so that no other test adds to that).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotime.h"
#include "../lib/control_fixture.h"
#include "../lib/vt_wait.h"

#define VM_CHURN	"127.0.0.2"
#define VM_READ		"127.0.0.3"

struct churn {
	pthread_t th;
	struct vtd *d;
	const char *busid;
	double seconds;
	atomic_bool stop;
	long cycles, errors;
};

static void *
churn_run(void *arg)
{
	struct churn *x = arg;
	struct usbip_client_opts o = { .src_addr = VM_CHURN,
	    .reset_on_close = true };
	double end = monotime_sec() + x->seconds;
	struct usbip_client c;

	usbip_client_init(&c);
	while (!atomic_load(&x->stop) && monotime_sec() < end) {
		if (usbip_client_attach(&c, x->d->host, x->d->port, &o,
		    x->busid) == 0)
			x->cycles++;
		else
			x->errors++;
		usbip_client_close(&c);
	}
	return NULL;
}

static int
cmp_ms(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Reads for `seconds`; their p99 in ms. */
static double
read_p99(struct usbip_client *c, double seconds, const char *what)
{
	static double ms[2000000];
	uint8_t buf[8 * 512];
	double end = monotime_sec() + seconds, p99;
	size_t n = 0;

	while (monotime_sec() < end && n < 2000000) {
		double t0 = monotime_sec();

		ck_assert_int_eq(usbip_client_read10(c, 0, 8, buf), 0);
		ms[n++] = (monotime_sec() - t0) * 1e3;
		vt_sleep_ms(1);		/* a guest's pace, not a benchmark */
	}
	ck_assert_uint_gt(n, 100);
	qsort(ms, n, sizeof(ms[0]), cmp_ms);
	p99 = ms[n * 99 / 100];
	fprintf(stderr, "churn: reads %s: %zu, p50 %.3f ms, p99 %.3f ms\n",
	    what, n, ms[n / 2], p99);
	return p99;
}

/* Records of action for token id, and the sum of their "sessions". */
static int
records(struct vtd *d, const char *action, const char *id, long *sessions)
{
	struct vt_http_resp r;
	char subject[64];
	long long after = 0;
	int n = 0;
	bool more = true;

	snprintf(subject, sizeof(subject), "token:%s", id);
	*sessions = 0;
	while (more) {
		char path[128];
		json_t *recs, *rec;
		size_t i;

		snprintf(path, sizeof(path), "/v1/audit?after=%lld&limit=1000",
		    after);
		ck_assert_int_eq(vt_api(d, "GET", path, NULL, &r), 0);
		ck_assert_int_eq(r.status, 200);
		recs = json_object_get(r.json, "records");
		more = json_array_size(recs) == 1000;
		json_array_foreach(recs, i, rec) {
			json_t *det = json_object_get(rec, "detail");
			json_t *co = json_object_get(det, "coalesced");

			after = json_integer_value(json_object_get(rec, "seq"));
			if (strcmp(json_string_value(json_object_get(rec,
			    "subject")), subject) != 0 ||
			    strcmp(json_string_value(json_object_get(rec,
			    "action")), action) != 0)
				continue;
			n++;
			*sessions += json_integer_value(json_object_get(det,
			    "sessions"));
			*sessions += json_integer_value(json_object_get(co,
			    "sessions"));
		}
		vt_http_resp_free(&r);
	}
	return n;
}

START_TEST(churn)
{
	const char *env = getenv("VT_CHURN_SECONDS");
	double secs = env != NULL && atof(env) > 0 ? atof(env) : 30.0;
	static struct churn x;
	struct fx_token ta, tb;
	struct usbip_client c;
	double base, test;
	long co_attach, co_only, co_detach;
	int attaches, detaches, coalesced;
	struct vtd d;

	fx_start(&d);
	fx_token(&d, "churned", false, &ta);
	fx_token(&d, "steady", false, &tb);
	fx_vm(&d, "churner", VM_CHURN);
	fx_vm(&d, "reader", VM_READ);
	fx_assign(&d, ta.id, "churner");
	fx_assign(&d, tb.id, "reader");
	ck_assert_uint_eq(fx_import(&d, VM_READ, tb.busid, &c), 0);
	ck_assert_int_eq(usbip_client_enumerate(&c), 0);
	base = read_p99(&c, 3.0, "undisturbed");
	memset(&x, 0, sizeof(x));
	x.d = &d;
	x.busid = ta.busid;
	x.seconds = secs;
	ck_assert_int_eq(pthread_create(&x.th, NULL, churn_run, &x), 0);
	test = read_p99(&c, secs - 1.0 > 3.0 ? secs - 1.0 : 3.0, "churn");
	atomic_store(&x.stop, true);
	pthread_join(x.th, NULL);
	usbip_client_close(&c);
	fprintf(stderr, "churn: %ld import+close cycles in %.0f s (%ld "
	    "failed)\n", x.cycles, secs, x.errors);
	/* An import may race the server's noticing the last close: busy. */
	ck_assert_int_gt(x.cycles, 100);
	ck_assert_msg(test <= 2.0 * base || test - base < 2.0, "read p99 "
	    "%.3f ms during the churn, %.3f ms without", test, base);
	/* The last burst is recorded 10 s after its last session. */
	vt_sleep_ms(14000);
	attaches = records(&d, "attach", ta.id, &co_attach);
	detaches = records(&d, "detach", ta.id, &co_detach);
	coalesced = records(&d, "attach.coalesced", ta.id, &co_only);
	fprintf(stderr, "churn: %d attach, %d detach and %d attach.coalesced "
	    "records for %ld cycles\n", attaches, detaches, coalesced,
	    x.cycles);
	/* A burst of 10, then 30 a minute. */
	ck_assert_int_le(attaches, 10 + (int)(secs / 2.0) + 2);
	ck_assert_int_eq(detaches, attaches);
	ck_assert_int_ge(coalesced, 1);
	/* Every cycle is on the record, one by one or in a count. */
	ck_assert_int_eq(attaches + co_attach + co_only, x.cycles);
	ck_assert_int_eq(vtd_log_count(&d, "Sanitizer"), 0);
	fx_stop(&d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("churn");
	TCase *tc = tcase_create("churn");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, churn);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
