/*
 * check_token: credentials (src/token/token_cred.h) and token images
 * (src/token/token_image.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "token/fat.h"
#include "token/token_cred.h"
#include "token/token_image.h"

#define MIB		(1024u * 1024u)

static const char t_msg[] = "vtoken-auth-v1tok-1\x01\x02\x03nonce";

static struct token_cred *
t_gen(void)
{
	struct token_cred *c;
	char *cause = NULL;

	if ((c = token_cred_generate(&cause)) == NULL)
		ck_abort_msg("token_cred_generate: %s", cause);
	return c;
}

static void
t_pub(const struct token_cred *c, uint8_t *pub)
{
	ck_assert_int_eq(token_cred_public(c, pub, NULL), 0);
}

START_TEST(test_sign_verify)
{
	struct token_cred *a = t_gen(), *b = t_gen();
	uint8_t pa[TOKEN_CRED_PUBKEY_LEN], pb[TOKEN_CRED_PUBKEY_LEN];
	uint8_t sig[TOKEN_CRED_SIG_LEN], sig2[TOKEN_CRED_SIG_LEN];
	char msg[sizeof(t_msg)];

	t_pub(a, pa);
	t_pub(b, pb);
	ck_assert(memcmp(pa, pb, sizeof(pa)) != 0);
	ck_assert_int_eq(token_cred_sign(a, t_msg, sizeof(t_msg) - 1, sig,
	    NULL), 0);
	ck_assert(token_cred_verify(pa, t_msg, sizeof(t_msg) - 1, sig,
	    sizeof(sig)));
	/* Ed25519 is deterministic. */
	ck_assert_int_eq(token_cred_sign(a, t_msg, sizeof(t_msg) - 1, sig2,
	    NULL), 0);
	ck_assert(memcmp(sig, sig2, sizeof(sig)) == 0);
	/* Wrong key. */
	ck_assert(!token_cred_verify(pb, t_msg, sizeof(t_msg) - 1, sig,
	    sizeof(sig)));
	/* Tampered message: every byte, and a shorter one. */
	for (size_t i = 0; i < sizeof(t_msg) - 1; i++) {
		memcpy(msg, t_msg, sizeof(msg));
		msg[i] ^= 0x20;
		ck_assert(!token_cred_verify(pa, msg, sizeof(t_msg) - 1, sig,
		    sizeof(sig)));
	}
	ck_assert(!token_cred_verify(pa, t_msg, sizeof(t_msg) - 2, sig,
	    sizeof(sig)));
	/* Tampered or malformed signature. */
	sig2[10] ^= 1;
	ck_assert(!token_cred_verify(pa, t_msg, sizeof(t_msg) - 1, sig2,
	    sizeof(sig2)));
	ck_assert(!token_cred_verify(pa, t_msg, sizeof(t_msg) - 1, sig,
	    sizeof(sig) - 1));
	ck_assert(!token_cred_verify(pa, t_msg, sizeof(t_msg) - 1, NULL,
	    sizeof(sig)));
	/* Empty message. */
	ck_assert_int_eq(token_cred_sign(a, "", 0, sig, NULL), 0);
	ck_assert(token_cred_verify(pa, "", 0, sig, sizeof(sig)));
	/* An invalid public key (not a curve point) is simply false. */
	memset(pb, 0xff, sizeof(pb));
	ck_assert(!token_cred_verify(pb, "", 0, sig, sizeof(sig)));
	ck_assert(token_cred_matches(a, pa));
	ck_assert(!token_cred_matches(b, pa));
	token_cred_free(a);
	token_cred_free(b);
	token_cred_free(NULL);
}
END_TEST

START_TEST(test_pem_roundtrip)
{
	struct token_cred *a = t_gen(), *b;
	uint8_t pa[TOKEN_CRED_PUBKEY_LEN], pb[TOKEN_CRED_PUBKEY_LEN];
	uint8_t sig[TOKEN_CRED_SIG_LEN];
	char *pem, *pem2, *cause = NULL;
	size_t len, len2;

	t_pub(a, pa);
	ck_assert_int_eq(token_cred_private_pem(a, &pem, &len, &cause), 0);
	ck_assert_uint_eq(strlen(pem), len);
	ck_assert(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	ck_assert_ptr_nonnull(strstr(pem, "-----END PRIVATE KEY-----\n"));
	if ((b = token_cred_from_pem(pem, len, &cause)) == NULL)
		ck_abort_msg("token_cred_from_pem: %s", cause);
	t_pub(b, pb);
	ck_assert(memcmp(pa, pb, sizeof(pa)) == 0);
	/* The loaded key signs for the original public key. */
	ck_assert_int_eq(token_cred_sign(b, t_msg, 5, sig, NULL), 0);
	ck_assert(token_cred_verify(pa, t_msg, 5, sig, sizeof(sig)));
	/* And exports the same PEM. */
	ck_assert_int_eq(token_cred_private_pem(b, &pem2, &len2, NULL), 0);
	ck_assert_uint_eq(len, len2);
	ck_assert_str_eq(pem, pem2);
	token_cred_wipe_free(pem, len);
	token_cred_wipe_free(pem2, len2);
	token_cred_wipe_free(NULL, 0);
	token_cred_free(a);
	token_cred_free(b);
}
END_TEST

static void
t_pem_bad(const char *pem, size_t len)
{
	char *cause = NULL;

	ck_assert_ptr_null(token_cred_from_pem(pem, len, &cause));
	ck_assert_ptr_nonnull(cause);
	free(cause);
}

/* Writes key as PEM with OpenSSL directly (optionally encrypted). */
static char *
t_foreign_pem(EVP_PKEY *key, const EVP_CIPHER *enc, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	ck_assert_ptr_nonnull(bio);
	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, key, enc,
	    enc != NULL ? "secret" : NULL, enc != NULL ? 6 : 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t)n);
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

START_TEST(test_pem_rejects)
{
	struct token_cred *a = t_gen();
	EVP_PKEY *ec;
	char *pem, *big;
	size_t len;

	t_pem_bad("", 0);
	t_pem_bad("garbage", 7);
	t_pem_bad("-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n", 58);
	big = malloc(TOKEN_CRED_PEM_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'A', TOKEN_CRED_PEM_MAX + 1);
	big[TOKEN_CRED_PEM_MAX + 1] = '\0';
	t_pem_bad(big, TOKEN_CRED_PEM_MAX + 1);
	free(big);
	/* A truncated real key. */
	ck_assert_int_eq(token_cred_private_pem(a, &pem, &len, NULL), 0);
	t_pem_bad(pem, len / 2);
	token_cred_wipe_free(pem, len);
	/* An encrypted key: refused, with no passphrase prompt. */
	ck_assert_int_eq(token_cred_private_pem(a, &pem, &len, NULL), 0);
	{
		struct token_cred *b = token_cred_from_pem(pem, len, NULL);
		EVP_PKEY *k;
		BIO *bio = BIO_new_mem_buf(pem, (int)len);
		char *enc;
		size_t elen;

		ck_assert_ptr_nonnull(b);
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		ck_assert_ptr_nonnull(k);
		enc = t_foreign_pem(k, EVP_aes_256_cbc(), &elen);
		ck_assert_ptr_nonnull(strstr(enc, "ENCRYPTED"));
		t_pem_bad(enc, elen);
		free(enc);
		EVP_PKEY_free(k);
		BIO_free(bio);
		token_cred_free(b);
	}
	token_cred_wipe_free(pem, len);
	/* Not Ed25519. */
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(ec);
	pem = t_foreign_pem(ec, NULL, &len);
	{
		char *cause = NULL;

		ck_assert_ptr_null(token_cred_from_pem(pem, len, &cause));
		ck_assert_ptr_nonnull(strstr(cause, "not Ed25519"));
		free(cause);
	}
	free(pem);
	EVP_PKEY_free(ec);
	token_cred_free(a);
}
END_TEST

START_TEST(test_pub_text)
{
	struct token_cred *a = t_gen();
	uint8_t pa[TOKEN_CRED_PUBKEY_LEN], back[TOKEN_CRED_PUBKEY_LEN];
	char b64[TOKEN_CRED_B64_LEN + 1], hex[TOKEN_CRED_HEX_LEN + 1];
	char bad[TOKEN_CRED_B64_LEN + 2];

	t_pub(a, pa);
	token_cred_pub_to_b64(pa, b64);
	ck_assert_uint_eq(strlen(b64), TOKEN_CRED_B64_LEN);
	ck_assert_int_eq(b64[43], '=');
	ck_assert_int_eq(token_cred_pub_from_b64(b64, back), 0);
	ck_assert(memcmp(pa, back, sizeof(pa)) == 0);
	token_cred_pub_to_hex(pa, hex);
	ck_assert_uint_eq(strlen(hex), TOKEN_CRED_HEX_LEN);
	ck_assert_int_eq(token_cred_pub_from_hex(hex, back), 0);
	ck_assert(memcmp(pa, back, sizeof(pa)) == 0);

	memset(pa, 0, sizeof(pa));
	token_cred_pub_to_b64(pa, b64);
	ck_assert_str_eq(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	token_cred_pub_to_hex(pa, hex);
	ck_assert_int_eq(token_cred_pub_from_hex(
	    "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
	    back), 0);
	ck_assert_uint_eq(back[15], 0xff);

	ck_assert_int_eq(token_cred_pub_from_b64(NULL, back), -1);
	ck_assert_int_eq(token_cred_pub_from_b64("", back), -1);
	ck_assert_int_eq(token_cred_pub_from_b64(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", back), -1);
	ck_assert_int_eq(token_cred_pub_from_b64(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", back), -1);
	ck_assert_int_eq(token_cred_pub_from_b64(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAA=", back), -1);
	ck_assert_int_eq(token_cred_pub_from_b64(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=", back), -1);
	snprintf(bad, sizeof(bad), "%sA", b64);
	ck_assert_int_eq(token_cred_pub_from_b64(bad, back), -1);
	ck_assert_int_eq(token_cred_pub_from_hex(NULL, back), -1);
	ck_assert_int_eq(token_cred_pub_from_hex("00", back), -1);
	memset(hex, '0', TOKEN_CRED_HEX_LEN);
	hex[5] = 'g';
	ck_assert_int_eq(token_cred_pub_from_hex(hex, back), -1);
	token_cred_free(a);
}
END_TEST

/* ---- TOKEN.JSON ---- */

static char t_id[] = "3f0c8a52-8d1e-4d5b-9a51-0c2f6e7d9b10";
static char t_name[] = "build \"agent\" \xc3\xa9t\xc3\xa9";
static char t_url[] = "https://vtokend.example:3241";
static char t_sha[] =
    "AABBCCDDEEFF00112233445566778899aabbccddeeff00112233445566778899";

static void
t_info(struct token_image_info *info)
{
	info->token_id = t_id;
	info->name = t_name;
	info->controller = t_url;
	info->ca_sha256 = t_sha;
}

START_TEST(test_json_canonical)
{
	struct token_image_info info, back;
	char *json, *cause = NULL;
	size_t len;

	t_info(&info);
	json = token_image_json(&info, &len, &cause);
	ck_assert_ptr_nonnull(json);
	ck_assert_str_eq(json, "{\"ca_sha256\":\"aabbccddeeff00112233445566"
	    "778899aabbccddeeff00112233445566778899\",\"controller\":"
	    "\"https://vtokend.example:3241\",\"name\":\"build \\\"agent\\\" "
	    "\xc3\xa9t\xc3\xa9\",\"token_id\":"
	    "\"3f0c8a52-8d1e-4d5b-9a51-0c2f6e7d9b10\",\"version\":1}");
	ck_assert_uint_eq(len, strlen(json));
	ck_assert_int_eq(token_image_parse_json(json, len, &back, &cause), 0);
	ck_assert_str_eq(back.token_id, t_id);
	ck_assert_str_eq(back.name, t_name);
	ck_assert_str_eq(back.controller, t_url);
	ck_assert_str_eq(back.ca_sha256, "aabbccddeeff00112233445566778899"
	    "aabbccddeeff00112233445566778899");
	token_image_info_clear(&back);
	ck_assert_ptr_null(back.token_id);
	free(json);

	info.ca_sha256 = NULL;
	info.name = t_id + 36;		/* "" */
	json = token_image_json(&info, &len, NULL);
	ck_assert_str_eq(json, "{\"controller\":\"https://vtokend.example:"
	    "3241\",\"name\":\"\",\"token_id\":"
	    "\"3f0c8a52-8d1e-4d5b-9a51-0c2f6e7d9b10\",\"version\":1}");
	free(json);
}
END_TEST

START_TEST(test_json_build_rejects)
{
	static char bad_ids[][140] = { "", "has space", "new\nline", "ü",
	    "a/b" };
	static char bad_urls[][40] = { "", "ftp://x", "https://", "http://a b",
	    "vtokend:3241" };
	static char bad_names[][8] = { "a\nb", "\x7f", "\xff\xfe" };
	static char bad_shas[][70] = { "", "abc", "zz112233445566778899aa"
	    "bbccddeeff00112233445566778899aabbccddeeff", "0011223344556677"
	    "8899aabbccddeeff00112233445566778899aabbccddeeff0" };
	struct token_image_info info;
	char long_id[TOKEN_IMAGE_ID_MAX + 2], *cause = NULL, *json;
	size_t len;

	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		t_info(&info);
		info.token_id = bad_ids[i];
		ck_assert_ptr_null(token_image_json(&info, &len, &cause));
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
	}
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		t_info(&info);
		info.controller = bad_urls[i];
		ck_assert_ptr_null(token_image_json(&info, &len, NULL));
	}
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]);
	    i++) {
		t_info(&info);
		info.name = bad_names[i];
		ck_assert_ptr_null(token_image_json(&info, &len, NULL));
	}
	for (size_t i = 0; i < sizeof(bad_shas) / sizeof(bad_shas[0]); i++) {
		t_info(&info);
		info.ca_sha256 = bad_shas[i];
		ck_assert_ptr_null(token_image_json(&info, &len, NULL));
	}
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	t_info(&info);
	info.token_id = long_id;
	ck_assert_ptr_null(token_image_json(&info, &len, NULL));
	long_id[TOKEN_IMAGE_ID_MAX] = '\0';
	json = token_image_json(&info, &len, NULL);
	ck_assert_ptr_nonnull(json);
	free(json);
	info.token_id = NULL;
	ck_assert_ptr_null(token_image_json(&info, &len, NULL));
}
END_TEST

static void
t_parse_bad(const char *json, const char *why)
{
	struct token_image_info info;
	char *cause = NULL;

	ck_assert_int_eq(token_image_parse_json(json, strlen(json), &info,
	    &cause), -1);
	ck_assert_ptr_null(info.token_id);
	ck_assert_ptr_null(info.name);
	ck_assert_ptr_nonnull(cause);
	if (why != NULL)
		ck_assert_msg(strstr(cause, why) != NULL, "cause \"%s\" lacks "
		    "\"%s\"", cause, why);
	free(cause);
}

START_TEST(test_json_parse)
{
	struct token_image_info info;
	const char *ok = "{\"version\":1,\"token_id\":\"t-1\",\"controller\":"
	    "\"http://10.0.0.1:3241\",\"future\":{\"x\":[1,2]}}";
	char *big;

	ck_assert_int_eq(token_image_parse_json(ok, strlen(ok), &info, NULL),
	    0);
	ck_assert_str_eq(info.token_id, "t-1");
	ck_assert_str_eq(info.name, "");
	ck_assert_ptr_null(info.ca_sha256);
	token_image_info_clear(&info);

	t_parse_bad("", NULL);
	t_parse_bad("[]", "not an object");
	t_parse_bad("{\"version\":2,\"token_id\":\"t\",\"controller\":"
	    "\"https://x.y\"}", "version");
	t_parse_bad("{\"version\":\"1\",\"token_id\":\"t\",\"controller\":"
	    "\"https://x.y\"}", "version");
	t_parse_bad("{\"version\":1,\"controller\":\"https://x.y\"}",
	    "token_id");
	t_parse_bad("{\"version\":1,\"token_id\":\"t\"}", "controller");
	t_parse_bad("{\"version\":1,\"token_id\":7,\"controller\":"
	    "\"https://x.y\"}", "not a string");
	t_parse_bad("{\"version\":1,\"token_id\":\"t\",\"token_id\":\"u\","
	    "\"controller\":\"https://x.y\"}", NULL);
	t_parse_bad("{\"version\":1,\"token_id\":\"t\",\"controller\":"
	    "\"https://x.y\"} trailing", NULL);
	t_parse_bad("{\"version\":1,\"token_id\":\"t u\",\"controller\":"
	    "\"https://x.y\"}", "token_id");
	t_parse_bad("{\"version\":1,\"token_id\":\"t\",\"controller\":"
	    "\"https://x.y\",\"ca_sha256\":\"abc\"}", "ca_sha256");
	t_parse_bad("{\"version\":1,\"token_id\":\"t\\u0000\",\"controller\":"
	    "\"https://x.y\"}", NULL);
	big = malloc(TOKEN_IMAGE_JSON_MAX + 100);
	ck_assert_ptr_nonnull(big);
	snprintf(big, TOKEN_IMAGE_JSON_MAX + 100, "{\"version\":1,\"token_id\""
	    ":\"t\",\"controller\":\"https://x.y\",\"pad\":\"%0*d\"}",
	    TOKEN_IMAGE_JSON_MAX, 0);
	t_parse_bad(big, "too long");
	free(big);
}
END_TEST

/* ---- Whole images ---- */

static uint8_t *
t_image(uint64_t size, struct token_cred *cred)
{
	struct token_image_opts opts = { size, 0xfeedf00d, 1700000000 };
	struct token_image_info info;
	uint8_t *buf = malloc((size_t)size);
	char *cause = NULL;

	ck_assert_ptr_nonnull(buf);
	t_info(&info);
	if (token_image_build(buf, &opts, &info, cred, &cause) != 0)
		ck_abort_msg("token_image_build: %s", cause);
	return buf;
}

/* In KiB; 1382 KiB once had a FAT12 one byte short of its last entry. */
static const unsigned t_sizes[] = { 1024, 1382, 2048, 4096, 8192, 16384,
    32768, 65536 };

START_TEST(test_image_roundtrip)
{
	uint64_t size = (uint64_t)t_sizes[_i] * 1024;
	struct token_cred *cred = t_gen(), *back;
	struct token_image_info info;
	struct fat_mem m;
	struct fat *fs;
	uint8_t pub[TOKEN_CRED_PUBKEY_LEN], sig[TOKEN_CRED_SIG_LEN], *img;
	char label[FAT_LABEL_MAX], *cause = NULL;

	t_pub(cred, pub);
	img = t_image(size, cred);
	m.buf = img;
	m.len = (size_t)size;
	if (token_image_read(fat_mem_read, &m, size, &info, &back,
	    &cause) != 0)
		ck_abort_msg("token_image_read: %s", cause);
	ck_assert_str_eq(info.token_id, t_id);
	ck_assert_str_eq(info.controller, t_url);
	ck_assert_str_eq(info.name, t_name);
	ck_assert_ptr_nonnull(info.ca_sha256);
	ck_assert(token_cred_matches(back, pub));
	ck_assert_int_eq(token_cred_sign(back, t_msg, 9, sig, NULL), 0);
	ck_assert(token_cred_verify(pub, t_msg, 9, sig, sizeof(sig)));
	token_image_info_clear(&info);
	token_cred_free(back);

	fs = fat_open(fat_mem_read, &m, size, NULL);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(fat_label_read(fs, label, NULL), 0);
	ck_assert_str_eq(label, TOKEN_IMAGE_LABEL);
	ck_assert_uint_eq(fat_serial(fs), 0xfeedf00d);
	fat_close(fs);
	token_cred_free(cred);
	free(img);
}
END_TEST

struct t_wbuf {
	uint8_t *buf;
	size_t len;
};

static int
t_write(void *arg, uint64_t off, const void *buf, size_t len)
{
	struct t_wbuf *w = arg;

	if (off > w->len || w->len - off < len)
		return -1;
	memcpy(w->buf + off, buf, len);
	return 0;
}

static int
t_write_fail(void *arg, uint64_t off, const void *buf, size_t len)
{
	(void)arg;
	(void)off;
	(void)buf;
	(void)len;
	return -1;
}

START_TEST(test_image_write)
{
	struct token_image_opts opts = { 4 * MIB, 0xfeedf00d, 1700000000 };
	struct token_image_info info;
	struct token_cred *cred = t_gen();
	struct t_wbuf w = { calloc(1, 4 * MIB), 4 * MIB };
	uint8_t *img = t_image(4 * MIB, cred);
	char *cause = NULL;

	ck_assert_ptr_nonnull(w.buf);
	t_info(&info);
	ck_assert_int_eq(token_image_write(t_write, &w, &opts, &info, cred,
	    NULL), 0);
	ck_assert(memcmp(w.buf, img, 4 * MIB) == 0);
	ck_assert_int_eq(token_image_write(t_write_fail, NULL, &opts, &info,
	    cred, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "write error"));
	free(cause);
	opts.size = 100;
	ck_assert_int_eq(token_image_write(t_write, &w, &opts, &info, cred,
	    NULL), -1);
	free(w.buf);
	free(img);
	token_cred_free(cred);
}
END_TEST

/* Images with the wrong content: missing, oversized or bad files. */
static void
t_read_bad(const struct fat_file *files, size_t n, const char *why)
{
	struct fat_build_opts o = { MIB, "VTOKEN", 1, 0 };
	struct token_image_info info;
	struct token_cred *cred = (struct token_cred *)1;
	struct fat_mem m;
	uint8_t *buf = malloc(MIB);
	char *cause = NULL;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fat_build(buf, &o, files, n, NULL), 0);
	m.buf = buf;
	m.len = MIB;
	ck_assert_int_eq(token_image_read(fat_mem_read, &m, MIB, &info,
	    &cred, &cause), -1);
	ck_assert_ptr_null(cred);
	ck_assert_ptr_null(info.token_id);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, why) != NULL, "cause \"%s\" lacks \"%s\"",
	    cause, why);
	free(cause);
	free(buf);
}

START_TEST(test_image_read_rejects)
{
	struct token_cred *cred = t_gen();
	struct fat_file f[2];
	char *json, *pem, *big;
	size_t jlen, plen;
	struct token_image_info info;

	t_info(&info);
	json = token_image_json(&info, &jlen, NULL);
	ck_assert_int_eq(token_cred_private_pem(cred, &pem, &plen, NULL), 0);
	big = calloc(1, 5000);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', 5000);
	memset(f, 0, sizeof(f));
	f[0].name = "TOKEN.JSON";
	f[0].data = json;
	f[0].len = jlen;
	f[1].name = "TOKEN.KEY";
	f[1].data = pem;
	f[1].len = plen;

	t_read_bad(f, 1, "TOKEN.KEY: no such file");
	t_read_bad(f + 1, 1, "TOKEN.JSON: no such file");
	f[1].data = big;
	f[1].len = 5000;
	t_read_bad(f, 2, "limit");
	f[1].len = 100;
	t_read_bad(f, 2, "PEM");
	f[1].data = pem;
	f[1].len = plen;
	f[0].data = big;
	f[0].len = 5000;
	t_read_bad(f, 2, "limit");
	f[0].data = "{\"version\":1}";
	f[0].len = 13;
	t_read_bad(f, 2, "token_id");
	{
		struct token_cred *c = (struct token_cred *)1;
		uint8_t zero[4096] = { 0 };
		struct fat_mem m = { zero, sizeof(zero) };
		char *cause = NULL;

		ck_assert_int_eq(token_image_read(fat_mem_read, &m,
		    sizeof(zero), &info, &c, &cause), -1);
		ck_assert_ptr_null(c);
		free(cause);
	}
	free(big);
	free(json);
	token_cred_wipe_free(pem, plen);
	token_cred_free(cred);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc;

	tc = tcase_create("cred");
	tcase_add_test(tc, test_sign_verify);
	tcase_add_test(tc, test_pem_roundtrip);
	tcase_add_test(tc, test_pem_rejects);
	tcase_add_test(tc, test_pub_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_canonical);
	tcase_add_test(tc, test_json_build_rejects);
	tcase_add_test(tc, test_json_parse);
	suite_add_tcase(s, tc);

	tc = tcase_create("image");
	tcase_add_loop_test(tc, test_image_roundtrip, 0,
	    sizeof(t_sizes) / sizeof(t_sizes[0]));
	tcase_add_test(tc, test_image_write);
	tcase_add_test(tc, test_image_read_rejects);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(token_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);	/* CK_VERBOSITY, default normal */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
