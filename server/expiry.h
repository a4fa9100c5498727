/*
 * expiry — the timer that marks listings past their end date expired.
 *
 * Runs in every craftmatchd (any role): the Redis function is idempotent, so
 * several processes sweeping at once only share the work.
 */
#ifndef CM_EXPIRY_H
#define CM_EXPIRY_H

#include <stdint.h>

struct app;
struct expiry;

struct expiry *expiry_start(struct app *app);
void expiry_stop(struct expiry *e);
/* Listings this process has expired since start. */
uint64_t expiry_count(const struct expiry *e);

#endif
