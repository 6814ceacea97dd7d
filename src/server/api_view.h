/*
 * api_view: JSON views of controller objects (docs/API.md "Objects").
 * Each returns a new reference the caller owns.
 */
#ifndef VTOKEN_API_VIEW_H
#define VTOKEN_API_VIEW_H

#include <jansson.h>

#include "server/ctl.h"

json_t *api_view_token(const struct ctl_token *tok);
json_t *api_view_vm(const struct ctl *ctl, const struct ctl_vm *vm);
json_t *api_view_assignment(const struct ctl_token *tok);
/* A session on dev, or JSON null when none. */
json_t *api_view_session(const struct vt_device *dev, bool full);

#endif
