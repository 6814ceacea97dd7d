/*
 * agent_http: libcurl POSTs with caps, timeouts and certificate pinning
 * (see agent_http.h).
 */
#include "agent/agent_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/capbuf.h"
#include "common/cause.h"
#include "common/encode.h"
#include "common/xmalloc.h"

#define HTTP_CONNECT_MAX	5L	/* seconds, at most, to connect */
#define HTTP_PIN_LEN		32	/* SHA-256 */

struct agent_http {
	CURLSH *share;			/* the TLS session cache */
	CURL *curl;			/* its connection cache */
	struct curl_slist *hdrs;
	char *ca_file;			/* or NULL */
	bool has_pin;
	uint8_t pin[HTTP_PIN_LEN];
	const char *tls_fail;		/* why a pin check refused, or NULL */
	bool resumed;			/* the last request's TLS session */
	unsigned timeout;
	bool (*cancel)(void *);
	void *cancel_arg;
	struct agent_http_stats stats;
	char peer_ip[AGENT_HTTP_IP_MAX];	/* last successful, or "" */
	unsigned peer_port;
	char errbuf[CURL_ERROR_SIZE];
};

/* Where a download goes. */
struct http_sink {
	int fd;
	unsigned long long got, max;
	bool too_big;
	int err;			/* errno of a failed write, or 0 */
	size_t len;			/* got, for http_perform */
};

static int http_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow);
static bool http_pin_matches(const struct agent_http *h, X509 *leaf);
static int http_verify_cert(X509_STORE_CTX *xs, void *arg);
static CURLcode http_ssl_ctx(CURL *curl, void *sslctx, void *arg);
static int http_prereq(void *arg, char *primary_ip, char *local_ip,
    int primary_port, int local_port);
static bool http_ssl_is_openssl(void);
static int http_setup_tls(struct agent_http *h, char **cause);
static int http_setup(struct agent_http *h, char **cause);
static bool http_is_stale(CURLcode rc);
static CURLcode http_perform(struct agent_http *h, const size_t *got);
static void http_note_peer(struct agent_http *h);
static size_t http_sink_write(char *ptr, size_t size, size_t nmemb,
    void *arg);
static int http_fail(struct agent_http *h, CURLcode rc, char **cause);
static void http_restore(struct agent_http *h);

int
agent_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
agent_http_global_cleanup(void)
{
	curl_global_cleanup();
}

static int
http_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct agent_http *h = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return h->cancel != NULL && h->cancel(h->cancel_arg) ? 1 : 0;
}

/* The certificate hashes (SHA-256 of its DER) to the pin. */
static bool
http_pin_matches(const struct agent_http *h, X509 *leaf)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	return leaf != NULL && X509_digest(leaf, EVP_sha256(), md,
	    &mdlen) == 1 && mdlen == HTTP_PIN_LEN &&
	    CRYPTO_memcmp(md, h->pin, HTTP_PIN_LEN) == 0;
}

/*
 * OpenSSL's whole-chain verification, replaced: the leaf certificate
 * must hash to the pin; with a CA file the chain must verify too.  Runs
 * in full handshakes only.
 */
static int
http_verify_cert(X509_STORE_CTX *xs, void *arg)
{
	struct agent_http *h = arg;

	if (h->ca_file != NULL && X509_verify_cert(xs) <= 0)
		return 0;
	if (!http_pin_matches(h, X509_STORE_CTX_get0_cert(xs))) {
		h->tls_fail = "server certificate does not match the pinned "
		    "ca_sha256";
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

static CURLcode
http_ssl_ctx(CURL *curl, void *sslctx, void *arg)
{
	(void)curl;
	SSL_CTX_set_cert_verify_callback(sslctx, http_verify_cert, arg);
	return CURLE_OK;
}

/*
 * Called once the connection (new, resumed or reused) is ready and
 * before the request goes out: notes whether its TLS session was
 * resumed and, with a pin, checks the certificate the session holds.
 * That is the server's own for a full handshake and the one of the
 * session's first handshake (checked then, under this handle's pin) for
 * a resumed one.  No OpenSSL session or no certificate: refused.
 */
static int
http_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port,
    int local_port)
{
	struct agent_http *h = arg;
	struct curl_tlssessioninfo *ti = NULL;
	SSL *ssl = NULL;

	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	h->resumed = false;
	if (curl_easy_getinfo(h->curl, CURLINFO_TLS_SSL_PTR, &ti) ==
	    CURLE_OK && ti != NULL && ti->backend == CURLSSLBACKEND_OPENSSL)
		ssl = ti->internals;
	if (ssl != NULL)
		h->resumed = SSL_session_reused(ssl) == 1;
	if (!h->has_pin)
		return CURL_PREREQFUNC_OK;
	if (ssl == NULL) {
		h->tls_fail = "no TLS session to check the pinned ca_sha256 "
		    "against";
		return CURL_PREREQFUNC_ABORT;
	}
	if (!http_pin_matches(h, SSL_get0_peer_certificate(ssl))) {
		h->tls_fail = "server certificate does not match the pinned "
		    "ca_sha256";
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

/* The SSL_CTX libcurl hands us is only ours to touch under OpenSSL. */
static bool
http_ssl_is_openssl(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	return v->ssl_version != NULL &&
	    strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
}

static int
http_setup_tls(struct agent_http *h, char **cause)
{
	CURL *c = h->curl;

	if (curl_easy_setopt(c, CURLOPT_SHARE, h->share) != CURLE_OK)
		return cause_set(cause, "libcurl cannot share TLS sessions");
	if (h->ca_file != NULL &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file) != CURLE_OK)
		return cause_set(cause, "libcurl refused the CA file option");
	if (curl_easy_setopt(c, CURLOPT_PREREQDATA, h) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, http_prereq) !=
	    CURLE_OK)
		return cause_set(cause, "libcurl cannot install the "
		    "per-request check");
	if (!h->has_pin)
		return 0;
	if (!http_ssl_is_openssl())
		return cause_set(cause, "certificate pinning needs libcurl "
		    "built with OpenSSL");
	if (h->ca_file == NULL) {
		/* The pinned certificate is the trust anchor. */
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx) !=
	    CURLE_OK)
		return cause_set(cause, "libcurl cannot install the "
		    "certificate pin check");
	return 0;
}

/* Options of the easy handle (made again by agent_http_disconnect). */
static int
http_setup(struct agent_http *h, char **cause)
{
	CURL *c = h->curl;
	long t = (long)h->timeout;

	if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK)
		return cause_set(cause, "libcurl cannot limit protocols");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, t < HTTP_CONNECT_MAX ?
	    t : HTTP_CONNECT_MAX);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, t);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)AGENT_HTTP_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vtoken-agent/"
	    VTOKEN_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, capbuf_write);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_xferinfo);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	return http_setup_tls(h, cause);
}

struct agent_http *
agent_http_new(const struct agent_http_opts *o, char **cause)
{
	struct agent_http *h = xcalloc(1, sizeof(*h));

	h->timeout = o->timeout;
	h->cancel = o->cancel;
	h->cancel_arg = o->cancel_arg;
	if (o->ca_file != NULL && o->ca_file[0] != '\0')
		h->ca_file = xstrdup(o->ca_file);
	if (o->pin != NULL && o->pin[0] != '\0') {
		if (decode_hex(o->pin, h->pin, sizeof(h->pin)) < 0) {
			cause_set(cause, "ca_sha256 is not 64 hex digits");
			agent_http_free(h);
			return NULL;
		}
		h->has_pin = true;
	}
	h->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	h->hdrs = curl_slist_append(h->hdrs, "Accept: application/json");
	if ((h->share = curl_share_init()) == NULL ||
	    curl_share_setopt(h->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    (h->curl = curl_easy_init()) == NULL || h->hdrs == NULL) {
		cause_set(cause, "libcurl initialisation failed");
		agent_http_free(h);
		return NULL;
	}
	if (http_setup(h, cause) < 0) {
		agent_http_free(h);
		return NULL;
	}
	return h;
}

void
agent_http_free(struct agent_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	if (h->share != NULL)
		curl_share_cleanup(h->share);
	curl_slist_free_all(h->hdrs);
	free(h->ca_file);
	explicit_bzero(h, sizeof(*h));
	free(h);
}

bool
agent_http_is_same(const struct agent_http *h,
    const struct agent_http_opts *o)
{
	uint8_t pin[HTTP_PIN_LEN];
	bool has_pin = o->pin != NULL && o->pin[0] != '\0';
	bool has_ca = o->ca_file != NULL && o->ca_file[0] != '\0';

	if (h->timeout != o->timeout || h->cancel != o->cancel ||
	    h->cancel_arg != o->cancel_arg || h->has_pin != has_pin ||
	    (h->ca_file != NULL) != has_ca ||
	    (has_ca && strcmp(h->ca_file, o->ca_file) != 0))
		return false;
	if (!has_pin)
		return true;
	return decode_hex(o->pin, pin, sizeof(pin)) == 0 &&
	    CRYPTO_memcmp(pin, h->pin, sizeof(pin)) == 0;
}

int
agent_http_disconnect(struct agent_http *h, char **cause)
{
	curl_easy_cleanup(h->curl);	/* detaches from the share */
	if ((h->curl = curl_easy_init()) == NULL)
		return cause_set(cause, "libcurl initialisation failed");
	return http_setup(h, cause);
}

void
agent_http_stats(const struct agent_http *h, struct agent_http_stats *st)
{
	*st = h->stats;
}

/* Remembers where the last successful request went. */
static void
http_note_peer(struct agent_http *h)
{
	char *ip = NULL;
	long port = 0;

	if (curl_easy_getinfo(h->curl, CURLINFO_PRIMARY_IP, &ip) !=
	    CURLE_OK || ip == NULL || ip[0] == '\0' ||
	    curl_easy_getinfo(h->curl, CURLINFO_PRIMARY_PORT, &port) !=
	    CURLE_OK || port <= 0 || port > 65535)
		return;
	snprintf(h->peer_ip, sizeof(h->peer_ip), "%s", ip);
	h->peer_port = (unsigned)port;
}

bool
agent_http_peer(const struct agent_http *h, char ip[AGENT_HTTP_IP_MAX],
    unsigned *port)
{
	if (h == NULL || h->peer_ip[0] == '\0')
		return false;
	memcpy(ip, h->peer_ip, AGENT_HTTP_IP_MAX);
	*port = h->peer_port;
	return true;
}

/* Failures of a reused connection the controller may have closed. */
static bool
http_is_stale(CURLcode rc)
{
	return rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_GOT_NOTHING;
}

/*
 * One transfer, and once more on a fresh connection when a reused one
 * failed before any answer came (*got, the bytes received so far, is 0;
 * libcurl retries some of these itself; this covers the rest, e.g. a
 * close_notify as the request went out).
 */
static CURLcode
http_perform(struct agent_http *h, const size_t *got)
{
	CURLcode rc;
	long nconn = 0;

	for (int attempt = 0;; attempt++) {
		h->errbuf[0] = '\0';
		h->tls_fail = NULL;
		rc = curl_easy_perform(h->curl);
		if (curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS,
		    &nconn) != CURLE_OK)
			nconn = 1;
		if (rc == CURLE_OK || attempt > 0 || nconn > 0 ||
		    h->tls_fail != NULL || *got > 0 || !http_is_stale(rc))
			break;
		curl_easy_setopt(h->curl, CURLOPT_FRESH_CONNECT, 1L);
	}
	curl_easy_setopt(h->curl, CURLOPT_FRESH_CONNECT, 0L);
	if (rc == CURLE_OK) {
		http_note_peer(h);
		h->stats.requests++;
		if (nconn > 0) {
			h->stats.connects++;
			if (h->resumed)
				h->stats.resumed++;
		}
	}
	return rc;
}

int
agent_http_post(struct agent_http *h, const char *url, const char *body,
    size_t len, struct agent_http_reply *rep, char **cause)
{
	struct capbuf s;
	CURLcode rc;

	memset(rep, 0, sizeof(*rep));
	capbuf_init(&s, AGENT_HTTP_MAX_BODY, true);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
	rc = http_perform(h, &s.len);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
	if (rc != CURLE_OK) {
		if (h->tls_fail == NULL && (s.too_big ||
		    rc == CURLE_FILESIZE_EXCEEDED))
			cause_set(cause, "answer larger than %d bytes",
			    AGENT_HTTP_MAX_BODY);
		else if (h->tls_fail == NULL && s.no_mem)
			cause_set(cause, "out of memory for the answer");
		else
			http_fail(h, rc, cause);
		capbuf_clear(&s);
		return -1;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &rep->status);
	rep->body = capbuf_take(&s, &rep->len);
	return 0;
}

void
agent_http_reply_clear(struct agent_http_reply *rep)
{
	if (rep->body != NULL)
		explicit_bzero(rep->body, rep->len);
	free(rep->body);
	memset(rep, 0, sizeof(*rep));
}

/* Why the transfer failed: the pin check, a cancel or libcurl's text. */
static int
http_fail(struct agent_http *h, CURLcode rc, char **cause)
{
	if (h->tls_fail != NULL)
		return cause_set(cause, "%s", h->tls_fail);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return cause_set(cause, "cancelled");
	return cause_set(cause, "%s", h->errbuf[0] != '\0' ? h->errbuf :
	    curl_easy_strerror(rc));
}

static size_t
http_sink_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *k = arg;
	size_t n = size * nmemb, off = 0;
	ssize_t w;

	if (k->got + n > k->max) {
		k->too_big = true;
		return 0;
	}
	while (off < n) {
		if ((w = write(k->fd, ptr + off, n - off)) < 0 &&
		    errno == EINTR)
			continue;
		if (w <= 0) {
			k->err = w < 0 ? errno : EIO;
			return 0;
		}
		off += (size_t)w;
	}
	k->got += n;
	k->len = (size_t)k->got;
	return n;
}

/* Back to the POST settings of http_setup after a download. */
static void
http_restore(struct agent_http *h)
{
	CURL *c = h->curl;

	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, capbuf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)AGENT_HTTP_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)h->timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 0L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 0L);
}

int
agent_http_get_file(struct agent_http *h, const char *url, int fd,
    unsigned long long max, long *status, unsigned long long *got,
    char **cause)
{
	struct http_sink k = { .fd = fd, .max = max };
	CURL *c = h->curl;
	CURLcode rc;

	*status = 0;
	*got = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 0L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
	    (long)AGENT_HTTP_SLOW_SECS);
	rc = http_perform(h, &k.len);
	http_restore(h);
	if (rc != CURLE_OK) {
		if (h->tls_fail == NULL && (k.too_big ||
		    rc == CURLE_FILESIZE_EXCEEDED))
			return cause_set(cause, "larger than %llu bytes", max);
		if (h->tls_fail == NULL && k.err != 0)
			return cause_set(cause, "write: %s",
			    strerror(k.err));
		return http_fail(h, rc, cause);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	*got = k.got;
	return 0;
}

int
agent_http_resolve(const char *url, char ip[AGENT_HTTP_IP_MAX],
    unsigned *port, char **cause)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	CURLU *u = curl_url();
	char *host = NULL, *pstr = NULL;
	int rv = -1, e;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &pstr, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		cause_set(cause, "cannot parse the controller URL");
		goto out;
	}
	if (host[0] == '[') {			/* [v6] */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if ((e = getaddrinfo(host, NULL, &hints, &res)) != 0 ||
	    getnameinfo(res->ai_addr, res->ai_addrlen, ip, AGENT_HTTP_IP_MAX,
	    NULL, 0, NI_NUMERICHOST) != 0) {
		cause_set(cause, "cannot resolve %s: %s", host, e != 0 ?
		    gai_strerror(e) : "no address");
		goto out;
	}
	*port = (unsigned)strtoul(pstr, NULL, 10);
	rv = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	curl_free(host);
	curl_free(pstr);
	curl_url_cleanup(u);
	return rv;
}
