/*
 * ctl_token: the "token" commands (create, list, show, rm, image).  Each
 * makes one request (list: one a page) and prints the answer as a table,
 * key: value lines, a one-line confirmation or the server's JSON.  Input
 * checks beyond the shape of the command line are the server's job.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

static const char *const token_cols[] = {
	"ID", "NAME", "BUSID", "SIZE", "MODE", "VM", "SESSION"
};
#define TOKEN_NCOLS	(sizeof(token_cols) / sizeof(token_cols[0]))
#define TOKEN_TABLE_MAX	20	/* bulk create: more make a summary line */

static json_t *token_size_value(const char *size);
static json_t *token_create_body(const struct ctl_args *a);
static void token_created(FILE *f, const json_t *doc, bool bulk);
static const char *token_vm(const json_t *t);
static void token_row(struct ctl_output_table *tbl, const json_t *t);
static void token_print(FILE *f, const json_t *t);

/*
 * "--size 4194304" goes out as an integer; anything else ("4M") as the
 * string the API also accepts, so the server alone interprets suffixes.
 */
static json_t *
token_size_value(const char *size)
{
	size_t n = strlen(size);

	if (n > 0 && n <= 15 && strspn(size, "0123456789") == n)
		return json_integer(strtoll(size, NULL, 10));
	return json_string(size);
}

/* The VM a token is assigned to: its name, else its id, else "-". */
static const char *
token_vm(const json_t *t)
{
	const char *s = json_string_value(json_object_get(t, VTAPI_F_VM_NAME));

	return s != NULL ? s : ctl_output_str(t, VTAPI_F_VM);
}

static void
token_row(struct ctl_output_table *tbl, const json_t *t)
{
	char size[32];
	const json_t *sess = json_object_get(t, VTAPI_F_SESSION);
	const char *cells[TOKEN_NCOLS] = {
		ctl_output_str(t, VTAPI_F_ID),
		ctl_output_str(t, VTAPI_F_NAME),
		ctl_output_str(t, VTAPI_F_BUSID),
		ctl_output_size(size, sizeof(size),
		    json_object_get(t, VTAPI_F_SIZE)),
		json_is_true(json_object_get(t, VTAPI_F_WRITABLE)) ?
		    "rw" : "ro",
		token_vm(t),
		json_is_object(sess) ? ctl_output_str(sess, VTAPI_F_PEER) : "-",
	};

	ctl_output_table_add(tbl, cells);
}

/* key: value lines for one token. */
static void
token_print(FILE *f, const json_t *t)
{
	struct ctl_output_table *kv = ctl_output_table_new(NULL, 2);
	const json_t *sess = json_object_get(t, VTAPI_F_SESSION);
	char size[32], in[32], out[32], *line;

	ctl_output_table_kv(kv, "id", ctl_output_str(t, VTAPI_F_ID));
	ctl_output_table_kv(kv, "name", ctl_output_str(t, VTAPI_F_NAME));
	ctl_output_table_kv(kv, "busid", ctl_output_str(t, VTAPI_F_BUSID));
	ctl_output_table_kv(kv, "size",
	    ctl_output_size(size, sizeof(size),
	    json_object_get(t, VTAPI_F_SIZE)));
	ctl_output_table_kv(kv, "mode",
	    json_is_true(json_object_get(t, VTAPI_F_WRITABLE)) ?
	    "writable" : "read-only");
	ctl_output_table_kv(kv, "created", ctl_output_str(t, VTAPI_F_CREATED));
	ctl_output_table_kv(kv, "revoked",
	    json_is_true(json_object_get(t, VTAPI_F_REVOKED)) ? "yes" : "no");
	ctl_output_table_kv(kv, "public key",
	    ctl_output_str(t, VTAPI_F_PUBLIC_KEY));
	line = xasprintf("%s (%s)", token_vm(t), ctl_output_str(t, VTAPI_F_VM));
	ctl_output_table_kv(kv, "vm",
	    json_is_string(json_object_get(t, VTAPI_F_VM)) ? line : "-");
	free(line);
	line = xasprintf("%s since %s, in %s, out %s",
	    ctl_output_str(sess, VTAPI_F_PEER),
	    ctl_output_str(sess, VTAPI_F_SINCE),
	    ctl_output_size(in, sizeof(in),
	    json_object_get(sess, VTAPI_F_BYTES_IN)),
	    ctl_output_size(out, sizeof(out),
	    json_object_get(sess, VTAPI_F_BYTES_OUT)));
	ctl_output_table_kv(kv, "session", json_is_object(sess) ? line : "-");
	free(line);
	ctl_output_table_print(kv, f);
	ctl_output_table_free(kv);
}

int
ctl_token_create_check(const struct ctl_args *a)
{
	const char *why = NULL;

	if (a->count == 0 && a->prefix == NULL) {
		if (a->argc == 0)
			why = "a NAME, or --count and --prefix, is needed";
	} else if (a->argc > 0)
		why = "NAME makes one token, --count and --prefix many: not "
		    "both";
	else if (a->count == 0)
		why = "--prefix needs --count";
	else if (a->prefix == NULL)
		why = "--count needs --prefix";
	if (why == NULL)
		return 0;
	ctl_output_error("token create: %s", why);
	return -1;
}

/*
 * {"name"} or {"prefix", "count"}, and "size" and "writable" when given;
 * NULL when an argument is not UTF-8.
 */
static json_t *
token_create_body(const struct ctl_args *a)
{
	json_t *body = json_object();

	if ((a->count == 0 && json_object_set_new(body, VTAPI_F_NAME,
	    json_string(a->argv[0]))) ||
	    (a->count > 0 && (json_object_set_new(body, VTAPI_F_PREFIX,
	    json_string(a->prefix)) || json_object_set_new(body,
	    VTAPI_F_COUNT, json_integer((json_int_t)a->count)))) ||
	    (a->size != NULL && json_object_set_new(body, VTAPI_F_SIZE,
	    token_size_value(a->size))) ||
	    (a->writable && json_object_set_new(body, VTAPI_F_WRITABLE,
	    json_true()))) {
		json_decref(body);
		return NULL;
	}
	return body;
}

/*
 * The table form of a create's answer: a line for one token; for many,
 * the list's table, or past TOKEN_TABLE_MAX a line with the count and
 * the first and last names (as the server made them).
 */
static void
token_created(FILE *f, const json_t *doc, bool bulk)
{
	const json_t *toks = json_object_get(doc, VTAPI_F_TOKENS), *t;
	struct ctl_output_table *tbl;
	size_t i, n = json_array_size(toks);
	char count[32];

	if (!bulk)
		ctl_output_line(f, "token %s created: id %s busid %s",
		    ctl_output_str(doc, VTAPI_F_NAME),
		    ctl_output_str(doc, VTAPI_F_ID),
		    ctl_output_str(doc, VTAPI_F_BUSID));
	else if (n > TOKEN_TABLE_MAX)
		ctl_output_line(f, "created %s tokens %s..%s",
		    ctl_output_int(count, sizeof(count),
		    json_object_get(doc, VTAPI_F_COUNT)),
		    ctl_output_str(json_array_get(toks, 0), VTAPI_F_NAME),
		    ctl_output_str(json_array_get(toks, n - 1), VTAPI_F_NAME));
	else {
		tbl = ctl_output_table_new(token_cols, TOKEN_NCOLS);
		json_array_foreach(toks, i, t)
			token_row(tbl, t);
		ctl_output_table_print(tbl, f);
		ctl_output_table_free(tbl);
	}
}

/* One request whether it makes one token or (--count) many. */
enum ctl_status
ctl_token_create(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res = { .json = NULL };
	enum ctl_status st = CTL_FAIL;
	json_t *body;

	if ((body = token_create_body(a)) == NULL) {
		ctl_output_error("token create: arguments must be UTF-8");
		return CTL_USAGE;
	}
	if (ctl_http_call(ctx->http, "POST", VTAPI_TOKENS, body, &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON)
		st = ctl_output_json(ctx->out, res.json, false) == 0 ?
		    CTL_OK : CTL_FAIL;
	else {
		token_created(ctx->out, res.json, a->count > 0);
		st = CTL_OK;
	}
	json_decref(body);
	ctl_http_result_clear(&res);
	return st;
}

enum ctl_status
ctl_token_list(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	static const struct ctl_list_spec spec = {
		.path = VTAPI_TOKENS, .key = VTAPI_F_TOKENS, .cols = token_cols,
		.ncols = TOKEN_NCOLS, .row = token_row,
	};

	(void)a;
	return ctl_list(ctx, &spec);
}

enum ctl_status
ctl_token_show(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return ctl_show(ctx, "GET", VTAPI_TOKENS, a->argv[0], NULL,
	    token_print);
}

enum ctl_status
ctl_token_rm(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return ctl_delete(ctx, VTAPI_TOKENS, a->argv[0], "token", "deleted");
}

/*
 * The image holds the token's private key: a regular file it goes to
 * (the shell made it with the umask, often 0644) loses its group and
 * other bits first.  Pipes and devices are left alone.
 */
static int
ctl_token_private_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) == 0)
		return 0;
	if (fchmod(fd, st.st_mode & 0700) < 0) {
		ctl_output_error("token image: cannot make the output file "
		    "private (chmod 600 it, or write elsewhere): %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Streams the raw image to stdout, which must not be a terminal.  -o has
 * no effect: the output is the image.
 */
enum ctl_status
ctl_token_image(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct ctl_http_result res;
	enum ctl_status st = CTL_FAIL;
	char *path;
	int fd = fileno(ctx->out);

	if (isatty(fd)) {
		ctl_output_error("token image: refusing to write a binary "
		    "image to a terminal; redirect standard output");
		return CTL_USAGE;
	}
	if (fflush(ctx->out) == EOF) {
		ctl_output_error("token image: cannot write the output");
		return CTL_FAIL;
	}
	if (ctl_token_private_file(fd) < 0)
		return CTL_FAIL;
	path = ctl_http_path(VTAPI_TOKENS, a->argv[0], VTAPI_TOKEN_IMAGE);
	if (ctl_http_download(ctx->http, path, fd, &res) == -1)
		ctl_output_error("%s", res.cause);
	else
		st = CTL_OK;
	ctl_http_result_clear(&res);
	free(path);
	return st;
}
