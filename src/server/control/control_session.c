/*
 * control_session: the controller's export hooks.  A peer lists and may
 * import only the tokens assigned to a VM one of whose addresses it has;
 * anything else is "no such device", never revealing that a token exists,
 * and is audited as attach.denied (rate-limited per address).  An attach
 * is recorded (session row and audit record, one transaction) before the
 * import is answered: a token served without its record would be an
 * unaudited use, so an attach that cannot be recorded is refused.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/text.h"
#include "server/control/control_impl.h"
#include "server/export/export.h"

static void
control_session_devlist(void *arg, const struct sockaddr *sa,
    export_emit_cb *emit, void *emit_arg)
{
	struct control *ctl = arg;
	struct control_token *t;
	struct export_devinfo info;

	TAILQ_FOREACH(t, &ctl->tokens, entry) {
		if (!control_token_visible(t, sa))
			continue;
		export_device_info(t->dev, &info);
		emit(emit_arg, &info);
	}
}

/* Audits a refused import of busid (peer-chosen: shown printable). */
static void
control_session_denied(struct control *ctl, const struct export_session *s,
    const char *busid, const char *reason)
{
	char actor[96], subject[64], shown[EXPORT_BUSID_SIZE];

	snprintf(actor, sizeof(actor), "usbip:%s", s->peer_str);
	snprintf(subject, sizeof(subject), "busid:%s",
	    text_printable(busid, shown, sizeof(shown)));
	control_audit_refusal(ctl, s->peer_host, actor, "attach.denied",
	    subject, json_pack("{s:s}", "reason", reason));
}

/* Records the attach of tok by s: session row and audit record. */
static int
control_session_record(struct control *ctl, struct control_token *tok,
    const struct export_session *s)
{
	struct store *st = ctl->store;
	struct store_session row;
	char actor[96], subject[64];
	int r;

	memset(&row, 0, sizeof(row));
	snprintf(row.token_id, sizeof(row.token_id), "%s", tok->id);
	row.peer = s->peer_str;
	row.host = ctl->host;
	encode_time(s->since, row.since);
	snprintf(actor, sizeof(actor), "usbip:%s", s->peer_str);
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	r = store_begin(st);
	if (r == 0)
		r = store_session_insert(st, &row);
	r = control_tx_audit(ctl, r, actor, "attach", subject, NULL);
	return control_tx_end(ctl, r, "recording the attach of", tok->id);
}

static void
control_session_import(void *arg, struct export_import *imp,
    const char *busid, struct export_session *s)
{
	struct control *ctl = arg;
	struct control_token *tok = control_token_by_busid(ctl, busid);
	const char *why = NULL;
	enum export_status st = EXPORT_NODEV;

	if (tok == NULL)
		why = "no such device";
	else if (!control_token_visible(tok,
	    (const struct sockaddr *)&s->peer))
		why = "not assigned to this peer";
	else if (control_token_attached(tok)) {
		why = "already attached";
		st = EXPORT_BUSY;
	} else if (control_session_record(ctl, tok, s) < 0) {
		why = "the attach could not be recorded";
		st = EXPORT_ERROR;
	}
	if (why != NULL) {
		control_session_denied(ctl, s, busid, why);
		export_import_done(imp, st, NULL, why);
		return;
	}
	ctl->stats.attaches++;
	export_import_done(imp, EXPORT_OK, tok->dev, NULL);
}

static void
control_session_detached(void *arg, const struct export_session *s)
{
	struct control *ctl = arg;
	struct control_token *tok = control_token_find(ctl, s->dev->id);
	struct store *st = ctl->store;
	char actor[96], subject[64];
	json_t *detail;
	int r;

	ctl->stats.detaches++;
	if (tok == NULL || tok->dev != s->dev)
		return;		/* not ours: cannot happen */
	snprintf(actor, sizeof(actor), "usbip:%s", s->peer_str);
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = json_pack("{s:I, s:I, s:I, s:I}", "bytes_in",
	    (json_int_t)s->bytes_in, "bytes_out", (json_int_t)s->bytes_out,
	    "urbs", (json_int_t)s->urbs, "duration_s",
	    (json_int_t)(time(NULL) - s->since));
	r = store_begin(st);
	if (r == 0)
		r = store_session_delete(st, tok->id);
	r = control_tx_audit(ctl, r, actor, "detach", subject, detail);
	(void)control_tx_end(ctl, r, "recording the detach of", tok->id);
}

static void
control_session_refused(void *arg, const struct export_session *s,
    const char *busid, const char *reason)
{
	control_session_denied(arg, s, busid, reason);
}

const struct export_hooks control_export_hooks = {
	.devlist = control_session_devlist,
	.import = control_session_import,
	.detached = control_session_detached,
	.refused = control_session_refused,
};
