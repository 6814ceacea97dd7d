/*
 * api_view: JSON views of controller objects (docs/API.md "Objects").
 * Each returns a new reference the caller owns.
 */
#ifndef VTOKEN_API_VIEW_H
#define VTOKEN_API_VIEW_H

#include <jansson.h>

#include "server/control/control.h"

struct export_session;

json_t *api_view_token(const struct control_token *tok);
json_t *api_view_vm(const struct control *ctl, const struct control_vm *vm);
json_t *api_view_assignment(const struct control_token *tok);
/* A token's session on this node (JSON null for NULL). */
json_t *api_view_session(const struct export_session *s);

#endif
