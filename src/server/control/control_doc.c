/*
 * control_doc: the controller's documents (store.h, struct store_doc):
 * agent policies, the facts VMs report, agents' update results, release
 * metadata and the rollout, cached on the event loop as one JSON object
 * per kind (key -> document), and written with an audit record and a
 * feed row in one transaction, so every node's cache follows the store
 * (control_node.c reads the "doc" feed rows back through
 * control_doc_refresh_run).  Release artifacts are documents too, but
 * never cached: they are read from the store when an agent downloads
 * one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"

/* The kinds kept in memory; CONTROL_DOC_ARTIFACT is not one of them. */
static const char *const doc_cached[] = {
	CONTROL_DOC_POLICY, CONTROL_DOC_FACTS, CONTROL_DOC_AGENT,
	CONTROL_DOC_RELEASE, CONTROL_DOC_ROLLOUT,
};

static bool
doc_is_cached(const char *kind)
{
	for (size_t i = 0; i < sizeof(doc_cached) / sizeof(doc_cached[0]); i++)
		if (strcmp(kind, doc_cached[i]) == 0)
			return true;
	return false;
}

json_t *
control_doc_kind(struct control *ctl, const char *kind)
{
	json_t *k;

	if (ctl->docs == NULL)
		ctl->docs = json_object();
	if ((k = json_object_get(ctl->docs, kind)) == NULL) {
		k = json_object();
		json_object_set_new(ctl->docs, kind, k);
	}
	return k;
}

json_t *
control_doc_get(struct control *ctl, const char *kind, const char *key)
{
	return json_object_get(control_doc_kind(ctl, kind), key);
}

void
control_doc_set_local(struct control *ctl, const char *kind,
    const char *key, json_t *doc)
{
	if (!doc_is_cached(kind)) {
		json_decref(doc);
		return;
	}
	if (doc == NULL)
		json_object_del(control_doc_kind(ctl, kind), key);
	else
		json_object_set_new(control_doc_kind(ctl, kind), key, doc);
}

void
control_doc_free(struct control *ctl)
{
	json_decref(ctl->docs);
	ctl->docs = NULL;
}

/* ---- loading: at start-up and at a resync ---- */

static int
doc_load_one(void *arg, const struct store_doc *d)
{
	json_t *kind = arg, *doc;

	doc = json_loadb((const char *)d->body, d->len, JSON_REJECT_DUPLICATES,
	    NULL);
	if (doc == NULL) {
		log_warnx("document %s/%s: not JSON; ignored", d->kind, d->key);
		return 0;
	}
	json_object_set_new(kind, d->key, doc);
	return 0;
}

int
control_doc_load_run(struct store *st, json_t **out)
{
	json_t *all = json_object();
	int r = 0;

	for (size_t i = 0; r >= 0 && i < sizeof(doc_cached) /
	    sizeof(doc_cached[0]); i++) {
		json_t *kind = json_object();

		json_object_set_new(all, doc_cached[i], kind);
		r = store_doc_foreach(st, doc_cached[i], doc_load_one, kind);
	}
	if (r < 0) {
		json_decref(all);
		return r;
	}
	*out = all;
	return 0;
}

void
control_doc_load_apply(struct control *ctl, json_t *all)
{
	json_decref(ctl->docs);
	ctl->docs = all;
}

/* ---- the feed: one document changed elsewhere ---- */

static int
doc_refresh_got(void *arg, const struct store_doc *d)
{
	struct control_doc_refresh *r = arg;

	r->doc = json_loadb((const char *)d->body, d->len,
	    JSON_REJECT_DUPLICATES, NULL);
	return 0;
}

int
control_doc_refresh_init(struct control_doc_refresh *r, const char *feedkey)
{
	const char *slash = strchr(feedkey, '/');

	memset(r, 0, sizeof(*r));
	if (slash == NULL || (size_t)(slash - feedkey) >= sizeof(r->kind) ||
	    strlen(slash + 1) >= sizeof(r->key))
		return -1;
	memcpy(r->kind, feedkey, (size_t)(slash - feedkey));
	snprintf(r->key, sizeof(r->key), "%s", slash + 1);
	return doc_is_cached(r->kind) ? 0 : -1;
}

int
control_doc_refresh_run(struct store *st, struct control_doc_refresh *r)
{
	json_decref(r->doc);	/* a retried job */
	r->doc = NULL;
	return store_doc_get(st, r->kind, r->key, doc_refresh_got, r);
}

void
control_doc_refresh_apply(struct control *ctl, struct control_doc_refresh *r)
{
	control_doc_set_local(ctl, r->kind, r->key, r->doc);
	r->doc = NULL;
}

/* ---- writes ---- */

int
control_doc_forget_run(struct store *st, const char *node, const char *kind,
    const char *key)
{
	char feedkey[STORE_DOC_KIND_MAX + STORE_DOC_KEY_MAX + 2];
	int r = store_doc_delete(st, kind, key);

	if (r == STORE_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	snprintf(feedkey, sizeof(feedkey), "%s/%s", kind, key);
	return control_tx_change_run(st, node, "doc", feedkey);
}

struct doc_job {
	struct control_op op;
	size_t n;
	struct control_doc_put put[CONTROL_DOC_PUT_MAX];
	char *action, *subject;		/* the audit record */
	json_t *detail;
};

static int
doc_job_body(struct store *st, void *arg)
{
	struct doc_job *j = arg;
	char feedkey[STORE_DOC_KIND_MAX + STORE_DOC_KEY_MAX + 2];
	int r;

	if ((r = control_tx_audit_run(st, j->op.node, j->op.actor, j->action,
	    j->subject, j->detail)) != 0)
		return r;
	for (size_t i = 0; i < j->n; i++) {
		struct control_doc_put *p = &j->put[i];

		if (p->body == NULL)
			r = store_doc_delete(st, p->kind, p->key);
		else
			r = store_doc_put(st, p->kind, p->key, p->body, p->len);
		if (r == STORE_NOTFOUND && p->body == NULL)
			r = 0;	/* gone already: the goal */
		if (r != 0)
			return r;
		snprintf(feedkey, sizeof(feedkey), "%s/%s", p->kind, p->key);
		if (doc_is_cached(p->kind) && (r = control_tx_change_run(st,
		    j->op.node, "doc", feedkey)) != 0)
			return r;
	}
	return 0;
}

static void
doc_job_free(struct doc_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		free(j->put[i].body);
	free(j->action);
	free(j->subject);
	json_decref(j->detail);
	free(j);
}

static void
doc_job_done(void *arg, int result, const char *errtext)
{
	struct doc_job *j = arg;
	struct vt_error e;
	char what[160];

	snprintf(what, sizeof(what), "%s %s", j->action, j->subject);
	if (control_op_result(j->op.ctl, result, errtext, what, &e) < 0) {
		control_op_finish(&j->op, &e);
		doc_job_free(j);
		return;
	}
	for (size_t i = 0; i < j->n; i++) {
		struct control_doc_put *p = &j->put[i];

		control_doc_set_local(j->op.ctl, p->kind, p->key, p->body ==
		    NULL ? NULL : json_loadb((const char *)p->body, p->len, 0,
		    NULL));
	}
	control_op_finish(&j->op, NULL);
	doc_job_free(j);
}

void
control_doc_write(struct control *ctl, const char *actor,
    struct control_doc_put *put, size_t n, const char *action,
    const char *subject, json_t *detail, control_done_fn *done, void *arg)
{
	struct doc_job *j = xcalloc(1, sizeof(*j));

	control_op_init(&j->op, ctl, actor, done, arg);
	if (n > 0)
		snprintf(j->op.id, sizeof(j->op.id), "%.*s", ENCODE_ID_LEN,
		    put[0].key);
	if (n > CONTROL_DOC_PUT_MAX)
		n = CONTROL_DOC_PUT_MAX;	/* callers pass constants */
	for (size_t i = 0; i < n; i++) {
		j->put[i] = put[i];
		put[i].body = NULL;		/* taken */
	}
	j->n = n;
	j->action = xstrdup(action);
	j->subject = xstrdup(subject);
	j->detail = detail;
	control_post_tx(ctl, doc_job_body, doc_job_done, j);
}

void
control_doc_put_json(struct control_doc_put *p, const char *kind,
    const char *key, const json_t *doc)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	snprintf(p->key, sizeof(p->key), "%s", key);
	if (doc != NULL) {
		p->body = (uint8_t *)json_dumps(doc, JSON_COMPACT |
		    JSON_SORT_KEYS);
		if (p->body == NULL)
			p->body = (uint8_t *)xstrdup("{}");
		p->len = strlen((char *)p->body);
	}
}
