/*
 * control: open/load/close, lookups, the transaction steps every change
 * shares, and the refusal audit.  Changes are in control_token.c,
 * control_vm.c and control_assign.c; the export hooks (who may list and
 * import what) in control_session.c; agent authentication in
 * control_agent.c.
 */
#include "server/control/control.h"

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
#include "common/monotime.h"
#include "common/xmalloc.h"
#include "server/control/control_audit.h"
#include "server/control/control_impl.h"
#include "server/export/export.h"

bool
control_name_valid(const char *name)
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

struct control_token *
control_token_find(struct control *ctl, const char *key)
{
	struct control_token *t;

	TAILQ_FOREACH(t, &ctl->tokens, entry)
		if (strcmp(t->id, key) == 0)
			return t;
	TAILQ_FOREACH(t, &ctl->tokens, entry)
		if (strcmp(t->name, key) == 0)
			return t;
	return NULL;
}

struct control_token *
control_token_by_busid(struct control *ctl, const char *busid)
{
	struct control_token *t;
	uint32_t busnum, devnum;

	if (export_busid_parse(busid, &busnum, &devnum) < 0 || busnum != 1)
		return NULL;
	TAILQ_FOREACH(t, &ctl->tokens, entry)
		if (t->port == devnum)
			return t;
	return NULL;
}

bool
control_port_used(const struct control *ctl, unsigned port)
{
	const struct control_token *t;

	TAILQ_FOREACH(t, &ctl->tokens, entry)
		if (t->port == port)
			return true;
	return false;
}

unsigned
control_port_free(struct control *ctl)
{
	for (unsigned port = 1; port <= 65535; port++)
		if (!control_port_used(ctl, port) &&
		    export_open_find(ctl->exp, 1, port) == NULL)
			return port;
	return 0;
}

bool
control_token_visible(const struct control_token *tok,
    const struct sockaddr *sa)
{
	const struct control_acl *acl;

	if (tok->vm == NULL || tok->dev == NULL)
		return false;
	acl = tok->vm->acl;
	for (size_t i = 0; i < acl->n; i++)
		if (netaddr_cidr_match(&acl->cidr[i], sa))
			return true;
	return false;
}

struct control_vm *
control_vm_find(struct control *ctl, const char *key)
{
	struct control_vm *v;

	TAILQ_FOREACH(v, &ctl->vms, entry)
		if (strcmp(v->id, key) == 0)
			return v;
	TAILQ_FOREACH(v, &ctl->vms, entry)
		if (strcmp(v->name, key) == 0)
			return v;
	return NULL;
}

static int
control_load_vm(void *arg, const struct store_vm *row)
{
	struct control *ctl = arg;
	struct control_vm *vm;
	struct vt_error err;

	vm = control_vm_from_row(row, &err);
	if (vm == NULL) {
		log_error("vm %s: %s", row->id, err.msg);
		return -1;
	}
	TAILQ_INSERT_TAIL(&ctl->vms, vm, entry);
	ctl->nvms++;
	return 0;
}

static int
control_load_token(void *arg, const struct store_token *row)
{
	struct control *ctl = arg;
	struct control_token *tok = xcalloc(1, sizeof(*tok));

	snprintf(tok->id, sizeof(tok->id), "%s", row->id);
	snprintf(tok->name, sizeof(tok->name), "%s", row->name);
	snprintf(tok->created, sizeof(tok->created), "%s", row->created);
	tok->size = row->size;
	tok->writable = row->writable;
	tok->port = row->port;
	tok->revoked = row->revoked;
	memcpy(tok->public_key, row->public_key, sizeof(tok->public_key));
	/* A token whose image is damaged stays listed but unattachable. */
	if (control_token_load_device(ctl, tok) < 0)
		log_error("token %s (%s): image not served", tok->id,
		    tok->name);
	TAILQ_INSERT_TAIL(&ctl->tokens, tok, entry);
	ctl->ntokens++;
	return 0;
}

static int
control_load_assignment(void *arg, const struct store_assignment *row)
{
	struct control *ctl = arg;
	struct control_token *tok = control_token_find(ctl, row->token_id);
	struct control_vm *vm = control_vm_find(ctl, row->vm_id);

	if (tok == NULL || vm == NULL) {
		log_error("assignment %s -> %s: unknown token or VM",
		    row->token_id, row->vm_id);
		return 0;
	}
	control_link(tok, vm, row->created);
	return 0;
}

/*
 * Removes what a crash between writing an image and committing its row
 * leaves behind: *.img.tmp files, and images no token row names (they
 * hold private keys nobody can use or revoke).  Logged, never fatal.
 */
static void
control_sweep_images(struct control *ctl)
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
			if (control_token_find(ctl, id) != NULL)
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
control_load(struct control *ctl)
{
	struct store *st = ctl->store;

	if (store_vm_foreach(st, control_load_vm, ctl) != 0 ||
	    store_token_foreach(st, control_load_token, ctl) != 0 ||
	    store_assignment_foreach(st, control_load_assignment, ctl) != 0) {
		log_error("loading state: %s", store_error(st));
		return -1;
	}
	control_sweep_images(ctl);
	/* Sessions of an earlier run of this host are gone. */
	if (store_begin(st) < 0 || store_session_clear(st, ctl->host) < 0 ||
	    store_commit(st) < 0) {
		log_error("clearing sessions: %s", store_error(st));
		store_rollback(st);
		return -1;
	}
	return 0;
}

/*
 * The agent pins the API's certificate: SHA-256 of its DER, written into
 * every new token's TOKEN.JSON as ca_sha256.  "" without TLS.
 */
static int
control_cert_pin(struct control *ctl, const char *cert_file)
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
control_mkdirs(struct control *ctl, const char *data_dir)
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

struct control *
control_open(const struct control_params *p, struct export *exp)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	char *path, *cause = NULL;

	ctl->exp = exp;
	control_auth_init(&ctl->auth, &p->agent);
	ratelimit_init(&ctl->refusal_rate, CONTROL_REFUSAL_BUCKETS);
	TAILQ_INIT(&ctl->tokens);
	TAILQ_INIT(&ctl->vms);
	ctl->token_dir = xasprintf("%s/tokens", p->data_dir);
	ctl->controller_url = xstrdup(p->controller_url);
	if (gethostname(ctl->host, sizeof(ctl->host) - 1) < 0)
		snprintf(ctl->host, sizeof(ctl->host), "localhost");
	if (control_mkdirs(ctl, p->data_dir) < 0 ||
	    control_cert_pin(ctl, p->tls_cert) < 0) {
		control_close(ctl);
		return NULL;
	}
	path = xasprintf("%s/vtokend.db", p->data_dir);
	ctl->store = store_open("sqlite", path, &cause);
	free(path);
	if (ctl->store == NULL) {
		log_error("%s", cause);
		free(cause);
		control_close(ctl);
		return NULL;
	}
	if (control_load(ctl) < 0 || control_key_load(ctl, p->data_dir) < 0) {
		control_close(ctl);
		return NULL;
	}
	export_set_hooks(exp, &control_export_hooks, ctl);
	log_info("controller: %u token(s), %u VM(s) loaded from %s",
	    ctl->ntokens, ctl->nvms, p->data_dir);
	return ctl;
}

void
control_close(struct control *ctl)
{
	struct control_token *t;
	struct control_vm *v;

	if (ctl == NULL)
		return;
	if (ctl->exp != NULL && ctl->exp->hooks_arg == ctl)
		export_set_hooks(ctl->exp, NULL, NULL);
	while ((t = TAILQ_FIRST(&ctl->tokens)) != NULL) {
		TAILQ_REMOVE(&ctl->tokens, t, entry);
		control_token_free(t);
	}
	while ((v = TAILQ_FIRST(&ctl->vms)) != NULL) {
		TAILQ_REMOVE(&ctl->vms, v, entry);
		free(v->acl);
		free(v);
	}
	store_close(ctl->store);
	control_auth_clear(&ctl->auth);
	ratelimit_clear(&ctl->refusal_rate);
	control_key_clear(&ctl->keys);
	free(ctl->token_dir);
	free(ctl->controller_url);
	free(ctl);
}

int
control_tx_audit(struct control *ctl, int r, const char *actor,
    const char *action, const char *subject, json_t *detail)
{
	if (r == 0 && control_audit_append(ctl->store, actor, action, subject,
	    detail) < 0)
		r = STORE_ERR;
	json_decref(detail);
	return r;
}

int
control_tx_end(struct control *ctl, int r, const char *what, const char *id)
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

int
control_audit_event(struct control *ctl, const char *actor,
    const char *action, const char *subject, json_t *detail)
{
	int r = control_audit_record(ctl->store, actor, action, subject,
	    detail) < 0 ? -1 : 0;

	if (r < 0) {
		ctl->stats.store_errors++;
		log_error("audit %s %s: %s", action, subject,
		    store_error(ctl->store));
	}
	json_decref(detail);
	return r < 0 ? -1 : 0;
}

void
control_audit_refusal(struct control *ctl, const char *peer_host,
    const char *actor, const char *action, const char *subject,
    json_t *detail)
{
	char key[96];
	unsigned missed = 0;

	ratelimit_addr_key(peer_host, key, sizeof(key));
	if (!ratelimit_take(&ctl->refusal_rate, monotime_sec(), key,
	    CONTROL_REFUSALS_PER_MIN, &missed)) {
		ctl->stats.audit_suppressed++;
		json_decref(detail);
		return;
	}
	if (missed > 0 && detail != NULL)
		json_object_set_new(detail, "suppressed", json_integer(missed));
	(void)control_audit_event(ctl, actor, action, subject, detail);
}


int
control_audit_list(struct control *ctl, int64_t after, unsigned limit,
    store_audit_cb *cb, void *arg, int64_t *last)
{
	struct store *st = ctl->store;
	char hash[STORE_HASH_HEX + 1];

	if (store_audit_foreach(st, after, limit, cb, arg) != 0 ||
	    store_audit_last(st, last, hash) < 0) {
		log_error("audit list: %s", store_error(st));
		return -1;
	}
	return 0;
}

int
control_audit_check(struct control *ctl, struct control_audit_result *res)
{
	if (control_audit_verify(ctl->store, res) < 0) {
		log_error("audit verify: %s", store_error(ctl->store));
		return -1;
	}
	if (res->bad_seq != 0)
		log_warnx("audit verify: chain broken at record %lld: %s",
		    (long long)res->bad_seq, res->reason);
	return 0;
}
