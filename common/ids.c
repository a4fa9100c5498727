/*
 * ids — random ids and token secrets (see ids.h).
 */
#include "common/ids.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ids_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

#define IDS_BODY 20

static void ids_init(void)
{
	static int done;
	if (!done) {
		if (sodium_init() < 0)
			abort();
		done = 1;
	}
}

void ids_new(const char *prefix, char out[IDS_MAX])
{
	ids_init();
	unsigned char raw[IDS_BODY];
	randombytes_buf(raw, sizeof(raw));
	size_t pl = strlen(prefix);
	if (pl > IDS_MAX - IDS_BODY - 2)
		abort();
	memcpy(out, prefix, pl);
	out[pl] = '_';
	for (size_t i = 0; i < IDS_BODY; i++)
		out[pl + 1 + i] = ids_alphabet[raw[i] & 31];
	out[pl + 1 + IDS_BODY] = '\0';
}

int ids_valid(const char *prefix, const char *s)
{
	size_t pl = strlen(prefix);
	if (s == NULL || strncmp(s, prefix, pl) != 0 || s[pl] != '_' ||
	    strlen(s) != pl + 1 + IDS_BODY)
		return 0;
	for (const char *p = s + pl + 1; *p; p++)
		if (strchr(ids_alphabet, *p) == NULL)
			return 0;
	return 1;
}

void ids_token_new(char out[IDS_TOKEN_MAX])
{
	ids_init();
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, "cm_", 3);
	sodium_bin2base64(out + 3, IDS_TOKEN_MAX - 3, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void ids_token_hash(const char *secret, size_t len, char out[IDS_TOKEN_HASH_HEX])
{
	ids_init();
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)secret, len);
	sodium_bin2hex(out, IDS_TOKEN_HASH_HEX, h, sizeof(h));
}

uint64_t ids_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}
