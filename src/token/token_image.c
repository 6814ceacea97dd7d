/*
 * token_image: TOKEN.JSON + TOKEN.KEY on a VTOKEN FAT volume (see
 * token_image.h).
 */
#include "token/token_image.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cause.h"
#include "common/encode.h"
#include "common/text.h"
#include "common/xmalloc.h"

static bool token_image_id_ok(const char *);
static bool token_image_name_ok(const char *);
static bool token_image_url_ok(const char *);
static int token_image_check(const struct token_image_info *, char **);
static int token_image_get_str(json_t *, const char *, bool, char **,
    char **);
static int token_image_make(uint8_t *, fat_write_fn *, void *,
    const struct token_image_opts *, const struct token_image_info *,
    const struct token_cred *, char **);

static bool
token_image_id_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > TOKEN_IMAGE_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* UTF-8 validity is jansson's job; here: length and no control bytes. */
static bool
token_image_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len > TOKEN_IMAGE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	}
	return true;
}

static bool
token_image_url_ok(const char *s)
{
	size_t len = strlen(s);

	if (len > TOKEN_IMAGE_URL_MAX || (strncmp(s, "https://", 8) != 0 &&
	    strncmp(s, "http://", 7) != 0))
		return false;
	return len > 8 && text_is_visible(s, len);
}

static int
token_image_check(const struct token_image_info *info, char **cause)
{
	if (info->token_id == NULL || !token_image_id_ok(info->token_id))
		return cause_set(cause, "bad token_id");
	if (info->name == NULL || !token_image_name_ok(info->name))
		return cause_set(cause, "bad token name");
	if (info->controller == NULL || !token_image_url_ok(info->controller))
		return cause_set(cause, "bad controller URL");
	if (info->ca_sha256 != NULL &&
	    !encode_is_hex(info->ca_sha256, TOKEN_IMAGE_SHA256_LEN))
		return cause_set(cause, "bad ca_sha256 (want %d hex digits)",
		    TOKEN_IMAGE_SHA256_LEN);
	return 0;
}

static char *
token_image_lower(const char *s)
{
	char *p = xstrdup(s);

	for (char *q = p; *q != '\0'; q++) {
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	}
	return p;
}

char *
token_image_json(const struct token_image_info *info, size_t *len,
    char **cause)
{
	json_t *o;
	char *text = NULL, *sha = NULL;
	int bad;

	*len = 0;
	if (token_image_check(info, cause) != 0)
		return NULL;
	if ((o = json_object()) == NULL) {
		cause_set(cause, "out of memory");
		return NULL;
	}
	bad = json_object_set_new(o, TOKENFS_F_VERSION,
	    json_integer(TOKENFS_VERSION));
	bad |= json_object_set_new(o, TOKENFS_F_TOKEN_ID,
	    json_string(info->token_id));
	bad |= json_object_set_new(o, TOKENFS_F_NAME, json_string(info->name));
	bad |= json_object_set_new(o, TOKENFS_F_CONTROLLER,
	    json_string(info->controller));
	if (info->ca_sha256 != NULL) {
		sha = token_image_lower(info->ca_sha256);
		bad |= json_object_set_new(o, TOKENFS_F_CA_SHA256,
		    json_string(sha));
		free(sha);
	}
	/* json_string() is NULL for invalid UTF-8, which makes set fail. */
	if (bad == 0)
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL) {
		cause_set(cause, "cannot encode TOKEN.JSON (bad UTF-8?)");
		return NULL;
	}
	if ((*len = strlen(text)) > TOKEN_IMAGE_JSON_MAX) {
		free(text);
		*len = 0;
		cause_set(cause, "TOKEN.JSON too long");
		return NULL;
	}
	return text;
}

/* Copies the string member key of o into *out (absent: NULL). */
static int
token_image_get_str(json_t *o, const char *key, bool required, char **out,
    char **cause)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL) {
		if (required)
			return cause_set(cause, "TOKEN.JSON: no \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v))
		return cause_set(cause, "TOKEN.JSON: \"%s\" is not a string",
		    key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

int
token_image_parse_json(const char *json, size_t len,
    struct token_image_info *info, char **cause)
{
	json_error_t err;
	json_t *o, *v;
	int rv = -1;

	memset(info, 0, sizeof(*info));
	if (len > TOKEN_IMAGE_JSON_MAX)
		return cause_set(cause, "TOKEN.JSON too long");
	if ((o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return cause_set(cause, "TOKEN.JSON:%d:%d: %s", err.line,
		    err.column, err.text);
	if (!json_is_object(o)) {
		cause_set(cause, "TOKEN.JSON: not an object");
		goto out;
	}
	v = json_object_get(o, TOKENFS_F_VERSION);
	if (!json_is_integer(v) || json_integer_value(v) != TOKENFS_VERSION) {
		cause_set(cause, "TOKEN.JSON: unsupported version");
		goto out;
	}
	if (token_image_get_str(o, TOKENFS_F_TOKEN_ID, true, &info->token_id,
	    cause) != 0 ||
	    token_image_get_str(o, TOKENFS_F_NAME, false, &info->name,
	    cause) != 0 ||
	    token_image_get_str(o, TOKENFS_F_CONTROLLER, true,
	    &info->controller, cause) != 0 ||
	    token_image_get_str(o, TOKENFS_F_CA_SHA256, false, &info->ca_sha256,
	    cause) != 0)
		goto out;
	if (info->name == NULL)
		info->name = xstrdup("");
	if (info->ca_sha256 != NULL) {
		char *lower = token_image_lower(info->ca_sha256);

		free(info->ca_sha256);
		info->ca_sha256 = lower;
	}
	if (token_image_check(info, cause) != 0)
		goto out;
	rv = 0;
out:
	json_decref(o);
	if (rv != 0)
		token_image_info_clear(info);
	return rv;
}

void
token_image_info_clear(struct token_image_info *info)
{
	free(info->token_id);
	free(info->name);
	free(info->controller);
	free(info->ca_sha256);
	memset(info, 0, sizeof(*info));
}

/* Builds into buf when it is not NULL, else through write. */
static int
token_image_make(uint8_t *buf, fat_write_fn *write, void *arg,
    const struct token_image_opts *opts, const struct token_image_info *info,
    const struct token_cred *cred, char **cause)
{
	struct fat_build_opts fo;
	struct fat_file files[2];
	char *json, *pem;
	size_t jlen, plen;
	int rv;

	if ((json = token_image_json(info, &jlen, cause)) == NULL)
		return -1;
	if (token_cred_private_pem(cred, &pem, &plen, cause) != 0) {
		free(json);
		return -1;
	}
	memset(&fo, 0, sizeof(fo));
	fo.size = opts->size;
	fo.label = TOKENFS_LABEL;
	fo.serial = opts->serial;
	fo.mtime = opts->now;
	files[0].name = TOKENFS_JSON;
	files[0].data = json;
	files[0].len = jlen;
	files[0].attr = FAT_ATTR_READONLY;
	files[1].name = TOKENFS_KEY;
	files[1].data = pem;
	files[1].len = plen;
	files[1].attr = FAT_ATTR_READONLY;
	if (buf != NULL)
		rv = fat_build(buf, &fo, files, 2, cause);
	else
		rv = fat_build_write(write, arg, &fo, files, 2, cause);
	free(json);
	token_cred_wipe_free(pem, plen);
	return rv;
}

int
token_image_build(uint8_t *buf, const struct token_image_opts *opts,
    const struct token_image_info *info, const struct token_cred *cred,
    char **cause)
{
	return token_image_make(buf, NULL, NULL, opts, info, cred, cause);
}

int
token_image_write(fat_write_fn *write, void *arg,
    const struct token_image_opts *opts, const struct token_image_info *info,
    const struct token_cred *cred, char **cause)
{
	return token_image_make(NULL, write, arg, opts, info, cred, cause);
}

int
token_image_read(fat_read_fn *read, void *arg, uint64_t dev_size,
    struct token_image_info *info, struct token_cred **cred, char **cause)
{
	struct fat *fs;
	uint8_t *json = NULL, *pem = NULL;
	size_t jlen = 0, plen = 0;
	int rv = -1;

	memset(info, 0, sizeof(*info));
	*cred = NULL;
	if ((fs = fat_open(read, arg, dev_size, cause)) == NULL)
		return -1;
	if (fat_read_file(fs, TOKENFS_JSON, TOKEN_IMAGE_JSON_MAX, &json,
	    &jlen, cause) != 0 ||
	    token_image_parse_json((const char *)json, jlen, info,
	    cause) != 0 ||
	    fat_read_file(fs, TOKENFS_KEY, TOKEN_IMAGE_KEY_MAX, &pem,
	    &plen, cause) != 0)
		goto out;
	if ((*cred = token_cred_from_pem((const char *)pem, plen,
	    cause)) == NULL)
		goto out;
	rv = 0;
out:
	if (rv != 0)
		token_image_info_clear(info);
	fat_close(fs);
	free(json);
	token_cred_wipe_free(pem, plen);
	return rv;
}
