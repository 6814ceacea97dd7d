/*
 * vtoken/api.h: the REST API's paths and JSON field names, as vtokend
 * serves them (src/server/api/) and vtokenctl and vtoken-agent call them.
 * docs/API.md describes each call.  A path with an id appends "/" and the
 * percent-encoded id (VTAPI_TOKENS "/" id).
 */
#ifndef VTOKEN_API_H
#define VTOKEN_API_H

#define VTAPI_HEALTHZ		"/healthz"
#define VTAPI_METRICS		"/metrics"
#define VTAPI_TOKENS		"/v1/tokens"
#define VTAPI_TOKEN_IMAGE	"/image"	/* VTAPI_TOKENS/{id}/image */
#define VTAPI_VMS		"/v1/vms"
#define VTAPI_ASSIGNMENTS	"/v1/assignments"
#define VTAPI_SESSIONS		"/v1/sessions"
#define VTAPI_AUDIT		"/v1/audit"
#define VTAPI_AUDIT_VERIFY	"/v1/audit/verify"
#define VTAPI_AGENT_CHALLENGE	"/v1/agent/challenge"
#define VTAPI_AGENT_VERIFY	"/v1/agent/verify"

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

/* Error codes of {"error": {"code": ...}} the clients act on. */
#define VTAPI_E_AUTH_FAILED	"auth_failed"

#endif
