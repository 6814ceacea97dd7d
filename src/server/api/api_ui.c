/*
 * api_ui: the web console's static files (docs/CONSOLE.md) under /ui/ on
 * the API listener.  The files are plain HTML, CSS and JavaScript modules
 * read from ui.dir; they hold no secret, so they are served without a
 * key, and everything they show comes from the REST API, which checks
 * the key the browser presents.
 *
 * Only names made of [A-Za-z0-9._-] (no leading '.'), at most two
 * segments deep, are looked up, relative to the directory opened at
 * start, never following a symbolic link in the last component.  Every
 * answer carries a strict Content-Security-Policy (no inline script,
 * nothing from another origin), nosniff, no referrer and no framing.
 * "Cache-Control: no-cache" with an ETag lets a browser keep a file but
 * ask each time whether it changed, so a new release replaces old assets
 * at the next load without a rename scheme.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "server/api/api.h"

#define UI_FILE_MAX	(4u << 20)
#define UI_NAME_MAX	128

static const char ui_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

static const struct {
	const char *ext;
	const char *type;
} ui_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
};

int
api_ui_open(struct api_server *api, const char *dir)
{
	api->ui_fd = -1;
	if (dir == NULL || dir[0] == '\0')
		return 0;
	api->ui_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (api->ui_fd < 0) {
		log_warn("api: web console directory %s (ui.dir); /ui/ will "
		    "answer 404", dir);
		return -1;
	}
	log_info("api: web console at /ui/ from %s", dir);
	return 0;
}

void
api_ui_close(struct api_server *api)
{
	if (api->ui_fd >= 0)
		close(api->ui_fd);
	api->ui_fd = -1;
}

/* The Content-Type for name, or NULL for a type the console never uses. */
static const char *
api_ui_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(ui_types) /
	    sizeof(ui_types[0]); i++)
		if (strcmp(dot, ui_types[i].ext) == 0)
			return ui_types[i].type;
	return NULL;
}

/* True when rel is a name we may look up (see the header comment). */
static bool
api_ui_name_ok(const char *rel)
{
	int segs = 1;
	bool seg_start = true;

	if (rel[0] == '\0' || strlen(rel) >= UI_NAME_MAX)
		return false;
	for (const char *p = rel; *p != '\0'; p++) {
		if (*p == '/') {
			if (seg_start || ++segs > 2)
				return false;
			seg_start = true;
			continue;
		}
		if (seg_start && *p == '.')
			return false;
		seg_start = false;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return false;
	}
	return !seg_start;
}

static void
api_ui_headers(struct api_req *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evhttp_add_header(h, "Content-Security-Policy", ui_csp);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cache-Control", "no-cache");
}

/* Reads the whole of fd (st_size bytes) into b; -1 on a short read. */
static int
api_ui_read(int fd, size_t size, struct evbuffer *b)
{
	char *buf = malloc(size > 0 ? size : 1);
	size_t got = 0;
	int rv = -1;

	while (buf != NULL && got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (buf != NULL && got == size && evbuffer_add(b, buf, size) == 0)
		rv = 0;
	free(buf);
	return rv;
}

/* Answers with the file rel (opened relative to ui.dir), or an error. */
static void
api_ui_file(struct api_req *r, const char *rel)
{
	const char *type = api_ui_type(rel), *inm;
	struct evbuffer *b;
	struct stat st;
	char etag[96];
	int fd;

	if (r->api->ui_fd < 0) {
		api_reply_error(r, 404, "not_found", "the web console is not "
		    "installed (ui.dir)");
		return;
	}
	if (type == NULL || !api_ui_name_ok(rel) ||
	    (fd = openat(r->api->ui_fd, rel, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK)) < 0) {
		api_reply_error(r, 404, "not_found", "no such file");
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (unsigned long long)st.st_size > UI_FILE_MAX) {
		close(fd);
		api_reply_error(r, 404, "not_found", "no such file");
		return;
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx.%lx\"",
	    (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
	    (unsigned long long)st.st_mtim.tv_sec,
	    (unsigned long)st.st_mtim.tv_nsec);
	api_ui_headers(r);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "ETag",
	    etag);
	inm = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		api_reply_empty(r, 304);
		return;
	}
	b = evbuffer_new();
	if (b == NULL || api_ui_read(fd, (size_t)st.st_size, b) < 0) {
		log_warn("api %s: web console file %s", r->peer, rel);
		api_reply_error(r, 500, "internal", "cannot read %s", rel);
	} else {
		api_reply_buffer(r, 200, type, b);
	}
	if (b != NULL)
		evbuffer_free(b);
	close(fd);
}

bool
api_ui_route(struct api_req *r, const char *path)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(r->req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	if (strcmp(path, "/") != 0 && strcmp(path, "/ui") != 0 &&
	    strncmp(path, "/ui/", 4) != 0)
		return false;
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		api_reply_error(r, 405, "method_not_allowed",
		    "method not allowed on this path");
		return true;
	}
	if (strncmp(path, "/ui/", 4) != 0) {
		/* "/" and "/ui": where an operator's browser starts. */
		evhttp_add_header(h, "Location", "/ui/");
		api_reply_empty(r, 302);
		return true;
	}
	api_ui_file(r, path[4] != '\0' ? path + 4 : "index.html");
	return true;
}
