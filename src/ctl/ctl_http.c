/*
 * ctl_http: libcurl requests to the vtokend REST API (see ctl_http.h).
 * Reads the API key file, sends "Authorization: Bearer", caps response
 * bodies as they arrive (a Content-Length is only used to fail early,
 * never to size a buffer), decodes JSON and maps error documents to a
 * reason.  libcurl allocates through http_free()/http_realloc(), which
 * wipe what they release, so its copies of the header die with it.  A
 * stream of events is handed to ctl_sse piece by piece.  Does not print,
 * log or retry.
 */
#include "ctl/ctl_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

#include "common/capbuf.h"
#include "common/cause.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "vtoken/vtapi.h"

#define HTTP_KEY_MAX		1024	/* longest API key accepted */
#define HTTP_ERRBODY_MAX	((size_t)64 << 10) /* error body, download */
#define HTTP_CONNECT_TIMEOUT	5L	/* seconds */
#define HTTP_TIMEOUT		30L	/* seconds, whole request */
#define HTTP_STALL_TIME		30L	/* s under 1 B/s fail a download */
#define HTTP_EVENT_TYPE		"text/event-stream"
#define HTTP_LAST_ID_MAX	64	/* bytes of a Last-Event-ID sent */

static const char http_auth_prefix[] = "Authorization: Bearer ";

struct ctl_http {
	CURL *curl;
	char *base;			/* URL without trailing '/' */
	struct curl_slist *hdrs;	/* auth + Accept; wiped on free */
	struct curl_slist *json_hdrs;	/* the same + Content-Type */
	struct curl_slist *sse_hdrs;	/* auth + Accept: event stream */
	char *cacert;			/* or NULL */
	bool insecure;
	char errbuf[CURL_ERROR_SIZE];	/* libcurl's detailed reason */
};

/* Where one response body goes. */
struct http_sink {
	CURL *curl;
	struct capbuf buf;	/* a buffered body (JSON, error answers) */
	size_t streamed;	/* bytes written to fd */
	size_t max;		/* cap on a streamed (2xx) body */
	int fd;			/* 2xx bodies go here; -1: buffer all */
	int werrno;		/* errno of a failed write(2), or 0 */
	bool too_big;		/* the streamed body passed max */
};

/* Where the body of a stream of events goes. */
struct http_events {
	CURL *curl;
	struct ctl_sse *sse;		/* a 2xx body; owned */
	const struct ctl_http_events_cb *cb;
	struct capbuf err;		/* any other body, up to a cap */
	char *cause;			/* why the stream is BAD; owned */
	bool typed;			/* the Content-Type was checked */
	bool bad;
};

static void http_free(void *p);
static void *http_realloc(void *p, size_t n);
static char *http_read_key(const char *path, char **cause);
static void http_slist_wipe(struct curl_slist *l);
static bool http_sink_streams(const struct http_sink *s);
static size_t http_stream(struct http_sink *s, const char *p, size_t n);
static size_t http_write(char *p, size_t size, size_t nmemb, void *arg);
static int http_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
	    curl_off_t ultotal, curl_off_t ulnow);
static void http_sink_init(struct http_sink *s, CURL *curl, int fd,
	    size_t max, size_t buf_max);
static void http_setup_common(struct ctl_http *h, const char *url);
static void http_setup(struct ctl_http *h, const char *url,
	    struct http_sink *s, bool download);
static int http_events_typed(struct http_events *e);
static size_t http_events_write(char *p, size_t size, size_t nmemb,
	    void *arg);
static struct curl_slist *http_events_headers(const struct ctl_http *h,
	    const char *last_id);
static enum ctl_http_stream_end http_events_end(struct ctl_http *h,
	    struct http_events *e, CURLcode rc, struct ctl_http_result *res);
static int http_perform(struct ctl_http *h, const struct http_sink *s,
	    struct ctl_http_result *res);
static void http_decode_error(struct ctl_http_result *res,
	    const struct capbuf *body);
static bool http_is_success(long status);
static char *http_encode(char *q, const char *s);

/* libcurl's free(): wipes the whole block first. */
static void
http_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* libcurl's realloc(): moves by copy so that the old block is wiped. */
static void *
http_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	if ((q = malloc(n ? n : 1)) == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	http_free(p);
	return q;
}

int
ctl_http_global_init(void)
{
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, http_free,
	    http_realloc, strdup, calloc) != CURLE_OK)
		return -1;
	return 0;
}

void
ctl_http_global_cleanup(void)
{
	curl_global_cleanup();
}

/*
 * Returns "Authorization: Bearer KEY" built from the first line of path,
 * trailing whitespace stripped.  Reasons never quote the file's content.
 */
static char *
http_read_key(const char *path, char **cause)
{
	char buf[HTTP_KEY_MAX + 2], *hdr = NULL;
	size_t len = 0, n;
	ssize_t r = 0;
	int fd, err = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		cause_set(cause, "API key file %s: %s", path, strerror(errno));
		return NULL;
	}
	while (len < sizeof(buf) &&
	    (len == 0 || memchr(buf, '\n', len) == NULL)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if (r == -1)
		err = errno;
	close(fd);
	n = 0;
	while (n < len && buf[n] != '\n')
		n++;
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t' ||
	    buf[n - 1] == '\r'))
		n--;
	/* A key goes into a header line: visible ASCII only, no CR/LF. */
	if (err != 0)
		cause_set(cause, "API key file %s: %s", path, strerror(err));
	else if (n == 0)
		cause_set(cause, "API key file %s: no key on its first line",
		    path);
	else if (n > HTTP_KEY_MAX || !text_is_visible(buf, n))
		cause_set(cause, "API key file %s: the first line is not a "
		    "valid API key", path);
	else {
		hdr = xmalloc(sizeof(http_auth_prefix) + n);
		memcpy(hdr, http_auth_prefix, sizeof(http_auth_prefix) - 1);
		memcpy(hdr + sizeof(http_auth_prefix) - 1, buf, n);
		hdr[sizeof(http_auth_prefix) - 1 + n] = '\0';
	}
	explicit_bzero(buf, sizeof(buf));
	return hdr;
}

/* Wipes every header line (they hold the key), then frees the list. */
static void
http_slist_wipe(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

struct ctl_http *
ctl_http_new(const struct ctl_http_opts *o, char **cause)
{
	struct ctl_http *h;
	char *auth;
	size_t len;

	if ((auth = http_read_key(o->key_file, cause)) == NULL)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->hdrs = curl_slist_append(NULL, auth);
	h->hdrs = curl_slist_append(h->hdrs, "Accept: application/json");
	h->json_hdrs = curl_slist_append(NULL, auth);
	h->json_hdrs = curl_slist_append(h->json_hdrs,
	    "Accept: application/json");
	h->json_hdrs = curl_slist_append(h->json_hdrs,
	    "Content-Type: application/json");
	h->sse_hdrs = curl_slist_append(NULL, auth);
	h->sse_hdrs = curl_slist_append(h->sse_hdrs,
	    "Accept: " HTTP_EVENT_TYPE);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	h->curl = curl_easy_init();
	if (h->hdrs == NULL || h->json_hdrs == NULL || h->sse_hdrs == NULL ||
	    h->curl == NULL) {
		ctl_http_free(h);
		cause_set(cause, "cannot initialise libcurl");
		return NULL;
	}
	h->base = xstrdup(o->url);
	len = strlen(h->base);
	while (len > 0 && h->base[len - 1] == '/')
		h->base[--len] = '\0';
	h->cacert = o->cacert != NULL ? xstrdup(o->cacert) : NULL;
	h->insecure = o->insecure;
	return h;
}

void
ctl_http_free(struct ctl_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	http_slist_wipe(h->hdrs);
	http_slist_wipe(h->json_hdrs);
	http_slist_wipe(h->sse_hdrs);
	free(h->base);
	free(h->cacert);
	free(h);
}

void
ctl_http_result_clear(struct ctl_http_result *res)
{
	json_decref(res->json);
	free(res->cause);
	memset(res, 0, sizeof(*res));
}

static bool
http_is_success(long status)
{
	return status >= 200 && status <= 299;
}

/*
 * A sink that streams a 2xx body of at most max bytes to fd (-1: none)
 * and buffers any other body up to buf_max bytes.
 */
static void
http_sink_init(struct http_sink *s, CURL *curl, int fd, size_t max,
    size_t buf_max)
{
	memset(s, 0, sizeof(*s));
	s->curl = curl;
	s->fd = fd;
	s->max = max;
	capbuf_init(&s->buf, buf_max, false);
}

/* True when this body goes to the file descriptor. */
static bool
http_sink_streams(const struct http_sink *s)
{
	long status = 0;

	if (s->fd == -1)
		return false;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	return http_is_success(status);
}

static size_t
http_stream(struct http_sink *s, const char *p, size_t n)
{
	size_t off = 0;
	ssize_t w;

	if (n > s->max - s->streamed) {
		s->too_big = true;
		return 0;
	}
	while (off < n) {
		w = write(s->fd, p + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			s->werrno = errno;
			return 0;
		}
		off += (size_t)w;
	}
	s->streamed += n;
	return n;
}

/* libcurl write callback: returning less than asked aborts the transfer. */
static size_t
http_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *s = arg;
	size_t n = size * nmemb;	/* libcurl: size is always 1 */

	if (http_sink_streams(s))
		return http_stream(s, p, n);
	return capbuf_write(p, size, nmemb, &s->buf);
}

/*
 * libcurl progress callback.  SIGINT/SIGTERM can only be pending while the
 * caller blocks them to stop cleanly (audit --follow); abort then.
 */
static int
http_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	sigset_t pending;

	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (sigpending(&pending) == -1)
		return 0;
	return sigismember(&pending, SIGINT) == 1 ||
	    sigismember(&pending, SIGTERM) == 1;
}

/*
 * Sets the options every request has, from scratch.  Only http(s), no
 * redirects (they could carry the key elsewhere), the path exactly as
 * built (no dot-segment folding), the interrupt check, a bounded
 * connect.  The body's destination, size and time are the caller's.
 */
static void
http_setup_common(struct ctl_http *h, const char *url)
{
	CURL *c = h->curl;

	curl_easy_reset(c);
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vtokenctl/" VTOKEN_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_progress);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT);
	if (h->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
	if (h->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/* A request whose body goes to s: bounded time and size. */
static void
http_setup(struct ctl_http *h, const char *url, struct http_sink *s,
    bool download)
{
	CURL *c = h->curl;

	http_setup_common(h, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max);
	if (download) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, HTTP_STALL_TIME);
	} else
		curl_easy_setopt(c, CURLOPT_TIMEOUT, HTTP_TIMEOUT);
}

/* Runs the transfer; on failure sets res->cause.  0 or -1. */
static int
http_perform(struct ctl_http *h, const struct http_sink *s,
    struct ctl_http_result *res)
{
	CURLcode rc;
	size_t limit;

	rc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &res->status);
	if (rc == CURLE_OK)
		return 0;
	if (s->too_big || s->buf.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		limit = http_sink_streams(s) ? s->max : s->buf.max;
		cause_set(&res->cause, "response larger than %zu %s refused",
		    limit >= ((size_t)1 << 20) ? limit >> 20 : limit >> 10,
		    limit >= ((size_t)1 << 20) ? "MiB" : "KiB");
	} else if (s->werrno != 0)
		cause_set(&res->cause, "write: %s", strerror(s->werrno));
	else if (s->buf.no_mem)
		cause_set(&res->cause, "out of memory for the response");
	else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		res->interrupted = true;
		cause_set(&res->cause, "interrupted");
	} else
		cause_set(&res->cause, "%s", h->errbuf[0] != '\0' ?
		    h->errbuf : curl_easy_strerror(rc));
	return -1;
}

/*
 * For a non-2xx answer: keeps the error document if it decodes, and says
 * "message (code)", or the status when the body says nothing usable.
 */
static void
http_decode_error(struct ctl_http_result *res, const struct capbuf *body)
{
	const json_t *e;
	const char *code, *msg;

	if (body->len > 0)
		res->json = json_loadb(body->data, body->len, 0, NULL);
	e = json_object_get(res->json, VTAPI_F_ERROR);
	code = json_string_value(json_object_get(e, VTAPI_F_CODE));
	msg = json_string_value(json_object_get(e, VTAPI_F_MESSAGE));
	if (msg != NULL && code != NULL)
		cause_set(&res->cause, "%s (%s)", msg, code);
	else if (msg != NULL || code != NULL)
		cause_set(&res->cause, "%s (HTTP %ld)",
		    msg != NULL ? msg : code, res->status);
	else
		cause_set(&res->cause, "server answered HTTP %ld",
		    res->status);
}

int
ctl_http_call(struct ctl_http *h, const char *method, const char *path,
    const json_t *body, struct ctl_http_result *res)
{
	struct http_sink s;
	json_error_t jerr;
	char *url, *data = NULL;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	http_sink_init(&s, h->curl, -1, CTL_HTTP_MAX_BODY, CTL_HTTP_MAX_BODY);
	url = xasprintf("%s%s", h->base, path);
	if (body != NULL && (data = json_dumps(body, JSON_COMPACT)) == NULL) {
		cause_set(&res->cause, "cannot encode the request");
		goto out;
	}
	http_setup(h, url, &s, false);
	if (data != NULL) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->json_hdrs);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(data));
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
	if (http_perform(h, &s, res) == -1)
		goto out;
	if (!http_is_success(res->status)) {
		http_decode_error(res, &s.buf);
		goto out;
	}
	if (s.buf.len > 0 && (res->json = json_loadb(s.buf.data, s.buf.len,
	    0, &jerr)) == NULL) {
		cause_set(&res->cause, "invalid JSON from the server: %s",
		    jerr.text);
		goto out;
	}
	rc = 0;
out:
	capbuf_clear(&s.buf);
	free(data);
	free(url);
	return rc;
}

int
ctl_http_download(struct ctl_http *h, const char *path, int fd,
    struct ctl_http_result *res)
{
	struct http_sink s;
	char *url;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	http_sink_init(&s, h->curl, fd, CTL_HTTP_MAX_IMAGE, HTTP_ERRBODY_MAX);
	url = xasprintf("%s%s", h->base, path);
	http_setup(h, url, &s, true);
	if (http_perform(h, &s, res) == -1)
		goto out;
	if (!http_is_success(res->status)) {
		http_decode_error(res, &s.buf);
		goto out;
	}
	rc = 0;
out:
	capbuf_clear(&s.buf);
	free(url);
	return rc;
}

/*
 * Checked on the first piece of a 2xx body, or at its end when it had
 * none: an answer that is not an event stream (a proxy's page, a server
 * without /v1/events answering JSON) is BAD, never parsed.  0 or -1.
 */
static int
http_events_typed(struct http_events *e)
{
	const size_t tlen = strlen(HTTP_EVENT_TYPE);
	char *ctype = NULL;

	if (e->typed)
		return e->bad ? -1 : 0;
	e->typed = true;
	if (curl_easy_getinfo(e->curl, CURLINFO_CONTENT_TYPE, &ctype) ==
	    CURLE_OK && ctype != NULL &&
	    strncasecmp(ctype, HTTP_EVENT_TYPE, tlen) == 0 &&
	    (ctype[tlen] == '\0' || ctype[tlen] == ';' || ctype[tlen] == ' '))
		return 0;
	e->bad = true;
	cause_set(&e->cause, "the server did not answer with an event stream "
	    "(Content-Type: %.64s)", ctype != NULL ? ctype : "none");
	return -1;
}

/*
 * libcurl write callback of a stream: a 2xx body goes to the parser, and
 * the consumer's flush after each piece; any other body is kept (capped)
 * for its error document.  Returning less than asked aborts the
 * transfer.
 */
static size_t
http_events_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_events *e = arg;
	size_t n = size * nmemb;	/* libcurl: size is always 1 */
	long status = 0;

	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	if (!http_is_success(status))
		return capbuf_write(p, size, nmemb, &e->err);
	if (http_events_typed(e) == -1)
		return 0;
	if (ctl_sse_feed(e->sse, p, n, &e->cause) == -1 ||
	    (e->cb->flush != NULL &&
	    e->cb->flush(e->cb->arg, &e->cause) == -1)) {
		e->bad = true;
		return 0;
	}
	return n;
}

/*
 * A copy of the stream's headers (they hold the key: wipe the result
 * with http_slist_wipe) and Last-Event-ID unless last_id is NULL or
 * empty.  NULL when memory ran out.
 */
static struct curl_slist *
http_events_headers(const struct ctl_http *h, const char *last_id)
{
	char line[sizeof("Last-Event-ID: ") + HTTP_LAST_ID_MAX];
	struct curl_slist *l = NULL, *n;

	for (const struct curl_slist *p = h->sse_hdrs; p != NULL;
	    p = p->next) {
		if ((n = curl_slist_append(l, p->data)) == NULL) {
			http_slist_wipe(l);
			return NULL;
		}
		l = n;
	}
	if (last_id != NULL && last_id[0] != '\0') {
		snprintf(line, sizeof(line), "Last-Event-ID: %s", last_id);
		if ((n = curl_slist_append(l, line)) == NULL) {
			http_slist_wipe(l);
			return NULL;
		}
		l = n;
	}
	return l;
}

/* Says how the transfer that returned rc ended, and fills *res. */
static enum ctl_http_stream_end
http_events_end(struct ctl_http *h, struct http_events *e, CURLcode rc,
    struct ctl_http_result *res)
{
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &res->status);
	if (e->bad) {
		res->cause = e->cause;
		e->cause = NULL;
		return CTL_HTTP_STREAM_BAD;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		res->interrupted = true;
		cause_set(&res->cause, "interrupted");
		return CTL_HTTP_STREAM_INTERRUPTED;
	}
	if (res->status != 0 && !http_is_success(res->status)) {
		http_decode_error(res, &e->err);
		return CTL_HTTP_STREAM_REFUSED;
	}
	if (rc != CURLE_OK) {
		cause_set(&res->cause, "%s", h->errbuf[0] != '\0' ?
		    h->errbuf : curl_easy_strerror(rc));
		return CTL_HTTP_STREAM_LOST;
	}
	if (http_events_typed(e) == -1) {
		res->cause = e->cause;
		e->cause = NULL;
		return CTL_HTTP_STREAM_BAD;
	}
	cause_set(&res->cause, "the server ended the event stream");
	return CTL_HTTP_STREAM_EOF;
}

enum ctl_http_stream_end
ctl_http_events(struct ctl_http *h, const char *path, const char *last_id,
    const struct ctl_http_events_cb *cb, struct ctl_http_result *res)
{
	enum ctl_http_stream_end end;
	struct curl_slist *hdrs;
	struct http_events e;
	CURLcode rc;
	char *url;

	memset(res, 0, sizeof(*res));
	if (last_id != NULL && (strlen(last_id) > HTTP_LAST_ID_MAX ||
	    !text_is_visible(last_id, strlen(last_id)))) {
		cause_set(&res->cause, "Last-Event-ID: not a short visible "
		    "string");
		return CTL_HTTP_STREAM_BAD;
	}
	if ((hdrs = http_events_headers(h, last_id)) == NULL) {
		cause_set(&res->cause, "out of memory for the request");
		return CTL_HTTP_STREAM_BAD;
	}
	memset(&e, 0, sizeof(e));
	e.curl = h->curl;
	e.cb = cb;
	e.sse = ctl_sse_new(CTL_SSE_MAX_EVENT, cb->event, cb->arg);
	capbuf_init(&e.err, HTTP_ERRBODY_MAX, false);
	url = xasprintf("%s%s", h->base, path);
	http_setup_common(h, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, http_events_write);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &e);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME,
	    (long)CTL_HTTP_STREAM_STALL);
	rc = curl_easy_perform(h->curl);
	end = http_events_end(h, &e, rc, res);
	/* The handle must not point at what is freed below. */
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL);
	http_slist_wipe(hdrs);
	ctl_sse_free(e.sse);
	capbuf_clear(&e.err);
	free(e.cause);
	free(url);
	return end;
}

/*
 * Writes s percent-encoded (all but RFC 3986's unreserved characters) at
 * q, which has room for 3 * strlen(s) bytes.  Returns the end.
 */
static char *
http_encode(char *q, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *c = (const unsigned char *)s; *c != '\0';
	    c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		    (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' ||
		    *c == '_' || *c == '~')
			*q++ = (char)*c;
		else {
			*q++ = '%';
			*q++ = hex[*c >> 4];
			*q++ = hex[*c & 15];
		}
	}
	return q;
}

char *
ctl_http_path(const char *collection, const char *segment,
    const char *suffix)
{
	size_t plen = strlen(collection);
	char *p, *q;

	p = q = xmalloc(plen + 1 + 3 * strlen(segment) + strlen(suffix) + 1);
	memcpy(q, collection, plen);
	q += plen;
	*q++ = '/';
	q = http_encode(q, segment);
	memcpy(q, suffix, strlen(suffix) + 1);
	return p;
}

char *
ctl_http_query(const char *path, const char *name, const char *value)
{
	size_t plen = strlen(path), nlen = strlen(name);
	char *p, *q;

	p = q = xmalloc(plen + 1 + nlen + 1 + 3 * strlen(value) + 1);
	memcpy(q, path, plen);
	q += plen;
	*q++ = strchr(path, '?') != NULL ? '&' : '?';
	memcpy(q, name, nlen);
	q += nlen;
	*q++ = '=';
	*http_encode(q, value) = '\0';
	return p;
}
