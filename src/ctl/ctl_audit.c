/*
 * ctl_audit: "audit" lists the hash-chained audit log once, or follows it
 * (one bounded page per request, one poll a second when caught up, until
 * SIGINT/SIGTERM); "audit verify" has the server walk the chain.  This
 * file does not check hashes itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xmalloc.h"
#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

#define AUDIT_POLL_SECONDS	1	/* between polls once caught up */

static const char *const audit_cols[] = {
	"SEQ", "TIME", "ACTOR", "ACTION", "SUBJECT", "DETAIL"
};
#define AUDIT_NCOLS	(sizeof(audit_cols) / sizeof(audit_cols[0]))

static char *audit_path(uint64_t after, unsigned limit);
static void audit_row(struct ctl_output_table *tbl, const json_t *rec);
static size_t audit_emit(struct ctl_ctx *ctx, struct ctl_output_table *tbl,
	    const json_t *doc, uint64_t *after);
static bool audit_is_behind(const json_t *doc, uint64_t after, size_t n,
	    unsigned limit);
static bool audit_wait(const sigset_t *set, time_t seconds);
static enum ctl_status audit_once(struct ctl_ctx *ctx,
	    const struct ctl_args *a);
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
 * Prints the records of doc that are newer than *after, in the order the
 * server gave them, and moves *after to the newest printed: a record is
 * printed once even when a server repeats or reorders.  Returns how many
 * were printed.
 */
static size_t
audit_emit(struct ctl_ctx *ctx, struct ctl_output_table *tbl,
    const json_t *doc, uint64_t *after)
{
	const json_t *rec, *seq;
	size_t i, n = 0;

	json_array_foreach(json_object_get(doc, VTAPI_F_RECORDS), i, rec) {
		seq = json_object_get(rec, VTAPI_F_SEQ);
		if (!json_is_integer(seq) || json_integer_value(seq) <= 0 ||
		    (uint64_t)json_integer_value(seq) <= *after)
			continue;
		*after = (uint64_t)json_integer_value(seq);
		if (ctx->format == CTL_OUTPUT_JSON)
			ctl_output_json(ctx->out, rec, true);
		else
			audit_row(tbl, rec);
		n++;
	}
	if (ctx->format == CTL_OUTPUT_TABLE)
		ctl_output_table_print(tbl, ctx->out);
	return n;
}

/*
 * True when the log holds records newer than after, so the next page is
 * fetched at once.  Only a page that made progress counts, so a server
 * that repeats itself is polled once a second, not in a tight loop.
 */
static bool
audit_is_behind(const json_t *doc, uint64_t after, size_t n, unsigned limit)
{
	const json_t *last = json_object_get(doc, VTAPI_F_LAST_SEQ);

	if (n == 0)
		return false;
	if (!json_is_integer(last))
		return n >= limit;
	return json_integer_value(last) > 0 &&
	    (uint64_t)json_integer_value(last) > after;
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
 * Polls until SIGINT/SIGTERM.  They are blocked meanwhile and taken with
 * sigtimedwait(), so an interrupt ends the loop cleanly (exit 0, the key
 * wiped) instead of killing the process between two writes; a pending one
 * also aborts a request in flight (ctl_http's progress callback).  After
 * an interrupt they are ignored until exit: a terminal or timeout(1)
 * signals the whole process group too, and that second copy must not
 * kill the process on its way out.  -o json prints one compact record per
 * line.
 */
static enum ctl_status
audit_follow(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_output_table *tbl;
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	uint64_t after = a->after;
	sigset_t set, old;
	bool behind;
	size_t n;
	char *path;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, &old) == -1) {
		ctl_output_error("audit: sigprocmask: %s", strerror(errno));
		return CTL_FAIL;
	}
	tbl = ctl_output_table_new(audit_cols, AUDIT_NCOLS);
	for (;;) {
		path = audit_path(after, a->limit);
		if (ctl_http_call(ctx->http, "GET", path, NULL, &res) == -1) {
			if (audit_wait(&set, 0))
				st = CTL_OK;
			else
				ctl_output_error("%s", res.cause);
			ctl_http_result_clear(&res);
			free(path);
			break;
		}
		free(path);
		n = audit_emit(ctx, tbl, res.json, &after);
		behind = audit_is_behind(res.json, after, n, a->limit);
		ctl_http_result_clear(&res);
		if (fflush(ctx->out) == EOF) {
			ctl_output_error("audit: write: %s", strerror(errno));
			break;
		}
		if (audit_wait(&set, behind ? 0 : AUDIT_POLL_SECONDS)) {
			st = CTL_OK;
			break;
		}
	}
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
	ctl_output_table_free(tbl);
	return st;
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
	char num[32];

	(void)a;
	if (ctl_http_call(ctx->http, "GET", VTAPI_AUDIT_VERIFY, NULL,
	    &res) == 0) {
		if (json_is_true(json_object_get(res.json, VTAPI_F_OK)))
			st = CTL_OK;
		if (ctx->format == CTL_OUTPUT_JSON)
			ctl_output_json(ctx->out, res.json, false);
		else if (st == CTL_OK)
			ctl_output_line(ctx->out, "audit chain OK: %s records",
			    ctl_output_int(num, sizeof(num),
			    json_object_get(res.json, VTAPI_F_RECORDS)));
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
