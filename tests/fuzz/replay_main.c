/*
 * replay_main: runs a fuzz target over saved inputs without libFuzzer
 * (the gcc build), as `fuzz_NAME FILE...' does with libFuzzer: every
 * argument is a file, or a directory whose regular files are replayed in
 * name order.  ctest runs it over tests/fuzz/corpus/NAME, so the normal
 * and the sanitizer builds replay every committed corpus.  A failing
 * input aborts inside the target; an unreadable argument or an empty
 * corpus fails the run.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *);
static int replay_dir(const char *, size_t *);

/* Reads path whole and runs the target on it: 0, or -1 after a message. */
static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	/* A copy of exactly len bytes, so ASan sees reads past the end. */
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int
replay_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	char path[4096];
	struct stat st;
	int n, rv = 0;

	if ((n = scandir(dir, &names, NULL, alphasort)) < 0) {
		perror(dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rv == 0 && names[i]->d_name[0] != '.' &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			rv = replay_file(path);
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rv;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) < 0 :
		    replay_file(argv[i]) < 0)
			return 1;
		if (!S_ISDIR(st.st_mode))
			count++;
	}
	printf("%s: replayed %zu input(s)\n", argv[0], count);
	return count > 0 ? 0 : 1;
}
