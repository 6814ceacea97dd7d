/*
 * agent_release: size, hash and signature of a release (see
 * agent_release.h).
 */
#include "agent/agent_release.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cause.h"
#include "common/encode.h"
#include "common/xmalloc.h"

#define RELEASE_CONTEXT	"vtoken-release-v1"

static int release_hash(const char *path, uint64_t *size,
    char hex[65], char **cause);
static int release_verify_sig(const char *keypath, const char *msg,
    const uint8_t *sig, char **cause);

char *
agent_release_message(const char *version, const char *sha256,
    uint64_t size)
{
	return xasprintf(RELEASE_CONTEXT " %s %s %" PRIu64 "\n", version,
	    sha256, size);
}

int
agent_release_version_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 64 || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return 0;
	return strspn(v, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.+~-") == n;
}

/* SHA-256 (lower-case hex) and size of the file; at most the cap read. */
static int
release_hash(const char *path, uint64_t *size, char hex[65], char **cause)
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	FILE *fp;
	size_t n;
	int rv = -1;

	if ((fp = fopen(path, "rbe")) == NULL)
		return cause_set(cause, "%s: %s", path, strerror(errno));
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		cause_set(cause, "SHA-256 unavailable");
		goto out;
	}
	*size = 0;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0 &&
	    *size <= AGENT_RELEASE_MAX) {
		*size += n;
		EVP_DigestUpdate(ctx, buf, n);
	}
	if (ferror(fp))
		cause_set(cause, "%s: read error", path);
	else if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		cause_set(cause, "SHA-256 failed");
	else {
		encode_hex(md, 32, hex, false);
		rv = 0;
	}
out:
	EVP_MD_CTX_free(ctx);
	fclose(fp);
	return rv;
}

/* Ed25519 signature sig over msg with the PEM public key at keypath. */
static int
release_verify_sig(const char *keypath, const char *msg, const uint8_t *sig,
    char **cause)
{
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	FILE *fp;
	int rv = -1;

	if ((fp = fopen(keypath, "re")) == NULL)
		return cause_set(cause, "release key %s: %s", keypath,
		    strerror(errno));
	key = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	if (key == NULL || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
		cause_set(cause, "release key %s: not a PEM Ed25519 public "
		    "key", keypath);
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1) {
		cause_set(cause, "Ed25519 unavailable");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, AGENT_RELEASE_SIG_LEN,
	    (const unsigned char *)msg, strlen(msg)) != 1) {
		cause_set(cause, "bad signature");
		goto out;
	}
	rv = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return rv;
}

int
agent_release_check(const char *keypath, const char *path,
    const struct agent_release *r, char **cause)
{
	char hex[65], *msg;
	uint64_t size = 0;
	int rv;

	if (release_hash(path, &size, hex, cause) < 0)
		return -1;
	if (size != r->size)
		return cause_set(cause, "size %" PRIu64 " is not the "
		    "announced %" PRIu64, size, r->size);
	if (strcmp(hex, r->sha256) != 0)
		return cause_set(cause, "SHA-256 mismatch");
	/* The signature binds our own hash and size, not the announced. */
	msg = agent_release_message(r->version, hex, size);
	rv = release_verify_sig(keypath, msg, r->sig, cause);
	free(msg);
	return rv;
}
