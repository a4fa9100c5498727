/*
 * stats (store) — argv for cm_stats_read (see stats.h).
 */
#include "server/store/stats.h"

#include "server/store/keys.h"

void store_stats_read(struct store *s, const char *account, int delays, store_cb cb, void *arg)
{
	char k[2][KEYS_MAX];
	const char *keys[] = {KEY_STATS_LISTINGS, KEY_STATS_MATCHES};
	if (account) {
		keys[0] = keys_stats_account(k[0], account, "l");
		keys[1] = keys_stats_account(k[1], account, "m");
	}
	const char *args[] = {delays ? "1" : "0"};
	store_fcall(s, "cm_stats_read", 1, 2, keys, 1, args, NULL, cb, arg);
}
