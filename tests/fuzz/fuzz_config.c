/*
 * fuzz_config — server/config: craftmatchd's command line.
 *
 * Input: the arguments after argv[0], one per line ("--port\n8081\n
 * --role=api"); at most 64 of them. CRAFTMATCH_* variables in the fuzzer's
 * own environment apply too, as they would to craftmatchd.
 *
 * Checked beyond "no crash": a refusal leaves a message, NUL-terminated in
 * err (also when err is small); an accepted command line gives settings
 * within the table's bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_CONFIG_ARGS 64

static void fuzz_config_load(int argc, char **argv, size_t errlen)
{
	struct config cfg;
	char err[256];

	memset(err, 'x', sizeof(err));
	if (config_load(&cfg, argc, argv, err, errlen) != 0) {
		fuzz_check(memchr(err, '\0', errlen) != NULL, "err not terminated within errlen");
		fuzz_check(errlen < 2 || err[0] != '\0', "refused without a message");
		return;
	}
	fuzz_check(cfg.port >= 0 && cfg.port <= 65535, "port out of range");
	fuzz_check(memchr(cfg.bind, '\0', sizeof(cfg.bind)) != NULL, "bind not terminated");
	fuzz_check(memchr(cfg.redis_url, '\0', sizeof(cfg.redis_url)) != NULL,
		   "redis_url not terminated");
	fuzz_check(memchr(cfg.create_admin, '\0', sizeof(cfg.create_admin)) != NULL,
		   "create_admin not terminated");
	fuzz_check(cfg.max_body_bytes >= 256, "max_body_bytes below its minimum");
	(void)config_role_name(cfg.role);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args = fuzz_cstr(data, size), *argv[FUZZ_CONFIG_ARGS + 2], *p = args;
	int argc = 0;

	argv[argc++] = "craftmatchd";
	while (p != NULL && argc <= FUZZ_CONFIG_ARGS) {
		argv[argc++] = p;
		p = strchr(p, '\n');
		if (p != NULL)
			*p++ = '\0';
	}
	argv[argc] = NULL;
	if (size == 0)
		argc = 1; /* no arguments at all */

	fuzz_config_load(argc, argv, 256);
	fuzz_config_load(argc, argv, 16);
	free(args);
	return 0;
}
