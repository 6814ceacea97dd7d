/*
 * vt_http: a tiny blocking HTTP client for tests (libcurl), speaking to
 * vtokend's REST API with or without an API key.  Bounded: 10 s per
 * request, responses capped at 128 MiB.
 */
#ifndef VTOKEN_TEST_VT_HTTP_H
#define VTOKEN_TEST_VT_HTTP_H

#include <jansson.h>
#include <stddef.h>

struct vtd;

struct vt_http_resp {
	long status;		/* HTTP status, 0 on transport failure */
	char *body;		/* NUL-terminated; owned */
	size_t len;
	json_t *json;		/* parsed body or NULL; owned */
};

/*
 * METHOD url with an optional JSON body (NULL: none) and bearer key
 * (NULL: no Authorization header).  Returns 0 when a response arrived.
 */
int vt_http(const char *method, const char *url, const char *key,
    const char *body, struct vt_http_resp *out);
/* The same over HTTPS, trusting only the CA certificate in cafile. */
int vt_https(const char *method, const char *url, const char *key,
    const char *body, const char *cafile, struct vt_http_resp *out);
/* vt_http from source address src (a local 127.x address; NULL: any). */
int vt_http_from(const char *method, const char *url, const char *src,
    const char *key, const char *body, struct vt_http_resp *out);
void vt_http_resp_free(struct vt_http_resp *r);

/*
 * Recording for tests/openapi/check_responses.py: when the environment
 * variable VT_HTTP_RECORD names a file, every response vt_http and
 * vt_https receive (and every stream vt_sse opens) is appended to it as
 * one JSON line: {"method", "path" (as sent, still percent-encoded),
 * "query" (or null), "request_body" (or null), "status" (0: no
 * response), "content_type" (or null), "body" (a string, or null with
 * "body_omitted" saying why: over VT_HTTP_RECORD_MAX, not UTF-8, or a
 * stream)}.  The file is opened with O_APPEND for each line, so forked
 * tests and threads can share it.
 */
#define VT_HTTP_RECORD_MAX	(4u << 20)
void vt_http_record(const char *method, const char *target,
    const char *request_body, long status, const char *content_type,
    const char *body, size_t len, const char *omitted);

/* The daemon's admin key (DIR/var/admin.key), static buffer per vtd. */
const char *vt_admin_key(const struct vtd *d);
/* "http://127.0.0.1:API_PORT" + path into buf. */
const char *vt_api_url(const struct vtd *d, const char *path, char *buf,
    size_t len);
/* Authenticated request against d's API (admin key). */
int vt_api(const struct vtd *d, const char *method, const char *path,
    const char *body, struct vt_http_resp *out);
/* Audit last_seq, or -1. */
long long vt_audit_last_seq(const struct vtd *d);
/*
 * The value of the metric `name` (its first sample, whatever its labels)
 * in a Prometheus text body; -1 when absent.
 */
long long vt_metric(const char *body, const char *name);
/* Count of audit records with action (and subject containing needle). */
int vt_audit_count(const struct vtd *d, const char *action,
    const char *needle);

#endif
