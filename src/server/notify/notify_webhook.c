/*
 * notify_webhook: a webhook destination: each message is POSTed as
 * application/json with "X-Vtoken-Signature: sha256=HEX", the
 * HMAC-SHA256 of the exact body bytes keyed with the secret, so the
 * receiver can check that vtokend sent it and nobody changed it.  2xx is
 * delivered; 4xx means the receiver refuses the message (not retried,
 * except 408 and 429); anything else is retried.
 */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cause.h"
#include "common/encode.h"
#include "common/xmalloc.h"
#include "server/notify/notify_impl.h"

struct webhook {
	char *url;
	uint8_t *secret;
	size_t secret_len;
	char what[160];
	CURL *curl;		/* the thread's, made at the first send */
};

static size_t
webhook_discard(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

/* "X-Vtoken-Signature: sha256=" + hex of HMAC-SHA256(secret, body). */
static void
webhook_signature(const struct webhook *w, const char *body, char *out,
    size_t len)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int maclen = 0;

	HMAC(EVP_sha256(), w->secret, (int)w->secret_len,
	    (const unsigned char *)body, strlen(body), mac, &maclen);
	encode_hex(mac, maclen, hex, false);
	snprintf(out, len, "X-Vtoken-Signature: sha256=%s", hex);
	OPENSSL_cleanse(mac, sizeof(mac));
}

static enum notify_result
webhook_send(void *arg, const struct notify_msg *m, unsigned timeout_s,
    char *why, size_t whylen)
{
	struct webhook *w = arg;
	struct curl_slist *h = NULL;
	char sig[160];
	long status = 0;
	CURLcode rc;

	if (w->curl == NULL && (w->curl = curl_easy_init()) == NULL) {
		snprintf(why, whylen, "no curl handle");
		return NOTIFY_RETRY;
	}
	webhook_signature(w, m->body, sig, sizeof(sig));
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, sig);
	curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(m->body));
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, webhook_discard);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
	rc = curl_easy_perform(w->curl);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return NOTIFY_RETRY;
	}
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return NOTIFY_SENT;
	snprintf(why, whylen, "HTTP %ld", status);
	if (status >= 400 && status < 500 && status != 408 && status != 429)
		return NOTIFY_REJECTED;
	return NOTIFY_RETRY;
}

static void
webhook_free(void *arg)
{
	struct webhook *w = arg;

	if (w->curl != NULL)
		curl_easy_cleanup(w->curl);
	OPENSSL_cleanse(w->secret, w->secret_len);
	free(w->secret);
	free(w->url);
	free(w);
}

struct notify *
notify_webhook_new(const char *url, const uint8_t *secret, size_t secret_len,
    const struct notify_limits *lim, char **cause)
{
	struct notify_sink sink;
	struct webhook *w;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) !=
	    0) {
		cause_set(cause, "webhook url: http:// or https:// expected");
		return NULL;
	}
	if (secret_len == 0) {
		cause_set(cause, "webhook: a secret is needed to sign");
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->url = xstrdup(url);
	w->secret = xmalloc(secret_len);
	memcpy(w->secret, secret, secret_len);
	w->secret_len = secret_len;
	snprintf(w->what, sizeof(w->what), "webhook %.140s", url);
	sink.what = w->what;
	sink.send = webhook_send;
	sink.free = webhook_free;
	sink.arg = w;
	return notify_start(&sink, lim, cause);
}
