/*
 * token_image: a token's filesystem image (docs/PROTOCOL.md, "Token
 * image").
 *
 * A FAT12/16 superfloppy labelled VTOKEN with two read-only files in the
 * root directory:
 *   TOKEN.JSON  {"ca_sha256":"...","controller":"https://...","name":"...",
 *                "token_id":"...","version":1}
 *               canonical: compact, keys sorted, ca_sha256 only when set
 *   TOKEN.KEY   the Ed25519 private key, PKCS#8 PEM
 * Both are capped at 4 KiB when read back.  Building and reading go
 * through fat.h, reading through a callback so the agent can use the raw
 * block device.  Nothing here logs; errors come back through
 * `char **cause' (allocated, the caller frees it; NULL to ignore).
 */
#ifndef VTOKEN_TOKEN_IMAGE_H
#define VTOKEN_TOKEN_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "token/fat.h"
#include "token/token_cred.h"
#include "vtoken/tokenfs.h"

/* The label, file names and fields are TOKENFS_* (vtoken/tokenfs.h). */
#define TOKEN_IMAGE_LABEL	TOKENFS_LABEL	/* old name, for tests */
#define TOKEN_IMAGE_JSON_MAX	4096
#define TOKEN_IMAGE_KEY_MAX	4096
#define TOKEN_IMAGE_ID_MAX	128	/* [A-Za-z0-9._:-]+ */
#define TOKEN_IMAGE_NAME_MAX	256	/* UTF-8 bytes, no controls */
#define TOKEN_IMAGE_URL_MAX	2048	/* http(s)://, printable */
#define TOKEN_IMAGE_SHA256_LEN	64	/* hex digits */

/* What TOKEN.JSON says.  Strings are NUL-terminated. */
struct token_image_info {
	char *token_id;
	char *name;		/* "" when absent on read */
	char *controller;	/* the controller's base URL */
	char *ca_sha256;	/* lower-case hex; NULL when absent */
};

struct token_image_opts {
	uint64_t size;		/* image bytes: FAT_BUILD_MIN..MAX_SIZE */
	uint32_t serial;	/* volume serial number */
	time_t now;		/* file time stamps */
};

/*
 * The canonical TOKEN.JSON text for info (checked as described above):
 * an allocated NUL-terminated string of *len bytes (the caller frees
 * it), or NULL with *cause.
 */
char *token_image_json(const struct token_image_info *info, size_t *len,
    char **cause);
/*
 * Parses TOKEN.JSON text of len bytes into info, which the caller
 * releases with token_image_info_clear; after a failure info is empty.
 * The fields are checked as for building.  Unknown keys are ignored; a
 * version other than 1 is an error.
 */
int token_image_parse_json(const char *json, size_t len,
    struct token_image_info *info, char **cause);
/* Frees the strings in info and zeroes it (the struct is the caller's). */
void token_image_info_clear(struct token_image_info *info);

/*
 * Builds the image into buf (opts->size bytes, all overwritten) with
 * TOKEN.JSON from info and TOKEN.KEY from cred's private key; the PEM is
 * cleansed from memory afterwards.  0, or -1 with *cause.
 */
int token_image_build(uint8_t *buf, const struct token_image_opts *opts,
    const struct token_image_info *info, const struct token_cred *cred,
    char **cause);
/* The same through a write callback onto a zero-filled target. */
int token_image_write(fat_write_fn *write, void *arg,
    const struct token_image_opts *opts, const struct token_image_info *info,
    const struct token_cred *cred, char **cause);

/*
 * Reads a token from a device of dev_size bytes (see fat_open): fills
 * *info (release with token_image_info_clear) and sets *cred to the
 * loaded private key (free with token_cred_free).  0, or -1 with *cause,
 * *info empty and *cred NULL.  The PEM text is cleansed after loading.
 */
int token_image_read(fat_read_fn *read, void *arg, uint64_t dev_size,
    struct token_image_info *info, struct token_cred **cred, char **cause);

#endif
