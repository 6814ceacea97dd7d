/*
 * api: listener, TLS, routing, authentication.
 */
#include "server/api/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "server/control/control_audit.h"
#include "server/control/control.h"
#include "server/api/api_events.h"
#include "server/api/api_tls.h"
#include "server/export/export.h"
#include "vtoken/vtapi.h"

#define API_MAX_SEGMENTS	5
#define API_MAX_PATH		512

/*
 * The routes and the permission each needs (control_key.h has which role
 * has which; 0: no API key at all).  docs/API.md's route table and the
 * role matrix test (tests/integration/test_roles.c) follow this one.
 */
struct api_route {
	enum evhttp_cmd_type method;
	const char *pattern;	/* '*' matches one path segment */
	unsigned perm;		/* enum control_perm, or 0 */
	void (*fn)(struct api_req *);
};

static const struct api_route api_routes[] = {
	{ EVHTTP_REQ_GET, VTAPI_HEALTHZ, 0, api_healthz },
	{ EVHTTP_REQ_GET, VTAPI_OPENAPI, 0, api_openapi },
	{ EVHTTP_REQ_GET, VTAPI_METRICS, PERM_METRICS, api_metrics },
	{ EVHTTP_REQ_GET, VTAPI_TOKENS, PERM_READ, api_tokens_list },
	{ EVHTTP_REQ_POST, VTAPI_TOKENS, PERM_TOKENS, api_tokens_create },
	{ EVHTTP_REQ_GET, VTAPI_TOKENS "/*", PERM_READ, api_tokens_show },
	{ EVHTTP_REQ_DELETE, VTAPI_TOKENS "/*", PERM_TOKENS,
	  api_tokens_delete },
	{ EVHTTP_REQ_GET, VTAPI_TOKENS "/*" VTAPI_TOKEN_IMAGE, PERM_IMAGE,
	  api_tokens_image },
	{ EVHTTP_REQ_GET, VTAPI_VMS, PERM_READ, api_vms_list },
	{ EVHTTP_REQ_POST, VTAPI_VMS, PERM_VMS, api_vms_create },
	{ EVHTTP_REQ_GET, VTAPI_VMS "/*", PERM_READ, api_vms_show },
	{ EVHTTP_REQ_PATCH, VTAPI_VMS "/*", PERM_VMS, api_vms_update },
	{ EVHTTP_REQ_DELETE, VTAPI_VMS "/*", PERM_VMS, api_vms_delete },
	{ EVHTTP_REQ_GET, VTAPI_ASSIGNMENTS, PERM_READ, api_assign_list },
	{ EVHTTP_REQ_POST, VTAPI_ASSIGNMENTS, PERM_ASSIGN, api_assign_create },
	{ EVHTTP_REQ_DELETE, VTAPI_ASSIGNMENTS "/*", PERM_ASSIGN,
	  api_assign_delete },
	{ EVHTTP_REQ_GET, VTAPI_SESSIONS, PERM_READ, api_sessions_list },
	{ EVHTTP_REQ_GET, VTAPI_NODES, PERM_READ, api_nodes_list },
	{ EVHTTP_REQ_GET, VTAPI_AUDIT, PERM_AUDIT, api_audit_list },
	{ EVHTTP_REQ_GET, VTAPI_AUDIT_VERIFY, PERM_AUDIT, api_audit_verify },
	{ EVHTTP_REQ_GET, VTAPI_EVENTS, PERM_AUDIT, api_events_open },
	{ EVHTTP_REQ_GET, VTAPI_ALARMS, PERM_ALARMS, api_alarms_list },
	{ EVHTTP_REQ_POST, VTAPI_ALARMS "/*" VTAPI_ALARM_ACK, PERM_ALARM_ACK,
	  api_alarms_ack },
	{ EVHTTP_REQ_GET, VTAPI_KEYS, PERM_KEYS, api_keys_list },
	{ EVHTTP_REQ_POST, VTAPI_KEYS, PERM_KEYS, api_keys_create },
	{ EVHTTP_REQ_DELETE, VTAPI_KEYS "/*", PERM_KEYS, api_keys_delete },
	{ EVHTTP_REQ_GET, VTAPI_WHOAMI, PERM_SELF, api_whoami },
	/* Agents managed from the centre (docs/AGENT.md). */
	{ EVHTTP_REQ_GET, VTAPI_POLICY, PERM_READ, api_policy_default_get },
	{ EVHTTP_REQ_PUT, VTAPI_POLICY, PERM_POLICY, api_policy_default_put },
	{ EVHTTP_REQ_GET, VTAPI_VMS "/*" VTAPI_VM_POLICY, PERM_READ,
	  api_policy_vm_get },
	{ EVHTTP_REQ_PUT, VTAPI_VMS "/*" VTAPI_VM_POLICY, PERM_POLICY,
	  api_policy_vm_put },
	{ EVHTTP_REQ_DELETE, VTAPI_VMS "/*" VTAPI_VM_POLICY, PERM_POLICY,
	  api_policy_vm_delete },
	{ EVHTTP_REQ_GET, VTAPI_AGENTS, PERM_READ, api_agents_list },
	{ EVHTTP_REQ_GET, VTAPI_AGENT_RELEASES, PERM_READ, api_releases_list },
	{ EVHTTP_REQ_POST, VTAPI_AGENT_RELEASES, PERM_RELEASES,
	  api_releases_add },
	{ EVHTTP_REQ_DELETE, VTAPI_AGENT_RELEASES "/*", PERM_RELEASES,
	  api_releases_delete },
	{ EVHTTP_REQ_GET, VTAPI_AGENT_ROLLOUT, PERM_READ, api_rollout_get },
	{ EVHTTP_REQ_PUT, VTAPI_AGENT_ROLLOUT, PERM_RELEASES, api_rollout_put },
	{ EVHTTP_REQ_DELETE, VTAPI_AGENT_ROLLOUT, PERM_RELEASES,
	  api_rollout_delete },
	/* No key: served to the addresses of registered VMs only. */
	{ EVHTTP_REQ_GET, VTAPI_AGENT_RELEASES "/*" VTAPI_AGENT_ARTIFACT, 0,
	  api_releases_artifact },
	{ EVHTTP_REQ_GET, VTAPI_AGENT_BOOTSTRAP, 0, api_agent_bootstrap },
	/* Signature-authenticated, not by API key. */
	{ EVHTTP_REQ_POST, VTAPI_AGENT_CHALLENGE, 0, api_agent_challenge },
	{ EVHTTP_REQ_POST, VTAPI_AGENT_VERIFY, 0, api_agent_verify },
};

/*
 * Percent-decodes one segment in place (never longer decoded); -1 when it
 * holds an encoded NUL.  An encoded '/' stays inside its segment: the
 * path is split before it is decoded, so "a%2Fimage" is one id, never
 * the route ".../a/image".
 */
static int
api_segment_decode(char *seg)
{
	size_t len;
	char *d = evhttp_uridecode(seg, 0, &len);
	int rv = -1;

	if (d != NULL && len == strlen(d)) {
		memcpy(seg, d, len + 1);
		rv = 0;
	}
	free(d);
	return rv;
}

/*
 * Splits a raw (still encoded) path into decoded segments.  Returns the
 * count, or -1 when the path is malformed (".." or an encoded NUL, too
 * long/deep).
 */
static int
api_split(const char *path, char buf[API_MAX_PATH],
    const char *seg[API_MAX_SEGMENTS])
{
	char *p, *save = NULL;
	int n = 0;

	if (path == NULL || path[0] != '/' || strlen(path) >= API_MAX_PATH)
		return -1;
	snprintf(buf, API_MAX_PATH, "%s", path + 1);
	for (p = strtok_r(buf, "/", &save); p != NULL;
	    p = strtok_r(NULL, "/", &save)) {
		if (n == API_MAX_SEGMENTS || api_segment_decode(p) < 0 ||
		    strcmp(p, "..") == 0)
			return -1;
		seg[n++] = p;
	}
	return n;
}

/* Matches pattern against the segments; sets *arg for '*'. */
static bool
api_match(const char *pattern, const char *const *seg, int n,
    const char **arg)
{
	char pbuf[API_MAX_PATH];
	const char *pseg[API_MAX_SEGMENTS];
	int pn = api_split(pattern, pbuf, pseg);

	if (pn != n)
		return false;
	for (int i = 0; i < n; i++) {
		if (strcmp(pseg[i], "*") == 0)
			*arg = seg[i];
		else if (strcmp(pseg[i], seg[i]) != 0)
			return false;
	}
	return true;
}

bool
api_route_perm(const char *method, const char *path, unsigned *perm)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type m;
	} methods[] = {
		{ "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST },
		{ "PUT", EVHTTP_REQ_PUT }, { "PATCH", EVHTTP_REQ_PATCH },
		{ "DELETE", EVHTTP_REQ_DELETE },
	};
	char buf[API_MAX_PATH];
	const char *seg[API_MAX_SEGMENTS], *arg = NULL;
	int n = api_split(path, buf, seg);

	for (size_t j = 0; n >= 0 && j < sizeof(methods) / sizeof(methods[0]);
	    j++) {
		if (strcmp(method, methods[j].name) != 0)
			continue;
		for (size_t i = 0; i < sizeof(api_routes) /
		    sizeof(api_routes[0]); i++)
			if (api_routes[i].method == methods[j].m &&
			    api_match(api_routes[i].pattern, seg, n, &arg)) {
				*perm = api_routes[i].perm;
				return true;
			}
	}
	return false;
}

bool
api_route_big_body(const char *method, const char *path)
{
	return strcmp(method, "POST") == 0 && strcmp(path,
	    VTAPI_AGENT_RELEASES) == 0;
}

/* A key that does not grant the route: 403, logged and audited. */
static bool
api_forbid(struct api_req *r, const struct control_key_entry *k)
{
	const char *path = evhttp_uri_get_path(
	    evhttp_request_get_evhttp_uri(r->req));
	char shown[128];
	json_t *detail;

	text_printable(path, shown, sizeof(shown));
	r->api->stats.forbidden++;
	log_warnx("api %s: %s: key %s (role %s) may not %s it", r->peer,
	    shown, k->name, k->role, api_method_name(r->req));
	detail = json_pack("{s:s, s:s, s:s}", "role", k->role, "method",
	    api_method_name(r->req), "path", shown);
	control_audit_refusal(r->ctl, r->peer_host, r->actor, "api.forbidden",
	    r->peer, detail);
	api_reply_error(r, 403, "forbidden", "role %s may not %s %s", k->role,
	    api_method_name(r->req), shown);
	return false;
}

/*
 * Checks the bearer key and that its role has perm; on failure answers
 * 401 (no, wrong or expired key) or 403 and audits it.  The actor of
 * every record the request causes names the key: "api:NAME/ID".
 */
static bool
api_authenticate(struct api_req *r, unsigned perm)
{
	const char *h = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Authorization");
	const struct control_key_entry *k = NULL;
	const char *reason = "missing Authorization: Bearer header";
	const char *path;
	char shown[128];
	json_t *detail;

	if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
		k = control_key_check(r->ctl, h + 7, strlen(h + 7));
		reason = "wrong API key";
	}
	if (k != NULL && control_key_expired(k, time(NULL))) {
		reason = "expired API key";
		k = NULL;
	}
	if (k != NULL) {
		snprintf(r->actor, sizeof(r->actor), "api:%s/%s", k->name,
		    k->id);
		r->perms = k->perms;
		r->key = k;
		return (k->perms & perm) == perm ? true : api_forbid(r, k);
	}
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(r->req));
	r->api->stats.auth_failed++;
	log_warnx("api %s: %s: %s", r->peer, text_printable(path, shown,
	    sizeof(shown)), reason);
	detail = json_pack("{s:s, s:s}", "reason", reason, "path", shown);
	control_audit_refusal(r->ctl, r->peer_host, "api", "api.auth_failed",
	    r->peer, detail);
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "WWW-Authenticate", "Bearer");
	api_reply_error(r, 401, "unauthorized", "%s", reason);
	return false;
}

static void
api_dispatch(struct api_req *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
	enum evhttp_cmd_type m = evhttp_request_get_command(r->req);
	const char *path = evhttp_uri_get_path(uri);
	char buf[API_MAX_PATH];
	const char *seg[API_MAX_SEGMENTS], *arg = NULL;
	bool path_known = false;
	int n;

	if (api_ui_route(r, path))
		return;
	n = api_split(path, buf, seg);
	for (size_t i = 0; n >= 0 && i < sizeof(api_routes) /
	    sizeof(api_routes[0]); i++) {
		const struct api_route *rt = &api_routes[i];

		if (!api_match(rt->pattern, seg, n, &arg))
			continue;
		path_known = true;
		if (rt->method != m)
			continue;
		r->arg = arg;
		if (rt->perm == 0 || api_authenticate(r, rt->perm))
			rt->fn(r);
		return;
	}
	if (path_known)
		api_reply_error(r, 405, "method_not_allowed",
		    "method not allowed on this path");
	else
		api_reply_error(r, 404, "not_found", "no such path");
}

/* The peer as a sockaddr (for ACL checks); AF_UNSPEC if unparsable. */
static void
api_peer_sockaddr(const char *host, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
}

static void
api_gencb(struct evhttp_request *req, void *arg)
{
	struct api_server *api = arg;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct api_req *r = xcalloc(1, sizeof(*r));
	char *host = NULL;
	ev_uint16_t port = 0;

	r->api = api;
	r->ctl = api->ctl;
	r->req = req;
	if (conn != NULL)
		evhttp_connection_get_peer(conn, &host, &port);
	snprintf(r->peer, sizeof(r->peer), "%s:%u", host ? host : "?", port);
	snprintf(r->peer_host, sizeof(r->peer_host), "%s", host ? host : "?");
	api_peer_sockaddr(r->peer_host, &r->peer_sa);
	api_guard_dispatched(api, req);
	api_dispatch(r);
	if (r->deferred)
		return;		/* the answer frees it */
	if (!r->answered) {	/* a handler bug must not hang the client */
		log_error("api %s: handler gave no answer", r->peer);
		api_reply_error(r, 500, "internal", "no answer");
	}
	free(r);
}

static int
api_tls_setup(struct api_server *api, const struct api_params *p)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/*
	 * A kept-alive connection is idle nearly all the time (an agent asks
	 * twice per interval): without this each holds OpenSSL's read and
	 * write buffers (about 34 KiB) between requests.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, p->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, p->tls_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		log_error("api: TLS certificate %s / key %s: %s",
		    p->tls_cert, p->tls_key,
		    ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return -1;
	}
	api->ssl_ctx = ctx;
	return api_tls_tickets(ctx);
}

static void
api_resumecb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}

/*
 * accept() failed.  evhttp sets no error callback, and libevent's default
 * only logs: out of descriptors, the listening socket stays readable and
 * the loop would spin, logging each turn.  Pause for a second instead, as
 * the USB/IP listener does.  The callback's argument is evhttp's, not
 * ours, hence the one-shot timer on the listener itself (freed with the
 * base if still pending at shutdown, when the loop no longer runs).
 */
static void
api_accept_errorcb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 1, 0 };

	(void)arg;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		log_warnx("api: accept: %s; pausing new connections for 1 s",
		    strerror(err));
		evconnlistener_disable(l);
		if (event_base_once(evconnlistener_get_base(l), -1,
		    EV_TIMEOUT, api_resumecb, l, &tv) < 0)
			evconnlistener_enable(l);
		return;
	}
	log_warnx("api: accept: %s", strerror(err));
}

static int
api_bind(struct api_server *api, const struct api_params *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd;

	fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	evutil_make_listen_socket_reuseable(fd);
	if (bind(fd, (const struct sockaddr *)&p->addr,
	    p->addrlen) < 0 || listen(fd, 128) < 0) {
		evutil_closesocket(fd);
		return -1;
	}
	api->sock = evhttp_accept_socket_with_handle(api->http, fd);
	if (api->sock == NULL) {
		evutil_closesocket(fd);
		return -1;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(
	    api->sock), api_accept_errorcb);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	netaddr_format((struct sockaddr *)&ss, api->bound, sizeof(api->bound));
	return 0;
}

struct api_server *
api_server_new(struct event_base *base, const struct api_params *p,
    struct control *ctl, struct export *exp)
{
	bool tls = p->tls_cert[0] != '\0' || p->tls_key[0] != '\0';
	struct api_server *api;

	if (!tls && !p->insecure &&
	    !netaddr_is_loopback((const struct sockaddr *)&p->addr)) {
		log_error("api: refusing to serve %s without TLS (set api.tls "
		    "or api.insecure: true)", p->listen);
		return NULL;
	}
	api = xcalloc(1, sizeof(*api));
	api->ui_fd = -1;
	api->base = base;
	api->ctl = ctl;
	api->exp = exp;
	api->params = *p;
	api->http = evhttp_new(base);
	if (api->http == NULL || (tls && api_tls_setup(api, p) < 0))
		goto fail;
	if (api_guard_init(api) < 0 ||
	    (api->events = api_events_new(api)) == NULL)
		goto fail;
	evhttp_set_bevcb(api->http, api_guard_bevcb, api);
	evhttp_set_gencb(api->http, api_gencb, api);
	/* api_gate holds each route to its own cap before evhttp reads. */
	evhttp_set_max_body_size(api->http, p->max_body > API_RELEASE_BODY_MAX ?
	    p->max_body : API_RELEASE_BODY_MAX);
	evhttp_set_max_headers_size(api->http, 16384);
	evhttp_set_timeout(api->http, (int)p->timeout);
	/* Other methods reach the router too, for a JSON 405. */
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	if (api_bind(api, p) < 0) {
		log_warn("api: cannot listen on %s", p->listen);
		goto fail;
	}
	log_info("api: listening on %s (%s)", api->bound, tls ? "https" :
	    "http");
	api_ui_open(api, p->ui_dir);	/* only warns: the API works without */
	return api;
fail:
	api_server_free(api);
	return NULL;
}

void
api_server_free(struct api_server *api)
{
	if (api == NULL)
		return;
	if (api->http != NULL)
		evhttp_free(api->http);	/* ends the event streams */
	api_events_free(api->events);
	api_guard_clear(api);
	api_ui_close(api);
	if (api->ssl_ctx != NULL)
		SSL_CTX_free(api->ssl_ctx);
	free(api);
}
