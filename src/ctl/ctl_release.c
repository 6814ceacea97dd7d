/*
 * ctl_release: agent releases (docs/AGENT.md, "Releases and rollouts").
 * "agent release add" uploads an artifact with its SHA-256 (computed
 * here) and an Ed25519 signature made offline; "sign" makes that
 * signature on the operator's machine, without the API; "list" and "rm"
 * manage what the controller holds.
 *
 * The signed message is the line "vtoken-release-v1 VERSION SHA256HEX
 * SIZE\n".  The private key is read from a PEM file that only its owner
 * may access, parsed from a buffer that is wiped afterwards, and never
 * printed or put into a message.  The controller never sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/cause.h"
#include "common/encode.h"
#include "common/xmalloc.h"
#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "ctl/ctl_output.h"
#include "vtoken/vtapi.h"

#define RELEASE_MAX		((size_t)64 << 20)	/* an artifact */
#define RELEASE_KEY_MAX		((size_t)16 << 10)	/* a PEM key file */
#define RELEASE_SIG_FILE_MAX	((size_t)4 << 10)	/* --signature @FILE */
#define RELEASE_SIG_LEN		64			/* Ed25519 */
#define RELEASE_VERSION_MAX	64
#define RELEASE_LINE_TAG	"vtoken-release-v1"

/* An artifact read into memory, with its hash. */
struct release_file {
	uint8_t *data;			/* the bytes; free() */
	size_t size;
	char sha256[2 * 32 + 1];	/* lower-case hex */
};

static const char *const release_cols[] = {
	"VERSION", "SIZE", "SHA256", "CREATED"
};
#define RELEASE_NCOLS	(sizeof(release_cols) / sizeof(release_cols[0]))

static int release_read(const char *path, size_t max, uint8_t **data,
	    size_t *size, mode_t *mode, char **cause);
static int release_load(const char *path, struct release_file *rf,
	    char **cause);
static char *release_signature(const char *arg, char **cause);
static EVP_PKEY *release_key(const char *path, char **cause);
static char *release_sign_line(EVP_PKEY *key, const char *line,
	    char **cause);
static int release_ssl_cause(char **cause, const char *what);
static void release_row(struct ctl_output_table *tbl, const json_t *r);

int
ctl_release_check(const struct ctl_args *a)
{
	const char *v = a->version;
	size_t n = v != NULL ? strlen(v) : 0;

	if (v == NULL)
		return 0;
	if (n == 0 || n > RELEASE_VERSION_MAX ||
	    strspn(v, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz.+~-") != n) {
		ctl_output_error("--version: 1 to %d of 0-9 A-Z a-z . + ~ -, "
		    "not '%s'", RELEASE_VERSION_MAX, v);
		return -1;
	}
	return 0;
}

/*
 * Reads the regular file path, at most max bytes, into *data (the
 * caller frees it; NUL-terminated, not counted in *size) and its mode
 * into *mode.  0, or -1 with *cause set.
 */
static int
release_read(const char *path, size_t max, uint8_t **data, size_t *size,
    mode_t *mode, char **cause)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return cause_set(cause, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1) {
		cause_set(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cause_set(cause, "%s: not a regular file", path);
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		cause_set(cause, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	/* Read to the end: a file that grew since fstat() is refused. */
	for (;;) {
		r = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cause_set(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > (size_t)st.st_size) {
			cause_set(cause, "%s: changed while read", path);
			goto out;
		}
	}
	buf[len] = '\0';
	*data = buf;
	*size = len;
	*mode = st.st_mode;
	buf = NULL;
	ret = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return ret;
}

/* Reads an artifact and hashes it.  0, or -1 with *cause set. */
static int
release_load(const char *path, struct release_file *rf, char **cause)
{
	uint8_t md[32];
	unsigned mdlen = sizeof(md);
	mode_t mode;

	if (release_read(path, RELEASE_MAX, &rf->data, &rf->size, &mode,
	    cause) == -1)
		return -1;
	if (EVP_Digest(rf->data, rf->size, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != sizeof(md)) {
		free(rf->data);
		rf->data = NULL;
		return release_ssl_cause(cause, "SHA-256");
	}
	encode_hex(md, sizeof(md), rf->sha256, false);
	return 0;
}

/*
 * The --signature value: arg, or with "@FILE" the file's text, blanks
 * around it dropped; it must be the base64 of 64 bytes.  The caller
 * frees the result; NULL with *cause set.
 */
static char *
release_signature(const char *arg, char **cause)
{
	uint8_t raw[RELEASE_SIG_LEN + 3], *text = NULL;
	const char *s = arg;
	char *sig;
	size_t len, n;
	mode_t mode;

	if (arg[0] == '@') {
		if (release_read(arg + 1, RELEASE_SIG_FILE_MAX, &text, &len,
		    &mode, cause) == -1)
			return NULL;
		s = (const char *)text;
	}
	s += strspn(s, " \t\r\n");
	n = strcspn(s, " \t\r\n");
	sig = xmalloc(n + 1);
	memcpy(sig, s, n);
	sig[n] = '\0';
	if (s[n + strspn(s + n, " \t\r\n")] != '\0' || n == 0 ||
	    decode_base64(sig, raw, sizeof(raw)) != RELEASE_SIG_LEN) {
		cause_set(cause, "--signature: %s is not the base64 of a "
		    "%d-byte Ed25519 signature", arg[0] == '@' ? arg + 1 :
		    "the value", RELEASE_SIG_LEN);
		free(sig);
		sig = NULL;
	}
	free(text);
	return sig;
}

/* Sets *cause to what and OpenSSL's first queued error.  Returns -1. */
static int
release_ssl_cause(char **cause, const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, sizeof(buf), "failed");
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return cause_set(cause, "%s: %s", what, buf);
}

/*
 * The Ed25519 private key of the PEM file path, which no one but its
 * owner may access.  Free it with EVP_PKEY_free(); NULL with *cause set.
 * An encrypted key makes OpenSSL ask for its passphrase on the terminal.
 */
static EVP_PKEY *
release_key(const char *path, char **cause)
{
	EVP_PKEY *key = NULL;
	uint8_t *pem;
	size_t len;
	mode_t mode;
	BIO *bio;

	if (release_read(path, RELEASE_KEY_MAX, &pem, &len, &mode,
	    cause) == -1)
		return NULL;
	if (mode & (S_IRWXG | S_IRWXO)) {
		cause_set(cause, "key file %s is accessible by group or "
		    "others (mode %04o); chmod 600 it", path,
		    (unsigned)(mode & 07777));
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		release_ssl_cause(cause, path);
		goto out;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL)
		cause_set(cause, "key file %s: not a PEM private key (or a "
		    "wrong passphrase)", path);
	else if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
		cause_set(cause, "key file %s: not an Ed25519 key", path);
		EVP_PKEY_free(key);
		key = NULL;
	}
	ERR_clear_error();
out:
	OPENSSL_cleanse(pem, len);
	free(pem);
	return key;
}

/*
 * Signs line (pure Ed25519: no digest first) and returns the signature
 * in base64; the caller frees it.  NULL with *cause set.
 */
static char *
release_sign_line(EVP_PKEY *key, const char *line, char **cause)
{
	uint8_t sig[RELEASE_SIG_LEN];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md;
	char *b64 = NULL;

	if ((md = EVP_MD_CTX_new()) == NULL) {
		release_ssl_cause(cause, "signing");
		return NULL;
	}
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const uint8_t *)line,
	    strlen(line)) != 1 || siglen != sizeof(sig))
		release_ssl_cause(cause, "signing");
	else
		b64 = encode_base64(sig, siglen);
	EVP_MD_CTX_free(md);
	return b64;
}

/* Local: prints the base64 signature of FILE's release line. */
enum ctl_status
ctl_release_sign(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct release_file rf = { .data = NULL };
	enum ctl_status st = CTL_FAIL;
	EVP_PKEY *key = NULL;
	char *cause = NULL, *line = NULL, *sig = NULL;
	json_t *doc;

	if ((key = release_key(a->key, &cause)) == NULL ||
	    release_load(a->argv[0], &rf, &cause) == -1)
		goto out;
	line = xasprintf("%s %s %s %zu\n", RELEASE_LINE_TAG, a->version,
	    rf.sha256, rf.size);
	if ((sig = release_sign_line(key, line, &cause)) == NULL)
		goto out;
	if (ctx->format == CTL_OUTPUT_JSON) {
		doc = json_pack("{s:s, s:I, s:s, s:s}", VTAPI_F_VERSION,
		    a->version, VTAPI_F_SIZE, (json_int_t)rf.size,
		    VTAPI_F_SHA256, rf.sha256, VTAPI_F_SIGNATURE, sig);
		st = doc != NULL && ctl_output_json(ctx->out, doc, false) == 0 ?
		    CTL_OK : CTL_FAIL;
		json_decref(doc);
	} else {
		ctl_output_line(ctx->out, "%s", sig);
		st = CTL_OK;
	}
out:
	if (cause != NULL)
		ctl_output_error("agent release sign: %s", cause);
	free(cause);
	free(sig);
	free(line);
	free(rf.data);
	EVP_PKEY_free(key);
	return st;
}

/* POST {"version", "sha256", "signature", "artifact": base64}. */
enum ctl_status
ctl_release_add(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	struct release_file rf = { .data = NULL };
	struct ctl_http_result res = { .json = NULL };
	enum ctl_status st = CTL_FAIL;
	char *cause = NULL, *sig = NULL, *b64 = NULL;
	json_t *body = NULL;

	if ((sig = release_signature(a->signature, &cause)) == NULL) {
		st = a->signature[0] == '@' ? CTL_FAIL : CTL_USAGE;
		goto out;
	}
	if (release_load(a->argv[0], &rf, &cause) == -1)
		goto out;
	b64 = encode_base64(rf.data, rf.size);
	body = json_pack("{s:s, s:s, s:s, s:s}", VTAPI_F_VERSION, a->version,
	    VTAPI_F_SHA256, rf.sha256, VTAPI_F_SIGNATURE, sig,
	    VTAPI_F_ARTIFACT, b64);
	free(b64);
	if (body == NULL) {
		cause = xstrdup("out of memory");
		goto out;
	}
	if (ctl_http_call(ctx->http, "POST", VTAPI_AGENT_RELEASES, body,
	    &res) == -1)
		ctl_output_error("%s", res.cause);
	else if (ctx->format == CTL_OUTPUT_JSON) {
		/* Without an answer body, what was stored, less the bytes. */
		json_decref(body);
		body = res.json != NULL ? json_incref(res.json) :
		    json_pack("{s:s, s:I, s:s}", VTAPI_F_VERSION, a->version,
		    VTAPI_F_SIZE, (json_int_t)rf.size, VTAPI_F_SHA256,
		    rf.sha256);
		st = body != NULL && ctl_output_json(ctx->out, body,
		    false) == 0 ? CTL_OK : CTL_FAIL;
	} else {
		ctl_output_line(ctx->out, "release %s added: %zu bytes, "
		    "sha256 %s", a->version, rf.size, rf.sha256);
		st = CTL_OK;
	}
out:
	if (cause != NULL)
		ctl_output_error("agent release add: %s", cause);
	free(cause);
	free(sig);
	free(rf.data);
	json_decref(body);
	ctl_http_result_clear(&res);
	return st;
}

static void
release_row(struct ctl_output_table *tbl, const json_t *r)
{
	char size[32];
	const char *cells[RELEASE_NCOLS] = {
		ctl_output_str(r, VTAPI_F_VERSION),
		ctl_output_size(size, sizeof(size), json_object_get(r,
		    VTAPI_F_SIZE)),
		ctl_output_str(r, VTAPI_F_SHA256),
		ctl_output_str(r, VTAPI_F_CREATED),
	};

	ctl_output_table_add(tbl, cells);
}

enum ctl_status
ctl_release_list(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	static const struct ctl_list_spec spec = {
		.path = VTAPI_AGENT_RELEASES, .key = VTAPI_F_RELEASES,
		.cols = release_cols, .ncols = RELEASE_NCOLS,
		.row = release_row,
	};

	(void)a;
	return ctl_list(ctx, &spec);
}

enum ctl_status
ctl_release_rm(struct ctl_ctx *ctx, const struct ctl_args *a)
{
	return ctl_delete(ctx, VTAPI_AGENT_RELEASES, a->argv[0], "release",
	    "deleted");
}
