/*
 * vt-mkimage: writes a token image to a file, or reads one back, for the
 * interop tests (fsck.fat, mtools).  Not installed.
 *
 *   vt-mkimage [-i TOKEN_ID] [-c URL] SIZE FILE
 *	builds a SIZE-byte image (suffix K or M allowed) with a fresh key
 *	and prints "pubkey BASE64" on stdout
 *   vt-mkimage -r FILE
 *	reads FILE with the token reader through pread(2), as the agent
 *	reads a block device, and prints token_id, controller and pubkey
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "token/token_cred.h"
#include "token/token_image.h"

static int
mkimage_write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, len, f) != len) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static uint64_t
mkimage_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return 0;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	return *end == '\0' ? v : 0;
}

static char mkimage_name[] = "interop test token";
static char mkimage_sha[] = "00112233445566778899aabbccddeeff"
    "00112233445566778899AABBCCDDEEFF";
static char mkimage_id[] = "tok-interop-1";
static char mkimage_url[] = "https://127.0.0.1:3241";

static int
mkimage_build(char *id, char *url, uint64_t size, const char *path)
{
	struct token_image_info info = { 0 };
	struct token_image_opts opts = { 0 };
	struct token_cred *cred;
	uint8_t pub[TOKEN_CRED_PUBKEY_LEN], *buf;
	char b64[TOKEN_CRED_B64_LEN + 1], *cause = NULL;
	int rv = 1;

	if ((cred = token_cred_generate(&cause)) == NULL ||
	    token_cred_public(cred, pub, &cause) != 0)
		goto fail;
	info.token_id = id;
	info.name = mkimage_name;
	info.controller = url;
	info.ca_sha256 = mkimage_sha;
	opts.size = size;
	opts.serial = (uint32_t)size ^ 0x5eed1234u;
	opts.now = time(NULL);
	if ((buf = malloc(size ? (size_t)size : 1)) == NULL) {
		fprintf(stderr, "vt-mkimage: out of memory\n");
		token_cred_free(cred);
		return 1;
	}
	if (token_image_build(buf, &opts, &info, cred, &cause) == 0) {
		if (mkimage_write_file(path, buf, (size_t)size) != 0)
			fprintf(stderr, "vt-mkimage: %s: %s\n", path,
			    strerror(errno));
		else
			rv = 0;
	}
	free(buf);
	if (rv == 0) {
		token_cred_pub_to_b64(pub, b64);
		printf("pubkey %s\n", b64);
		token_cred_free(cred);
		return 0;
	}
fail:
	if (cause != NULL)
		fprintf(stderr, "vt-mkimage: %s\n", cause);
	free(cause);
	token_cred_free(cred);
	return 1;
}

static int
mkimage_read(const char *path)
{
	struct token_image_info info;
	struct token_cred *cred;
	struct stat st;
	uint8_t pub[TOKEN_CRED_PUBKEY_LEN];
	char b64[TOKEN_CRED_B64_LEN + 1], *cause = NULL;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "vt-mkimage: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (token_image_read(fat_fd_read, &fd, (uint64_t)st.st_size, &info,
	    &cred, &cause) != 0 || token_cred_public(cred, pub, &cause) != 0) {
		fprintf(stderr, "vt-mkimage: %s: %s\n", path, cause);
		free(cause);
		token_cred_free(cred);
		token_image_info_clear(&info);
		close(fd);
		return 1;
	}
	token_cred_pub_to_b64(pub, b64);
	printf("token_id %s\ncontroller %s\npubkey %s\n", info.token_id,
	    info.controller, b64);
	token_cred_free(cred);
	token_image_info_clear(&info);
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	char *id = mkimage_id, *url = mkimage_url;
	int ch, rflag = 0;
	uint64_t size;

	while ((ch = getopt(argc, argv, "c:i:r")) != -1) {
		switch (ch) {
		case 'c':
			url = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'r':
			rflag = 1;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (rflag && argc == 1)
		return mkimage_read(argv[0]);
	if (!rflag && argc == 2 && (size = mkimage_size(argv[0])) != 0)
		return mkimage_build(id, url, size, argv[1]);
usage:
	fprintf(stderr, "usage: vt-mkimage [-i id] [-c url] size file\n"
	    "       vt-mkimage -r file\n");
	return 2;
}
