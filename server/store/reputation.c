/*
 * reputation (store) — see reputation.h.
 */
#include "server/store/reputation.h"

#include <stdio.h>

#include "server/store/keys.h"

void store_reputation_get(struct store *s, const char *const *ids, size_t n, store_cb cb, void *arg)
{
	char keys_buf[STORE_REP_MAX][KEYS_MAX];
	const char *keys[STORE_REP_MAX];
	if (n > STORE_REP_MAX)
		n = STORE_REP_MAX;
	for (size_t i = 0; i < n; i++)
		keys[i] = keys_reputation(keys_buf[i], ids[i]);
	store_fcall(s, "cm_reputation_get", 1, (int)n, keys, 0, NULL, NULL, cb, arg);
}

void store_engine_reputation(struct store *s, const char *cursor, int count, store_cb cb, void *arg)
{
	char c[16];
	snprintf(c, sizeof(c), "%d", count);
	const char *keys[] = {KEY_REP_SCORES};
	const char *args[] = {cursor, c};
	store_fcall_deadline(s, "cm_engine_reputation", 1, 1, keys, 2, args, NULL,
			     STORE_LOAD_DEADLINE, cb, arg);
}
