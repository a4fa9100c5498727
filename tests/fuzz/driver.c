/*
 * driver — replays files through a libFuzzer harness without libFuzzer, so
 * the checked-in corpora run as regression tests in any build (gcc, ASan +
 * UBSan, scripts/test).
 *
 *   fuzz_<name> PATH...     every regular file of each directory (not
 *                           recursive, sorted by name), or the file itself
 *
 * Each input is copied into a buffer of exactly its size, so a harness that
 * reads one byte too far trips AddressSanitizer here as it would under
 * libFuzzer. Arguments starting with '-' are ignored, so a libFuzzer command
 * line (-runs=0, -max_len=...) replays too. Each input's name goes to stderr
 * before it runs, so a harness that aborts is followed by the input it was
 * given. Exits 0 after a summary line; 1 when an input cannot be read or no
 * input was found at all (an empty or misspelt corpus must not pass).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

/* Reads path into a new buffer of exactly its size (1 byte for an empty
 * file, so the pointer is never NULL). 0, or -1 with errno. */
static int driver_read(const char *path, uint8_t **out, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return -1;
	for (;;) {
		if (len == cap) {
			uint8_t *bigger;
			cap = cap ? cap * 2 : 4096;
			bigger = realloc(buf, cap);
			if (bigger == NULL) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			buf = bigger;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	/* Exactly len bytes, so one byte past the input is out of bounds. */
	*out = malloc(len ? len : 1);
	if (*out == NULL) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	if (len)
		memcpy(*out, buf, len);
	free(buf);
	*size = len;
	return 0;
}

static int driver_run_file(const char *path)
{
	uint8_t *data;
	size_t size;

	if (driver_read(path, &data, &size) != 0) {
		fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* Named before it runs, so a crash report follows the name of its input
	 * (ctest shows the output of failed tests only). */
	fprintf(stderr, "driver: %s (%zu bytes)\n", path, size);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int driver_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir, sorted by name. Adds to *count. */
static int driver_run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "driver: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		size_t len = strlen(dir) + strlen(e->d_name) + 2;

		if (e->d_name[0] == '.')
			continue; /* ".", "..", and hidden files such as .gitkeep */
		path = malloc(len);
		if (path == NULL)
			abort();
		snprintf(path, len, "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				abort();
		}
		names[n++] = path;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), driver_cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (driver_run_file(names[i]) != 0)
			rc = -1;
		else
			(*count)++;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (argv[i][0] == '-')
			continue; /* a libFuzzer flag */
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "driver: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (driver_run_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (driver_run_file(argv[i]) != 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	fprintf(stderr, "driver: %s: %zu inputs replayed\n", argc > 0 ? argv[0] : "fuzz", count);
	if (count == 0) {
		fprintf(stderr, "driver: no inputs found (give corpus directories or files)\n");
		rc = 1;
	}
	return rc;
}
