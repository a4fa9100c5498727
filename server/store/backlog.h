/*
 * backlog — what the push hub asks Redis besides its live read: where the
 * stream ends now, and pages of it after a position for a subscriber that
 * catches up. Both are read-only functions of the library (store/lua:
 * cm_events_tail, cm_events_page) called on the store's link, so they share
 * its deadline and its reconnection.
 */
#ifndef CM_STORE_BACKLOG_H
#define CM_STORE_BACKLOG_H

#include "server/store/store.h"

/* value: the stream's last generated id, or "0-0" when it does not exist */
void backlog_tail(struct store *s, store_cb cb, void *arg);

/* The fields of backlog_page's answer, and of each of its entries. */
enum backlog_page_field { BACKLOG_KIND, BACKLOG_ROWS, BACKLOG_WHY = BACKLOG_ROWS };
enum backlog_entry_field { BACKLOG_ENTRY_ID, BACKLOG_ENTRY_FIELDS };

/*
 * value: ["ok", [[id, [field, value, ...]], ...]] with at most count entries
 * after `after` (a validated id, exclusive); or ["reset", "trimmed"] when
 * entries after it are no longer kept, ["reset", "unknown"] when it is not a
 * position of this stream.
 */
void backlog_page(struct store *s, const char *after, int count, store_cb cb, void *arg);

#endif
