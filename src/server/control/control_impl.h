/*
 * control_impl: what the controller's files share.  Not for other
 * modules.
 */
#ifndef VTOKEN_CONTROL_IMPL_H
#define VTOKEN_CONTROL_IMPL_H

#include <jansson.h>

#include "server/control/control.h"

/* A VM from a store row (addresses parsed); NULL with *err set. */
struct control_vm *control_vm_from_row(const struct store_vm *row,
    struct vt_error *err);
/* Loads tok's image from token_dir and makes its device. */
int control_token_load_device(struct control *ctl, struct control_token *tok);
/* Frees tok and its device (its session must have ended). */
void control_token_free(struct control_token *tok);
/* In-memory assignment: tok -> vm. */
void control_link(struct control_token *tok, struct control_vm *vm,
    const char *when);
void control_unlink(struct control_token *tok);
/* Ends tok's live session at once (device detached now). */
void control_kick(struct control_token *tok, const char *why);
/* True while tok's device has a session. */
bool control_token_attached(const struct control_token *tok);
/* Writes the revoke of tok (assignment row + audit) in the open tx. */
int control_revoke_tx(struct control *ctl, const char *actor,
    struct control_token *tok);

/*
 * Transaction steps shared by every change.  control_tx_audit appends the
 * audit record when r is still 0 (detail is consumed either way).
 * control_tx_end commits when r is 0, else rolls back, logs "what id:
 * store error" and counts it.  Both return the (possibly new) result.
 */
int control_tx_audit(struct control *ctl, int r, const char *actor,
    const char *action, const char *subject, json_t *detail);
int control_tx_end(struct control *ctl, int r, const char *what,
    const char *id);
/* Audits an event in a transaction of its own (consuming detail); -1
 * after logging a store failure. */
int control_audit_event(struct control *ctl, const char *actor,
    const char *action, const char *subject, json_t *detail);

/* The export hooks (control_session.c). */
extern const struct export_hooks control_export_hooks;

/* API keys (control_key.c): load, making the first admin key if none. */
int control_key_load(struct control *ctl, const char *data_dir);

#endif
