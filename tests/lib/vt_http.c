/*
 * vt_http: libcurl-based test HTTP client (see vt_http.h).
 */
#include "vt_http.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
vt_http(const char *method, const char *url, const char *key,
    const char *body, struct vt_http_resp *out)
{
	return vt_https(method, url, key, body, NULL, out);
}

int
vt_https(const char *method, const char *url, const char *key,
    const char *body, const char *cafile, struct vt_http_resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct vt_http_buf b = { NULL, 0 };
	char auth[256];
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
