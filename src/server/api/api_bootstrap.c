/*
 * api_bootstrap: GET /v1/agent/bootstrap, the agent installer
 * (docs/AGENT.md, "Packages and bootstrap").  It is served without a
 * key, but only to a source address of a registered VM: it names this
 * controller, its certificate pin and the release to install, and
 * carries no secret.  The script refuses to install anything unless the
 * operator gives it the release public key: a key that came from the
 * controller would prove nothing.
 *
 * The template is packaging/bootstrap.sh.in, built in
 * (api_openapi_embed.cmake); @NAME@ placeholders are replaced here with
 * values checked to hold no character the shell would read specially.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "server/api/api.h"
#include "server/control/control.h"

/* The generated api_bootstrap_sh.c. */
extern const unsigned char api_bootstrap_sh[];
extern const size_t api_bootstrap_sh_len;

/*
 * The release to install on vm: the one the rollout targets it with, else
 * the newest.
 */
static const json_t *
bootstrap_release(struct api_req *r, const struct control_vm *vm)
{
	const char *target = control_rollout_target(r->ctl, vm);
	const json_t *best = NULL, *rel;
	json_t *all;
	size_t i;

	if (target != NULL)
		return control_release_get(r->ctl, target);
	all = control_releases_json(r->ctl);
	json_array_foreach(all, i, rel)
		if (best == NULL || strcmp(json_string_value(json_object_get(rel,
		    "created")), json_string_value(json_object_get(best,
		    "created"))) >= 0)
			best = rel;
	if (best != NULL)
		best = control_release_get(r->ctl, json_string_value(
		    json_object_get(best, "version")));
	json_decref(all);
	return best;
}

/* True when s is safe inside single quotes and a URL: no quote, no control. */
static bool
bootstrap_plain(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\'' || *s == '\\' || (unsigned char)*s < 0x20 ||
		    *s == 0x7f)
			return false;
	return true;
}

/* Appends the template to b with each @NAME@ of names replaced. */
static int
bootstrap_fill(struct evbuffer *b, const char *const names[][2], size_t n)
{
	const char *p = (const char *)api_bootstrap_sh;
	const char *end = p + api_bootstrap_sh_len, *at, *close;

	while (p < end) {
		size_t k;

		at = memchr(p, '@', (size_t)(end - p));
		if (at == NULL)
			return evbuffer_add(b, p, (size_t)(end - p));
		if (evbuffer_add(b, p, (size_t)(at - p)) < 0)
			return -1;
		close = memchr(at + 1, '@', (size_t)(end - at - 1));
		for (k = 0; close != NULL && k < n; k++)
			if (strlen(names[k][0]) == (size_t)(close - at - 1) &&
			    memcmp(names[k][0], at + 1, (size_t)(close - at -
			    1)) == 0)
				break;
		if (close == NULL || k == n) {
			if (evbuffer_add(b, "@", 1) < 0)
				return -1;
			p = at + 1;
			continue;
		}
		if (evbuffer_add(b, names[k][1], strlen(names[k][1])) < 0)
			return -1;
		p = close + 1;
	}
	return 0;
}

/* The script for rel into a new buffer; NULL after answering 500. */
static struct evbuffer *
bootstrap_script(struct api_req *r, const json_t *rel)
{
	const char *version = json_string_value(json_object_get(rel,
	    "version"));
	char size[32], url[96];
	const char *const names[][2] = {
		{ "CONTROLLER_URL", r->ctl->controller_url },
		{ "CA_SHA256", r->ctl->ca_sha256 },
		{ "RELEASE_VERSION", version },
		{ "RELEASE_SHA256", json_string_value(json_object_get(rel,
		    "sha256")) },
		{ "RELEASE_SIZE", size },
		{ "RELEASE_SIGNATURE", json_string_value(json_object_get(rel,
		    "signature")) },
		{ "RELEASE_URL", url },
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	struct evbuffer *b;

	snprintf(size, sizeof(size), "%lld", (long long)json_integer_value(
	    json_object_get(rel, "size")));
	snprintf(url, sizeof(url), "/v1/agent/releases/%s/artifact", version);
	for (size_t i = 0; i < n; i++)
		if (names[i][1] == NULL || !bootstrap_plain(names[i][1])) {
			api_reply_error(r, 500, "internal", "%s is not fit for "
			    "the installer", names[i][0]);
			return NULL;
		}
	if ((b = evbuffer_new()) == NULL || bootstrap_fill(b, names, n) < 0) {
		if (b != NULL)
			evbuffer_free(b);
		api_reply_error(r, 500, "internal", "out of memory");
		return NULL;
	}
	return b;
}

void
api_agent_bootstrap(struct api_req *r)
{
	const struct control_vm *vm;
	const json_t *rel;
	struct evbuffer *b;

	vm = control_peer_vm(r->ctl, (const struct sockaddr *)&r->peer_sa);
	if (vm == NULL) {
		log_info("api %s: bootstrap refused: not a VM's address",
		    r->peer);
		api_reply_error(r, 403, "forbidden", "the installer is served "
		    "to VM addresses only");
		return;
	}
	if ((rel = bootstrap_release(r, vm)) == NULL) {
		api_reply_error(r, 404, "not_found", "no agent release to "
		    "install: add one (vtokenctl agent release add)");
		return;
	}
	if ((b = bootstrap_script(r, rel)) == NULL)
		return;
	log_info("api %s: served the agent installer for VM %s (release %s)",
	    r->peer, vm->name, json_string_value(json_object_get(rel,
	    "version")));
	api_reply_buffer(r, 200, "text/x-shellscript; charset=utf-8", b);
	evbuffer_free(b);
}
