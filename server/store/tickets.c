/*
 * tickets — argv for the stream-ticket functions (see tickets.h).
 */
#include "server/store/tickets.h"

#include <stdio.h>

#include "server/clock.h"
#include "server/store/accounts.h"
#include "server/store/keys.h"

void tickets_create(struct store *s, const char *hash, const char *account, const char *token,
		    long ttl_ms, store_cb cb, void *arg)
{
	char k[KEYS_MAX], ttl[24], now[24];
	const char *keys[] = {keys_stream_ticket(k, hash)};
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
	clock_now_arg(now);
	const char *args[] = {account, token, ttl, now};
	store_fcall(s, "cm_ticket_create", 0, 1, keys, 4, args, NULL, cb, arg);
}

void tickets_consume(struct store *s, const char *hash, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	const char *keys[] = {keys_stream_ticket(k, hash)};
	store_fcall(s, "cm_ticket_consume", 0, 1, keys, 0, NULL, NULL, cb, arg);
}
