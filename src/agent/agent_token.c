/*
 * agent_token: reading a token from a device or image (see
 * agent_token.h).
 */
#include "agent/agent_token.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cause.h"
#include "common/encode.h"
#include "common/xmalloc.h"
#include "vtoken/tokenfs.h"

static int agent_token_open(const char *path, uint64_t *size,
    char **cause);
static int agent_token_check(const struct agent_token *t,
    const struct token_image_info *info, char **cause);

struct agent_token *
agent_token_new(const char *path, const char *serial, const char *syspath)
{
	struct agent_token *t = xcalloc(1, sizeof(*t));

	t->path = xstrdup(path);
	if (serial != NULL)
		t->serial = xstrdup(serial);
	if (syspath != NULL)
		t->syspath = xstrdup(syspath);
	return t;
}

void
agent_token_free(struct agent_token *t)
{
	if (t == NULL)
		return;
	agent_token_unload(t);
	free(t->path);
	free(t->serial);
	free(t->syspath);
	free(t);
}

/* Opens a block device or regular file read-only; its size in *size. */
static int
agent_token_open(const char *path, uint64_t *size, char **cause)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cause_set(cause, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		cause_set(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode))
		*size = (uint64_t)st.st_size;
	else if (!S_ISBLK(st.st_mode)) {
		cause_set(cause, "%s: not a block device or file", path);
		close(fd);
		return -1;
	} else if (ioctl(fd, BLKGETSIZE64, size) < 0) {
		cause_set(cause, "%s: size: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* What the agent relies on beyond the library's own checks. */
static int
agent_token_check(const struct agent_token *t,
    const struct token_image_info *info, char **cause)
{
	if (!encode_is_id(info->token_id))
		return cause_set(cause, TOKENFS_JSON ": " TOKENFS_F_TOKEN_ID
		    " is not 16 hex digits");
	if (t->serial != NULL && strcmp(t->serial, info->token_id) != 0)
		return cause_set(cause, TOKENFS_JSON ": " TOKENFS_F_TOKEN_ID
		    " %s does not match the USB serial number",
		    info->token_id);
	return 0;
}

int
agent_token_load(struct agent_token *t, char **cause)
{
	struct token_image_info info;
	struct token_cred *cred;
	uint64_t size = 0;
	char *why = NULL;
	int fd, rv;

	agent_token_unload(t);
	if ((fd = agent_token_open(t->path, &size, cause)) < 0)
		return -1;
	rv = token_image_read(fat_fd_read, &fd, size, &info, &cred, &why);
	close(fd);
	if (rv < 0) {
		cause_set(cause, "%s: %s", t->path, why != NULL ? why :
		    "unreadable token");
		free(why);
		return -1;
	}
	if (agent_token_check(t, &info, cause) < 0) {
		token_cred_free(cred);
		token_image_info_clear(&info);
		return -1;
	}
	t->info = info;
	t->cred = cred;
	t->node = realpath(t->path, NULL);
	return 0;
}

void
agent_token_unload(struct agent_token *t)
{
	token_cred_free(t->cred);
	t->cred = NULL;
	token_image_info_clear(&t->info);
	free(t->node);
	t->node = NULL;
}

bool
agent_token_is_loaded(const struct agent_token *t)
{
	return t->cred != NULL;
}

bool
agent_token_is_device(const struct agent_token *t, const char *syspath,
    const char *devnode)
{
	if (syspath != NULL && t->syspath != NULL &&
	    strcmp(syspath, t->syspath) == 0)
		return true;
	if (devnode == NULL)
		return false;
	return strcmp(devnode, t->path) == 0 ||
	    (t->node != NULL && strcmp(devnode, t->node) == 0);
}

bool
agent_token_is_present(const struct agent_token *t)
{
	struct stat st;

	return stat(t->syspath != NULL ? t->syspath : t->path, &st) == 0;
}
