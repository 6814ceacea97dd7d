/*
 * api: the REST API (docs/API.md) on libevent's evhttp, with TLS through
 * OpenSSL when api.tls is configured.  Routing is our own table because
 * evhttp matches only exact paths; every handler answers through the
 * api_reply_* helpers exactly once.
 */
#ifndef VTOKEN_API_H
#define VTOKEN_API_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "server/api/api_guard.h"
#include "common/logrl.h"
#include "common/vterr.h"

struct control;
struct export;
struct event_base;
struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct evkeyvalq;
struct evbuffer;
struct api_events;
struct control_key_entry;
struct strmap;

struct api_stats {
	unsigned long long by_class[6];	/* requests by status / 100 */
	unsigned long long auth_failed;
	unsigned long long forbidden;
	unsigned long long conns_refused;	/* over a connection cap */
	unsigned long long early_refused;	/* answered before the body */
};

/* What the API needs from the configuration (copied; not reloadable). */
struct api_params {
	struct sockaddr_storage addr;	/* where to listen */
	socklen_t addrlen;
	char listen[128];		/* the same as text, for messages */
	char tls_cert[4096];		/* PEM files; both "" for plain HTTP */
	char tls_key[4096];
	bool insecure;			/* non-loopback without TLS allowed */
	unsigned max_body;		/* bytes */
	unsigned timeout;		/* seconds per request */
	unsigned max_conns;		/* connections in all */
	unsigned max_per_address;	/* per source address */
	unsigned vm_reserve;		/* slots only VM addresses may use */
	unsigned max_body_anon;		/* bytes, routes that need no key */
	char ui_dir[4096];		/* the web console's files; "" none */
};

struct api_server {
	struct event_base *base;
	struct control *ctl;		/* borrowed */
	struct export *exp;		/* borrowed: the session view */
	struct api_params params;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	void *ssl_ctx;			/* SSL_CTX *, or NULL for HTTP */
	struct api_guard_list guards;	/* one per open connection */
	struct strmap *guard_of;	/* "%p" of its bufferevent -> guard:
					   found per request in O(1) */
	struct event *ev_sweep;		/* reclaims guards of closed ones */
	struct api_stats stats;
	char bound[64];			/* actual listen address */
	struct api_events *events;	/* GET /v1/events streams */
	/* Connection caps (api_guard.c). */
	struct strmap *conn_peers;	/* numeric address -> unsigned */
	unsigned nconns, nother;	/* admitted; from non-VM addresses */
	struct logrl rl_conns, rl_gate_auth, rl_gate_size, rl_gate_bad;
	int ui_fd;			/* ui_dir opened, or -1 */
};

/* One request being handled (lives for the handler call only). */
struct api_req {
	struct api_server *api;
	struct control *ctl;		/* api->ctl */
	struct evhttp_request *req;
	const char *arg;		/* the path segment matched by '*' */
	char peer[64];			/* "addr:port" of the client */
	char peer_host[48];		/* numeric address only */
	struct sockaddr_storage peer_sa;
	char actor[96];			/* "api:<key name>" */
	bool answered;
	bool deferred;			/* answered after the handler returned */
	unsigned page_limit;		/* a deferred list's ?limit */
	unsigned perms;			/* the key's (enum control_perm) */
	/* The key that authenticated the request; NULL without one. */
	const struct control_key_entry *key;	/* valid in the handler */
};

/*
 * Binds p->addr (refusing non-loopback without TLS unless p->insecure);
 * NULL after logging.
 */
struct api_server *api_server_new(struct event_base *base,
    const struct api_params *p, struct control *ctl, struct export *exp);
void api_server_free(struct api_server *api);

/*
 * Keeps r beyond its handler: the handler started work that answers
 * later (through the api_reply_* calls, which then free r).  A handler
 * that defers must answer exactly once, whatever happens.
 */
void api_defer(struct api_req *r);
/*
 * Sends b (a body already built, content_type) as the answer; counts it;
 * frees a deferred r.
 */
void api_reply_buffer(struct api_req *r, int status, const char *content_type,
    struct evbuffer *b);

/* Lists answer at most this many per page (?limit=, default too). */
#define API_PAGE_MAX	1000

/* A control_done_fn for a deferred r: 204, or the error. */
void api_reply_done(void *arg, const struct vt_error *err, const char *id);

/* Replies (each exactly once per request). */
void api_reply_json(struct api_req *r, int status, json_t *body);
void api_reply_error(struct api_req *r, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void api_reply_vterr(struct api_req *r, const struct vt_error *err);
/* The HTTP status and error code of err (as api_reply_vterr answers). */
int api_vterr_status(const struct vt_error *err, const char **code);
void api_reply_empty(struct api_req *r, int status);
/* "GET", "POST", ... of req, for messages. */
const char *api_method_name(struct evhttp_request *req);

/*
 * The query string's parameters into q (the caller frees them with
 * evhttp_clear_headers); -1 after answering 400.
 */
int api_query_parse(struct api_req *r, struct evkeyvalq *q);
/* An integer parameter in [min, max] (def when absent); -1 after a 400. */
int api_query_int(struct api_req *r, const struct evkeyvalq *q,
    const char *key, long long min, long long max, long long def,
    long long *out);

/*
 * The request body, *len bytes (borrowed from the request; not
 * NUL-terminated), for the decoders in api_decode.h.
 */
const char *api_body(struct api_req *r, size_t *len);

/*
 * The web console (api_ui.c).  api_ui_open opens dir (NULL or "": no
 * console) and only warns when it cannot: the API serves without it.
 * api_ui_route answers "/", "/ui" and "/ui/..." and returns true, or
 * returns false for any other path.
 */
int api_ui_open(struct api_server *api, const char *dir);
void api_ui_close(struct api_server *api);
bool api_ui_route(struct api_req *r, const char *path);

/*
 * The route for method ("GET", ...) and the raw path, as the router
 * matches them: true with the permission it needs (0: no key), false when
 * there is none.  For the checks before a body is read (api_gate.c).
 */
bool api_route_perm(const char *method, const char *path, unsigned *perm);

/* Handlers (api_*.c). */
void api_tokens_list(struct api_req *r);
void api_tokens_create(struct api_req *r);
void api_tokens_show(struct api_req *r);
void api_tokens_delete(struct api_req *r);
void api_tokens_image(struct api_req *r);
void api_vms_list(struct api_req *r);
void api_vms_create(struct api_req *r);
void api_vms_show(struct api_req *r);
void api_vms_update(struct api_req *r);
void api_vms_delete(struct api_req *r);
void api_assign_list(struct api_req *r);
void api_assign_create(struct api_req *r);
void api_assign_delete(struct api_req *r);
void api_sessions_list(struct api_req *r);
void api_nodes_list(struct api_req *r);
void api_audit_list(struct api_req *r);
void api_audit_verify(struct api_req *r);
void api_agent_challenge(struct api_req *r);
void api_agent_verify(struct api_req *r);
void api_events_open(struct api_req *r);
void api_alarms_list(struct api_req *r);
void api_alarms_ack(struct api_req *r);
void api_keys_list(struct api_req *r);
void api_keys_create(struct api_req *r);
void api_keys_delete(struct api_req *r);
void api_whoami(struct api_req *r);
void api_healthz(struct api_req *r);
void api_metrics(struct api_req *r);
void api_openapi(struct api_req *r);	/* api_openapi.c */
/* api_policy.c */
void api_policy_default_get(struct api_req *r);
void api_policy_default_put(struct api_req *r);
void api_policy_vm_get(struct api_req *r);
void api_policy_vm_put(struct api_req *r);
void api_policy_vm_delete(struct api_req *r);
/* api_agentmgr.c */
void api_agents_list(struct api_req *r);
void api_releases_list(struct api_req *r);
void api_releases_add(struct api_req *r);
void api_releases_delete(struct api_req *r);
void api_releases_artifact(struct api_req *r);
void api_rollout_get(struct api_req *r);
void api_rollout_put(struct api_req *r);
void api_rollout_delete(struct api_req *r);
/* api_bootstrap.c */
void api_agent_bootstrap(struct api_req *r);
/*
 * The largest body a route takes: api.max_body, api.max_body_anon or,
 * for POST /v1/agent/releases, API_RELEASE_BODY_MAX.
 */
#define API_RELEASE_BODY_MAX	(22u << 20)	/* base64 of 16 MiB, and JSON */
/* True for the route that takes API_RELEASE_BODY_MAX. */
bool api_route_big_body(const char *method, const char *path);

#endif
