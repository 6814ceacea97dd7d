/*
 * ctl_impl: what the controller's files share.  Not for other modules.
 */
#ifndef VTOKEN_CTL_IMPL_H
#define VTOKEN_CTL_IMPL_H

#include <jansson.h>

#include "server/ctl.h"

/* A VM from a store row (addresses parsed); NULL with *err set. */
struct ctl_vm *ctl_vm_from_row(const struct store_vm *row,
    struct vt_error *err);
/* Loads tok's image from token_dir and registers its device. */
int ctl_token_load_device(struct ctl *ctl, struct ctl_token *tok);
/* In-memory assignment: tok -> vm, the device's ACL follows. */
void ctl_link(struct ctl_token *tok, struct ctl_vm *vm, const char *when);
void ctl_unlink(struct ctl_token *tok);
/* Ends tok's live session at once (device detached now). */
void ctl_kick(struct ctl_token *tok, const char *why);
/* Writes the revoke of tok (assignment row + audit) in the open tx. */
int ctl_revoke_tx(struct ctl *ctl, const char *actor, struct ctl_token *tok);

/*
 * Transaction steps shared by every change.  ctl_tx_audit appends the
 * audit record when r is still 0 (detail is consumed either way).
 * ctl_tx_end commits when r is 0, else rolls back, logs "what id: store
 * error" and counts it.  Both return the (possibly new) result.
 */
int ctl_tx_audit(struct ctl *ctl, int r, const char *actor,
    const char *action, const char *subject, json_t *detail);
int ctl_tx_end(struct ctl *ctl, int r, const char *what, const char *id);

#endif
