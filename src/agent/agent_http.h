/*
 * agent_http: JSON POSTs to the controller with libcurl.  One handle
 * lives as long as its settings (ca_file, pin, timeout) stay the same:
 * the agent keeps it across rounds, so challenge and verify, and the
 * rounds of later intervals, go over one kept-alive connection while the
 * controller keeps it open, and a new connection resumes the TLS session
 * (libcurl's session cache, held in a CURLSH share of the handle's own so
 * that agent_http_disconnect keeps it).  A handle serves one pin only: a
 * connection or session made under one token's pin is never used under
 * another's (the caller makes a new handle when the settings change).
 *
 * HTTP and HTTPS only, no redirects, no proxies (the controller checks
 * the request's source address, which a proxy would replace), connect
 * and total timeouts, and answers capped at AGENT_HTTP_MAX_BODY bytes.
 * A request that fails on a reused connection before any answer (the
 * controller closed it while it was idle) is retried once on a fresh
 * connection.
 *
 * TLS: with ca_file the server is checked against that bundle, else
 * against the system store.  With a pin (TOKEN.JSON "ca_sha256", the
 * SHA-256 of the server certificate's DER) the check is done in our own
 * OpenSSL certificate verification callback, installed through
 * CURLOPT_SSL_CTX_FUNCTION: the leaf certificate the server presented
 * must hash to the pin (and, with ca_file, also verify against it).
 * CURLOPT_PINNEDPUBLICKEY does not fit: it pins the hash of the public
 * key (SPKI), not of the certificate.  Since the pinned certificate
 * itself is what is trusted, host names are not checked in pin-only
 * mode; a self-signed vtokend certificate works for an IP address URL.
 * A resumed session sends no certificate, so that callback does not run
 * for it: the pin is checked again before every request is sent
 * (CURLOPT_PREREQFUNCTION), on the certificate the TLS session holds,
 * whether the connection is new, resumed or reused; no TLS session or no
 * certificate fails closed.
 *
 * Bodies are neither logged nor quoted in errors; answers are wiped
 * when released.  Nothing here logs.
 */
#ifndef VTOKEN_AGENT_HTTP_H
#define VTOKEN_AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define AGENT_HTTP_MAX_BODY	(64 * 1024)

struct agent_http_opts {
	const char *ca_file;	/* PEM bundle, or NULL/"" for the system's */
	const char *pin;	/* 64 lower-case hex digits, or NULL/"" */
	unsigned timeout;	/* seconds for a whole request */
	/* Polled during a transfer; true aborts it (e.g. SIGTERM pending). */
	bool (*cancel)(void *arg);
	void *cancel_arg;
};

struct agent_http_reply {
	long status;		/* HTTP status */
	char *body;		/* NUL-terminated, len bytes; may be NULL */
	size_t len;
};

/* What a handle did so far (for the debug log, tests and benchmarks). */
struct agent_http_stats {
	unsigned long requests;	/* answered requests */
	unsigned long connects;	/* new connections among them */
	unsigned long resumed;	/* new connections on a resumed session */
};

struct agent_http;

/*
 * Global libcurl set-up; call once at start, before any thread exists.
 * 0 or -1.
 */
int agent_http_global_init(void);
void agent_http_global_cleanup(void);

/* A handle; opts is copied.  NULL with *cause. */
struct agent_http *agent_http_new(const struct agent_http_opts *opts,
    char **cause);
/* Frees the handle, its connections and sessions; NULL is a no-op. */
void agent_http_free(struct agent_http *h);
/* True when h was made with the same settings as opts. */
bool agent_http_is_same(const struct agent_http *h,
    const struct agent_http_opts *opts);
/*
 * Closes h's connections but keeps its TLS sessions: the next request
 * connects again and resumes.  0, or -1 with *cause (h is then unusable
 * and must be freed).
 */
int agent_http_disconnect(struct agent_http *h, char **cause);
void agent_http_stats(const struct agent_http *h,
    struct agent_http_stats *st);

/*
 * POSTs the JSON text body (len bytes, borrowed) to url and fills *rep
 * (release it with agent_http_reply_clear) with any HTTP status.  -1
 * with *cause when no answer came (unreachable, TLS, timeout, too big,
 * cancelled); the cause never quotes a body.
 */
int agent_http_post(struct agent_http *h, const char *url, const char *body,
    size_t len, struct agent_http_reply *rep, char **cause);
/* Wipes and frees the body; the struct is the caller's. */
void agent_http_reply_clear(struct agent_http_reply *rep);

/*
 * GETs url into the open file fd (a download: no total timeout, but
 * aborted below 1 KiB/s for AGENT_HTTP_SLOW_SECS), at most max bytes.
 * 0 with *status (the body is written only for a 200) and *got, or -1
 * with *cause (unreachable, TLS, larger than max, write error...).
 */
int agent_http_get_file(struct agent_http *h, const char *url, int fd,
    unsigned long long max, long *status, unsigned long long *got,
    char **cause);
#define AGENT_HTTP_SLOW_SECS	60

/*
 * The address and port of the controller as the last successful request
 * reached it (CURLINFO_PRIMARY_IP/PORT): true with ip (a numeric
 * address) and *port, false when no request succeeded yet.
 */
#define AGENT_HTTP_IP_MAX	64
bool agent_http_peer(const struct agent_http *h,
    char ip[AGENT_HTTP_IP_MAX], unsigned *port);
/*
 * The same from the URL alone: its host resolved (the first address),
 * its port or the scheme's.  0, or -1 with *cause.
 */
int agent_http_resolve(const char *url, char ip[AGENT_HTTP_IP_MAX],
    unsigned *port, char **cause);

#endif
