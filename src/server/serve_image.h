/*
 * serve_image: --serve-image / serve_images, the development mode that
 * exports raw image files to every peer without access control.
 */
#ifndef VTOKEN_SERVE_IMAGE_H
#define VTOKEN_SERVE_IMAGE_H

struct vtokend;

/* Loads every configured image into the registry; 0 or -1 after logging. */
int serve_image_load_all(struct vtokend *vtd);
/* Checks that every configured image can be opened (for -n). */
int serve_image_check_all(const struct vtokend *vtd);

#endif
