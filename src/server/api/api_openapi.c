/*
 * api_openapi: GET /v1/openapi.json, this API's OpenAPI 3.1 document.
 * The bytes are docs/openapi.json, built into the binary
 * (api_openapi_embed.cmake), so the document served is the one that was
 * tested with this code (tests/openapi/).  No key: like /healthz, it says
 * nothing that the source does not.
 */
#include <event2/buffer.h>
#include <stddef.h>

#include "server/api/api.h"

/* The generated api_openapi_json.c. */
extern const unsigned char api_openapi_json[];
extern const size_t api_openapi_json_len;

void
api_openapi(struct api_req *r)
{
	struct evbuffer *b = evbuffer_new();

	/* A reference, not a copy: the bytes are static. */
	if (b == NULL || evbuffer_add_reference(b, api_openapi_json,
	    api_openapi_json_len, NULL, NULL) < 0) {
		if (b != NULL)
			evbuffer_free(b);
		api_reply_error(r, 500, "internal", "out of memory");
		return;
	}
	api_reply_buffer(r, 200, "application/json", b);
	evbuffer_free(b);
}
