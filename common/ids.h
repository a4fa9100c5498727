/*
 * ids — server-made identifiers and bearer-token secrets.
 *
 * Ids are a short type prefix and 20 characters of Crockford base32 from
 * 100 random bits ("lst_1k3m…"): unguessable, URL-safe, and the only text
 * ever used to build a Redis key. Token secrets carry 32 random bytes and are
 * kept only as their SHA-256. Randomness from libsodium; no other I/O.
 */
#ifndef CM_IDS_H
#define CM_IDS_H

#include <stddef.h>
#include <stdint.h>

#define IDS_MAX 32	      /* buffer size for any id, with NUL */
#define IDS_TOKEN_MAX 64      /* buffer size for a token secret, with NUL */
#define IDS_TOKEN_HASH_HEX 65 /* 64 hex digits and NUL */

/* Writes prefix + "_" + 20 random base32 characters into out[IDS_MAX]. */
void ids_new(const char *prefix, char out[IDS_MAX]);
/* 1 when s is a well-formed id with this prefix (only such ids make keys). */
int ids_valid(const char *prefix, const char *s);

/* Writes "cm_" + 43 base64url characters (32 random bytes) into out. */
void ids_token_new(char out[IDS_TOKEN_MAX]);
/* Lower-case hex SHA-256 of a secret of len bytes. */
void ids_token_hash(const char *secret, size_t len, char out[IDS_TOKEN_HASH_HEX]);

/*
 * A hash of an id (or any text) for in-memory tables: FNV-1a, 64 bits.
 * Not for keys or secrets; ids are random, so any bits of it spread evenly.
 */
uint64_t ids_hash(const char *s);

#endif
