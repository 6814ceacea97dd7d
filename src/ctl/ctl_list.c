/*
 * ctl_list: the shape every list command shares.  GET a collection and,
 * while the answer names a "next" cursor, the page after it; then print
 * every page's items as one table, or with -o json as one document: the
 * first page's, with all the items in its array and no "next".  Nothing
 * is printed unless every page arrived, so a failure halfway leaves no
 * half a list on stdout.
 *
 * The loop is bounded: a page that makes no progress (no items, or the
 * cursor it was asked with) and a list past LIST_MAX_ITEMS end it with an
 * error.  A server that returns to an older cursor (a cycle) is stopped
 * by the item bound.
 */
#include <stdlib.h>
#include <string.h>

#include "common/cause.h"
#include "common/xmalloc.h"
#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

#define LIST_MAX_ITEMS	1000000			/* items one list collects */
#define LIST_MAX_TEXT	((size_t)1 << 30)	/* their JSON text */

/* One list command under way. */
struct list_run {
	struct ctl_ctx *ctx;
	const struct ctl_list_spec *spec;
	struct ctl_output_table *tbl;	/* table: the rows so far */
	struct ctl_output_array *items;	/* -o json: the items so far */
	json_t *first;			/* -o json: page 1 less items, next */
	size_t n;			/* items so far */
	char *cursor;			/* the last "next" followed, or NULL */
};

static int list_add(struct list_run *run, const json_t *items,
	    char **cause);
static int list_next(struct list_run *run, const json_t *doc, size_t got,
	    char **cause);
static int list_page(struct list_run *run, json_t *doc, char **cause);
static int list_print(struct list_run *run);

/* Adds a page's items to the table or the JSON array.  0 or -1. */
static int
list_add(struct list_run *run, const json_t *items, char **cause)
{
	const json_t *e;
	size_t i;

	json_array_foreach(items, i, e) {
		if (run->tbl != NULL)
			run->spec->row(run->tbl, e);
		else if (ctl_output_array_add(run->items, e, cause) == -1)
			return -1;
	}
	return 0;
}

/*
 * Takes doc's "next": 1 and run->cursor set when there is a page after
 * this one (got items long), 0 when this was the last, -1 when the
 * cursor makes no progress.
 */
static int
list_next(struct list_run *run, const json_t *doc, size_t got,
    char **cause)
{
	const json_t *next = json_object_get(doc, VTAPI_F_NEXT);
	const char *s = json_string_value(next);

	if (run->spec->one_page || next == NULL || json_is_null(next))
		return 0;
	if (s == NULL)
		return cause_set(cause, "the server's \"%s\" is not a string",
		    VTAPI_F_NEXT);
	if (got == 0)
		return cause_set(cause, "the server sent a page without %s "
		    "but with a cursor (%s); stopped", run->spec->key, s);
	if (run->cursor != NULL && strcmp(run->cursor, s) == 0)
		return cause_set(cause, "the server repeated the cursor %s; "
		    "stopped after %zu %s", s, run->n, run->spec->key);
	free(run->cursor);
	run->cursor = xstrdup(s);
	return 1;
}

/* One page: its items taken, then list_next()'s answer. */
static int
list_page(struct list_run *run, json_t *doc, char **cause)
{
	const json_t *items = json_object_get(doc, run->spec->key);
	size_t got = json_array_size(items);
	int more;

	if (!json_is_array(items))
		return cause_set(cause, "the server's answer has no \"%s\" "
		    "list", run->spec->key);
	if (got > LIST_MAX_ITEMS - run->n)
		return cause_set(cause, "more than %d %s; stopped",
		    LIST_MAX_ITEMS, run->spec->key);
	if (list_add(run, items, cause) == -1)
		return -1;
	run->n += got;
	if ((more = list_next(run, doc, got, cause)) == -1)
		return -1;
	if (run->items != NULL && run->first == NULL) {
		run->first = json_incref(doc);
		json_object_del(run->first, run->spec->key);
		json_object_del(run->first, VTAPI_F_NEXT);
	}
	return more;
}

static int
list_print(struct list_run *run)
{
	if (run->tbl != NULL) {
		ctl_output_table_print(run->tbl, run->ctx->out);
		return 0;
	}
	return ctl_output_array_print(run->items, run->spec->key, run->first,
	    run->ctx->out);
}

enum ctl_status
ctl_list(struct ctl_ctx *ctx, const struct ctl_list_spec *spec)
{
	struct list_run run = { .ctx = ctx, .spec = spec };
	struct ctl_http_result res;
	enum ctl_status st = CTL_OK;
	char *path = xstrdup(spec->path), *cause = NULL;
	int more;

	if (ctx->format == CTL_OUTPUT_JSON)
		run.items = ctl_output_array_new(LIST_MAX_TEXT);
	else
		run.tbl = ctl_output_table_new(spec->cols, spec->ncols);
	do {
		if (ctl_http_call(ctx->http, "GET", path, NULL, &res) == -1) {
			cause = res.cause;
			res.cause = NULL;
			more = -1;
		} else
			more = list_page(&run, res.json, &cause);
		ctl_http_result_clear(&res);
		free(path);
		path = more == 1 ?
		    ctl_http_query(spec->path, VTAPI_Q_AFTER, run.cursor) : NULL;
	} while (more == 1);
	if (more == 0 && list_print(&run) == -1)
		cause_set(&cause, "cannot write the list");
	if (cause != NULL) {
		ctl_output_error("%s", cause);
		st = CTL_FAIL;
	}
	free(cause);
	free(run.cursor);
	json_decref(run.first);
	ctl_output_array_free(run.items);
	ctl_output_table_free(run.tbl);
	return st;
}
