/*
 * cmbench-data's Redis side: accounts, tokens and listings stored by the
 * server's own document code and Redis functions (server/store/calls.c),
 * pipelined, and the engine cursor after a bulk load.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data_int.h"

#define EVENTS_MAXLEN 1000000L /* craftmatchd's --events-maxlen default */
#define PIPELINE 512

/* ---- Redis ---------------------------------------------------------------- */

static redisContext *redis_open(const char *hostport)
{
	char host[128];
	int port = 6379;
	const char *colon = strrchr(hostport, ':');
	if (colon) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
		port = atoi(colon + 1);
	} else {
		snprintf(host, sizeof(host), "%s", hostport);
	}
	redisContext *c = redisConnect(host, port);
	if (c == NULL || c->err)
		die("cannot connect to Redis at %s: %s", hostport, c ? c->errstr : "out of memory");
	return c;
}

/* Pipelined writes: append, and every PIPELINE commands read the replies. */
static size_t pipe_pending;
static const char *pipe_what;

static void pipe_check(redisReply *r)
{
	if (r == NULL)
		die("Redis connection lost while writing %s", pipe_what);
	if (r->type == REDIS_REPLY_ERROR)
		die("Redis refused a %s: %s", pipe_what, r->str);
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "created") != 0)
		die("unexpected reply writing %s", pipe_what);
}

static void pipe_drain(redisContext *c, size_t keep)
{
	while (pipe_pending > keep) {
		redisReply *r = NULL;
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			die("Redis: %s", c->errstr);
		pipe_check(r);
		freeReplyObject(r);
		pipe_pending--;
	}
}

/* One call as the store builds it (server/store/calls.c), pipelined. */
static void pipe_call(redisContext *c, const struct store_call *call)
{
	const char *argv[3 + STORE_CALL_KEYS + STORE_CALL_ARGS];
	size_t lens[3 + STORE_CALL_KEYS + STORE_CALL_ARGS];
	char nk[8];
	int n = 0;
	snprintf(nk, sizeof(nk), "%d", call->nkeys);
	argv[n++] = "FCALL";
	argv[n++] = call->fn;
	argv[n++] = nk;
	for (int i = 0; i < call->nkeys; i++)
		argv[n++] = call->keys[i];
	for (int i = 0; i < call->nargs; i++)
		argv[n++] = call->args[i];
	for (int i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	pipe_what = call->fn;
	if (redisAppendCommandArgv(c, n, argv, lens) != REDIS_OK)
		die("Redis: %s", c->errstr);
	pipe_pending++;
	if (pipe_pending >= 2 * PIPELINE)
		pipe_drain(c, PIPELINE);
}

static const struct store_idem no_idem = {NULL, NULL};

static void time_text(int64_t ms, char buf[32]) /* as server/clock.c clock_text */
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* A JSON body as the server receives it: dumped to text and parsed back. */
json_t *as_received(const json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_error_t err;
	json_t *v = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, &err);
	free(text);
	if (v == NULL)
		die("generated body does not parse: %s", err.text);
	return v;
}

/* As server/api/accounts.c + server/store/accounts.c store_account_create. */
static void store_account(redisContext *c, const json_t *body, const char *by, char id[IDS_MAX])
{
	json_t *errors = NULL;
	json_t *rb = as_received(body);
	json_t *doc = account_from_request(rb, &errors);
	json_decref(rb);
	if (doc == NULL) {
		char *e = json_dumps(errors, 0);
		die("account body refused by account_from_request: %s", e);
	}
	char when[32];
	int64_t t = now_ms();
	ids_new("acc", id);
	json_object_set_new(doc, "id", json_string(id));
	time_text(t, when);
	json_object_set_new(doc, "created_at", json_string(when));
	json_object_set_new(doc, "created_by", json_string(by));
	struct store_call call;
	store_call_account_create(&call, id, doc, by, &no_idem, t, EVENTS_MAXLEN);
	pipe_call(c, &call);
	store_call_done(&call);
	json_decref(doc);
}

/* As server/api/tokens.c + store_token_create; returns the secret in token. */
static void store_token(redisContext *c, const char *account, const char *by,
			char token[IDS_TOKEN_MAX])
{
	char id[IDS_MAX], hash[IDS_TOKEN_HASH_HEX];
	ids_new("tok", id);
	ids_token_new(token);
	ids_token_hash(token, strlen(token), hash);
	struct store_call call;
	store_call_token_create(&call, id, account, hash, "bench", by, &no_idem, now_ms(),
				EVENTS_MAXLEN);
	pipe_call(c, &call);
	store_call_done(&call);
}

static const char *const forums[] = {"dien-dan-cung-cau-ha-noi-2026", "dien-dan-bac-ninh-2026",
				     "dien-dan-ninh-binh-2026"};

static const char *const supplier_kinds[] = {"Công ty TNHH", "Hộ kinh doanh", "Cơ sở", "Hợp tác xã",
					     "Công ty cổ phần"};

int cmd_accounts(const char *redis, const char *admin, long villages_n, long suppliers_n,
		 long moderators_n, const char *out)
{
	redisContext *c = redis_open(redis);
	FILE *f = fopen(out, "w");
	if (f == NULL)
		die("%s: %s", out, strerror(errno));
	double t0 = mono();
	long total = villages_n + suppliers_n + moderators_n;
	struct acct *list = calloc((size_t)total, sizeof(*list));
	for (long i = 0; i < total; i++) {
		struct acct *a = &list[i];
		const struct province *p = pick_province();
		int ri = i < moderators_n ? 0 : i < moderators_n + villages_n ? 1 : 2;
		const char *role = ri == 0 ? "moderator" : ri == 1 ? "village" : "supplier";
		const char *place = villages[rng() % N_VILLAGES];
		if (ri == 0)
			snprintf(a->name, sizeof(a->name), "Trung tâm Khuyến công %s (bench %ld)",
				 p->name, i);
		else if (ri == 1)
			snprintf(a->name, sizeof(a->name), "Hợp tác xã làng nghề %s số %ld", place,
				 i);
		else
			snprintf(a->name, sizeof(a->name), "%s %s %s số %ld",
				 supplier_kinds[rng() % 5], pick_material()->name_vi, p->name, i);
		json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "role", role, "name",
					 a->name, "province", p->code, "commune", place, "contact",
					 "phone", "0912 345 678", "email", "lienhe@example.vn");
		if (ri == 0)
			json_object_set_new(body, "scope",
					    json_pack("{s:[s], s:[s]}", "provinces", p->code,
						      "forums", forums[i % 3]));
		store_account(c, body, admin, a->id);
		json_decref(body);
		snprintf(a->role, sizeof(a->role), "%s", role);
		snprintf(a->province, sizeof(a->province), "%s", p->code);
	}
	pipe_drain(c, 0);
	for (long i = 0; i < total; i++)
		store_token(c, list[i].id, admin, list[i].token);
	pipe_drain(c, 0);
	for (long i = 0; i < total; i++)
		fprintf(f, "%s\t%s\t%s\t%s\t%s\n", list[i].id, list[i].role, list[i].province,
			list[i].token, list[i].name);
	if (fclose(f) != 0)
		die("%s: write failed", out);
	printf("{\"accounts\": %ld, \"seconds\": %.3f}\n", total, mono() - t0);
	free(list);
	redisFree(c);
	return 0;
}

/* As server/api/listings.c listings_post + store_listing_create. */
static void store_listing(redisContext *c, enum listing_kind kind, const json_t *body,
			  const struct acct *a)
{
	json_t *errors = NULL;
	int64_t t = now_ms();
	json_t *rb = as_received(body);
	json_t *doc = listing_from_request(kind, rb, t, &errors);
	json_decref(rb);
	if (doc == NULL) {
		char *e = json_dumps(errors, 0);
		char *bt = json_dumps(body, 0);
		die("listing body refused by listing_from_request: %s\nbody: %s", e, bt);
	}
	char id[IDS_MAX];
	ids_new("lst", id);
	json_object_set_new(doc, "id", json_string(id));
	json_object_set_new(doc, "owner", json_string(a->id));
	char *fold = listing_search_text(doc, a->name);
	const char *forum = json_string_value(json_object_get(doc, "forum"));
	/* The engine record, as server/api/listings.c listings_engine_record. */
	char engine[MATCHING_RECORD_MAX] = "";
	struct matching_listing ml;
	if (matching_listing_from_doc(&ml, doc, listing_quantity_base(doc), 1, 0, NULL) < 0 ||
	    matching_listing_encode(&ml, engine, sizeof(engine)) < 0)
		engine[0] = '\0';
	/* The meta, as server/api/listings.c listings_post fills it. */
	struct store_listing_meta m = {
	    .kind = listing_kind_name(kind),
	    .owner = a->id,
	    .owner_name = a->name,
	    .material = json_string_value(json_object_get(doc, "material")),
	    .province = json_string_value(json_object_get(doc, "province")),
	    .forum = forum ? forum : "",
	    .quantity = listing_quantity_base(doc),
	    .ends_at = listing_ends_at(doc),
	    .fold = fold ? fold : "",
	    .engine = engine,
	    .after_forum = json_string_value(json_object_get(doc, "after_forum")),
	};
	struct store_call call;
	store_call_listing_create(&call, id, doc, &m, &no_idem, t, EVENTS_MAXLEN);
	pipe_call(c, &call);
	store_call_done(&call);
	free(fold);
	json_decref(doc);
}

int cmd_listings(const char *redis, long count, enum profile prof, const char *material,
		 const char *kind)
{
	redisContext *c = redis_open(redis);
	const struct material *m = NULL;
	if (material && (m = materials_find(material)) == NULL)
		die("unknown material '%s'", material);
	double t0 = mono();
	for (long i = 0; i < count; i++) {
		enum listing_kind k = pick_kind(kind, rng());
		const struct acct *a;
		json_t *b = listing_body(k, prof, m, &a);
		if (forum_id)
			json_object_set_new(b, "forum", json_string(forum_id));
		store_listing(c, k, b, a);
		json_decref(b);
	}
	pipe_drain(c, 0);
	double dt = mono() - t0;
	printf("{\"listings\": %ld, \"seconds\": %.3f, \"per_second\": %.0f}\n", count, dt,
	       dt > 0 ? count / dt : 0);
	redisFree(c);
	return 0;
}

/* One body and its owner, for the loader self-check: "<kind>\t<owner index>\t<body>". */
int cmd_one(enum profile prof, const char *kind, const char *redis)
{
	enum listing_kind k = pick_kind(kind, 0);
	const struct acct *a;
	json_t *b = listing_body(k, prof, NULL, &a);
	char *text = json_dumps(b, JSON_COMPACT);
	printf("%s\t%s\t%s\t%s\n", listing_kind_name(k), a->id, a->token, text);
	if (redis) {
		redisContext *c = redis_open(redis);
		store_listing(c, k, b, a);
		pipe_drain(c, 0);
		redisFree(c);
	}
	free(text);
	json_decref(b);
	return 0;
}

/* ---- engine cursor -------------------------------------------------------- */

/*
 * After a bulk load the engine's feed cursor goes to the end of cm:events:
 * what an engine that saw every listing.created (and, the data never
 * crossing, proposed nothing) would have saved.
 */
int cmd_cursor(const char *redis)
{
	redisContext *c = redis_open(redis);
	redisReply *r = redisCommand(c, "XREVRANGE cm:events + - COUNT 1");
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 1)
		die("cm:events is empty or unreadable");
	char id[64];
	snprintf(id, sizeof(id), "%s", r->element[0]->element[0]->str);
	freeReplyObject(r);
	r = redisCommand(c, "FCALL cm_engine_cursor 1 cm:engine:cursor %s", id);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		die("cm_engine_cursor failed: %s", r ? r->str : c->errstr);
	freeReplyObject(r);
	printf("{\"cursor\": \"%s\"}\n", id);
	redisFree(c);
	return 0;
}
