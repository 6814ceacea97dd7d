/*
 * ctl_http: vtokenctl's only network code.  One libcurl easy handle talks
 * to the vtokend REST API (docs/API.md): it sends the bearer key, caps
 * every response body (a stream of events: each event), decodes JSON,
 * and turns an HTTP error into one printable reason.  It never prints;
 * callers report.
 *
 * The API key is read from its file here and then exists only inside the
 * request header lists, which are wiped (explicit_bzero) before they are
 * freed.  libcurl copies the header into its request buffers, so it gets
 * allocators that wipe every block it frees.  No reason string ever
 * contains the key.  (With https, OpenSSL's record buffers are beyond
 * this.)
 */
#ifndef VTOKEN_CTL_HTTP_H
#define VTOKEN_CTL_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctl/ctl_sse.h"

#define CTL_HTTP_MAX_BODY	((size_t)16 << 20)	/* JSON responses */
#define CTL_HTTP_MAX_IMAGE	((size_t)128 << 20)	/* token images */

struct ctl_http;

struct ctl_http_opts {
	const char *url;	/* base URL, http:// or https:// */
	const char *key_file;	/* its first line is the API key */
	const char *cacert;	/* CA file to trust; NULL: the system's */
	bool insecure;		/* skip TLS certificate verification */
};

/* The outcome of one request. */
struct ctl_http_result {
	long status;		/* HTTP status; 0 when no response came */
	json_t *json;		/* decoded body (success, error) or NULL */
	char *cause;		/* on failure: a one-line reason */
	bool interrupted;	/* aborted by a pending SIGINT/SIGTERM */
};

/*
 * Initialises libcurl with the wiping allocators; once per process,
 * before ctl_http_new().  0 or -1.  ctl_http_global_cleanup() undoes it.
 */
int ctl_http_global_init(void);
void ctl_http_global_cleanup(void);

/*
 * Reads the key file and prepares the handle; needs ctl_http_global_init()
 * first.  Returns NULL and an allocated reason in *cause (the caller
 * frees it).  Free the result with ctl_http_free().
 */
struct ctl_http *ctl_http_new(const struct ctl_http_opts *o, char **cause);
/* Wipes the key, closes connections and frees h; NULL is a no-op. */
void ctl_http_free(struct ctl_http *h);

/*
 * Sends METHOD base-URL+path, with body (borrowed; NULL for none) as
 * JSON, and reads a response of at most CTL_HTTP_MAX_BODY bytes.  Fills
 * *res (call ctl_http_result_clear() afterwards, whatever the outcome).
 * Returns 0 on a 2xx answer, with the decoded JSON in res->json (NULL
 * for an empty body).  Returns -1 on any other outcome, with res->cause
 * set and res->json holding a decodable error document, if any.
 *
 * A transfer is aborted when SIGINT or SIGTERM is pending; that only
 * happens when the caller blocks them (audit --follow).
 */
int ctl_http_call(struct ctl_http *h, const char *method, const char *path,
	    const json_t *body, struct ctl_http_result *res);
/*
 * GETs path and writes a 2xx body of at most CTL_HTTP_MAX_IMAGE bytes to
 * fd as it arrives (no total timeout, but a stalled transfer fails).  An
 * error answer is not written to fd.  Returns and fills *res as
 * ctl_http_call(); after a failure fd may hold a partial body.
 */
int ctl_http_download(struct ctl_http *h, const char *path, int fd,
	    struct ctl_http_result *res);

/* How a stream of events (ctl_http_events) ended. */
enum ctl_http_stream_end {
	CTL_HTTP_STREAM_EOF,		/* 2xx, then the server closed it */
	CTL_HTTP_STREAM_LOST,		/* no answer, or it broke or stalled */
	CTL_HTTP_STREAM_REFUSED,	/* a non-2xx answer */
	CTL_HTTP_STREAM_BAD,		/* not an event stream, an event too
					   large, or a callback failed */
	CTL_HTTP_STREAM_INTERRUPTED,	/* SIGINT/SIGTERM pending */
};

/* Where the events of a stream go; every member is borrowed. */
struct ctl_http_events_cb {
	ctl_sse_event_fn event;		/* each complete event (ctl_sse.h) */
	/*
	 * After each piece of the body has been parsed (so also once the
	 * stream has opened: vtokend greets with a comment); NULL for none.
	 * 0, or -1 after setting *cause, which ends the stream.
	 */
	int (*flush)(void *arg, char **cause);
	void *arg;
};

/*
 * GETs path as Server-Sent Events (Accept: text/event-stream), sending
 * "Last-Event-ID: last_id" unless last_id is NULL (visible ASCII only),
 * and hands every event to cb as it arrives (at most CTL_SSE_MAX_EVENT
 * bytes each).  No total timeout: the stream lasts until the server ends
 * it, but one that carries no byte for CTL_HTTP_STREAM_STALL seconds (a
 * dead server; vtokend sends a comment every 15 s) is lost.  Fills *res
 * (call ctl_http_result_clear() afterwards, whatever the outcome):
 * status; for REFUSED the error document and a cause as ctl_http_call()
 * gives them; for LOST and BAD a cause (BAD: the callback's own, when a
 * callback failed); for INTERRUPTED res->interrupted.
 */
#define CTL_HTTP_STREAM_STALL	45	/* seconds */
enum ctl_http_stream_end ctl_http_events(struct ctl_http *h,
	    const char *path, const char *last_id,
	    const struct ctl_http_events_cb *cb, struct ctl_http_result *res);
/* Frees what *res holds and zeroes it. */
void ctl_http_result_clear(struct ctl_http_result *res);

/*
 * Returns collection + "/" + the percent-encoded segment + suffix
 * (VTAPI_TOKENS, id, VTAPI_TOKEN_IMAGE), for an id or a name taken from
 * the command line.  The caller frees the result.
 */
char *ctl_http_path(const char *collection, const char *segment,
	    const char *suffix);
/*
 * Returns path + "?" (or "&" when path has a query already) + name + "="
 * + the percent-encoded value: a cursor from the server or a value from
 * the command line (VTAPI_TOKENS, VTAPI_Q_AFTER, "1-1000").  name goes
 * in as it is.  The caller frees the result.
 */
char *ctl_http_query(const char *path, const char *name,
	    const char *value);

#endif
