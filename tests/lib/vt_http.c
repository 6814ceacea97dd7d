/*
 * vt_http: libcurl-based test HTTP client (see vt_http.h).
 */
#include "vt_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtd_spawn.h"

#define VT_HTTP_MAX (128u << 20)

struct vt_http_buf {
	char *p;
	size_t len;
};

static size_t
vt_http_write(char *data, size_t size, size_t n, void *arg)
{
	struct vt_http_buf *b = arg;
	size_t add = size * n;
	char *q;

	if (b->len + add > VT_HTTP_MAX)
		return 0;
	q = realloc(b->p, b->len + add + 1);
	if (q == NULL)
		return 0;
	memcpy(q + b->len, data, add);
	b->p = q;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* Appends all of text to path (O_APPEND, one write if it can). */
static void
vt_http_append(const char *path, const char *text, size_t len)
{
	static bool warned;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	while (fd >= 0 && len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		text += n;
		len -= (size_t)n;
	}
	if ((fd < 0 || len > 0) && !warned) {
		warned = true;
		fprintf(stderr, "vt_http: VT_HTTP_RECORD %s: %s\n", path,
		    strerror(errno));
	}
	if (fd >= 0)
		close(fd);
}

void
vt_http_record(const char *method, const char *target,
    const char *request_body, long status, const char *content_type,
    const char *body, size_t len, const char *omitted)
{
	const char *file = getenv("VT_HTTP_RECORD");
	const char *q = strchr(target, '?');
	size_t plen = q != NULL ? (size_t)(q - target) : strlen(target);
	json_t *o, *jbody = NULL, *jreq = NULL;
	char *text, *line;

	if (file == NULL || file[0] == '\0')
		return;
	if (omitted == NULL && body != NULL && len > VT_HTTP_RECORD_MAX)
		omitted = "over VT_HTTP_RECORD_MAX";
	if (omitted == NULL && body != NULL &&
	    (jbody = json_stringn(body, len)) == NULL)
		omitted = "not UTF-8";
	if (request_body != NULL && strlen(request_body) <= VT_HTTP_RECORD_MAX)
		jreq = json_string(request_body);	/* NULL if not UTF-8 */
	o = json_pack("{s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:o}", "method",
	    method, "path", json_stringn(target, plen), "query", q != NULL ?
	    json_string(q + 1) : json_null(), "request_body", jreq != NULL ?
	    jreq : json_null(), "status", (json_int_t)status,
	    "content_type", content_type != NULL ? json_string(content_type) :
	    json_null(), "body", jbody != NULL ? jbody : json_null(),
	    "body_omitted", omitted != NULL ? json_string(omitted) :
	    json_null());
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	/* One write of the line and its newline: lines never interleave. */
	if (text == NULL || (line = malloc(strlen(text) + 2)) == NULL) {
		free(text);
		fprintf(stderr, "vt_http: cannot record %s %.*s\n", method,
		    (int)plen, target);
		return;
	}
	snprintf(line, strlen(text) + 2, "%s\n", text);
	vt_http_append(file, line, strlen(line));
	free(text);
	free(line);
}

/* The request target of url: its path and query ("/" when none). */
static const char *
vt_http_target(const char *url)
{
	const char *p = strstr(url, "://");

	p = p != NULL ? strchr(p + 3, '/') : NULL;
	return p != NULL ? p : "/";
}

static int vt_http_do(const char *method, const char *url, const char *src,
    const char *key, const char *body, const char *cafile,
    struct vt_http_resp *out);

int
vt_http(const char *method, const char *url, const char *key,
    const char *body, struct vt_http_resp *out)
{
	return vt_http_do(method, url, NULL, key, body, NULL, out);
}

int
vt_http_from(const char *method, const char *url, const char *src,
    const char *key, const char *body, struct vt_http_resp *out)
{
	return vt_http_do(method, url, src, key, body, NULL, out);
}

int
vt_https(const char *method, const char *url, const char *key,
    const char *body, const char *cafile, struct vt_http_resp *out)
{
	return vt_http_do(method, url, NULL, key, body, cafile, out);
}

static int
vt_http_do(const char *method, const char *url, const char *src,
    const char *key, const char *body, const char *cafile,
    struct vt_http_resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct vt_http_buf b = { NULL, 0 };
	char auth[256], *ctype = NULL;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, vt_http_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (cafile != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	if (src != NULL) {
		char iface[64];

		snprintf(iface, sizeof(iface), "host!%s", src);
		curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	}
	if (key != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
		h = curl_slist_append(h, auth);
	}
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (rc != CURLE_OK || curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE,
	    &ctype) != CURLE_OK)
		ctype = NULL;
	vt_http_record(method, vt_http_target(url), body, out->status, ctype,
	    b.p ? b.p : "", b.len, NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	out->body = b.p ? b.p : calloc(1, 1);
	out->len = b.len;
	if (out->len > 0)
		out->json = json_loadb(out->body, out->len, 0, NULL);
	return rc == CURLE_OK ? 0 : -1;
}

void
vt_http_resp_free(struct vt_http_resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

const char *
vt_admin_key(const struct vtd *d)
{
	static char key[160];
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/var/admin.key", d->dir);
	key[0] = '\0';
	f = fopen(path, "r");
	if (f == NULL)
		return key;
	if (fgets(key, sizeof(key), f) == NULL)
		key[0] = '\0';
	fclose(f);
	key[strcspn(key, "\r\n")] = '\0';
	return key;
}

const char *
vt_api_url(const struct vtd *d, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%u%s", d->api_port, path);
	return buf;
}

int
vt_api(const struct vtd *d, const char *method, const char *path,
    const char *body, struct vt_http_resp *out)
{
	char url[512];

	return vt_http(method, vt_api_url(d, path, url, sizeof(url)),
	    vt_admin_key(d), body, out);
}

long long
vt_audit_last_seq(const struct vtd *d)
{
	struct vt_http_resp r;
	long long seq = -1;

	if (vt_api(d, "GET", "/v1/audit?limit=1", NULL, &r) == 0 &&
	    r.status == 200 && r.json != NULL)
		seq = json_integer_value(json_object_get(r.json, "last_seq"));
	vt_http_resp_free(&r);
	return seq;
}

int
vt_audit_count(const struct vtd *d, const char *action, const char *needle)
{
	struct vt_http_resp r;
	char path[64];
	long long after = 0;
	int n = 0;

	for (int page = 0; page < 100; page++) {
		json_t *recs, *rec;
		size_t i;

		snprintf(path, sizeof(path), "/v1/audit?after=%lld&limit=1000",
		    after);
		/* An error reply must not read as "no such records". */
		if (vt_api(d, "GET", path, NULL, &r) != 0 || r.json == NULL ||
		    r.status != 200 ||
		    !json_is_array(json_object_get(r.json, "records"))) {
			vt_http_resp_free(&r);
			return -1;
		}
		recs = json_object_get(r.json, "records");
		if (json_array_size(recs) == 0) {
			vt_http_resp_free(&r);
			break;
		}
		json_array_foreach(recs, i, rec) {
			const char *a = json_string_value(
			    json_object_get(rec, "action"));
			char *all = json_dumps(rec, JSON_COMPACT);

			if (a != NULL && strcmp(a, action) == 0 &&
			    (needle == NULL || strstr(all, needle) != NULL))
				n++;
			free(all);
			after = json_integer_value(json_object_get(rec, "seq"));
		}
		vt_http_resp_free(&r);
	}
	return n;
}

long long
vt_metric(const char *body, const char *name)
{
	size_t n = strlen(name);
	const char *p = body;
	long long v;

	while ((p = strstr(p, name)) != NULL) {
		const char *after = p + n;
		bool line_start = p == body || p[-1] == '\n';

		p = after;
		if (!line_start || (*after != ' ' && *after != '{'))
			continue;
		if (*after == '{' && (after = strchr(after, '}')) == NULL)
			return -1;
		if (*after == '}')
			after++;
		if (sscanf(after, " %lld", &v) == 1)
			return v;
	}
	return -1;
}
