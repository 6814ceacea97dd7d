/*
 * control_load: the start-up reading of the store into the replica
 * (metadata only: a token's disk stays in the store until a VM imports
 * it), and the one-time move of an older data directory's image files
 * (DATA_DIR/tokens/ID.img, before schema 3) into the store.  Both run
 * before the store thread starts, on the store directly.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"
#include "server/device/dev_image.h"

static int
control_load_vm(void *arg, const struct store_vm *row)
{
	control_apply_vm(arg, row);
	return 0;
}

static int
control_load_token(void *arg, const struct store_token *row)
{
	control_apply_token(arg, row);
	return 0;
}

static int
control_load_assignment(void *arg, const struct store_assignment *row)
{
	control_apply_assignment(arg, row->token_id, row->vm_id, row->created);
	return 0;
}

int
control_load(struct control *ctl, struct store *st)
{
	if (store_vm_foreach(st, control_load_vm, ctl) != 0 ||
	    store_token_foreach(st, control_load_token, ctl) != 0 ||
	    store_assignment_foreach(st, NULL, control_load_assignment,
	    ctl) != 0) {
		log_error("loading state: %s", store_error(st));
		return -1;
	}
	return 0;
}

/* Writes one block of a legacy image into the store. */
static int
control_legacy_block(void *arg, uint32_t idx, const uint8_t *data)
{
	void **a = arg;

	return store_block_put(a[0], a[1], idx, data);
}

/* Moves one legacy image file into the store; 0 or -1 after logging. */
static int
control_legacy_one(struct control *ctl, struct store *st, const char *dir,
    const char *id)
{
	struct control_token *tok = control_index_token_id(ctl->ix, id);
	char *path = xasprintf("%s/%s.img", dir, id), *cause = NULL;
	struct dev_image *img = NULL;
	void *arg[2] = { st, (void *)(uintptr_t)id };
	int r = -1;

	if (tok == NULL) {
		/* No row names it: a key nobody can use or revoke. */
		log_warnx("removing %s: no token has it", path);
		r = 0;
		goto out;
	}
	img = dev_image_load_file(path, false, &cause);
	if (img == NULL || dev_image_size(img) != tok->size) {
		log_error("token %s: %s: %s", id, path, cause != NULL ? cause :
		    "wrong size");
		goto keep;
	}
	if (store_begin(st) != 0 ||
	    dev_image_foreach_chunk(img, control_legacy_block, arg) != 0 ||
	    store_commit(st) != 0) {
		log_error("token %s: moving its image into the store: %s", id,
		    store_error(st));
		store_rollback(st);
		goto keep;
	}
	log_info("token %s: image moved from %s into the store", id, path);
	r = 0;
out:
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("removing %s", path);
keep:
	dev_image_free(img);
	free(cause);
	free(path);
	return r;
}

int
control_load_legacy_images(struct control *ctl, struct store *st,
    const char *data_dir)
{
	char *dir = xasprintf("%s/tokens", data_dir);
	char id[ENCODE_ID_LEN + 1];
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = 0;

	if (d == NULL) {
		free(dir);
		return 0;	/* a data directory of schema 3 or later */
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > 8 && strcmp(de->d_name + n - 8, ".img.tmp") == 0) {
			char *p = xasprintf("%s/%s", dir, de->d_name);

			(void)unlink(p);	/* an interrupted create's */
			free(p);
			continue;
		}
		if (n != ENCODE_ID_LEN + 4 ||
		    strcmp(de->d_name + ENCODE_ID_LEN, ".img") != 0)
			continue;
		memcpy(id, de->d_name, ENCODE_ID_LEN);
		id[ENCODE_ID_LEN] = '\0';
		if (control_legacy_one(ctl, st, dir, id) < 0)
			rc = -1;
	}
	closedir(d);
	if (rc == 0 && rmdir(dir) < 0 && errno != ENOENT)
		log_warn("removing %s", dir);
	free(dir);
	return rc;
}
