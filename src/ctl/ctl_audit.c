/*
 * ctl_audit: "audit" lists the hash-chained audit log once (one page,
 * GET /v1/audit), or follows it: GET /v1/events, the log as Server-Sent
 * Events, from --after on (Last-Event-ID), until SIGINT/SIGTERM; a stream
 * that ends or breaks once it has been open is resumed after the last
 * record printed.  "audit verify" has the server walk the chain.  This
 * file does not check hashes itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cause.h"
#include "common/xmalloc.h"
#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "ctl/ctl_sse.h"
#include "vtoken/vtapi.h"

#define AUDIT_RETRY_FIRST	1	/* s before the first reconnect */
#define AUDIT_RETRY_MAX		8	/* s between reconnects at most */
/* The filters of GET /v1/events (docs/API.md, "Events"). */
#define AUDIT_Q_TYPE		"type"
#define AUDIT_Q_TOKEN		"token"
#define AUDIT_Q_VM		"vm"

static const char *const audit_cols[] = {
	"SEQ", "TIME", "ACTOR", "ACTION", "SUBJECT", "DETAIL"
};
#define AUDIT_NCOLS	(sizeof(audit_cols) / sizeof(audit_cols[0]))

/* What one audit --follow prints and where it is; audit_stream's. */
struct audit_follower {
	struct ctl_ctx *ctx;
	struct ctl_output_table *tbl;	/* owned; table rows between flushes */
	size_t rows;			/* rows in tbl not printed yet */
	uint64_t after;			/* the newest seq printed (--after) */
};

static char *audit_path(uint64_t after, unsigned limit);
static char *audit_events_path(const struct ctl_args *a);
static void audit_row(struct ctl_output_table *tbl, const json_t *rec);
static int audit_on_event(void *arg, const struct ctl_sse_event *ev,
	    char **cause);
static int audit_on_flush(void *arg, char **cause);
static bool audit_wait(const sigset_t *set, time_t seconds);
static enum ctl_status audit_once(struct ctl_ctx *ctx,
	    const struct ctl_args *a);
static bool audit_retries(enum ctl_http_stream_end end,
	    const struct ctl_http_result *res, bool opened);
static enum ctl_status audit_stream(struct ctl_ctx *ctx,
	    const struct ctl_args *a, const sigset_t *set);
static enum ctl_status audit_follow(struct ctl_ctx *ctx,
	    const struct ctl_args *a);
static bool audit_is_broken(const struct ctl_http_result *res);

/* The caller frees the result. */
static char *
audit_path(uint64_t after, unsigned limit)
{
	return xasprintf(VTAPI_AUDIT "?" VTAPI_Q_AFTER "=%" PRIu64 "&"
	    VTAPI_Q_LIMIT "=%u", after, limit);
}

static void
audit_row(struct ctl_output_table *tbl, const json_t *rec)
{
	const json_t *d = json_object_get(rec, VTAPI_F_DETAIL);
	char seq[32], *detail = NULL;
	const char *cells[AUDIT_NCOLS];

	if (d != NULL && !json_is_null(d) &&
	    !(json_is_object(d) && json_object_size(d) == 0))
		detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
	cells[0] = ctl_output_int(seq, sizeof(seq),
	    json_object_get(rec, VTAPI_F_SEQ));
	cells[1] = ctl_output_str(rec, VTAPI_F_TIME);
	cells[2] = ctl_output_str(rec, VTAPI_F_ACTOR);
	cells[3] = ctl_output_str(rec, VTAPI_F_ACTION);
	cells[4] = ctl_output_str(rec, VTAPI_F_SUBJECT);
	cells[5] = detail;
	ctl_output_table_add(tbl, cells);
	free(detail);
}

/*
 * GET /v1/events with --type, --token and --vm as its filters.  The
 * caller frees the result.
 */
static char *
audit_events_path(const struct ctl_args *a)
{
	const char *names[] = { AUDIT_Q_TYPE, AUDIT_Q_TOKEN, AUDIT_Q_VM };
	const char *values[] = { a->type, a->token, a->vm };
	char *path = xstrdup(VTAPI_EVENTS), *next;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (values[i] == NULL)
			continue;
		next = ctl_http_query(path, names[i], values[i]);
		free(path);
		path = next;
	}
	return path;
}

/*
 * One event: an audit record as JSON.  Prints it unless it is not newer
 * than the last printed (a server that repeats or reorders prints
 * nothing twice), table rows at the next flush.  Anything but a record
 * with a positive seq is an error: the server is not vtokend's.
 */
static int
audit_on_event(void *arg, const struct ctl_sse_event *ev, char **cause)
{
	struct audit_follower *f = arg;
	const json_t *seq;
	json_t *rec;
	int rc = 0;

	rec = json_loadb(ev->data, ev->data_len, 0, NULL);
	seq = json_object_get(rec, VTAPI_F_SEQ);
	if (!json_is_object(rec) || !json_is_integer(seq) ||
	    json_integer_value(seq) <= 0) {
		json_decref(rec);
		return cause_set(cause, "event %.32s (%.32s) is not an audit "
		    "record", ev->id, ev->type);
	}
	if ((uint64_t)json_integer_value(seq) > f->after) {
		f->after = (uint64_t)json_integer_value(seq);
		if (f->ctx->format == CTL_OUTPUT_TABLE) {
			audit_row(f->tbl, rec);
			f->rows++;
		} else if (ctl_output_json(f->ctx->out, rec, true) == -1)
			rc = cause_set(cause, "audit: write: %s",
			    strerror(errno));
	}
	json_decref(rec);
	return rc;
}

/*
 * After each piece of the stream: prints the table's header (the first
 * time) and the rows of the records it held, and flushes, so a record
 * shows as soon as it arrives.
 */
static int
audit_on_flush(void *arg, char **cause)
{
	struct audit_follower *f = arg;

	if (f->ctx->format == CTL_OUTPUT_TABLE)
		ctl_output_table_print(f->tbl, f->ctx->out);
	f->rows = 0;
	if (fflush(f->ctx->out) == EOF)
		return cause_set(cause, "audit: write: %s", strerror(errno));
	return 0;
}

/*
 * Waits up to seconds for SIGINT or SIGTERM, which the caller blocks, and
 * consumes it.  True when one came.
 */
static bool
audit_wait(const sigset_t *set, time_t seconds)
{
	struct timespec ts = { .tv_sec = seconds, .tv_nsec = 0 };
	int sig;

	do
		sig = sigtimedwait(set, NULL, &ts);
	while (sig == -1 && errno == EINTR);
	return sig > 0;
}

/*
 * One page, as any list, but only the page that --after and --limit
 * choose: audit answers carry "last_seq", not a "next" to follow.
 */
static enum ctl_status
audit_once(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_list_spec spec = { .key = VTAPI_F_RECORDS,
	    .cols = audit_cols, .ncols = AUDIT_NCOLS, .row = audit_row,
	    .one_page = true };
	enum ctl_status st;
	char *path;

	spec.path = path = audit_path(a->after, a->limit);
	st = ctl_list(ctx, &spec);
	free(path);
	return st;
}

/*
 * Whether a stream that ended as end is opened again.  A refusal (4xx:
 * wrong key, no audit role, an unknown --token or --vm), a stream that
 * is not one or a failed write is final.  Before any stream has opened,
 * every failure is (a wrong URL must not spin quietly); afterwards the
 * server may be restarting, so a lost stream, an ended one and a 5xx
 * are retried.
 */
static bool
audit_retries(enum ctl_http_stream_end end,
    const struct ctl_http_result *res, bool opened)
{
	switch (end) {
	case CTL_HTTP_STREAM_EOF:
		return true;
	case CTL_HTTP_STREAM_LOST:
		return opened;
	case CTL_HTTP_STREAM_REFUSED:
		return opened && res->status >= 500;
	case CTL_HTTP_STREAM_BAD:
	case CTL_HTTP_STREAM_INTERRUPTED:
		break;
	}
	return false;
}

/*
 * Streams events until interrupted (CTL_OK) or a final failure
 * (reported, CTL_FAIL).  Each connection resumes after the last record
 * printed; a pause of AUDIT_RETRY_FIRST seconds, doubling up to
 * AUDIT_RETRY_MAX while reconnecting fails, comes before each.  One line
 * on stderr says a stream was lost; the reconnects that follow are
 * quiet.
 */
static enum ctl_status
audit_stream(struct ctl_ctx *ctx, const struct ctl_args *a,
    const sigset_t *set)
{
	struct audit_follower f = { .ctx = ctx, .after = a->after };
	struct ctl_http_events_cb cb = { .event = audit_on_event,
	    .flush = audit_on_flush, .arg = &f };
	struct ctl_http_result res;
	enum ctl_http_stream_end end;
	enum ctl_status st = CTL_FAIL;
	time_t pause = AUDIT_RETRY_FIRST;
	bool opened = false, quiet = false, retry;
	char id[32], *path;

	f.tbl = ctl_output_table_new(audit_cols, AUDIT_NCOLS);
	path = audit_events_path(a);
	for (;;) {
		snprintf(id, sizeof(id), "%" PRIu64, f.after);
		end = ctl_http_events(ctx->http, path, id, &cb, &res);
		if (end == CTL_HTTP_STREAM_INTERRUPTED) {
			st = CTL_OK;
			ctl_http_result_clear(&res);
			break;
		}
		if (res.status >= 200 && res.status <= 299) {
			opened = true;
			quiet = false;
			pause = AUDIT_RETRY_FIRST;
		}
		retry = audit_retries(end, &res, opened);
		if (!retry && audit_wait(set, 0))
			st = CTL_OK;	/* interrupted as it failed */
		else if (!retry)
			ctl_output_error("%s", res.cause);
		else if (!quiet)
			ctl_output_error("audit --follow: %s; reconnecting",
			    res.cause);
		ctl_http_result_clear(&res);
		if (!retry)
			break;
		quiet = true;
		if (audit_wait(set, pause)) {
			st = CTL_OK;
			break;
		}
		pause = pause * 2 > AUDIT_RETRY_MAX ? AUDIT_RETRY_MAX :
		    pause * 2;
	}
	/* Rows parsed before a piece failed (a bad event after them). */
	if (f.rows > 0)
		ctl_output_table_print(f.tbl, ctx->out);
	free(path);
	ctl_output_table_free(f.tbl);
	return st;
}

/*
 * Follows the log until SIGINT/SIGTERM.  They are blocked meanwhile and
 * taken with sigtimedwait() between connections, so an interrupt ends
 * the loop cleanly (exit 0, the key wiped) instead of killing the
 * process between two writes; a pending one also aborts the stream in
 * flight (ctl_http's progress callback, within a second).  After an
 * interrupt they are ignored until exit: a terminal or timeout(1)
 * signals the whole process group too, and that second copy must not
 * kill the process on its way out.  -o json prints one compact record
 * per line.  --limit (a page size) does not apply.
 */
static enum ctl_status
audit_follow(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	enum ctl_status st;
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, &old) == -1) {
		ctl_output_error("audit: sigprocmask: %s", strerror(errno));
		return CTL_FAIL;
	}
	st = audit_stream(ctx, a, &set);
	/*
	 * Interrupted: ignore further copies (timeout(1) and terminals
	 * signal the group too) and unblock, which discards any pending
	 * one, so nothing is left pending on the way out.
	 */
	if (st == CTL_OK) {
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return st;
}

int
ctl_audit_check(const struct ctl_args *a)
{
	if (!a->follow && (a->type != NULL || a->token != NULL ||
	    a->vm != NULL)) {
		ctl_output_error("audit: --type, --token and --vm go with "
		    "--follow");
		return -1;
	}
	if ((a->type != NULL && a->type[0] == '\0') ||
	    (a->token != NULL && a->token[0] == '\0') ||
	    (a->vm != NULL && a->vm[0] == '\0')) {
		ctl_output_error("audit: --type, --token and --vm need a "
		    "value");
		return -1;
	}
	return 0;
}

enum ctl_status
ctl_audit_list(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return a->follow ? audit_follow(ctx, a) : audit_once(ctx, a);
}

/*
 * A broken chain is a 409 whose error object names the first bad record
 * ("seq"); docs/API.md calls its code "audit_broken" in one place and
 * lists 409 as "conflict" in another, so either code is accepted.
 */
static bool
audit_is_broken(const struct ctl_http_result *res)
{
	const json_t *e = json_object_get(res->json, VTAPI_F_ERROR);
	const char *code = json_string_value(json_object_get(e, VTAPI_F_CODE));

	if (res->status != 409 || !json_is_object(e))
		return false;
	return json_is_integer(json_object_get(e, VTAPI_F_SEQ)) ||
	    (code != NULL && strcmp(code, VTAPI_E_AUDIT_BROKEN) == 0);
}

enum ctl_status
ctl_audit_verify(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res;
	const json_t *e;
	enum ctl_status st = CTL_FAIL;
	char num[32], path[256];
	unsigned long long seq;
	int end = 0;

	/* --head SEQ:HASH, a head published earlier (docs/SECURITY.md). */
	snprintf(path, sizeof(path), "%s", VTAPI_AUDIT_VERIFY);
	if (a->head != NULL) {
		if (sscanf(a->head, "%llu:%n", &seq, &end) != 1 || end == 0 ||
		    seq == 0 || strlen(a->head + end) != 64 ||
		    strspn(a->head + end, "0123456789abcdef") != 64) {
			ctl_output_error("--head: SEQ:HASH, the hash 64 "
			    "lower-case hex digits");
			return CTL_USAGE;
		}
		snprintf(path, sizeof(path), "%s?seq=%llu&hash=%s",
		    VTAPI_AUDIT_VERIFY, seq, a->head + end);
	}
	if (ctl_http_call(ctx->http, "GET", path, NULL, &res) == 0) {
		if (json_is_true(json_object_get(res.json, VTAPI_F_OK)))
			st = CTL_OK;
		if (ctx->format == CTL_OUTPUT_JSON)
			ctl_output_json(ctx->out, res.json, false);
		else if (st == CTL_OK)
			/* The head as --head takes it: keep it elsewhere. */
			ctl_output_line(ctx->out, "audit chain OK: %s records, "
			    "head %s:%s", ctl_output_int(num, sizeof(num),
			    json_object_get(res.json, VTAPI_F_RECORDS)), num,
			    ctl_output_str(res.json, "last_hash"));
		else
			ctl_output_line(ctx->out, "audit chain BROKEN: the "
			    "server did not answer ok");
	} else if (audit_is_broken(&res)) {
		e = json_object_get(res.json, VTAPI_F_ERROR);
		if (ctx->format == CTL_OUTPUT_JSON)
			ctl_output_json(ctx->out, res.json, false);
		else
			ctl_output_line(ctx->out,
			    "audit chain BROKEN at record %s: %s",
			    ctl_output_int(num, sizeof(num),
			    json_object_get(e, VTAPI_F_SEQ)),
			    ctl_output_str(e, VTAPI_F_MESSAGE));
	} else
		ctl_output_error("%s", res.cause);
	ctl_http_result_clear(&res);
	return st;
}
