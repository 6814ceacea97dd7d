/*
 * ctl_token: creating and deleting tokens.  A token is a key pair
 * (the private half only inside its image), a FAT image built in memory
 * by src/token, the image file DATA_DIR/tokens/ID.img (written to a
 * temporary name, fsynced, renamed, directory fsynced), and a row plus
 * audit record committed together.  Writable tokens keep their file open
 * as the backing store of guest writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/audit.h"
#include "server/ctl_impl.h"
#include "server/image.h"
#include "server/vtokend.h"
#include "token/token_image.h"

#define CTL_MAX_TOKENS	100000

static char *
ctl_token_path(const struct ctl *ctl, const char *id, const char *suffix)
{
	return xasprintf("%s/%s.img%s", ctl->token_dir, id, suffix);
}

static int
ctl_image_write(void *arg, uint64_t off, const void *buf, size_t len)
{
	return image_write(arg, off, buf, len);
}

/* The controller URL written into TOKEN.JSON for the agent. */
static char *
ctl_controller_url(const struct vtd_config *cfg)
{
	bool tls = cfg->api.tls_cert[0] != '\0';

	if (cfg->api.public_url[0] != '\0')
		return xstrdup(cfg->api.public_url);
	return xasprintf("%s://%s", tls ? "https" : "http", cfg->api.listen);
}

/* Builds tok's image with a fresh key pair; NULL with *cause. */
static struct image *
ctl_token_build(struct ctl *ctl, struct ctl_token *tok, char **cause)
{
	struct token_image_info info;
	struct token_image_opts opts;
	struct token_cred *cred;
	struct image *img;
	uint32_t serial;

	cred = token_cred_generate(cause);
	if (cred == NULL)
		return NULL;
	if (token_cred_public(cred, tok->public_key, cause) < 0 ||
	    RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1 ||
	    (img = image_new(tok->size)) == NULL) {
		if (*cause == NULL)
			*cause = xstrdup("out of memory or randomness");
		token_cred_free(cred);
		return NULL;
	}
	memset(&info, 0, sizeof(info));
	info.token_id = tok->id;
	info.name = tok->name;
	info.controller = ctl_controller_url(ctl->vtd->cfg);
	info.ca_sha256 = ctl->ca_sha256[0] != '\0' ? ctl->ca_sha256 : NULL;
	opts.size = tok->size;
	opts.serial = serial;
	opts.now = time(NULL);
	if (token_image_write(ctl_image_write, img, &opts, &info, cred,
	    cause) < 0) {
		image_free(img);
		img = NULL;
	}
	free(info.controller);
	token_cred_free(cred);
	if (img != NULL)
		image_set_readonly(img, !tok->writable);
	return img;
}

/* Writes img to its file durably; writable images keep the fd. */
static int
ctl_token_save(struct ctl *ctl, const struct ctl_token *tok,
    struct image *img, char **cause)
{
	char *tmp = ctl_token_path(ctl, tok->id, ".tmp");
	char *path = ctl_token_path(ctl, tok->id, "");
	int fd, dfd, rc = -1;
	bool attached = false;

	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && image_attach_file(img, fd) == 0)
		attached = true;	/* the image owns fd now */
	if (!attached || fsync(fd) < 0 || rename(tmp, path) < 0) {
		*cause = xasprintf("%s: %s", tmp, strerror(errno));
		if (attached)
			image_detach_file(img);
		else if (fd >= 0)
			close(fd);
		(void)unlink(tmp);
		goto out;
	}
	dfd = open(ctl->token_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	if (!tok->writable)
		image_detach_file(img);
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}

/* Stores the token row and its audit record; STORE_* result. */
static int
ctl_token_insert(struct ctl *ctl, const char *actor,
    const struct ctl_token *tok)
{
	struct store *st = ctl->store;
	struct store_token row;
	char subject[64], busid[16];
	json_t *detail;
	int r;

	memset(&row, 0, sizeof(row));
	memcpy(row.id, tok->id, sizeof(row.id));
	memcpy(row.name, tok->name, sizeof(row.name));
	memcpy(row.created, tok->created, sizeof(row.created));
	memcpy(row.public_key, tok->public_key, sizeof(row.public_key));
	row.port = tok->port;
	row.size = tok->size;
	row.writable = tok->writable;
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	snprintf(busid, sizeof(busid), "1-%u", tok->port);
	detail = json_pack("{s:s, s:I, s:b, s:s}", "name", tok->name, "size",
	    (json_int_t)tok->size, "writable", tok->writable, "busid", busid);
	r = store_begin(st);
	if (r == 0)
		r = st->ops->token_insert(st, &row);
	r = ctl_tx_audit(ctl, r, actor, "token.create", subject, detail);
	return ctl_tx_end(ctl, r, "token create", tok->id);
}

static struct ctl_token *
ctl_token_alloc(struct ctl *ctl, const char *name, uint64_t size,
    bool writable, struct vt_error *err)
{
	struct ctl_token *tok = xcalloc(1, sizeof(*tok));
	int tries = 0;

	do {
		if (encode_random_id(tok->id) < 0 || ++tries > 8) {
			free(tok);
			vt_fail(err, VT_EINTERNAL, "cannot make an id");
			return NULL;
		}
	} while (ctl_token_find(ctl, tok->id) != NULL);
	snprintf(tok->name, sizeof(tok->name), "%s", name);
	encode_time(time(NULL), tok->created);
	tok->size = size;
	tok->writable = writable;
	tok->port = registry_free_port(&ctl->vtd->reg);
	if (tok->port == 0) {
		free(tok);
		vt_fail(err, VT_ECONFLICT, "no free busid left");
		return NULL;
	}
	return tok;
}

int
ctl_token_create(struct ctl *ctl, const char *actor, const char *name,
    uint64_t size, bool writable, struct ctl_token **out,
    struct vt_error *err)
{
	struct ctl_token *tok;
	struct image *img;
	char *cause = NULL, *path;
	int r;

	if (!ctl_name_valid(name))
		return vt_fail(err, VT_EINVAL, "invalid token name");
	if (size < CTL_TOKEN_SIZE_MIN || size > CTL_TOKEN_SIZE_MAX ||
	    size % 512 != 0)
		return vt_fail(err, VT_EINVAL, "size must be 1M..64M, a "
		    "multiple of 512");
	if (ctl_token_find(ctl, name) != NULL)
		return vt_fail(err, VT_ECONFLICT, "a token named %s exists",
		    name);
	if (ctl->ntokens >= CTL_MAX_TOKENS)
		return vt_fail(err, VT_ECONFLICT, "%d tokens exist already",
		    CTL_MAX_TOKENS);
	if ((tok = ctl_token_alloc(ctl, name, size, writable, err)) == NULL)
		return -1;
	img = ctl_token_build(ctl, tok, &cause);
	if (img == NULL || ctl_token_save(ctl, tok, img, &cause) < 0) {
		log_error("token create %s: %s", name, cause);
		free(cause);
		image_free(img);
		free(tok);
		return vt_fail(err, VT_EINTERNAL, "cannot build the image");
	}
	r = ctl_token_insert(ctl, actor, tok);
	if (r < 0) {
		path = ctl_token_path(ctl, tok->id, "");
		(void)unlink(path);
		free(path);
		image_free(img);
		free(tok);
		return vt_fail(err, r == STORE_CONFLICT ? VT_ECONFLICT :
		    VT_EINTERNAL, "cannot store the token");
	}
	tok->dev = registry_add(&ctl->vtd->reg, img, tok->id, tok->name,
	    tok->port, false);
	if (tok->dev != NULL)
		tok->dev->owner = tok;
	TAILQ_INSERT_TAIL(&ctl->tokens, tok, entry);
	ctl->ntokens++;
	log_info("%s: created token %s (%s), busid 1-%u, %llu bytes, %s",
	    actor, tok->id, tok->name, tok->port,
	    (unsigned long long)tok->size, writable ? "rw" : "ro");
	*out = tok;
	return 0;
}

int
ctl_token_delete(struct ctl *ctl, const char *actor, struct ctl_token *tok,
    struct vt_error *err)
{
	struct store *st = ctl->store;
	char subject[64], *path;
	json_t *detail;
	int r;

	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = json_pack("{s:s}", "name", tok->name);
	r = store_begin(st);
	if (r == 0 && tok->vm != NULL)
		r = ctl_revoke_tx(ctl, actor, tok);
	if (r == 0)
		r = st->ops->session_delete(st, tok->id);
	if (r == 0)
		r = st->ops->token_delete(st, tok->id);
	r = ctl_tx_audit(ctl, r, actor, "token.delete", subject, detail);
	if (ctl_tx_end(ctl, r, "token delete", tok->id) < 0)
		return vt_fail(err, VT_EINTERNAL, "cannot delete the token");
	ctl_unlink(tok);
	ctl_kick(tok, "token deleted");
	if (tok->dev != NULL)
		registry_remove(&ctl->vtd->reg, tok->dev);
	path = ctl_token_path(ctl, tok->id, "");
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("removing %s", path);
	free(path);
	log_info("%s: deleted token %s (%s)", actor, tok->id, tok->name);
	TAILQ_REMOVE(&ctl->tokens, tok, entry);
	ctl->ntokens--;
	free(tok);
	return 0;
}

int
ctl_token_load_device(struct ctl *ctl, struct ctl_token *tok)
{
	char *path = ctl_token_path(ctl, tok->id, ""), *cause = NULL;
	struct image *img = image_load_file(path, tok->writable, &cause);

	free(path);
	if (img == NULL) {
		log_error("token %s: %s", tok->id, cause);
		free(cause);
		return -1;
	}
	if (image_size(img) != tok->size) {
		log_error("token %s: image is %llu bytes, expected %llu",
		    tok->id, (unsigned long long)image_size(img),
		    (unsigned long long)tok->size);
		image_free(img);
		return -1;
	}
	tok->dev = registry_add(&ctl->vtd->reg, img, tok->id, tok->name,
	    tok->port, false);
	if (tok->dev == NULL)
		return -1;
	tok->dev->owner = tok;
	return 0;
}

int
ctl_token_read_image(const struct ctl_token *tok, uint64_t off, void *buf,
    size_t len)
{
	if (tok->dev == NULL)
		return -1;
	return image_read(tok->dev->img, off, buf, len);
}
