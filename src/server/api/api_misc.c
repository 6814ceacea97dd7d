/*
 * api_misc: /healthz and /metrics (Prometheus text format 0.0.4).
 * Neither needs a key: they reveal counts, never names or secrets.
 */
#include <event2/buffer.h>
#include <event2/http.h>

#include "server/api/api.h"
#include "server/control/control.h"
#include "server/export/export.h"

void
api_healthz(struct api_req *r)
{
	api_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void
metric(struct evbuffer *b, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
	    help, name, type, name, v);
}

void
api_metrics(struct api_req *r)
{
	const struct control *ctl = r->ctl;
	const struct export_stats *es = &r->api->exp->stats;
	const struct api_stats *as = &r->api->stats;
	struct evbuffer *b = evbuffer_new();
	const struct export_session *s;
	unsigned long long in = es->bytes_in, out = es->bytes_out;

	if (b == NULL) {
		api_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	TAILQ_FOREACH(s, &r->api->exp->sessions, entry) {
		in += s->bytes_in;
		out += s->bytes_out;
	}
	metric(b, "vtoken_sessions", "gauge", "Attached USB/IP sessions.",
	    es->sessions);
	metric(b, "vtoken_usbip_connections", "gauge",
	    "Open USB/IP connections.", es->connections);
	metric(b, "vtoken_tokens", "gauge", "Tokens.", ctl->ntokens);
	metric(b, "vtoken_vms", "gauge", "VMs.", ctl->nvms);
	metric(b, "vtoken_attaches_total", "counter", "Successful imports.",
	    es->imports);
	metric(b, "vtoken_attach_denied_total", "counter",
	    "Imports refused (not assigned, unknown, busy).", es->denied);
	metric(b, "vtoken_audit_suppressed_total", "counter",
	    "Refusal audit records over the per-address rate, counted only.",
	    ctl->stats.audit_suppressed);
	metric(b, "vtoken_usbip_refused_total", "counter",
	    "Connections refused at accept (limits).", es->refused);
	metric(b, "vtoken_usbip_bad_input_total", "counter",
	    "Connections closed for protocol violations.",
	    es->closed_bad_input);
	evbuffer_add_printf(b, "# HELP vtoken_usbip_bytes_total Payload "
	    "bytes.\n# TYPE vtoken_usbip_bytes_total counter\n"
	    "vtoken_usbip_bytes_total{direction=\"in\"} %llu\n"
	    "vtoken_usbip_bytes_total{direction=\"out\"} %llu\n", in, out);
	evbuffer_add_printf(b, "# HELP vtoken_api_requests_total API "
	    "requests by status class.\n"
	    "# TYPE vtoken_api_requests_total counter\n");
	for (int i = 1; i <= 5; i++)
		evbuffer_add_printf(b, "vtoken_api_requests_total{code=\"%dxx\"}"
		    " %llu\n", i, as->by_class[i]);
	metric(b, "vtoken_api_auth_failed_total", "counter",
	    "API requests with a missing or wrong key.", as->auth_failed);
	metric(b, "vtoken_store_errors_total", "counter",
	    "Failed writes of audit or session records.",
	    ctl->stats.store_errors);
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Type", "text/plain; version=0.0.4");
	r->answered = true;
	r->api->stats.by_class[2]++;
	evhttp_send_reply(r->req, 200, NULL, b);
	evbuffer_free(b);
}
