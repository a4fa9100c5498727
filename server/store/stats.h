/*
 * stats (store) — reading the counter cells that the state changes keep
 * (server/store/lua/1-stats.lua; merged by common/stats.c).
 */
#ifndef CM_STORE_STATS_H
#define CM_STORE_STATS_H

#include "server/store/store.h"

/*
 * The cells of the whole market (account NULL) or of one account's
 * listings and matches, with the delays to a first proposal when delays.
 * value: [listing cells, match cells, delays] (common/stats.h, stats_answer).
 */
void store_stats_read(struct store *s, const char *account, int delays, store_cb cb, void *arg);

#endif
