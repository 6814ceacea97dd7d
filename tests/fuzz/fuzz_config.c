/*
 * fuzz_config: the YAML configuration loader (config_load_buffer, the
 * body of config_load) on arbitrary text, plus the scalar parsers it
 * uses on the whole input as one string.  A loaded config must be inside
 * every key's bounds and compare equal to itself for reload; a refused
 * one must come with FILE:LINE:COL messages; nothing may leak.
 */
#include <string.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "fuzz.h"
#include "server/config.h"

#define NAME	"fuzz.yaml"

/*
 * Every line of an error text starts with "fuzz.yaml:LINE:COL: ", also
 * when a message quotes a key that holds a newline.
 */
static void
check_errors(const char *text)
{
	const char *p = text;

	FUZZ_CHECK(text != NULL && *text != '\0');
	while (p != NULL) {
		unsigned line, col;
		char c;

		FUZZ_CHECK(strncmp(p, NAME ":", strlen(NAME) + 1) == 0);
		FUZZ_CHECK(sscanf(p + strlen(NAME) + 1, "%u:%u%c", &line, &col,
		    &c) == 3 && c == ':');
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
}

static void
check_config(const struct vtd_config *cfg, const struct vtd_config *def)
{
	FUZZ_CHECK(cfg->data_dir != NULL && cfg->data_dir[0] != '\0');
	FUZZ_CHECK(cfg->usbip.listen != NULL && cfg->api.listen != NULL);
	FUZZ_CHECK(cfg->usbip.addrlen > 0 && cfg->api.addrlen > 0);
	FUZZ_CHECK(cfg->usbip.max_sessions >= 1);
	FUZZ_CHECK(cfg->usbip.max_urbs >= 1 && cfg->usbip.max_urbs <= 4096);
	FUZZ_CHECK(cfg->usbip.max_bulk >= 512 &&
	    cfg->usbip.max_bulk <= 16u << 20);
	FUZZ_CHECK(cfg->usbip.max_control >= 64 &&
	    cfg->usbip.max_control <= 65535);
	FUZZ_CHECK(cfg->api.max_body >= 1024 && cfg->api.max_body <= 64u << 20);
	FUZZ_CHECK(cfg->usb.vendor_id <= 0xffff &&
	    cfg->usb.product_id <= 0xffff);
	FUZZ_CHECK(cfg->usb.manufacturer != NULL && cfg->usb.product != NULL);
	for (size_t i = 0; i < cfg->nimages; i++)
		FUZZ_CHECK(cfg->images[i].path != NULL &&
		    cfg->images[i].path[0] != '\0');
	FUZZ_CHECK(config_restart_key(cfg, cfg) == NULL);
	(void)config_restart_key(def, cfg);
}

/* The scalar parsers on the input as one NUL-terminated string. */
static void
fuzz_scalars(const char *s)
{
	struct sockaddr_storage ss;
	struct config_image img;
	socklen_t len = 0;
	const char *why = NULL;

	if (netaddr_parse_hostport(s, &ss, &len, &why) == 0) {
		char back[128];

		FUZZ_CHECK(len > 0);
		netaddr_format((struct sockaddr *)&ss, back, sizeof(back));
	} else
		FUZZ_CHECK(why != NULL);
	if (config_image_parse(s, &img, &why) == 0) {
		FUZZ_CHECK(img.path[0] != '\0');
		free(img.path);
	} else
		FUZZ_CHECK(why != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vtd_config *def;
	struct vtd_config *cfg;
	char *errors = NULL, *s;

	if (def == NULL) {
		log_init("fuzz", LOG_LEVEL_ERROR);
		def = config_default();
	}
	cfg = config_load_buffer(NAME, (const char *)data, size, &errors);
	if (cfg == NULL)
		check_errors(errors);
	else {
		FUZZ_CHECK(errors == NULL);
		check_config(cfg, def);
	}
	config_free(cfg);
	free(errors);
	if (size < 4096 && (s = malloc(size + 1)) != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		fuzz_scalars(s);
		free(s);
	}
	return 0;
}
