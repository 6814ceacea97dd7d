/*
 * check_ctl_sse: the Server-Sent Events parser of vtokenctl
 * (src/ctl/ctl_sse.[ch]).  Every stream is fed whole, split at every
 * byte boundary, split at every pair of boundaries and byte by byte, and
 * must give the same events each time: CRLF, LF and lone CR line ends
 * (a CRLF split between pieces too), comments, multi-line data, ids that
 * carry over, ignored fields, a byte order mark, an event cut off by the
 * end of the stream, events over the cap and a callback that fails.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cause.h"
#include "ctl/ctl_sse.h"

#define MAX_EVENTS	16

/* One event as the parser handed it over (copied). */
struct got_event {
	char *type;
	char *id;
	char *data;
	size_t data_len;
};

/* What the callback saw; fail_at makes it fail on that event (1-based). */
struct recorder {
	struct got_event ev[MAX_EVENTS];
	size_t n;
	size_t fail_at;
};

/* An expected event; data is compared with its strlen. */
struct want_event {
	const char *type;
	const char *id;
	const char *data;
};

static int
record(void *arg, const struct ctl_sse_event *ev, char **cause)
{
	struct recorder *r = arg;
	struct got_event *g;

	ck_assert_uint_lt(r->n, MAX_EVENTS);
	ck_assert_ptr_nonnull(ev->type);
	ck_assert_ptr_nonnull(ev->id);
	ck_assert_ptr_nonnull(ev->data);
	ck_assert_int_eq(ev->data[ev->data_len], '\0');
	if (r->fail_at != 0 && r->n + 1 == r->fail_at)
		return cause_set(cause, "callback refused event %zu",
		    r->n + 1);
	g = &r->ev[r->n++];
	g->type = strdup(ev->type);
	g->id = strdup(ev->id);
	g->data = malloc(ev->data_len + 1);
	ck_assert_ptr_nonnull(g->data);
	memcpy(g->data, ev->data, ev->data_len + 1);
	g->data_len = ev->data_len;
	return 0;
}

static void
recorder_clear(struct recorder *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->ev[i].type);
		free(r->ev[i].id);
		free(r->ev[i].data);
	}
	r->n = 0;
}

static void
check_events(const struct recorder *r, const struct want_event *want,
    size_t nwant, const char *how)
{
	ck_assert_msg(r->n == nwant, "%s: %zu events, want %zu", how, r->n,
	    nwant);
	for (size_t i = 0; i < nwant; i++) {
		ck_assert_msg(strcmp(r->ev[i].type, want[i].type) == 0,
		    "%s: event %zu type '%s', want '%s'", how, i,
		    r->ev[i].type, want[i].type);
		ck_assert_msg(strcmp(r->ev[i].id, want[i].id) == 0,
		    "%s: event %zu id '%s', want '%s'", how, i, r->ev[i].id,
		    want[i].id);
		ck_assert_msg(r->ev[i].data_len == strlen(want[i].data) &&
		    memcmp(r->ev[i].data, want[i].data,
		    r->ev[i].data_len) == 0,
		    "%s: event %zu data '%s', want '%s'", how, i,
		    r->ev[i].data, want[i].data);
	}
}

/*
 * Feeds len bytes of s to a fresh parser in pieces ending at cuts[0..n)
 * (increasing, each <= len), then the rest.  Returns what the last feed
 * returned; the events are in *r, a failure's reason in *cause.
 */
static int
feed_pieces(const char *s, size_t len, const size_t *cuts, size_t ncuts,
    size_t max, struct recorder *r, char **cause)
{
	struct ctl_sse *p = ctl_sse_new(max, record, r);
	size_t from = 0;
	int rc = 0;

	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		rc = ctl_sse_feed(p, s + from, to - from, cause);
		from = to;
	}
	ctl_sse_free(p);
	return rc;
}

/*
 * Feeds the stream whole, at every cut, at every pair of cuts (short
 * streams) and byte by byte; each way must give exactly want.
 */
static void
check_stream(const char *s, size_t len, const struct want_event *want,
    size_t nwant)
{
	struct recorder r = { .n = 0 };
	size_t cuts[2], *bytes;
	char how[64];

	ck_assert_int_eq(feed_pieces(s, len, NULL, 0, CTL_SSE_MAX_EVENT,
	    &r, NULL), 0);
	check_events(&r, want, nwant, "whole");
	recorder_clear(&r);
	for (size_t i = 0; i <= len; i++) {
		cuts[0] = i;
		ck_assert_int_eq(feed_pieces(s, len, cuts, 1,
		    CTL_SSE_MAX_EVENT, &r, NULL), 0);
		snprintf(how, sizeof(how), "cut at %zu", i);
		check_events(&r, want, nwant, how);
		recorder_clear(&r);
		for (size_t j = i; len <= 160 && j <= len; j++) {
			cuts[1] = j;
			ck_assert_int_eq(feed_pieces(s, len, cuts, 2,
			    CTL_SSE_MAX_EVENT, &r, NULL), 0);
			snprintf(how, sizeof(how), "cut at %zu and %zu", i, j);
			check_events(&r, want, nwant, how);
			recorder_clear(&r);
		}
	}
	bytes = calloc(len + 1, sizeof(*bytes));
	ck_assert_ptr_nonnull(bytes);
	for (size_t i = 0; i < len; i++)
		bytes[i] = i + 1;
	ck_assert_int_eq(feed_pieces(s, len, bytes, len, CTL_SSE_MAX_EVENT,
	    &r, NULL), 0);
	check_events(&r, want, nwant, "byte by byte");
	recorder_clear(&r);
	free(bytes);
}

#define CHECK_STREAM(s, ...) do {					\
	static const struct want_event w_[] = { __VA_ARGS__ };		\
	check_stream((s), sizeof(s) - 1, w_, sizeof(w_) / sizeof(w_[0]));	\
} while (0)

#define CHECK_NO_EVENTS(s) check_stream((s), sizeof(s) - 1, NULL, 0)

START_TEST(vtokend_events)
{
	CHECK_STREAM(": vtoken events\n\n"
	    "id: 1\nevent: token.create\ndata: {\"seq\":1}\n\n"
	    ": keep-alive\n\n"
	    "id: 2\nevent: assign\ndata: {\"seq\":2,\"detail\":{}}\n\n",
	    { "token.create", "1", "{\"seq\":1}" },
	    { "assign", "2", "{\"seq\":2,\"detail\":{}}" });
}
END_TEST

START_TEST(line_ends)
{
	/* CRLF, then lone CRs, then LF; CR CR is a line and a blank one. */
	CHECK_STREAM("id: 1\r\nevent: a\r\ndata: x\r\n\r\n"
	    "id: 2\revent: b\rdata: y\r\r"
	    "data: z\n\n",
	    { "a", "1", "x" }, { "b", "2", "y" }, { "message", "2", "z" });
	/* A CR at the end of a piece, the LF in the next: one line end. */
	CHECK_STREAM("data: a\r\n\r\ndata: b\r\n\r\n",
	    { "message", "", "a" }, { "message", "", "b" });
	/* CR LF LF: a line end and a blank line, not two blank lines. */
	CHECK_STREAM("data: a\r\n\ndata: b\n\r\n",
	    { "message", "", "a" }, { "message", "", "b" });
}
END_TEST

START_TEST(comments)
{
	CHECK_STREAM(": keep-alive\n\n:\n\n: hello\ndata: x\n: inside\n\n"
	    ":data: not data\n\n",
	    { "message", "", "x" });
	CHECK_NO_EVENTS(": only\r\n\r\n: comments\r\r");
}
END_TEST

START_TEST(multiline_data)
{
	/*
	 * Lines joined with '\n'; one leading space dropped, no more; a
	 * field without a colon has an empty value; a colon in the value
	 * stays.
	 */
	CHECK_STREAM("data: a\ndata:b\ndata\ndata:  c\ndata: d:e\n\n",
	    { "message", "", "a\nb\n\n c\nd:e" });
	/* JSON over several data lines still parses as JSON would. */
	CHECK_STREAM("id: 9\ndata: {\"seq\":\ndata: 9}\n\n",
	    { "message", "9", "{\"seq\":\n9}" });
	/* One empty data line is an event with empty data. */
	CHECK_STREAM("data\n\ndata:\n\n",
	    { "message", "", "" }, { "message", "", "" });
}
END_TEST

START_TEST(fields)
{
	/* retry and unknown fields are ignored; "Data" is not "data". */
	CHECK_STREAM("retry: 1000\nfoo: bar\nfoo\nData: no\ndata: x\n\n",
	    { "message", "", "x" });
	/* No data: nothing dispatched, and the type does not carry over. */
	CHECK_STREAM("event: a\nid: 5\n\ndata: y\n\n",
	    { "message", "5", "y" });
	/* The last event ID carries over; an empty id clears it. */
	CHECK_STREAM("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
	    { "message", "1", "a" }, { "message", "1", "b" },
	    { "message", "", "c" });
	/* An empty event field is "message". */
	CHECK_STREAM("event:\ndata: a\n\n", { "message", "", "a" });
	/* The last of repeated event and id fields counts. */
	CHECK_STREAM("event: a\nevent: b\nid: 1\nid: 2\ndata: x\n\n",
	    { "b", "2", "x" });
}
END_TEST

START_TEST(id_with_nul)
{
	static const char s[] = "id: 7\ndata: a\n\nid: 8\0x\ndata: b\n\n";

	check_stream(s, sizeof(s) - 1, (const struct want_event[]){
	    { "message", "7", "a" }, { "message", "7", "b" } }, 2);
}
END_TEST

START_TEST(byte_order_mark)
{
	CHECK_STREAM("\xef\xbb\xbf" "data: a\n\n", { "message", "", "a" });
	/* Only at the start: later it is part of a field name. */
	CHECK_STREAM("\xef\xbb\xbf" "data: a\n\n\xef\xbb\xbf" "data: b\n\n",
	    { "message", "", "a" });
	/* The start of one only: those bytes belong to the first line. */
	CHECK_NO_EVENTS("\xef" "data: a\n\n");
	CHECK_NO_EVENTS("\xef\xbb" "data: a\n\n");
	CHECK_STREAM("\xef\n" "data: a\n\n", { "message", "", "a" });
}
END_TEST

START_TEST(cut_off_event)
{
	/* What the stream ends in the middle of is never handed over. */
	CHECK_STREAM("id: 1\ndata: a\n\nid: 2\ndata: b\n",
	    { "message", "1", "a" });
	CHECK_STREAM("data: a\n\ndata: b", { "message", "", "a" });
	CHECK_STREAM("data: a\r\n\r\ndata: b\r\n\r", { "message", "", "a" },
	    { "message", "", "b" });
}
END_TEST

/*
 * Feeds s (in pieces ending at each of cuts, or whole) to a parser that
 * holds max bytes an event; the feed must fail saying so, and refuse
 * what comes after.  Returns the events seen before.
 */
static size_t
check_too_big(const char *s, size_t max)
{
	struct recorder r = { .n = 0 };
	size_t len = strlen(s), n, cut;
	char *cause = NULL, want[64];
	struct ctl_sse *p;

	snprintf(want, sizeof(want), "more than %zu bytes", max);
	for (cut = 0; cut <= len; cut++) {
		p = ctl_sse_new(max, record, &r);
		if (ctl_sse_feed(p, s, cut, &cause) == 0)
			ck_assert_int_eq(ctl_sse_feed(p, s + cut, len - cut,
			    &cause), -1);
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, want) != NULL, "cause '%s'",
		    cause);
		free(cause);
		cause = NULL;
		ck_assert_int_eq(ctl_sse_feed(p, "\n\n", 2, &cause), -1);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
		ctl_sse_free(p);
		n = r.n;
		recorder_clear(&r);
	}
	return n;
}

START_TEST(oversized_event)
{
	struct recorder r = { .n = 0 };
	char big[200], *cause = NULL;
	struct ctl_sse *p;

	/* One line over the cap. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "data: ", 6);
	big[sizeof(big) - 1] = '\0';
	ck_assert_uint_eq(check_too_big(big, 64), 0);
	/* A comment line over the cap. */
	big[0] = ':';
	ck_assert_uint_eq(check_too_big(big, 64), 0);
	/* Data lines that add up past the cap, after a good event. */
	ck_assert_uint_eq(check_too_big("data: ok\n\n"
	    "data: 0123456789\ndata: 0123456789\ndata: 0123456789\n"
	    "data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n",
	    64), 1);
	/* The type counts too. */
	ck_assert_uint_eq(check_too_big("event: 0123456789012345678901234567"
	    "89\ndata: 0123456789012345678901234567890\n\n", 64), 0);
	/* At the cap exactly: passes, and the next event starts afresh. */
	p = ctl_sse_new(16, record, &r);
	ck_assert_int_eq(ctl_sse_feed(p, "data: 0123456789\n\n", 18, &cause),
	    0);
	ck_assert_int_eq(ctl_sse_feed(p, "data: 0123456789\n\n", 18, &cause),
	    0);
	ck_assert_ptr_null(cause);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_str_eq(r.ev[1].data, "0123456789");
	ctl_sse_free(p);
	recorder_clear(&r);
}
END_TEST

START_TEST(callback_fails)
{
	static const char s[] = "data: a\n\ndata: b\n\ndata: c\n\n";
	struct recorder r = { .n = 0, .fail_at = 2 };
	char *cause = NULL;
	struct ctl_sse *p = ctl_sse_new(CTL_SSE_MAX_EVENT, record, &r);

	ck_assert_int_eq(ctl_sse_feed(p, s, sizeof(s) - 1, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_str_eq(cause, "callback refused event 2");
	free(cause);
	cause = NULL;
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(ctl_sse_feed(p, "data: d\n\n", 9, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	ck_assert_uint_eq(r.n, 1);
	/* No cause wanted: still -1. */
	ck_assert_int_eq(ctl_sse_feed(p, "x", 1, NULL), -1);
	ctl_sse_free(p);
	recorder_clear(&r);
}
END_TEST

START_TEST(many_events)
{
	struct recorder r = { .n = 0 };
	char s[MAX_EVENTS * 32], want[16];
	size_t len = 0;
	struct ctl_sse *p;

	for (int i = 1; i <= MAX_EVENTS; i++)
		len += (size_t)snprintf(s + len, sizeof(s) - len,
		    "id: %d\ndata: %d\n\n", i, i * 10);
	p = ctl_sse_new(CTL_SSE_MAX_EVENT, record, &r);
	ck_assert_int_eq(ctl_sse_feed(p, s, len, NULL), 0);
	ck_assert_int_eq(ctl_sse_feed(p, "", 0, NULL), 0);
	ctl_sse_free(p);
	ck_assert_uint_eq(r.n, MAX_EVENTS);
	for (int i = 1; i <= MAX_EVENTS; i++) {
		snprintf(want, sizeof(want), "%d", i);
		ck_assert_str_eq(r.ev[i - 1].id, want);
		snprintf(want, sizeof(want), "%d", i * 10);
		ck_assert_str_eq(r.ev[i - 1].data, want);
	}
	recorder_clear(&r);
}
END_TEST

static Suite *
ctl_sse_suite(void)
{
	Suite *s = suite_create("ctl_sse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, vtokend_events);
	tcase_add_test(tc, line_ends);
	tcase_add_test(tc, comments);
	tcase_add_test(tc, multiline_data);
	tcase_add_test(tc, fields);
	tcase_add_test(tc, id_with_nul);
	tcase_add_test(tc, byte_order_mark);
	tcase_add_test(tc, cut_off_event);
	tcase_add_test(tc, oversized_event);
	tcase_add_test(tc, callback_fails);
	tcase_add_test(tc, many_events);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ctl_sse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
