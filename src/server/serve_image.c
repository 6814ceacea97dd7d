/*
 * serve_image: publishes the raw images named on the command line or in
 * serve_images as open devices (every peer may use them; no controller
 * is involved), on the lowest ports of bus 1 no token uses, in order.
 */
#include "server/serve_image.h"

#include <limits.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "server/control/control.h"
#include "server/device/dev_image.h"
#include "server/export/export.h"
#include "server/vtokend.h"

/*
 * A stable 16-hex-digit id (also the USB serial: BOT wants >= 12 hex
 * digits) from the image's absolute path and position.
 */
static void
serve_image_id(const char *path, size_t index, char *id, size_t len)
{
	char abs[PATH_MAX], *in;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (realpath(path, abs) == NULL)
		snprintf(abs, sizeof(abs), "%s", path);
	in = xasprintf("%zu:%s", index, abs);
	if (!EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	free(in);
	for (size_t i = 0; i < 8 && 2 * i + 2 < len; i++)
		snprintf(id + 2 * i, len - 2 * i, "%02X", md[i]);
}

int
serve_image_load_all(struct vtokend *vtd)
{
	const struct vtd_config *cfg = vtd->cfg;

	for (size_t i = 0; i < cfg->nimages; i++) {
		const struct config_image *ci = &cfg->images[i];
		char *cause = NULL, id[32], *copy, *base;
		struct dev_image *img;
		struct export_device *d;
		uint32_t num, bus, port;

		img = dev_image_load_file(ci->path, ci->writable, &cause);
		if (img == NULL) {
			log_error("serve-image: %s", cause);
			free(cause);
			return -1;
		}
		serve_image_id(ci->path, i, id, sizeof(id));
		copy = xstrdup(ci->path);
		base = basename(copy);
		num = control_num_free(vtd->ctl);
		control_num_split(num, &bus, &port);
		d = num != 0 && bus == 1 ? export_device_new(vtd->exp, bus,
		    port, id, base, img) : NULL;
		free(copy);
		if (d == NULL) {
			if (num == 0 || bus != 1)
				dev_image_free(img);
			log_error("serve-image: %s: no free port", ci->path);
			return -1;
		}
		export_publish(vtd->exp, d);
		log_warnx("serve-image: serving %s as %s (%s, %llu bytes) to "
		    "EVERY peer without access control; development only",
		    ci->path, d->busid, ci->writable ? "read-write" :
		    "read-only", (unsigned long long)dev_image_size(img));
	}
	return 0;
}

int
serve_image_check_all(const struct vtokend *vtd)
{
	const struct vtd_config *cfg = vtd->cfg;
	int rc = 0;

	for (size_t i = 0; i < cfg->nimages; i++) {
		char *cause = NULL;
		struct dev_image *img = dev_image_load_file(cfg->images[i].path,
		    cfg->images[i].writable, &cause);

		if (img == NULL) {
			fprintf(stderr, "serve-image: %s\n", cause);
			free(cause);
			rc = -1;
		}
		dev_image_free(img);
	}
	return rc;
}
