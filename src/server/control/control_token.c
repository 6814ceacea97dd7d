/*
 * control_token: creating and deleting tokens.  A token is a key pair
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

#include "common/cause.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_audit.h"
#include "server/control/control_impl.h"
#include "server/device/dev_image.h"
#include "server/export/export.h"
#include "token/token_image.h"

static char *
control_token_path(const struct control *ctl, const char *id, const char *suffix)
{
	return xasprintf("%s/%s.img%s", ctl->token_dir, id, suffix);
}

static int
control_image_write(void *arg, uint64_t off, const void *buf, size_t len)
{
	return dev_image_write(arg, off, buf, len);
}

/* Builds tok's image with a fresh key pair; NULL with *cause. */
static struct dev_image *
control_token_build(struct control *ctl, struct control_token *tok, char **cause)
{
	struct token_image_info info;
	struct token_image_opts opts;
	struct token_cred *cred;
	struct dev_image *img;
	uint32_t serial;

	cred = token_cred_generate(cause);
	if (cred == NULL)
		return NULL;
	if (token_cred_public(cred, tok->public_key, cause) < 0 ||
	    RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1 ||
	    (img = dev_image_new(tok->size)) == NULL) {
		if (*cause == NULL)
			cause_set(cause, "out of memory or randomness");
		token_cred_free(cred);
		return NULL;
	}
	memset(&info, 0, sizeof(info));
	info.token_id = tok->id;
	info.name = tok->name;
	info.controller = ctl->controller_url;
	info.ca_sha256 = ctl->ca_sha256[0] != '\0' ? ctl->ca_sha256 : NULL;
	opts.size = tok->size;
	opts.serial = serial;
	opts.now = time(NULL);
	if (token_image_write(control_image_write, img, &opts, &info, cred,
	    cause) < 0) {
		dev_image_free(img);
		img = NULL;
	}
	token_cred_free(cred);
	if (img != NULL)
		dev_image_set_readonly(img, !tok->writable);
	return img;
}

/* Writes img to its file durably; writable images keep the fd. */
static int
control_token_save(struct control *ctl, const struct control_token *tok,
    struct dev_image *img, char **cause)
{
	char *tmp = control_token_path(ctl, tok->id, ".tmp");
	char *path = control_token_path(ctl, tok->id, "");
	int fd, dfd, rc = -1;
	bool attached = false;

	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && dev_image_attach_file(img, fd) == 0)
		attached = true;	/* the image owns fd now */
	if (!attached || fsync(fd) < 0 || rename(tmp, path) < 0) {
		cause_set(cause, "%s: %s", tmp, strerror(errno));
		if (attached)
			dev_image_detach_file(img);
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
		dev_image_detach_file(img);
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}

/* Stores the token row and its audit record; STORE_* result. */
static int
control_token_insert(struct control *ctl, const char *actor,
    const struct control_token *tok)
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
		r = store_token_insert(st, &row);
	r = control_tx_audit(ctl, r, actor, "token.create", subject, detail);
	return control_tx_end(ctl, r, "token create", tok->id);
}

static struct control_token *
control_token_alloc(struct control *ctl, const char *name, uint64_t size,
    bool writable, struct vt_error *err)
{
	struct control_token *tok = xcalloc(1, sizeof(*tok));
	int tries = 0;

	do {
		if (encode_random_id(tok->id) < 0 || ++tries > 8) {
			free(tok);
			vt_fail(err, VT_EINTERNAL, "cannot make an id");
			return NULL;
		}
	} while (control_token_find(ctl, tok->id) != NULL);
	snprintf(tok->name, sizeof(tok->name), "%s", name);
	encode_time(time(NULL), tok->created);
	tok->size = size;
	tok->writable = writable;
	tok->port = control_port_free(ctl);
	if (tok->port == 0) {
		free(tok);
		vt_fail(err, VT_ECONFLICT, "no free busid left");
		return NULL;
	}
	return tok;
}

int
control_token_create(struct control *ctl, const char *actor, const char *name,
    uint64_t size, bool writable, struct control_token **out,
    struct vt_error *err)
{
	struct control_token *tok;
	struct dev_image *img;
	char *cause = NULL, *path;
	int r;

	if (!control_name_valid(name))
		return vt_fail(err, VT_EINVAL, "invalid token name");
	if (size < CONTROL_TOKEN_SIZE_MIN || size > CONTROL_TOKEN_SIZE_MAX ||
	    size % 512 != 0)
		return vt_fail(err, VT_EINVAL, "size must be 1M..64M, a "
		    "multiple of 512");
	if (control_token_find(ctl, name) != NULL)
		return vt_fail(err, VT_ECONFLICT, "a token named %s exists",
		    name);
	if (ctl->ntokens >= CONTROL_MAX_TOKENS)
		return vt_fail(err, VT_ECONFLICT, "%d tokens exist already",
		    CONTROL_MAX_TOKENS);
	if ((tok = control_token_alloc(ctl, name, size, writable, err)) == NULL)
		return -1;
	img = control_token_build(ctl, tok, &cause);
	if (img == NULL || control_token_save(ctl, tok, img, &cause) < 0) {
		log_error("token create %s: %s", name, cause);
		free(cause);
		dev_image_free(img);
		free(tok);
		return vt_fail(err, VT_EINTERNAL, "cannot build the image");
	}
	r = control_token_insert(ctl, actor, tok);
	if (r < 0) {
		path = control_token_path(ctl, tok->id, "");
		(void)unlink(path);
		free(path);
		dev_image_free(img);
		free(tok);
		return vt_fail(err, r == STORE_CONFLICT ? VT_ECONFLICT :
		    VT_EINTERNAL, "cannot store the token");
	}
	tok->dev = export_device_new(ctl->exp, 1, tok->port, tok->id,
	    tok->name, img);
	TAILQ_INSERT_TAIL(&ctl->tokens, tok, entry);
	ctl->ntokens++;
	log_info("%s: created token %s (%s), busid 1-%u, %llu bytes, %s",
	    actor, tok->id, tok->name, tok->port,
	    (unsigned long long)tok->size, writable ? "rw" : "ro");
	*out = tok;
	return 0;
}

int
control_token_delete(struct control *ctl, const char *actor, struct control_token *tok,
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
		r = control_revoke_tx(ctl, actor, tok);
	if (r == 0)
		r = store_session_delete(st, tok->id);
	if (r == 0)
		r = store_token_delete(st, tok->id);
	r = control_tx_audit(ctl, r, actor, "token.delete", subject, detail);
	if (control_tx_end(ctl, r, "token delete", tok->id) < 0)
		return vt_fail(err, VT_EINTERNAL, "cannot delete the token");
	control_unlink(tok);
	control_kick(tok, "token deleted");
	path = control_token_path(ctl, tok->id, "");
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("removing %s", path);
	free(path);
	log_info("%s: deleted token %s (%s)", actor, tok->id, tok->name);
	TAILQ_REMOVE(&ctl->tokens, tok, entry);
	ctl->ntokens--;
	control_token_free(tok);
	return 0;
}

void
control_token_free(struct control_token *tok)
{
	export_device_free(tok->dev);
	free(tok);
}

int
control_token_load_device(struct control *ctl, struct control_token *tok)
{
	char *path = control_token_path(ctl, tok->id, ""), *cause = NULL;
	struct dev_image *img = dev_image_load_file(path, tok->writable, &cause);

	free(path);
	if (img == NULL) {
		log_error("token %s: %s", tok->id, cause);
		free(cause);
		return -1;
	}
	if (dev_image_size(img) != tok->size) {
		log_error("token %s: image is %llu bytes, expected %llu",
		    tok->id, (unsigned long long)dev_image_size(img),
		    (unsigned long long)tok->size);
		dev_image_free(img);
		return -1;
	}
	tok->dev = export_device_new(ctl->exp, 1, tok->port, tok->id,
	    tok->name, img);
	return tok->dev != NULL ? 0 : -1;
}

int
control_token_export(struct control *ctl, const char *actor,
    const struct control_token *tok, void *buf, size_t len,
    struct vt_error *err)
{
	char subject[64];

	if (tok->dev == NULL || dev_image_read(tok->dev->img, 0, buf, len) < 0)
		return vt_fail(err, VT_EINTERNAL, "cannot read the image");
	/* The image holds the private key: its export is on the record. */
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	if (control_audit_event(ctl, actor, "token.export", subject,
	    NULL) < 0)
		return vt_fail(err, VT_EINTERNAL, "cannot audit the export");
	return 0;
}
