/*
 * fuzz_api_json: the REST request decoders (src/server/api/api_decode.c) on
 * arbitrary bodies, and the text parsers the handlers feed from them:
 * netaddr_cidr_parse (VM addresses), decode_base64 (agent nonce and
 * signature) and control_name_valid (token and VM names).  Every decoder runs
 * on every input.  Checked: a decoder either succeeds with every field in
 * range or fails with a reason; a CIDR prints back to text that parses to
 * the same prefix and contains its own address; base64 decodes only when
 * re-encoding gives the input back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "common/encode.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "fuzz.h"
#include "server/api/api_decode.h"
#include "server/control/control.h"

#define WHY_LEN	512

/* True when jansson takes s as a string (valid UTF-8). */
static bool
utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* A 400 reason: present, and fit for the JSON reply that carries it. */
static void
check_why(const char *why)
{
	FUZZ_CHECK(why[0] != '\0' && strlen(why) < WHY_LEN);
	FUZZ_CHECK(utf8_ok(why));
}

static void
fuzz_cidr(const char *s)
{
	struct netaddr_cidr c, again;
	struct sockaddr_storage ss;
	char text[64];
	const char *why = NULL;

	if (netaddr_cidr_parse(s, &c, &why) < 0) {
		FUZZ_CHECK(why != NULL);
		return;
	}
	FUZZ_CHECK(c.family == AF_INET || c.family == AF_INET6);
	FUZZ_CHECK(c.prefix <= (c.family == AF_INET ? 32u : 128u));
	netaddr_cidr_format(&c, text, sizeof(text));
	FUZZ_CHECK(netaddr_cidr_parse(text, &again, &why) == 0);
	FUZZ_CHECK(memcmp(&c, &again, sizeof(c)) == 0);
	/* The network address itself lies inside the prefix. */
	memset(&ss, 0, sizeof(ss));
	if (c.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, c.addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, c.addr, 16);
		/* v4-mapped addresses match as IPv4: skip those. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return;
	}
	FUZZ_CHECK(netaddr_cidr_match(&c, (struct sockaddr *)&ss));
}

static void
fuzz_base64(const char *s, size_t cap)
{
	uint8_t *out = malloc(cap > 0 ? cap : 1);
	long n;

	FUZZ_CHECK(out != NULL);
	n = decode_base64(s, out, cap);
	if (n >= 0) {
		char *back = encode_base64(out, (size_t)n);

		FUZZ_CHECK((size_t)n <= cap);
		FUZZ_CHECK(strcmp(back, s) == 0);
		free(back);
	}
	free(out);
}

static void
fuzz_decoders(const char *body, size_t len)
{
	struct api_token_create tc;
	struct api_vm_create vc;
	struct api_assign_create ac;
	struct api_agent_req ar;
	char why[WHY_LEN];

	if (api_decode_token_create(body, len, &tc, why, sizeof(why)) == 0) {
		FUZZ_CHECK(tc.name != NULL);
		FUZZ_CHECK(tc.size >= CONTROL_TOKEN_SIZE_MIN &&
		    tc.size <= CONTROL_TOKEN_SIZE_MAX && tc.size % 512 == 0);
		(void)control_name_valid(tc.name);
	} else
		check_why(why);
	api_token_create_clear(&tc);

	if (api_decode_vm_create(body, len, &vc, why, sizeof(why)) == 0) {
		FUZZ_CHECK(vc.name != NULL);
		FUZZ_CHECK(vc.naddrs >= 1 && vc.naddrs <= CONTROL_VM_MAX_ADDRS);
		for (size_t i = 0; i < vc.naddrs; i++) {
			FUZZ_CHECK(vc.addrs[i] != NULL);
			fuzz_cidr(vc.addrs[i]);
		}
	} else
		check_why(why);
	api_vm_create_clear(&vc);

	if (api_decode_assign_create(body, len, &ac, why, sizeof(why)) == 0)
		FUZZ_CHECK(ac.token != NULL && ac.vm != NULL);
	else
		check_why(why);
	api_assign_create_clear(&ac);

	if (api_decode_agent_challenge(body, len, &ar, why, sizeof(why)) == 0)
		FUZZ_CHECK(ar.token != NULL);
	else {
		check_why(why);
		FUZZ_CHECK(ar.token == NULL);
	}
	api_agent_req_clear(&ar);

	if (api_decode_agent_verify(body, len, &ar, why, sizeof(why)) == 0) {
		FUZZ_CHECK(ar.token != NULL);
		FUZZ_CHECK(ar.nonce_len <= sizeof(ar.nonce) &&
		    ar.sig_len <= sizeof(ar.sig));
	} else
		check_why(why);
	api_agent_req_clear(&ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	log_set_level(LOG_LEVEL_ERROR);
	/* The body as evhttp hands it over: exactly size bytes. */
	fuzz_decoders((const char *)data, size);
	/* The text parsers take C strings. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_cidr(s);
	fuzz_base64(s, size);
	fuzz_base64(s, 64);
	(void)control_name_valid(s);
	/* The repair gives what jansson accepts, and keeps valid text. */
	{
		bool was_ok = utf8_ok(s);
		char *copy = strdup(s);

		FUZZ_CHECK(copy != NULL);
		api_decode_utf8_fix(s);
		FUZZ_CHECK(utf8_ok(s));
		FUZZ_CHECK(!was_ok || strcmp(copy, s) == 0);
		free(copy);
	}
	free(s);
	return 0;
}
