/*
 * control_churn: attach/detach churn coalesced in the audit log.
 *
 * A guest that imports and closes its token in a loop would write two
 * fsync'd records per cycle (over a thousand a second on loopback),
 * filling the disk and slowing every other VM's audited actions.  Each
 * token may have CHURN_PER_MIN recorded sessions a minute (a burst of
 * CHURN_PER_MIN / 6 + 5, as ratelimit.h buckets go); sessions beyond
 * that are served as usual but recorded together: one
 * "attach.coalesced" record per token with the number of sessions and
 * the first and last of them, written when CHURN_QUIET_S seconds pass
 * without another, or carried by the token's next recorded attach
 * ("coalesced" in its detail).  A real guest attaches once per boot.
 */
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "common/encode.h"
#include "server/control/control_impl.h"

#define CHURN_PER_MIN	30
#define CHURN_BURST	10
#define CHURN_QUIET_S	10

/*
 * A token bucket in the token itself (ratelimit.h's would be taken at
 * the import, before the claim: refused imports, such as those of a
 * token busy on another node, would use it up).
 */
static double
control_churn_level(const struct control_token *tok, time_t now)
{
	double level = tok->churn_at == 0 ? CHURN_BURST : tok->churn_level +
	    (double)(now - tok->churn_at) * CHURN_PER_MIN / 60.0;

	return level > CHURN_BURST ? CHURN_BURST : level;
}

bool
control_churn_quiet(const struct control_token *tok, time_t now)
{
	return control_churn_level(tok, now) < 1.0;
}

void
control_churn_recorded(struct control *ctl, struct control_token *tok,
    time_t now)
{
	tok->churn_level = control_churn_level(tok, now) - 1.0;
	tok->churn_at = now;
	if (tok->churn_pending > 0) {
		tok->churn_pending = 0;
		if (ctl->churning > 0)
			ctl->churning--;
	}
}

void
control_churn_detached(struct control *ctl, struct control_token *tok,
    time_t now)
{
	if (tok->churn_pending++ == 0) {
		tok->churn_first = now;
		ctl->churning++;
	}
	tok->churn_last = now;
}

json_t *
control_churn_count(const struct control_token *tok)
{
	char first[ENCODE_TIME_LEN + 1], last[ENCODE_TIME_LEN + 1];

	if (tok->churn_pending == 0)
		return NULL;
	encode_time(tok->churn_first, first);
	encode_time(tok->churn_last, last);
	return json_pack("{s:I, s:s, s:s}", "sessions",
	    (json_int_t)tok->churn_pending, "first", first, "last", last);
}

struct control_churn_sweep {
	struct control *ctl;
	time_t now;
	unsigned left;			/* tokens still counting */
};

static void
control_churn_one(void *arg, struct control_token *tok)
{
	struct control_churn_sweep *w = arg;
	char subject[64];
	json_t *detail;

	if (tok->churn_pending == 0)
		return;
	if (w->now - tok->churn_last < CHURN_QUIET_S || tok->dev != NULL ||
	    tok->importing) {
		w->left++;
		return;
	}
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = control_churn_count(tok);
	json_object_set_new(detail, "vm", json_string(tok->session_vm));
	tok->churn_pending = 0;
	control_audit_post(w->ctl, "system", "attach.coalesced", subject,
	    detail);
}

void
control_churn_flush(struct control *ctl, time_t now)
{
	struct control_churn_sweep w = { ctl, now, 0 };

	if (ctl->churning == 0)
		return;
	control_index_tokens_foreach(ctl->ix, control_churn_one, &w);
	/* Recounted: a deleted token's count went with it. */
	ctl->churning = w.left;
}
