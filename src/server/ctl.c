/*
 * ctl: controller open/load, lookups and the USB/IP session hooks.
 * Changes are in ctl_token.c, ctl_vm.c and ctl_assign.c.
 */
#include "server/ctl.h"

#include <ctype.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/audit.h"
#include "server/ctl_impl.h"
#include "server/usbip_conn.h"
#include "server/vtokend.h"

bool
ctl_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > STORE_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return !encode_is_id(name);
}

struct ctl_token *
ctl_token_find(struct ctl *ctl, const char *key)
{
	struct ctl_token *t;

	TAILQ_FOREACH(t, &ctl->tokens, entry)
		if (strcmp(t->id, key) == 0)
			return t;
	TAILQ_FOREACH(t, &ctl->tokens, entry)
		if (strcmp(t->name, key) == 0)
			return t;
	return NULL;
}

struct ctl_vm *
ctl_vm_find(struct ctl *ctl, const char *key)
{
	struct ctl_vm *v;

	TAILQ_FOREACH(v, &ctl->vms, entry)
		if (strcmp(v->id, key) == 0)
			return v;
	TAILQ_FOREACH(v, &ctl->vms, entry)
		if (strcmp(v->name, key) == 0)
			return v;
	return NULL;
}

static int
ctl_load_vm(void *arg, const struct store_vm *row)
{
	struct ctl *ctl = arg;
	struct ctl_vm *vm;
	struct vt_error err;

	vm = ctl_vm_from_row(row, &err);
	if (vm == NULL) {
		log_error("vm %s: %s", row->id, err.msg);
		return -1;
	}
	TAILQ_INSERT_TAIL(&ctl->vms, vm, entry);
	ctl->nvms++;
	return 0;
}

static int
ctl_load_token(void *arg, const struct store_token *row)
{
	struct ctl *ctl = arg;
	struct ctl_token *tok = xcalloc(1, sizeof(*tok));

	snprintf(tok->id, sizeof(tok->id), "%s", row->id);
	snprintf(tok->name, sizeof(tok->name), "%s", row->name);
	snprintf(tok->created, sizeof(tok->created), "%s", row->created);
	tok->size = row->size;
	tok->writable = row->writable;
	tok->port = row->port;
	tok->revoked = row->revoked;
	memcpy(tok->public_key, row->public_key, sizeof(tok->public_key));
	/* A token whose image is damaged stays listed but unattachable. */
	if (ctl_token_load_device(ctl, tok) < 0)
		log_error("token %s (%s): image not served", tok->id,
		    tok->name);
	TAILQ_INSERT_TAIL(&ctl->tokens, tok, entry);
	ctl->ntokens++;
	return 0;
}

static int
ctl_load_assignment(void *arg, const struct store_assignment *row)
{
	struct ctl *ctl = arg;
	struct ctl_token *tok = ctl_token_find(ctl, row->token_id);
	struct ctl_vm *vm = ctl_vm_find(ctl, row->vm_id);

	if (tok == NULL || vm == NULL) {
		log_error("assignment %s -> %s: unknown token or VM",
		    row->token_id, row->vm_id);
		return 0;
	}
	ctl_link(tok, vm, row->created);
	return 0;
}

/*
 * Removes what a crash between writing an image and committing its row
 * leaves behind: *.img.tmp files, and images no token row names (they
 * hold private keys nobody can use or revoke).  Logged, never fatal.
 */
static void
ctl_sweep_images(struct ctl *ctl)
{
	DIR *dir = opendir(ctl->token_dir);
	struct dirent *de;
	char id[ENCODE_ID_LEN + 1], *path;
	size_t n;

	if (dir == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		n = strlen(de->d_name);
		if (n > 8 && strcmp(de->d_name + n - 8, ".img.tmp") == 0)
			;	/* always a leftover */
		else if (n == ENCODE_ID_LEN + 4 &&
		    strcmp(de->d_name + ENCODE_ID_LEN, ".img") == 0) {
			memcpy(id, de->d_name, ENCODE_ID_LEN);
			id[ENCODE_ID_LEN] = '\0';
			if (ctl_token_find(ctl, id) != NULL)
				continue;
		} else
			continue;
		path = xasprintf("%s/%s", ctl->token_dir, de->d_name);
		if (unlink(path) == 0)
			log_warnx("removed %s: left by an interrupted token "
			    "create", path);
		else
			log_warn("removing %s", path);
		free(path);
	}
	closedir(dir);
}

static int
ctl_load(struct ctl *ctl)
{
	struct store *st = ctl->store;

	if (st->ops->vm_foreach(st, ctl_load_vm, ctl) != 0 ||
	    st->ops->token_foreach(st, ctl_load_token, ctl) != 0 ||
	    st->ops->assignment_foreach(st, ctl_load_assignment, ctl) != 0) {
		log_error("loading state: %s", store_error(st));
		return -1;
	}
	ctl_sweep_images(ctl);
	/* Sessions of an earlier run of this host are gone. */
	if (st->ops->session_clear(st, ctl->host) < 0) {
		log_error("clearing sessions: %s", store_error(st));
		return -1;
	}
	return 0;
}

/*
 * The agent pins the API's certificate: SHA-256 of its DER, written into
 * every new token's TOKEN.JSON as ca_sha256.  "" without TLS.
 */
static int
ctl_cert_pin(struct ctl *ctl, const char *cert_file)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	X509 *x = NULL;
	FILE *f;
	int len, rc = -1;

	ctl->ca_sha256[0] = '\0';
	if (cert_file[0] == '\0')
		return 0;
	if ((f = fopen(cert_file, "r")) == NULL) {
		log_warn("api.tls.cert %s", cert_file);
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x != NULL && (len = i2d_X509(x, &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) &&
	    mdlen == 32) {
		encode_hex(md, 32, ctl->ca_sha256, false);
		rc = 0;
	} else
		log_error("api.tls.cert %s: not a PEM certificate", cert_file);
	OPENSSL_free(der);
	X509_free(x);
	return rc;
}

static int
ctl_mkdirs(struct ctl *ctl, const char *data_dir)
{
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
		log_warn("data_dir %s", data_dir);
		return -1;
	}
	if (mkdir(ctl->token_dir, 0700) < 0 && errno != EEXIST) {
		log_warn("%s", ctl->token_dir);
		return -1;
	}
	return 0;
}

struct ctl *
ctl_open(struct vtokend *vtd)
{
	const char *data_dir = vtd->cfg->data_dir;
	struct ctl *ctl = xcalloc(1, sizeof(*ctl));
	char *path, *cause = NULL;
	struct auth_limits lim;

	ctl->vtd = vtd;
	lim.nonce_ttl = vtd->cfg->agent.nonce_ttl;
	lim.per_token = vtd->cfg->agent.rate_per_token;
	lim.per_address = vtd->cfg->agent.rate_per_address;
	lim.max_nonces = vtd->cfg->agent.max_nonces;
	auth_init(&ctl->auth, &lim);
	ratelimit_init(&ctl->refusal_rate, CTL_REFUSAL_BUCKETS);
	TAILQ_INIT(&ctl->tokens);
	TAILQ_INIT(&ctl->vms);
	ctl->token_dir = xasprintf("%s/tokens", data_dir);
	if (gethostname(ctl->host, sizeof(ctl->host) - 1) < 0)
		snprintf(ctl->host, sizeof(ctl->host), "localhost");
	if (ctl_mkdirs(ctl, data_dir) < 0 ||
	    ctl_cert_pin(ctl, vtd->cfg->api.tls_cert) < 0) {
		ctl_close(ctl);
		return NULL;
	}
	path = xasprintf("%s/vtokend.db", data_dir);
	ctl->store = store_open("sqlite", path, &cause);
	free(path);
	if (ctl->store == NULL) {
		log_error("%s", cause);
		free(cause);
		ctl_close(ctl);
		return NULL;
	}
	if (ctl_load(ctl) < 0) {
		ctl_close(ctl);
		return NULL;
	}
	log_info("controller: %u token(s), %u VM(s) loaded from %s",
	    ctl->ntokens, ctl->nvms, data_dir);
	return ctl;
}

void
ctl_close(struct ctl *ctl)
{
	struct ctl_token *t;
	struct ctl_vm *v;

	if (ctl == NULL)
		return;
	while ((t = TAILQ_FIRST(&ctl->tokens)) != NULL) {
		TAILQ_REMOVE(&ctl->tokens, t, entry);
		if (t->dev != NULL)
			registry_remove(&ctl->vtd->reg, t->dev);
		free(t);
	}
	while ((v = TAILQ_FIRST(&ctl->vms)) != NULL) {
		TAILQ_REMOVE(&ctl->vms, v, entry);
		free(v->acl);
		free(v);
	}
	store_close(ctl->store);
	auth_clear(&ctl->auth);
	ratelimit_clear(&ctl->refusal_rate);
	free(ctl->token_dir);
	free(ctl);
}

int
ctl_tx_audit(struct ctl *ctl, int r, const char *actor, const char *action,
    const char *subject, json_t *detail)
{
	if (r == 0 && audit_append(ctl->store, actor, action, subject,
	    detail) < 0)
		r = STORE_ERR;
	json_decref(detail);
	return r;
}

int
ctl_tx_end(struct ctl *ctl, int r, const char *what, const char *id)
{
	if (r == 0)
		r = store_commit(ctl->store);
	if (r == 0)
		return 0;
	store_rollback(ctl->store);
	ctl->stats.store_errors++;
	log_error("%s %s: %s", what, id, store_error(ctl->store));
	return r;
}

/* Audits an event (consuming detail); -1 after logging a store failure. */
static int
ctl_audit_event(struct ctl *ctl, const char *actor, const char *action,
    const char *subject, json_t *detail)
{
	int r = audit_event(ctl->store, actor, action, subject, detail);

	if (r < 0) {
		ctl->stats.store_errors++;
		log_error("audit %s %s: %s", action, subject,
		    store_error(ctl->store));
	}
	json_decref(detail);
	return r < 0 ? -1 : 0;
}

static double
ctl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
ctl_audit_refusal(struct ctl *ctl, const char *peer_host, const char *actor,
    const char *action, const char *subject, json_t *detail)
{
	char key[96];
	unsigned missed = 0;

	ratelimit_addr_key(peer_host, key, sizeof(key));
	if (!ratelimit_take(&ctl->refusal_rate, ctl_now(), key,
	    CTL_REFUSALS_PER_MIN, &missed)) {
		ctl->stats.audit_suppressed++;
		json_decref(detail);
		return;
	}
	if (missed > 0 && detail != NULL)
		json_object_set_new(detail, "suppressed", json_integer(missed));
	(void)ctl_audit_event(ctl, actor, action, subject, detail);
}

int
ctl_on_attach(struct ctl *ctl, struct vt_device *dev,
    const struct usbip_conn *c)
{
	struct ctl_token *tok = dev->owner;
	struct store *st;
	struct store_session s;
	char actor[96], subject[64];
	int r;

	if (ctl == NULL)
		return 0;
	st = ctl->store;
	if (tok == NULL) {
		ctl->stats.attaches++;
		return 0;	/* --serve-image device: no controller state */
	}
	memset(&s, 0, sizeof(s));
	snprintf(s.token_id, sizeof(s.token_id), "%s", tok->id);
	s.peer = c->peer_str;
	s.host = ctl->host;
	encode_time(c->since, s.since);
	snprintf(actor, sizeof(actor), "usbip:%s", c->peer_str);
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	r = store_begin(st);
	if (r == 0)
		r = st->ops->session_insert(st, &s);
	r = ctl_tx_audit(ctl, r, actor, "attach", subject, NULL);
	if (ctl_tx_end(ctl, r, "recording the attach of", tok->id) != 0)
		return -1;
	ctl->stats.attaches++;
	return 0;
}

void
ctl_on_detach(struct ctl *ctl, struct vt_device *dev,
    const struct usbip_conn *c)
{
	struct ctl_token *tok = dev->owner;
	struct store *st;
	char actor[96], subject[64];
	json_t *detail;
	int r;

	if (ctl == NULL)
		return;
	st = ctl->store;
	ctl->stats.detaches++;
	ctl->stats.bytes_in += c->bytes_in;
	ctl->stats.bytes_out += c->bytes_out;
	if (tok == NULL)
		return;
	snprintf(actor, sizeof(actor), "usbip:%s", c->peer_str);
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = json_pack("{s:I, s:I, s:I, s:I}", "bytes_in",
	    (json_int_t)c->bytes_in, "bytes_out", (json_int_t)c->bytes_out,
	    "urbs", (json_int_t)c->urbs, "duration_s",
	    (json_int_t)(time(NULL) - c->since));
	r = store_begin(st);
	if (r == 0)
		r = st->ops->session_delete(st, tok->id);
	r = ctl_tx_audit(ctl, r, actor, "detach", subject, detail);
	(void)ctl_tx_end(ctl, r, "recording the detach of", tok->id);
}

void
ctl_on_denied(struct ctl *ctl, const char *busid, const char *peer,
    const char *peer_host, const char *reason)
{
	char actor[96], subject[64];

	if (ctl == NULL)
		return;
	ctl->stats.denials++;
	snprintf(actor, sizeof(actor), "usbip:%s", peer);
	snprintf(subject, sizeof(subject), "busid:%s", busid);
	ctl_audit_refusal(ctl, peer_host, actor, "attach.denied", subject,
	    json_pack("{s:s}", "reason", reason));
}

/* Whether tok is assigned, and sa is an address of its VM. */
static enum auth_result
ctl_agent_placement(struct ctl *ctl, const struct ctl_token *tok,
    const struct sockaddr *sa)
{
	if (tok->vm == NULL)
		return tok->revoked ? AUTH_REVOKED : AUTH_NOT_ASSIGNED;
	if (tok->dev == NULL ||
	    !registry_peer_allowed(&ctl->vtd->reg, tok->dev, sa))
		return AUTH_WRONG_ADDRESS;
	return AUTH_OK;
}

enum auth_result
ctl_agent_verify(struct ctl *ctl, struct ctl_token *tok, const char *peer,
    const struct sockaddr *sa, const uint8_t *nonce, size_t nonce_len,
    const uint8_t *sig, size_t sig_len)
{
	enum auth_result r;
	char actor[96], subject[64];
	json_t *detail;

	r = auth_verify(&ctl->auth, ctl_now(), tok->id, peer,
	    tok->public_key, nonce, nonce_len, sig, sig_len);
	if (r == AUTH_OK)
		r = ctl_agent_placement(ctl, tok, sa);
	if (r == AUTH_RATE_LIMITED)
		return r;	/* not audited: it would let a flood fill it */
	snprintf(actor, sizeof(actor), "agent:%s", peer);
	snprintf(subject, sizeof(subject), "token:%s", tok->id);
	detail = r == AUTH_OK ? json_pack("{s:s}", "vm", tok->vm->name) :
	    json_pack("{s:s}", "reason", auth_result_reason(r));
	/* A success that cannot be recorded is not granted. */
	if (ctl_audit_event(ctl, actor, r == AUTH_OK ? "auth.ok" :
	    "auth.fail", subject, detail) < 0 && r == AUTH_OK)
		r = AUTH_STORE_ERROR;
	if (r == AUTH_OK)
		ctl->stats.auth_ok++;
	else
		ctl->stats.auth_fail++;
	return r;
}

bool
ctl_agent_rate_address(struct ctl *ctl, const char *peer)
{
	return auth_rate_address(&ctl->auth, ctl_now(), peer);
}

enum auth_result
ctl_agent_challenge(struct ctl *ctl, struct ctl_token *tok, const char *peer,
    const struct sockaddr *sa, uint8_t nonce[AUTH_NONCE_LEN],
    time_t *expires)
{
	char actor[96], subject[64];
	double mono_expires;
	enum auth_result r;

	/*
	 * Only the token's VM gets nonces for it: nobody else can churn the
	 * token's nonces (retiring its agent's) or fill the table with them.
	 * The refusal is an auth.fail like the same answer at verify.
	 */
	if ((r = ctl_agent_placement(ctl, tok, sa)) != AUTH_OK) {
		if (!auth_rate_address(&ctl->auth, ctl_now(), peer))
			return AUTH_RATE_LIMITED;
		ctl->stats.auth_fail++;
		snprintf(actor, sizeof(actor), "agent:%s", peer);
		snprintf(subject, sizeof(subject), "token:%s", tok->id);
		ctl_audit_refusal(ctl, peer, actor, "auth.fail", subject,
		    json_pack("{s:s, s:s}", "reason", auth_result_reason(r),
		    "step", "challenge"));
		return r;
	}
	r = auth_challenge(&ctl->auth, ctl_now(), tok->id, peer, nonce,
	    &mono_expires);
	*expires = time(NULL) + (time_t)ctl->auth.lim.nonce_ttl;
	return r;
}
