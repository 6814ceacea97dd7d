/*
 * api_agentmgr: the program manager's routes (docs/AGENT.md, "Releases
 * and rollouts"): GET /v1/agents, the releases, their artifacts, the
 * rollout.  Artifacts are served without a key, but only to source
 * addresses of registered VMs (where agents run); they are signed, so
 * the address check only keeps them from the rest of the world.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "server/api/api.h"
#include "server/api/api_decode.h"
#include "server/control/control.h"
#include "vtoken/vtapi.h"

void
api_agents_list(struct api_req *r)
{
	api_reply_json(r, 200, json_pack("{s:o}", VTAPI_F_AGENTS,
	    control_agents_json(r->ctl)));
}

void
api_releases_list(struct api_req *r)
{
	api_reply_json(r, 200, json_pack("{s:o}", VTAPI_F_RELEASES,
	    control_releases_json(r->ctl)));
}

/* A release on its way to the store. */
struct api_release_op {
	struct api_req *r;
	char version[CONTROL_VERSION_MAX + 1];
};

/* A release change's answer: the release (201) or nothing (204). */
static void
api_release_done(void *arg, const struct vt_error *err, const char *id)
{
	struct api_release_op *op = arg;
	struct api_req *r = op->r;
	const json_t *rel;

	(void)id;
	if (err != NULL)
		api_reply_vterr(r, err);
	else if (evhttp_request_get_command(r->req) == EVHTTP_REQ_DELETE)
		api_reply_empty(r, 204);
	else if ((rel = control_release_get(r->ctl, op->version)) == NULL)
		api_reply_error(r, 500, "internal", "the release is gone");
	else
		api_reply_json(r, 201, json_deep_copy(rel));
	free(op);
}

/* Starts op's change (add: artifact set) or answers the refusal. */
static void
api_release_start(struct api_req *r, struct api_release_op *op,
    const char *sha, const char *sig, const uint8_t *art, size_t len)
{
	struct vt_error err;
	int rc;

	if (art != NULL)
		rc = control_release_add(r->ctl, r->actor, op->version, sha,
		    sig, art, len, api_release_done, op, &err);
	else
		rc = control_release_delete(r->ctl, r->actor, op->version,
		    api_release_done, op, &err);
	if (rc < 0) {
		free(op);
		api_reply_vterr(r, &err);
	} else
		api_defer(r);
}

static struct api_release_op *
api_release_op(struct api_req *r, const char *version)
{
	struct api_release_op *op = xcalloc(1, sizeof(*op));

	op->r = r;
	snprintf(op->version, sizeof(op->version), "%s", version);
	return op;
}

void
api_releases_add(struct api_req *r)
{
	static const char *const fields[] = { VTAPI_F_VERSION, VTAPI_F_SHA256,
	    VTAPI_F_SIGNATURE, VTAPI_F_ARTIFACT, NULL };
	const char *body, *version, *sha, *sig, *b64;
	uint8_t *art;
	long n;
	char why[256];
	size_t len, cap;
	json_t *o;

	body = api_body(r, &len);
	if (api_decode_object(body, len, fields, &o, why, sizeof(why)) < 0) {
		api_reply_error(r, 400, "bad_request", "%s", why);
		return;
	}
	version = json_string_value(json_object_get(o, VTAPI_F_VERSION));
	sha = json_string_value(json_object_get(o, VTAPI_F_SHA256));
	sig = json_string_value(json_object_get(o, VTAPI_F_SIGNATURE));
	b64 = json_string_value(json_object_get(o, VTAPI_F_ARTIFACT));
	if (version == NULL || sha == NULL || sig == NULL || b64 == NULL ||
	    strlen(version) > CONTROL_VERSION_MAX) {
		json_decref(o);
		api_reply_error(r, 400, "bad_request", "version (at most %d "
		    "characters), sha256, signature and artifact (base64) are "
		    "required", CONTROL_VERSION_MAX);
		return;
	}
	cap = strlen(b64) / 4 * 3 + 3;
	art = xmalloc(cap);
	n = decode_base64(b64, art, cap);
	if (n <= 0)
		api_reply_error(r, 400, "bad_request", "artifact: not base64");
	else
		api_release_start(r, api_release_op(r, version), sha, sig, art,
		    (size_t)n);
	free(art);
	json_decref(o);
}

void
api_releases_delete(struct api_req *r)
{
	api_release_start(r, api_release_op(r, r->arg), NULL, NULL, NULL, 0);
}

/* ---- artifacts ---- */

static void
api_artifact_got(void *arg, const struct vt_error *err, const uint8_t *data,
    size_t len)
{
	struct api_req *r = arg;
	struct evbuffer *b;

	if (err != NULL) {
		api_reply_vterr(r, err);
		return;
	}
	b = evbuffer_new();
	if (b == NULL || evbuffer_add(b, data, len) < 0) {
		if (b != NULL)
			evbuffer_free(b);
		api_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	api_reply_buffer(r, 200, "application/octet-stream", b);
	evbuffer_free(b);
}

void
api_releases_artifact(struct api_req *r)
{
	if (control_peer_vm(r->ctl, (const struct sockaddr *)&r->peer_sa) ==
	    NULL) {
		log_info("api %s: artifact %.64s refused: not a VM's address",
		    r->peer, r->arg);
		api_reply_error(r, 403, "forbidden", "artifacts are served to "
		    "VM addresses only");
		return;
	}
	if (control_release_get(r->ctl, r->arg) == NULL) {
		api_reply_error(r, 404, "not_found", "no release \"%.64s\"",
		    r->arg);
		return;
	}
	control_release_artifact(r->ctl, r->arg, api_artifact_got, r);
	api_defer(r);
}

/* ---- the rollout ---- */

static void
api_rollout_done(void *arg, const struct vt_error *err, const char *id)
{
	struct api_req *r = arg;
	const json_t *ro;

	(void)id;
	if (err != NULL)
		api_reply_vterr(r, err);
	else if ((ro = control_rollout_get(r->ctl)) == NULL)
		api_reply_empty(r, 204);
	else
		api_reply_json(r, 200, json_deep_copy(ro));
}

void
api_rollout_get(struct api_req *r)
{
	const json_t *ro = control_rollout_get(r->ctl);

	if (ro == NULL)
		api_reply_error(r, 404, "not_found", "no rollout");
	else
		api_reply_json(r, 200, json_deep_copy(ro));
}

void
api_rollout_put(struct api_req *r)
{
	static const char *const fields[] = { VTAPI_F_VERSION, VTAPI_F_VMS,
	    VTAPI_F_PERCENT, NULL };
	struct vt_error err;
	const char *body;
	char why[256];
	size_t len;
	json_t *o;

	body = api_body(r, &len);
	if (api_decode_object(body, len, fields, &o, why, sizeof(why)) < 0) {
		api_reply_error(r, 400, "bad_request", "%s", why);
		return;
	}
	if (control_rollout_set(r->ctl, r->actor, o, api_rollout_done, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
	json_decref(o);
}

void
api_rollout_delete(struct api_req *r)
{
	struct vt_error err;

	if (control_rollout_stop(r->ctl, r->actor, api_rollout_done, r,
	    &err) < 0)
		api_reply_vterr(r, &err);
	else
		api_defer(r);
}
