/*
 * api_misc: /healthz (no key: a load balancer asks it) and /metrics
 * (Prometheus text format 0.0.4; a key of any role but orchestrator:
 * counts, never names or secrets, but not for everyone).  Every metric
 * carries the node's name as a label, so that a cluster's nodes can be
 * scraped into one series set.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "server/api/api.h"
#include "server/api/api_events.h"
#include "server/control/control.h"
#include "server/control/control_alarm.h"
#include "server/notify/notify.h"
#include "server/export/export.h"

/* "ok", or "degraded" with the reason (the store cannot be reached). */
void
api_healthz(struct api_req *r)
{
	const char *why = NULL;
	const char *status = control_health(r->ctl, &why);

	api_reply_json(r, 200, json_pack("{s:s, s:s, s:s?}", "status", status,
	    "node", r->ctl->node_name, "reason", why));
}

struct api_metrics {
	struct evbuffer *b;
	const char *node;
};

static void
metric(struct api_metrics *m, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	evbuffer_add_printf(m->b, "# HELP %s %s\n# TYPE %s %s\n"
	    "%s{node=\"%s\"} %llu\n", name, help, name, type, name, m->node,
	    v);
}

static void
api_metrics_usbip(struct api_req *r, struct api_metrics *m)
{
	const struct export_stats *es = &r->api->exp->stats;
	const struct export_session *s;
	unsigned long long in = es->bytes_in, out = es->bytes_out;

	TAILQ_FOREACH(s, &r->api->exp->sessions, entry) {
		in += s->bytes_in;
		out += s->bytes_out;
	}
	metric(m, "vtoken_sessions", "gauge", "Attached USB/IP sessions.",
	    es->sessions);
	metric(m, "vtoken_usbip_connections", "gauge",
	    "Open USB/IP connections.", es->connections);
	metric(m, "vtoken_attaches_total", "counter", "Successful imports.",
	    es->imports);
	metric(m, "vtoken_attach_denied_total", "counter",
	    "Imports refused (not assigned, unknown, busy).", es->denied);
	metric(m, "vtoken_usbip_refused_total", "counter",
	    "Connections refused at accept (limits).", es->refused);
	metric(m, "vtoken_usbip_bad_input_total", "counter",
	    "Connections closed for protocol violations.",
	    es->closed_bad_input);
	evbuffer_add_printf(m->b, "# HELP vtoken_usbip_bytes_total Payload "
	    "bytes.\n# TYPE vtoken_usbip_bytes_total counter\n"
	    "vtoken_usbip_bytes_total{node=\"%s\",direction=\"in\"} %llu\n"
	    "vtoken_usbip_bytes_total{node=\"%s\",direction=\"out\"} %llu\n",
	    m->node, in, m->node, out);
}

/* Firing alarms by severity, and what their delivery did. */
static void
api_metrics_alarms(struct api_req *r, struct api_metrics *m)
{
	struct notify_stats d;
	unsigned n[3];

	control_alarm_firing(r->ctl, &n[0], &n[1], &n[2]);
	evbuffer_add_printf(m->b, "# HELP vtoken_alarms_firing Active alarms "
	    "by severity.\n# TYPE vtoken_alarms_firing gauge\n"
	    "vtoken_alarms_firing{node=\"%s\",severity=\"critical\"} %u\n"
	    "vtoken_alarms_firing{node=\"%s\",severity=\"warning\"} %u\n"
	    "vtoken_alarms_firing{node=\"%s\",severity=\"info\"} %u\n",
	    m->node, n[0], m->node, n[1], m->node, n[2]);
	control_alarm_deliveries(r->ctl, &d);
	metric(m, "vtoken_alarm_deliveries_total", "counter",
	    "Alarms and audit records delivered to webhooks and syslog.",
	    d.delivered);
	metric(m, "vtoken_alarm_deliveries_retried_total", "counter",
	    "Delivery attempts that failed and were tried again.", d.retried);
	metric(m, "vtoken_alarm_deliveries_failed_total", "counter",
	    "Deliveries given up after their attempts.", d.failed);
	metric(m, "vtoken_alarm_deliveries_dropped_total", "counter",
	    "Deliveries dropped because a destination's queue was full.",
	    d.dropped);
	metric(m, "vtoken_alarm_deliveries_queued", "gauge",
	    "Deliveries waiting.", d.queued);
}

static void
api_metrics_control(struct api_req *r, struct api_metrics *m)
{
	const struct control *ctl = r->ctl;
	const struct api_stats *as = &r->api->stats;
	struct store_stats ss;
	const char *why;

	metric(m, "vtoken_tokens", "gauge", "Tokens.", ctl->ntokens);
	metric(m, "vtoken_vms", "gauge", "VMs.", ctl->nvms);
	metric(m, "vtoken_audit_suppressed_total", "counter",
	    "Refusal audit records over the per-address rate, counted only.",
	    ctl->stats.audit_suppressed);
	evbuffer_add_printf(m->b, "# HELP vtoken_api_requests_total API "
	    "requests by status class.\n"
	    "# TYPE vtoken_api_requests_total counter\n");
	for (int i = 1; i <= 5; i++)
		evbuffer_add_printf(m->b, "vtoken_api_requests_total{node=\"%s\","
		    "code=\"%dxx\"} %llu\n", m->node, i, as->by_class[i]);
	metric(m, "vtoken_api_auth_failed_total", "counter",
	    "API requests with a missing, wrong or expired key.",
	    as->auth_failed);
	metric(m, "vtoken_api_connections", "gauge",
	    "API connections open now (admitted).", r->api->nconns);
	metric(m, "vtoken_api_connections_refused_total", "counter",
	    "API connections closed at accept (connection caps).",
	    as->conns_refused);
	metric(m, "vtoken_api_refused_before_body_total", "counter",
	    "API requests answered before their body was read (no key, "
	    "too large, no plain Content-Length).", as->early_refused);
	api_metrics_alarms(r, m);
	metric(m, "vtoken_event_streams", "gauge",
	    "Open GET /v1/events streams.", api_events_streams(
	    r->api->events));
	metric(m, "vtoken_event_streams_cut_total", "counter",
	    "Event streams cut because their reader fell behind.",
	    api_events_dropped(r->api->events));
	metric(m, "vtoken_api_forbidden_total", "counter",
	    "API requests whose key's role does not grant the route.",
	    as->forbidden);
	metric(m, "vtoken_store_errors_total", "counter",
	    "Store operations that failed (logged).",
	    ctl->stats.store_errors);
	metric(m, "vtoken_store_up", "gauge",
	    "1 while the store can be reached and answers.",
	    strcmp(control_health(r->ctl, &why), "ok") == 0);
	metric(m, "vtoken_store_pending", "gauge",
	    "Store jobs queued or running.", control_pending(ctl));
	ss = control_store_stats(r->ctl);
	metric(m, "vtoken_store_commits_total", "counter",
	    "Transactions committed (each one durable: one fsync on SQLite).",
	    ss.commits);
	metric(m, "vtoken_store_group_commits_total", "counter",
	    "Commits that carried several queued transactions at once.",
	    ss.tx_groups);
	metric(m, "vtoken_store_group_commit_jobs_total", "counter",
	    "Transactions carried by those group commits.", ss.tx_grouped);
	metric(m, "vtoken_audit_records_total", "counter",
	    "Audit records committed through this node since it started.",
	    ss.audit_commits);
	metric(m, "vtoken_changes_applied_total", "counter",
	    "Changes made through other nodes, applied here.",
	    ctl->stats.changes_applied);
	metric(m, "vtoken_kicks_total", "counter",
	    "Sessions ended by a revoke, delete or lost claim.",
	    ctl->stats.kicks);
}

void
api_metrics(struct api_req *r)
{
	struct api_metrics m = { evbuffer_new(), r->ctl->node_name };

	if (m.b == NULL) {
		api_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	api_metrics_usbip(r, &m);
	api_metrics_control(r, &m);
	api_reply_buffer(r, 200, "text/plain; version=0.0.4", m.b);
	evbuffer_free(m.b);
}
