/*
 * backlog — argv for the stream-reading functions (see backlog.h).
 */
#include "server/store/backlog.h"

#include <stdio.h>

#include "server/store/keys.h"

void backlog_tail(struct store *s, store_cb cb, void *arg)
{
	store_read(s, "cm_events_tail", KEY_EVENTS, cb, arg);
}

void backlog_page(struct store *s, const char *after, int count, store_cb cb, void *arg)
{
	char n[16];
	snprintf(n, sizeof(n), "%d", count);
	const char *keys[] = {KEY_EVENTS};
	const char *args[] = {after, n};
	store_fcall(s, "cm_events_page", 1, 1, keys, 2, args, NULL, cb, arg);
}
