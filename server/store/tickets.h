/*
 * tickets — stream tickets in Redis: short-lived, single-use credentials
 * that let a browser open GET /v1/events (EventSource cannot send an
 * Authorization header, and a long-lived token must never go in a URL).
 *
 * Redis keeps only the SHA-256 of a ticket's secret (cm:ticket:<hash>),
 * created with its expiry and used up atomically by one function call
 * (store/lua: cm_ticket_create, cm_ticket_consume). The secret itself is
 * made by the API handler and shown once.
 */
#ifndef CM_STORE_TICKETS_H
#define CM_STORE_TICKETS_H

#include "server/store/store.h"

/* value: 1; NOT_FOUND when the token of the request was revoked meanwhile */
void tickets_create(struct store *s, const char *hash, const char *account, const char *token,
		    long ttl_ms, store_cb cb, void *arg);

/* The fields of tickets_consume's answer. */
enum tickets_field { TICKET_ACCOUNT, TICKET_TOKEN, TICKET_DOC };

/*
 * Uses the ticket up. value: enum tickets_field, or null when it is
 * unknown, used, expired or its token was revoked.
 */
void tickets_consume(struct store *s, const char *hash, store_cb cb, void *arg);

#endif
