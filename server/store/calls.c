/*
 * calls (store) — the KEYS and ARGV of the create functions (see calls.h).
 * Each argument list is in the order the library (store/lua) reads it.
 */
#include "server/store/calls.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/account.h"
#include "common/digits.h"
#include "common/jsonout.h"
#include "common/textfold.h"

/* The decimal text of v in c->num[i] (by hand: snprintf cost ~800 instructions a number). */
static const char *num(struct store_call *c, int i, int64_t v)
{
	char d[24], *end = d + sizeof(d), *p = digits_i64(end, v);
	_Static_assert(sizeof(c->num[i]) >= 21, "an int64 and its NUL fit");
	memcpy(c->num[i], p, (size_t)(end - p));
	c->num[i][end - p] = '\0';
	return c->num[i];
}

/* args[] of the call from a local array literal, checked to fit at compile time. */
#define SET_ARGS(c, list)                                                                          \
	do {                                                                                       \
		_Static_assert(sizeof(list) / sizeof((list)[0]) <= STORE_CALL_ARGS,                \
			       "more arguments than STORE_CALL_ARGS");                             \
		(c)->nargs = (int)(sizeof(list) / sizeof((list)[0]));                              \
		for (int i_ = 0; i_ < (c)->nargs; i_++)                                            \
			(c)->args[i_] = (list)[i_];                                                \
	} while (0)

/* keys[] with the idempotency key last when the request carried one. */
static void keys_end(struct store_call *c, int n, const struct store_idem *idem)
{
	c->nkeys = n;
	if (idem->key)
		c->keys[c->nkeys++] = idem->key;
}

void store_call_account_create(struct store_call *c, const char *id, const json_t *doc,
			       const char *by, const struct store_idem *idem, int64_t now_ms,
			       long events_maxlen)
{
	const char *prov = json_string_value(json_object_get(doc, "province"));
	const char *forum = json_string_value(json_object_get(doc, "forum"));
	store_account_fold(doc, c->fold, sizeof(c->fold));
	c->fn = "cm_account_create";
	c->text = json_dumps(doc, JSON_COMPACT);
	c->keys[0] = keys_account(c->key[0], id);
	c->keys[1] = KEY_ACCOUNTS;
	keys_end(c, 2, idem);
	const char *args[] = {id,
			      c->text,
			      json_string_value(json_object_get(doc, "role")),
			      prov ? prov : "",
			      account_scope_csv(doc, "provinces", c->scope[0], sizeof(c->scope[0])),
			      account_scope_csv(doc, "forums", c->scope[1], sizeof(c->scope[1])),
			      num(c, 0, now_ms),
			      by,
			      num(c, 1, events_maxlen),
			      idem->fingerprint ? idem->fingerprint : "",
			      forum ? forum : "",
			      c->fold};
	SET_ARGS(c, args);
}

const char *store_account_fold(const json_t *doc, char *buf, size_t len)
{
	const char *name = json_string_value(json_object_get(doc, "name"));
	char *fold = name ? text_fold_key(name, strlen(name)) : NULL;
	snprintf(buf, len, "%s", fold ? fold : "");
	free(fold);
	return buf;
}

void store_call_token_create(struct store_call *c, const char *id, const char *account,
			     const char *hash, const char *name, const char *by,
			     const struct store_idem *idem, int64_t now_ms, long events_maxlen)
{
	c->fn = "cm_token_create";
	c->text = NULL;
	c->keys[0] = keys_token(c->key[0], hash);
	c->keys[1] = keys_token_id(c->key[1], id);
	c->keys[2] = keys_account_tokens(c->key[2], account);
	c->keys[3] = keys_account(c->key[3], account);
	keys_end(c, 4, idem);
	const char *args[] = {id,
			      account,
			      hash,
			      name,
			      num(c, 0, now_ms),
			      by,
			      num(c, 1, events_maxlen),
			      idem->fingerprint ? idem->fingerprint : ""};
	SET_ARGS(c, args);
}

void store_call_listing_create(struct store_call *c, const char *id, const json_t *doc,
			       const struct store_listing_meta *m, const struct store_idem *idem,
			       int64_t now_ms, long events_maxlen)
{
	c->fn = "cm_listing_create";
	c->text = jsonout_dumps(doc, 0, NULL);
	c->keys[0] = keys_listing(c->key[0], id);
	keys_end(c, 1, idem);
	const char *args[] = {id,
			      c->text,
			      m->kind,
			      m->owner,
			      m->owner_name,
			      m->material,
			      m->province,
			      m->forum,
			      num(c, 0, m->quantity),
			      num(c, 1, m->ends_at),
			      m->fold,
			      num(c, 2, now_ms),
			      num(c, 3, events_maxlen),
			      idem->fingerprint ? idem->fingerprint : "",
			      m->engine,
			      m->after_forum ? m->after_forum : ""};
	SET_ARGS(c, args);
}

void store_call_done(struct store_call *c)
{
	free(c->text);
	c->text = NULL;
}
