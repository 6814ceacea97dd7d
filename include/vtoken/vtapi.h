/*
 * vtoken/vtapi.h: the REST API's paths and JSON field names, as vtokend
 * serves them (src/server/api/) and vtokenctl and vtoken-agent call them.
 * docs/API.md describes each call.  A path with an id appends "/" and the
 * percent-encoded id (VTAPI_TOKENS "/" id).
 */
#ifndef VTOKEN_VTAPI_H
#define VTOKEN_VTAPI_H

#define VTAPI_HEALTHZ		"/healthz"
#define VTAPI_METRICS		"/metrics"
#define VTAPI_TOKENS		"/v1/tokens"
#define VTAPI_TOKEN_IMAGE	"/image"	/* VTAPI_TOKENS/{id}/image */
#define VTAPI_VMS		"/v1/vms"
#define VTAPI_ASSIGNMENTS	"/v1/assignments"
#define VTAPI_SESSIONS		"/v1/sessions"
#define VTAPI_NODES		"/v1/nodes"
#define VTAPI_AUDIT		"/v1/audit"
#define VTAPI_AUDIT_VERIFY	"/v1/audit/verify"
#define VTAPI_KEYS		"/v1/keys"
#define VTAPI_WHOAMI		"/v1/whoami"
#define VTAPI_EVENTS		"/v1/events"	/* text/event-stream */
#define VTAPI_ALARMS		"/v1/alarms"
#define VTAPI_ALARM_ACK		"/ack"		/* VTAPI_ALARMS/{id}/ack */
#define VTAPI_AGENT_CHALLENGE	"/v1/agent/challenge"
#define VTAPI_AGENT_VERIFY	"/v1/agent/verify"
/* This API's OpenAPI 3.1 document (docs/openapi.json); no key needed. */
#define VTAPI_OPENAPI		"/v1/openapi.json"

/* Request and answer fields. */
#define VTAPI_F_ID		"id"
#define VTAPI_F_NAME		"name"
#define VTAPI_F_SIZE		"size"
#define VTAPI_F_WRITABLE	"writable"
#define VTAPI_F_ADDRESSES	"addresses"
#define VTAPI_F_TOKEN		"token"
#define VTAPI_F_VM		"vm"
#define VTAPI_F_NONCE		"nonce"
#define VTAPI_F_SIGNATURE	"signature"
#define VTAPI_F_EXPIRES		"expires"
#define VTAPI_F_OK		"ok"
#define VTAPI_F_ERROR		"error"
#define VTAPI_F_CODE		"code"
#define VTAPI_F_MESSAGE		"message"
/* Tokens, VMs, assignments and sessions as answers show them. */
#define VTAPI_F_BUSID		"busid"
#define VTAPI_F_CREATED		"created"
#define VTAPI_F_PUBLIC_KEY	"public_key"
#define VTAPI_F_TOKEN_NAME	"token_name"
#define VTAPI_F_VM_NAME		"vm_name"
#define VTAPI_F_SESSION		"session"
#define VTAPI_F_PEER		"peer"
#define VTAPI_F_SINCE		"since"
#define VTAPI_F_BYTES_IN	"bytes_in"
#define VTAPI_F_BYTES_OUT	"bytes_out"
#define VTAPI_F_URBS		"urbs"
#define VTAPI_F_REVOKED		"revoked"
#define VTAPI_F_NODE		"node"
/* Bulk token create: {"prefix", "count"} asks, {"tokens", "count"} answers. */
#define VTAPI_F_PREFIX		"prefix"
#define VTAPI_F_COUNT		"count"
/* Nodes of a cluster (VTAPI_NODES). */
#define VTAPI_F_USBIP		"usbip"
#define VTAPI_F_API		"api"
#define VTAPI_F_VERSION		"version"
#define VTAPI_F_STARTED		"started"
#define VTAPI_F_HEARTBEAT	"heartbeat"
#define VTAPI_F_HEARTBEAT_AGE	"heartbeat_age_s"
#define VTAPI_F_STATE		"state"		/* "up" or "lost" */
#define VTAPI_F_SELF		"self"
/* API keys (VTAPI_KEYS): "key" is the secret, in the create answer only. */
#define VTAPI_F_ROLE		"role"
#define VTAPI_F_EXPIRES		"expires"
#define VTAPI_F_EXPIRED		"expired"
#define VTAPI_F_PERMISSIONS	"permissions"	/* VTAPI_WHOAMI */
#define VTAPI_F_KEY		"key"
#define VTAPI_F_KEYS		"keys"
/* Alarms (VTAPI_ALARMS). */
#define VTAPI_F_ALARMS		"alarms"
#define VTAPI_F_RULE		"rule"
#define VTAPI_F_SEVERITY	"severity"
#define VTAPI_F_MESSAGE		"message"
#define VTAPI_F_FIRST_SEEN	"first_seen"
#define VTAPI_F_LAST_SEEN	"last_seen"
#define VTAPI_F_CLEARED		"cleared"
#define VTAPI_F_ACKED_BY	"acked_by"
#define VTAPI_F_ACKED_AT	"acked_at"
/* The arrays of list answers ({"tokens": [...]}, ...). */
#define VTAPI_F_TOKENS		"tokens"
#define VTAPI_F_VMS		"vms"
#define VTAPI_F_ASSIGNMENTS	"assignments"
#define VTAPI_F_SESSIONS	"sessions"	/* also a node's count */
#define VTAPI_F_NODES		"nodes"
/* A paged list's cursor: the next page's VTAPI_Q_AFTER, or null. */
#define VTAPI_F_NEXT		"next"
/* Audit records and the audit answers. */
#define VTAPI_F_RECORDS		"records"
#define VTAPI_F_LAST_SEQ	"last_seq"
#define VTAPI_F_LAST_HASH	"last_hash"
#define VTAPI_F_SEQ		"seq"
#define VTAPI_F_TIME		"time"
#define VTAPI_F_ACTOR		"actor"
#define VTAPI_F_ACTION		"action"
#define VTAPI_F_SUBJECT		"subject"
#define VTAPI_F_DETAIL		"detail"
#define VTAPI_F_PREV_HASH	"prev_hash"
#define VTAPI_F_HASH		"hash"

/*
 * Query parameters of VTAPI_AUDIT (after a record number) and of the
 * paged lists VTAPI_TOKENS, VTAPI_ASSIGNMENTS (after a busid),
 * VTAPI_VMS (after a name) and VTAPI_SESSIONS (after a token id).
 */
#define VTAPI_Q_AFTER		"after"
#define VTAPI_Q_LIMIT		"limit"

/* Error codes of {"error": {"code": ...}} the clients act on. */
#define VTAPI_E_AUTH_FAILED	"auth_failed"
#define VTAPI_E_AUDIT_BROKEN	"audit_broken"	/* 409, with "seq" */

/*
 * Agent management (docs/AGENT.md): policy, facts, releases, rollout.
 * VTAPI_F_ACTION, VTAPI_F_VERSION, VTAPI_F_SIZE, VTAPI_F_SIGNATURE,
 * VTAPI_F_VMS, VTAPI_F_VM, VTAPI_F_VM_NAME and VTAPI_F_TIME above serve
 * here too.
 */
#define VTAPI_POLICY		"/v1/policy"	/* the cluster default */
#define VTAPI_VM_POLICY		"/policy"	/* VTAPI_VMS/{id}/policy */
#define VTAPI_AGENTS		"/v1/agents"
#define VTAPI_AGENT_RELEASES	"/v1/agent/releases"
#define VTAPI_AGENT_ARTIFACT	"/artifact"	/* RELEASES/{v}/artifact */
#define VTAPI_AGENT_ROLLOUT	"/v1/agent/rollout"
#define VTAPI_AGENT_BOOTSTRAP	"/v1/agent/bootstrap"
/* A policy: {"interval", "grace", "action", "command"?}, plus "source". */
#define VTAPI_F_INTERVAL	"interval"
#define VTAPI_F_GRACE		"grace"
#define VTAPI_F_COMMAND		"command"
#define VTAPI_F_SOURCE		"source"	/* "vm" or "default" */
#define VTAPI_F_POLICY		"policy"
#define VTAPI_F_POLICY_FIRED	"policy_fired"
/* A VM's facts (VTAPI_F_FACTS) and when they were reported. */
#define VTAPI_F_FACTS		"facts"
#define VTAPI_F_REPORTED	"reported"
#define VTAPI_F_HOSTNAME	"hostname"
#define VTAPI_F_OS		"os"
#define VTAPI_F_KERNEL		"kernel"
#define VTAPI_F_MACHINE_ID	"machine_id"
#define VTAPI_F_DMI_VENDOR	"dmi_vendor"
#define VTAPI_F_DMI_PRODUCT	"dmi_product"
#define VTAPI_F_DMI_UUID	"dmi_uuid"
#define VTAPI_F_AGENT_VERSION	"agent_version"
#define VTAPI_F_UPTIME		"uptime"	/* seconds, an integer */
/* Releases, rollouts and the agents' update state. */
#define VTAPI_F_SHA256		"sha256"	/* lower-case hex */
#define VTAPI_F_ARTIFACT	"artifact"	/* base64 */
#define VTAPI_F_TARGET		"target"
#define VTAPI_F_PERCENT		"percent"
#define VTAPI_F_UPDATE		"update"
#define VTAPI_F_RESULT		"result"
#define VTAPI_F_REASON		"reason"
#define VTAPI_F_URL		"url"
#define VTAPI_F_RELEASES	"releases"	/* GET VTAPI_AGENT_RELEASES */
#define VTAPI_F_AGENTS		"agents"	/* GET VTAPI_AGENTS */
/* The "result" of an agent's update report. */
#define VTAPI_UPDATE_INSTALLED	"installed"
#define VTAPI_UPDATE_REFUSED	"refused"
#define VTAPI_UPDATE_FAILED	"failed"
#define VTAPI_UPDATE_ROLLED_BACK "rolled_back"

#endif
