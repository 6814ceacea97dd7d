/*
 * control: open and close, lookups and pages in the replica, the refusal
 * audit, and the reads the API asks for (audit, sessions, nodes).
 * Changes are in control_token.c, control_vm.c and control_assign.c; the
 * replica in control_index.c and control_apply.c; the export hooks in
 * control_session.c; agent authentication in control_agent.c; the
 * cluster in control_node.c.
 */
#include "server/control/control.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
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
	struct control_token *t = control_index_token_id(ctl->ix, key);

	return t != NULL ? t : control_index_token_name(ctl->ix, key);
}

struct control_token *
control_token_by_id(struct control *ctl, const char *id)
{
	return control_index_token_id(ctl->ix, id);
}

struct control_token *
control_token_by_num(struct control *ctl, uint32_t num)
{
	return control_index_token_num(ctl->ix, num);
}

struct control_vm *
control_vm_find(struct control *ctl, const char *key)
{
	struct control_vm *v = control_index_vm_id(ctl->ix, key);

	return v != NULL ? v : control_index_vm_name(ctl->ix, key);
}

bool
control_token_visible(const struct control_token *tok,
    const struct sockaddr *sa)
{
	const struct control_acl *acl;

	if (tok->vm == NULL)
		return false;
	acl = tok->vm->acl;
	for (size_t i = 0; i < acl->n; i++)
		if (netaddr_cidr_match(&acl->cidr[i], sa))
			return true;
	return false;
}

uint32_t
control_num_free(struct control *ctl)
{
	return control_index_num_lowest(ctl->ix, ctl->exp);
}

void
control_token_busid(const struct control_token *tok, char out[32])
{
	uint32_t bus, port;

	control_num_split(tok->num, &bus, &port);
	snprintf(out, 32, "%u-%u", bus, port);
}

size_t
control_tokens_page(struct control *ctl, uint32_t after,
    struct control_token **out, size_t max, bool *more)
{
	return control_index_tokens_page(ctl->ix, after, out, max, more);
}

size_t
control_vms_page(struct control *ctl, const char *after,
    struct control_vm **out, size_t max, bool *more)
{
	return control_index_vms_page(ctl->ix, after, out, max, more);
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

/*
 * Whether dir (which exists) is safe to keep state in: owned by this
 * user and writable by nobody else.  Whoever can write it can replace
 * the database or the key files.  0, or -1 after logging why (only a
 * warning, and 0, with allow_insecure).
 */
static int
control_dir_safe(const char *what, const char *dir, bool allow_insecure)
{
	struct stat st;
	const char *why = NULL;

	if (stat(dir, &st) < 0) {
		log_warn("%s %s", what, dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (st.st_uid != geteuid())
		why = "not owned by vtokend's user";
	else if ((st.st_mode & 022) != 0)
		why = "writable by group or others (chmod go-w)";
	if (why == NULL)
		return 0;
	if (!S_ISDIR(st.st_mode) || !allow_insecure) {
		log_error("%s %s: %s; refusing to keep state there "
		    "(--allow-insecure-data-dir to go on anyway)", what, dir,
		    why);
		return -1;
	}
	log_warnx("%s %s: %s (allowed by --allow-insecure-data-dir)", what,
	    dir, why);
	return 0;
}

/* Makes the data directory if need be, and checks it and tokens/. */
static int
control_mkdir(const char *dir, bool allow_insecure)
{
	char *tokens;
	struct stat st;
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warn("data_dir %s", dir);
		return -1;
	}
	if (control_dir_safe("data_dir", dir, allow_insecure) < 0)
		return -1;
	tokens = xasprintf("%s/tokens", dir);	/* images before schema 3 */
	r = lstat(tokens, &st) == 0 ? control_dir_safe("data_dir", tokens,
	    allow_insecure) : 0;
	free(tokens);
	return r;
}

/* SQLite makes its files by the umask: none of them is for others. */
static void
control_db_private(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char *f;
	struct stat st;

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		f = xasprintf("%s%s", path, suffix[i]);
		if (lstat(f, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 077) != 0) {
			if (chmod(f, 0600) < 0)
				log_warn("chmod 0600 %s", f);
			else
				log_info("%s: mode %03o made 0600", f,
				    (unsigned)(st.st_mode & 0777));
		}
		free(f);
	}
}

/* Opens the store named by p (creating or migrating it). */
static struct store *
control_store_open(const struct control_params *p)
{
	struct store *st;
	char *path = NULL, *cause = NULL;
	bool pg = strcmp(p->backend, "postgresql") == 0;

	if (!pg)
		path = xasprintf("%s/vtokend.db", p->data_dir);
	st = store_open(p->backend, pg ? p->dsn : path, p->password, &cause);
	if (st == NULL) {
		log_error("%s", cause);
		free(cause);
	} else if (!pg) {
		control_db_private(path);
	}
	free(path);
	return st;
}

/*
 * Gives the store the audit key and seals the chain with it if need be
 * (control_audit.h): 1 when sealed now, 0 when it was, -1 after logging.
 */
static int
control_audit_start(struct control *ctl, struct store *st,
    const struct control_params *p)
{
	char *path, why[320];
	uint8_t key[CONTROL_AUDIT_KEY_LEN];
	bool created;
	int r;

	path = p->audit_key_file != NULL && p->audit_key_file[0] != '\0' ?
	    xstrdup(p->audit_key_file) : xasprintf("%s/audit.key",
	    p->data_dir);
	r = control_audit_key_load(path, key, &created);
	if (r == 0) {
		store_set_audit_key(st, key);
		control_auth_set_key(&ctl->auth, key);
		r = control_audit_seal(st, p->node, why, sizeof(why));
		if (r == -2)
			log_error("audit: %s%s%s", why, created ? "; " : "",
			    created ? "the audit key file was created just now:"
			    " give this node the cluster's (audit.key_file)" : "");
		else if (r < 0)
			log_error("audit: sealing the chain: %s",
			    store_error(st));
		else if (r == 1)
			log_info("audit: the chain is sealed with the audit key "
			    "from %s", path);
	}
	OPENSSL_cleanse(key, sizeof(key));
	free(path);
	return r < 0 ? -1 : r;
}

/* The port of "HOST:PORT" or "[V6]:PORT"; 0 when there is none. */
static unsigned
control_addr_port(const char *addr)
{
	const char *colon = addr != NULL ? strrchr(addr, ':') : NULL;
	char *end;
	unsigned long v;

	if (colon == NULL)
		return 0;
	v = strtoul(colon + 1, &end, 10);
	return *end == '\0' && v <= 65535 ? (unsigned)v : 0;
}

/* Everything that reads the store before the store thread starts. */
static int
control_start(struct control *ctl, struct store *st,
    const struct control_params *p)
{
	char *cause = NULL;

	int sealed;

	json_t *docs = NULL;

	if ((sealed = control_audit_start(ctl, st, p)) < 0 ||
	    control_load(ctl, st) < 0)
		return -1;
	if (control_doc_load_run(st, &docs) < 0) {
		log_error("loading documents: %s", store_error(st));
		return -1;
	}
	control_doc_load_apply(ctl, docs);
	(void)control_load_legacy_images(ctl, st, p->data_dir);
	if (control_key_load(ctl, st, p->data_dir, sealed == 1) < 0 ||
	    control_node_start(ctl, st, p) < 0)
		return -1;
	ctl->worker = store_worker_new(ctl->base, st, &cause);
	if (ctl->worker == NULL) {
		log_error("store: %s", cause);
		free(cause);
		return -1;
	}
	store_worker_on_audit(ctl->worker, control_audit_ring, ctl);
	if (control_alive_start(ctl, p->heartbeat_s) < 0) {
		log_error("agents' successes: no timer");
		return -1;
	}
	return 0;
}

void
control_audit_ring(void *arg)
{
	struct control *ctl = arg;

	control_alarm_ring(ctl);
	if (ctl->audit_bell != NULL)
		ctl->audit_bell(ctl->audit_bell_arg);
}

void
control_audit_watch(struct control *ctl, void (*fn)(void *), void *arg)
{
	ctl->audit_bell = fn;
	ctl->audit_bell_arg = arg;
}

struct control *
control_open(struct event_base *base, const struct control_params *p,
    struct export *exp)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	struct store *st;

	ctl->base = base;
	ctl->exp = exp;
	ctl->ix = control_index_new();
	ctl->node_name = xstrdup(p->node);
	ctl->controller_url = xstrdup(p->controller_url);
	ctl->usbip_port = control_addr_port(p->usbip_addr);
	ctl->lease_s = p->lease_s;
	ctl->auth_record_every = p->auth_record_every;
	control_auth_init(&ctl->auth, &p->agent);
	ratelimit_init(&ctl->refusal_rate, CONTROL_REFUSAL_BUCKETS);
	/* The store thread encodes JSON too: seed jansson's hash first. */
	json_object_seed(0);
	if (control_mkdir(p->data_dir, p->allow_insecure_data_dir) < 0 ||
	    control_cert_pin(ctl, p->tls_cert) < 0 ||
	    (st = control_store_open(p)) == NULL) {
		control_close(ctl);
		return NULL;
	}
	if (control_start(ctl, st, p) < 0) {
		if (ctl->worker == NULL)
			store_close(st);
		control_close(ctl);
		return NULL;
	}
	export_set_hooks(exp, &control_export_hooks, ctl);
	log_info("controller: %u token(s), %u VM(s) loaded from the %s store "
	    "(node %s)", ctl->ntokens, ctl->nvms, p->backend, ctl->node_name);
	return ctl;
}

static void
control_free_token(void *arg, struct control_token *tok)
{
	(void)arg;
	control_token_free(tok);
}

void
control_close(struct control *ctl)
{
	struct control_vm *vms[256];
	bool more = true;

	if (ctl == NULL)
		return;
	if (ctl->exp != NULL && ctl->exp->hooks_arg == ctl)
		export_set_hooks(ctl->exp, NULL, NULL);
	control_node_stop(ctl);
	control_alarm_stop(ctl->alarm);		/* no new jobs */
	control_alive_stop(ctl);		/* its last batch is queued */
	store_worker_free(ctl->worker);	/* runs what is queued */
	control_alarm_free(ctl->alarm);	/* after its jobs' callbacks */
	ctl->alarm = NULL;
	control_release_forget(ctl);
	control_index_tokens_foreach(ctl->ix, control_free_token, NULL);
	while (more) {
		size_t n = control_index_vms_page(ctl->ix, NULL, vms, 256,
		    &more);

		for (size_t i = 0; i < n; i++) {
			control_index_vm_remove(ctl->ix, vms[i]);
			control_vm_free(vms[i]);
		}
		if (n == 0)
			break;
	}
	control_index_free(ctl->ix);
	control_auth_clear(&ctl->auth);
	ratelimit_clear(&ctl->refusal_rate);
	control_key_clear(&ctl->keys);
	control_doc_free(ctl);
	json_decref(ctl->agent_seen);
	free(ctl->node_name);
	free(ctl->controller_url);
	free(ctl);
}

size_t
control_pending(const struct control *ctl)
{
	return store_worker_pending(ctl->worker);
}

struct store_stats
control_store_stats(struct control *ctl)
{
	return store_worker_stats(ctl->worker);
}

const char *
control_health(struct control *ctl, const char **why)
{
	double busy = store_worker_busy(ctl->worker);

	if (busy > CONTROL_STORE_STUCK_S) {
		/* Up but not answering: nothing fails, everything waits. */
		snprintf(ctl->store_stuck, sizeof(ctl->store_stuck), "the "
		    "store has not answered for %.0f s", busy);
		*why = ctl->store_stuck;
		return "degraded";
	}
	if (!ctl->store_down)
		return "ok";
	*why = ctl->store_why;
	return "degraded";
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
	control_audit_post(ctl, actor, action, subject, detail);
}
