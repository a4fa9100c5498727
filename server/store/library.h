/*
 * library — the craftmatch function library's life in Redis.
 *
 * craftmatchd embeds the library, the .lua files of server/store/lua/ (its
 * LIBRARY_VERSION is read at build time). On every (re)connect it asks Redis which library is
 * loaded (FCALL_RO cm_version) before loading anything:
 *  - none, or an older version: FUNCTION LOAD REPLACE with its own;
 *  - the same version: loaded again (the same text, so nothing changes);
 *  - a newer version: never replaced. The node is ready only when that
 *    library serves its calls (the newer one's LIBRARY_SERVES_FROM is at
 *    most this build's version); otherwise it stays not ready, says why in
 *    /readyz and logs it once, and checks again every few seconds.
 * While ready, the loaded version is checked again every few seconds and by
 * every /readyz, so a library flushed or replaced behind its back is noticed.
 * A reply meaning "Redis is not ready yet" (LOADING, BUSY, ...) is retried
 * shortly; one refusing the link (NOAUTH, DENIED, ...) drops it (redis.h).
 */
#ifndef CM_STORE_LIBRARY_H
#define CM_STORE_LIBRARY_H

struct event_base;
struct redis;
struct library;

/* This build's library version (LIBRARY_VERSION of the embedded text). */
long library_version(void);

struct library *library_new(struct event_base *base, struct redis *link);
void library_free(struct library *lib);

/* The link is (re)connected: check the loaded library and load as needed. */
void library_connected(struct library *lib);

/* The library in Redis is one this build works with (and the link is up). */
int library_ready(const struct library *lib);

/* Why the store is not ready, for /readyz and 503s; valid until the next call. */
const char *library_why(struct library *lib);

/* The version of the library in Redis when last ready (this build's or a newer one). */
long library_loaded_version(const struct library *lib);

/* Times FUNCTION LOAD succeeded. */
unsigned long library_loads(const struct library *lib);

/* Asks Redis now; cb gets 1, or 0 with the reason (valid during the call). */
typedef void (*library_probe_cb)(int ready, const char *why, void *arg);
void library_probe(struct library *lib, library_probe_cb cb, void *arg);

#endif
