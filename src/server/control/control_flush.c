/*
 * control_flush: where a writable token's writes become durable.  The
 * device keeps writes in memory and marks the blocks they touch; when the
 * guest asks for a flush (SYNCHRONIZE CACHE, a FUA write) the dirty
 * blocks go to the store thread in one transaction, and the command's
 * status goes out only when that commit is known.  The transaction first
 * checks that this node still holds the token's claim: a node whose
 * lease was taken over (it lost the database for longer than the lease)
 * must not overwrite what the new holder writes; its flush fails and the
 * guest sees a write error.
 *
 * When a session ends, blocks written since the last flush are stored
 * too (best effort: a guest that wants its data safe flushes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"
#include "server/device/dev_image.h"
#include "server/export/export.h"

/* What a token's sink needs: which token, whose controller. */
struct control_flush {
	struct control *ctl;
	char token_id[ENCODE_ID_LEN + 1];
};

struct control_flushjob {
	struct control *ctl;
	const char *node;
	char token_id[ENCODE_ID_LEN + 1];
	struct dev_image_snap *snap;	/* its data is stable until done */
};

static int
control_flush_body(struct store *st, void *arg)
{
	struct control_flushjob *j = arg;
	int r = store_session_check(st, j->token_id, j->node);

	for (size_t i = 0; r == 0 && i < j->snap->n; i++)
		r = store_block_put(st, j->token_id, j->snap->idx[i],
		    j->snap->data[i]);
	return r;
}

static int
control_flush_run(struct store *st, void *arg)
{
	return control_tx_run(st, control_flush_body, arg);
}

static void
control_flush_done(void *arg, int result, const char *err)
{
	struct control_flushjob *j = arg;
	struct vt_error e;
	char what[96];

	snprintf(what, sizeof(what), "storing the writes to token %s",
	    j->token_id);
	if (result == STORE_NOTFOUND)
		log_error("%s: %s", what, err != NULL ? err : "claim lost");
	else
		(void)control_op_result(j->ctl, result, err, what, &e);
	dev_image_snap_done(j->snap, result < 0 ? -1 : 0);
	free(j);
}

static void
control_flush_post(struct control *ctl, const char *token_id,
    struct dev_image_snap *snap)
{
	struct control_flushjob *j = xcalloc(1, sizeof(*j));

	j->ctl = ctl;
	j->node = ctl->node_name;
	snprintf(j->token_id, sizeof(j->token_id), "%s", token_id);
	j->snap = snap;
	control_post(ctl, control_flush_run, control_flush_done, j);
}

/* The image's sink: the guest asked for a flush. */
static void
control_flush_sink(void *arg, struct dev_image_snap *snap)
{
	struct control_flush *f = arg;

	control_flush_post(f->ctl, f->token_id, snap);
}

void
control_flush_attach(struct control *ctl, struct control_token *tok)
{
	struct dev_image_sink sink;

	tok->flush = xcalloc(1, sizeof(*tok->flush));
	tok->flush->ctl = ctl;
	memcpy(tok->flush->token_id, tok->id, sizeof(tok->flush->token_id));
	sink.flush = control_flush_sink;
	sink.arg = tok->flush;
	dev_image_set_sink(tok->dev->img, &sink);
}

void
control_flush_detach(struct control *ctl, struct control_token *tok)
{
	struct dev_image_snap *snap;

	if (tok->flush == NULL)
		return;
	if (tok->dev != NULL) {
		struct dev_image_sink none = { NULL, NULL };

		if ((snap = dev_image_snapshot(tok->dev->img)) != NULL)
			control_flush_post(ctl, tok->id, snap);
		dev_image_set_sink(tok->dev->img, &none);
	}
	free(tok->flush);
	tok->flush = NULL;
}
