/*
 * control_agentrel: agent releases and the rollout (docs/AGENT.md,
 * "Releases and rollouts").  A release is two documents written
 * together: its metadata (cached) and its artifact (read from the store
 * per download).  The controller checks the artifact's SHA-256 but holds
 * no release key: agents verify the signature with the key pinned in
 * their own configuration, so a controller (or its database) that
 * serves altered bytes gets them refused.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/encode.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"

#define ROLLOUT_KEY	"current"

bool
control_version_valid(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > CONTROL_VERSION_MAX ||
	    !((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') ||
	    (*v >= 'A' && *v <= 'Z')))
		return false;
	for (const char *p = v; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || strchr(".+~-", *p) != NULL))
			return false;
	return true;
}

/* The artifact's SHA-256 as lower-case hex into out. */
static int
release_sha256(const uint8_t *data, size_t len, char out[65])
{
	uint8_t md[32];
	unsigned mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md))
		return -1;
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Checks what the operator says of the artifact; -1 + err. */
static int
release_check(struct control *ctl, const char *version, const char *sha256,
    const char *signature, const uint8_t *artifact, size_t len,
    struct vt_error *err)
{
	char hex[65];
	uint8_t sig[65];

	if (!control_version_valid(version))
		return vt_fail(err, VT_EINVAL, "version: 1 to %d characters "
		    "[0-9A-Za-z.+~-], starting with a letter or digit",
		    CONTROL_VERSION_MAX);
	if (control_release_get(ctl, version) != NULL)
		return vt_fail(err, VT_ECONFLICT, "release %s exists", version);
	if (len == 0 || len > CONTROL_RELEASE_MAX)
		return vt_fail(err, VT_EINVAL, "artifact: 1 byte to %u MiB",
		    CONTROL_RELEASE_MAX >> 20);
	if (decode_base64(signature, sig, sizeof(sig)) != 64)
		return vt_fail(err, VT_EINVAL, "signature: base64 of 64 bytes "
		    "(Ed25519) is required");
	if (release_sha256(artifact, len, hex) < 0)
		return vt_fail(err, VT_EINTERNAL, "SHA-256 failed");
	if (strlen(sha256) != 64 || strcasecmp(sha256, hex) != 0)
		return vt_fail(err, VT_EINVAL, "sha256: the artifact's is %s",
		    hex);
	return 0;
}

int
control_release_add(struct control *ctl, const char *actor,
    const char *version, const char *sha256, const char *signature,
    const uint8_t *artifact, size_t len, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_doc_put put[2];
	char subject[16 + CONTROL_VERSION_MAX], now[ENCODE_TIME_LEN + 1];
	char lower[65];			/* release_check: 64 hex digits */
	json_t *meta;

	if (release_check(ctl, version, sha256, signature, artifact, len,
	    err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(lower); i++)
		lower[i] = (char)(sha256[i] >= 'A' && sha256[i] <= 'F' ?
		    sha256[i] - 'A' + 'a' : sha256[i]);
	encode_time(time(NULL), now);
	meta = json_pack("{s:s, s:I, s:s, s:s, s:s}", "version", version,
	    "size", (json_int_t)len, "sha256", lower, "signature", signature,
	    "created", now);
	control_doc_put_json(&put[0], CONTROL_DOC_RELEASE, version, meta);
	memset(&put[1], 0, sizeof(put[1]));
	snprintf(put[1].kind, sizeof(put[1].kind), "%s", CONTROL_DOC_ARTIFACT);
	snprintf(put[1].key, sizeof(put[1].key), "%s", version);
	put[1].body = xmalloc(len);
	memcpy(put[1].body, artifact, len);
	put[1].len = len;
	snprintf(subject, sizeof(subject), "release:%s", version);
	json_object_del(meta, "created");
	control_doc_write(ctl, actor, put, 2, "agent.release_added", subject,
	    meta, done, arg);
	return 0;
}

int
control_release_delete(struct control *ctl, const char *actor,
    const char *version, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_doc_put put[2];
	const json_t *r = control_rollout_get(ctl);
	char subject[16 + CONTROL_VERSION_MAX];

	if (control_release_get(ctl, version) == NULL)
		return vt_fail(err, VT_ENOTFOUND, "no release %s", version);
	if (r != NULL && strcmp(json_string_value(json_object_get(r,
	    "version")), version) == 0)
		return vt_fail(err, VT_ECONFLICT, "the rollout targets %s; "
		    "stop or change it first", version);
	control_doc_put_json(&put[0], CONTROL_DOC_RELEASE, version, NULL);
	control_doc_put_json(&put[1], CONTROL_DOC_ARTIFACT, version, NULL);
	snprintf(subject, sizeof(subject), "release:%s", version);
	control_doc_write(ctl, actor, put, 2, "agent.release_deleted", subject,
	    NULL, done, arg);
	return 0;
}

json_t *
control_releases_json(struct control *ctl)
{
	json_t *out = json_array(), *v;
	const char *k;

	json_object_foreach(control_doc_kind(ctl, CONTROL_DOC_RELEASE), k, v)
		json_array_append(out, v);
	return out;
}

const json_t *
control_release_get(struct control *ctl, const char *version)
{
	return control_doc_get(ctl, CONTROL_DOC_RELEASE, version);
}

/* ---- downloads ---- */

struct artifact_job {
	struct control *ctl;
	char version[CONTROL_VERSION_MAX + 1];
	uint8_t *data;
	size_t len;
	bool found;
	control_artifact_fn *done;
	void *arg;
};

static int
artifact_got(void *arg, const struct store_doc *d)
{
	struct artifact_job *j = arg;

	j->data = xmalloc(d->len ? d->len : 1);
	memcpy(j->data, d->body, d->len);
	j->len = d->len;
	j->found = true;
	return 0;
}

static int
artifact_run(struct store *st, void *arg)
{
	struct artifact_job *j = arg;

	free(j->data);		/* a retried job */
	j->data = NULL;
	j->found = false;
	return store_doc_get(st, CONTROL_DOC_ARTIFACT, j->version,
	    artifact_got, j);
}

static void
artifact_done(void *arg, int result, const char *err)
{
	struct artifact_job *j = arg;
	struct vt_error e;

	if (control_op_result(j->ctl, result, err, "reading an artifact",
	    &e) < 0)
		j->done(j->arg, &e, NULL, 0);
	else if (!j->found) {
		vt_fail(&e, VT_ENOTFOUND, "no artifact %s", j->version);
		j->done(j->arg, &e, NULL, 0);
	} else
		j->done(j->arg, NULL, j->data, j->len);
	free(j->data);
	free(j);
}

void
control_release_artifact(struct control *ctl, const char *version,
    control_artifact_fn *done, void *arg)
{
	struct artifact_job *j = xcalloc(1, sizeof(*j));

	j->ctl = ctl;
	snprintf(j->version, sizeof(j->version), "%s", version);
	j->done = done;
	j->arg = arg;
	control_post(ctl, artifact_run, artifact_done, j);
}

/* ---- the rollout ---- */

/* The rollout as stored: VM ids for the names given; NULL + err. */
static json_t *
rollout_check(struct control *ctl, const json_t *in, struct vt_error *err)
{
	const char *version = json_string_value(json_object_get(in,
	    "version"));
	json_t *vms = json_object_get(in, "vms"), *pct, *ids, *v;
	json_int_t percent = 100;
	size_t i;

	if (version == NULL || control_release_get(ctl, version) == NULL) {
		vt_fail(err, version == NULL ? VT_EINVAL : VT_ENOTFOUND,
		    "version: %s", version == NULL ? "required" :
		    "no such release");
		return NULL;
	}
	pct = json_object_get(in, "percent");
	if (pct != NULL && !json_is_null(pct)) {
		percent = json_is_integer(pct) ? json_integer_value(pct) : 0;
		if (percent < 1 || percent > 100) {
			vt_fail(err, VT_EINVAL, "percent: 1 to 100");
			return NULL;
		}
	}
	if (vms != NULL && !json_is_null(vms) && !json_is_array(vms)) {
		vt_fail(err, VT_EINVAL, "vms: a list of VM ids or names");
		return NULL;
	}
	ids = json_array();
	json_array_foreach(vms, i, v) {
		const struct control_vm *vm = json_is_string(v) ?
		    control_vm_find(ctl, json_string_value(v)) : NULL;

		if (vm == NULL) {
			json_decref(ids);
			vt_fail(err, VT_ENOTFOUND, "vms: no VM %.64s",
			    json_is_string(v) ? json_string_value(v) : "?");
			return NULL;
		}
		json_array_append_new(ids, json_string(vm->id));
	}
	v = json_pack("{s:s, s:I}", "version", version, "percent", percent);
	if (json_is_array(vms))
		json_object_set_new(v, "vms", ids);
	else
		json_decref(ids);
	return v;
}

int
control_rollout_set(struct control *ctl, const char *actor,
    const json_t *rollout, control_done_fn *done, void *arg,
    struct vt_error *err)
{
	struct control_doc_put put;
	json_t *r = rollout_check(ctl, rollout, err);

	if (r == NULL)
		return -1;
	control_doc_put_json(&put, CONTROL_DOC_ROLLOUT, ROLLOUT_KEY, r);
	control_doc_write(ctl, actor, &put, 1, "agent.rollout", "rollout", r,
	    done, arg);
	return 0;
}

int
control_rollout_stop(struct control *ctl, const char *actor,
    control_done_fn *done, void *arg, struct vt_error *err)
{
	struct control_doc_put put;

	if (control_rollout_get(ctl) == NULL)
		return vt_fail(err, VT_ENOTFOUND, "no rollout");
	control_doc_put_json(&put, CONTROL_DOC_ROLLOUT, ROLLOUT_KEY, NULL);
	control_doc_write(ctl, actor, &put, 1, "agent.rollout_stopped",
	    "rollout", NULL, done, arg);
	return 0;
}

const json_t *
control_rollout_get(struct control *ctl)
{
	return control_doc_get(ctl, CONTROL_DOC_ROLLOUT, ROLLOUT_KEY);
}

/* FNV-1a, 32 bits: a VM's place among 100 canary buckets. */
static uint32_t
rollout_bucket(const char *id)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h % 100;
}

const char *
control_rollout_target(struct control *ctl, const struct control_vm *vm)
{
	const json_t *r = control_rollout_get(ctl), *vms, *v;
	bool listed;
	size_t i;

	if (r == NULL || vm == NULL)
		return NULL;
	vms = json_object_get(r, "vms");
	listed = !json_is_array(vms);
	json_array_foreach(vms, i, v)
		if (strcmp(json_string_value(v), vm->id) == 0)
			listed = true;
	if (!listed || (json_int_t)rollout_bucket(vm->id) >=
	    json_integer_value(json_object_get(r, "percent")))
		return NULL;
	return json_string_value(json_object_get(r, "version"));
}

/* control_index_vms_of_peer's callback: the first is enough. */
static void
peer_vm_first(void *arg, struct control_vm *vm)
{
	struct control_vm **first = arg;

	if (*first == NULL)
		*first = vm;
}

struct control_vm *
control_peer_vm(struct control *ctl, const struct sockaddr *sa)
{
	struct control_vm *first = NULL;

	control_index_vms_of_peer(ctl->ix, sa, peer_vm_first, &first);
	return first;
}
