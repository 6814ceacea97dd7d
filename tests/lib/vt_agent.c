/* vt_agent: see vt_agent.h. */
#include "vt_agent.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "token/fat.h"
#include "vtoken/tokenfs.h"
#include "vtoken/vtauth.h"
#include "vtd_spawn.h"

void
vt_agent_load(struct vt_agent *a, const struct vtd *d, const char *token_id)
{
	struct vt_http_resp r;
	struct fat_mem mem;
	struct fat *fs;
	char path[128], *cause = NULL;
	uint8_t *pem = NULL;
	size_t len = 0;
	BIO *bio;

	memset(a, 0, sizeof(*a));
	snprintf(a->token, sizeof(a->token), "%s", token_id);
	snprintf(path, sizeof(path), "/v1/tokens/%s/image", token_id);
	ck_assert_int_eq(vt_api(d, "GET", path, NULL, &r), 0);
	ck_assert_msg(r.status == 200, "image: %ld", r.status);
	mem.buf = (const uint8_t *)r.body;
	mem.len = r.len;
	fs = fat_open(fat_mem_read, &mem, r.len, &cause);
	ck_assert_msg(fs != NULL, "image: %s", cause ? cause : "?");
	ck_assert_msg(fat_read_file(fs, TOKENFS_KEY, 4096, &pem, &len,
	    &cause) == 0, "TOKEN.KEY: %s", cause ? cause : "?");
	fat_close(fs);
	vt_http_resp_free(&r);
	bio = BIO_new_mem_buf(pem, (int)len);
	a->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	ck_assert_ptr_nonnull(a->key);
}

/* The base64 signature of the challenge's nonce (b64) into out. */
static void
vt_agent_sign(struct vt_agent *a, const char *nonce_b64, char *out,
    size_t outlen)
{
	uint8_t nonce[VTAUTH_NONCE_LEN + 1], msg[VTAUTH_MSG_LEN], sig[64];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *b64;

	ck_assert_int_eq(decode_base64(nonce_b64, nonce, sizeof(nonce)),
	    VTAUTH_NONCE_LEN);
	ck_assert_uint_eq(vtauth_message(a->token, nonce, VTAUTH_NONCE_LEN,
	    msg), VTAUTH_MSG_LEN);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, NULL, NULL, a->key), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)),
	    1);
	EVP_MD_CTX_free(ctx);
	b64 = encode_base64(sig, siglen);
	snprintf(out, outlen, "%s", b64);
	free(b64);
}

long
vt_agent_verify(struct vt_agent *a, const struct vtd *d, const char *src,
    const char *extra, struct vt_http_resp *out)
{
	struct vt_http_resp r;
	char url[256], sig[128], *body;
	size_t cap = strlen(extra) + 512;

	body = malloc(cap);
	ck_assert_ptr_nonnull(body);
	vt_api_url(d, "/v1/agent/challenge", url, sizeof(url));
	snprintf(body, cap, "{\"token\": \"%s\"}", a->token);
	ck_assert_int_eq(vt_http_from("POST", url, src, NULL, body, &r), 0);
	ck_assert_msg(r.status == 200, "challenge: %ld %s", r.status, r.body);
	vt_agent_sign(a, json_string_value(json_object_get(r.json, "nonce")),
	    sig, sizeof(sig));
	snprintf(body, cap, "{\"token\": \"%s\", \"nonce\": \"%s\", "
	    "\"signature\": \"%s\"%s%s}", a->token, json_string_value(
	    json_object_get(r.json, "nonce")), sig, extra[0] ? ", " : "",
	    extra);
	vt_http_resp_free(&r);
	vt_api_url(d, "/v1/agent/verify", url, sizeof(url));
	ck_assert_int_eq(vt_http_from("POST", url, src, NULL, body, out), 0);
	free(body);
	return out->status;
}

void
vt_agent_free(struct vt_agent *a)
{
	EVP_PKEY_free(a->key);
	a->key = NULL;
}
