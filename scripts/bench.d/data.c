/*
 * cmbench-data — the data side of scripts/bench.
 *
 *   cmbench-data accounts --redis H:P --admin ACC --villages N --suppliers N
 *                         --moderators N [--seed S] --out FILE
 *   cmbench-data listings --redis H:P --accounts FILE --count N [--profile P]
 *                         [--material CODE --kind need|offer] [--seed S]
 *                         [--forum ID]
 *   cmbench-data one      --accounts FILE --profile P --kind K --seed S --index I
 *                         (prints one request body, for the loader self-check)
 *   cmbench-data requests --accounts FILE --count N --profile P --kind need|offer|mix
 *                         [--material CODE] [--seed S] [--host H:P] --out FILE
 *   cmbench-data searches --accounts FILE --count N [--seed S] --out FILE
 *   cmbench-data cursor   --redis H:P
 *   cmbench-data plan     --candidates N --subjects M [--material CODE] [--seed S]
 *                         [--subject need|offer] [--profile P] [--substitutes yes|no]
 *                         [--method runs|full]
 *
 * Accounts, tokens and listings are written exactly as craftmatchd writes
 * them: the request body goes through the server's own validation and
 * document code (common/: account_from_request, listing_from_request,
 * listing_search_text, ids_new, ids_token_hash), and the result is stored by
 * the same Redis functions with the KEYS and ARGV that server/store/calls.c
 * builds for the server too (cm_account_create, cm_token_create,
 * cm_listing_create), pipelined. Only the HTTP hop is skipped. scripts/bench checks this at
 * every run by posting a listing through the API and comparing the stored
 * hash with one written here from the same body.
 *
 * Profiles (prices per material are drawn around a reference price P, per
 * base unit; Peff is the least P over the material and its substitutes):
 *   background  needs ask at most 0.50-0.95 Peff, offers ask 1.0-1.6 P:
 *               no need and offer of it ever cross, so the engine proposes
 *               nothing and the data stays as loaded ("open").
 *   cross       needs offer 1.7-2.5 P with no grade floor and no distance
 *               limit, offers ask 0.30-0.45 Peff: each crosses most
 *               background counterparts of its material. A tenth of the
 *               quantities, so a few thousand of them do not drain the
 *               background they match against.
 *   wide        as cross, with five times a background quantity: above every
 *               offer's minimum order, so a need is compatible with all the
 *               open offers of its material (the engine phase's worst case).
 *   forum       as background, but needs' ceilings are 0.9-1.8 P and offers
 *               ask 0.8-1.4 P: a forum's market, where many pairs cross
 *               (the clearing phase; with --forum ID, every listing
 *               registers for that open forum and is held for its clearing).
 *
 * --exclude CODE: materials drawn by weight are never CODE (a --material
 * CODE still is): the engine phase keeps one material's candidates exact.
 *
 * Request files (for cmbench-load): per request a line with its length in
 * bytes, then the raw HTTP/1.1 request.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/account.h"
#include "common/ids.h"
#include "common/listing.h"
#include "common/matching.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "server/store/calls.h"

#define EVENTS_MAXLEN 1000000L /* craftmatchd's --events-maxlen default */
#define PIPELINE 512

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cmbench-data: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- deterministic randomness ---------------------------------------- */

static uint64_t rng_state = 88172645463325252ull;

static void rng_seed(uint64_t s)
{
	rng_state = s * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
	if (rng_state == 0)
		rng_state = 1;
}

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static double rnd01(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

static long rnd_between(long lo, long hi) /* inclusive */
{
	return lo + (long)(rng() % (uint64_t)(hi - lo + 1));
}

static int chance(double p)
{
	return rnd01() < p;
}

/* ---- reference prices and weights --------------------------------------- */

#include "refprices.h"

static const struct mat_ref *mat_ref(const struct material *m)
{
	for (size_t i = 0; i < sizeof(mat_refs) / sizeof(mat_refs[0]); i++)
		if (strcmp(mat_refs[i].code, m->code) == 0)
			return &mat_refs[i];
	return NULL;
}

static double mat_price(const struct material *m)
{
	const struct mat_ref *r = mat_ref(m);
	return r ? r->price : 20000;
}

static int mat_weight(const struct material *m)
{
	const struct mat_ref *r = mat_ref(m);
	return r ? r->weight : 1;
}

/* The least reference price over m and its substitutes, either way. */
static double mat_price_eff(const struct material *m)
{
	double p = mat_price(m);
	for (size_t i = 0; i < materials_count(); i++) {
		const struct material *o = materials_at(i);
		if (o != m && (materials_is_substitute(m, o) || materials_is_substitute(o, m)) &&
		    mat_price(o) < p)
			p = mat_price(o);
	}
	return p;
}

/* --exclude: a material drawn by weight never is (the engine phase's own). */
static const struct material *excluded;

static int mat_weight_drawn(const struct material *m)
{
	return m == excluded ? 0 : mat_weight(m);
}

static const struct material *pick_material(void)
{
	long total = 0;
	for (size_t i = 0; i < materials_count(); i++)
		total += mat_weight_drawn(materials_at(i));
	long r = rnd_between(0, total - 1);
	for (size_t i = 0; i < materials_count(); i++) {
		r -= mat_weight_drawn(materials_at(i));
		if (r < 0)
			return materials_at(i);
	}
	return materials_at(0);
}

/* Northern provinces (the forums' region) four times as likely. */
static const struct province *pick_province(void)
{
	long total = 0;
	size_t n = provinces_count();
	for (size_t i = 0; i < n; i++)
		total += provinces_at(i)->region == PROVINCE_NORTH ? 4 : 1;
	long r = rnd_between(0, total - 1);
	for (size_t i = 0; i < n; i++) {
		r -= provinces_at(i)->region == PROVINCE_NORTH ? 4 : 1;
		if (r < 0)
			return provinces_at(i);
	}
	return provinces_at(0);
}

static const char *const villages[] = {
    "Bát Tràng", "Vạn Phúc", "Phú Vinh", "Hạ Thái",    "Chuyên Mỹ",   "Đồng Kỵ",
    "Kim Sơn",	 "Phù Lãng", "Thổ Hà",	 "Đông Hồ",    "Làng Chuông", "Ninh Sở",
    "Quảng Bố",	 "Xuân Lai", "Nhị Khê",	 "Sơn Đồng",   "Chàng Sơn",   "Phú Lãng",
    "Thanh Hà",	 "Dương Ổ",  "Tân Lập",	 "Hương Canh", "La Phù",      "Triều Khúc",
    "Đình Bảng", "Cự Đà",    "Bình Đà",	 "Vân Hà",     "Hòa Bình",    "Yên Thái",
};
#define N_VILLAGES (sizeof(villages) / sizeof(villages[0]))

static const char *const need_notes[] = {
    "Cần %s cho làng nghề %s, giao tận xưởng",
    "Xưởng %2$s cần %1$s đều hàng, thanh toán khi nhận",
    "Hợp tác xã %2$s cần mua %1$s cho đơn hàng xuất khẩu",
    "Cần %s chất lượng ổn định, có hóa đơn, giao về %s",
    "Thu mua %s số lượng lớn cho làng nghề %s",
};
static const char *const offer_notes[] = {
    "%s hàng có sẵn tại kho, giao được đi %s",
    "Cung cấp %s loại tốt, nhận đơn từ làng nghề %s",
    "%s khai thác tại địa phương, đã sơ chế, gần %s",
    "Bán %s giá sỉ, có xe chở tới %s",
    "%s nguồn gốc rõ ràng, đóng bao sẵn, giao %s",
};
#define N_NOTES 5

static const char *const forums[] = {"dien-dan-cung-cau-ha-noi-2026", "dien-dan-bac-ninh-2026",
				     "dien-dan-ninh-binh-2026"};

/* ---- accounts ---------------------------------------------------------- */

struct acct {
	char id[IDS_MAX];
	char role[16];
	char province[8];
	char token[IDS_TOKEN_MAX];
	char name[160];
};

static struct acct *accts;
static size_t n_accts;
static size_t *by_role[2]; /* 0: villages, 1: suppliers */
static size_t n_by_role[2];

static void accounts_read(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	char line[1024];
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (n_accts == cap) {
			cap = cap ? cap * 2 : 1024;
			accts = realloc(accts, cap * sizeof(*accts));
		}
		struct acct *a = &accts[n_accts];
		char *save = NULL, *tok[5];
		int k = 0;
		for (char *p = strtok_r(line, "\t", &save); p && k < 5;
		     p = strtok_r(NULL, "\t", &save))
			tok[k++] = p;
		if (k != 5)
			continue;
		snprintf(a->id, sizeof(a->id), "%s", tok[0]);
		snprintf(a->role, sizeof(a->role), "%s", tok[1]);
		snprintf(a->province, sizeof(a->province), "%s", tok[2]);
		snprintf(a->token, sizeof(a->token), "%s", tok[3]);
		snprintf(a->name, sizeof(a->name), "%s", tok[4]);
		n_accts++;
	}
	fclose(f);
	for (int r = 0; r < 2; r++) {
		by_role[r] = calloc(n_accts + 1, sizeof(size_t));
		for (size_t i = 0; i < n_accts; i++)
			if (strcmp(accts[i].role, r == 0 ? "village" : "supplier") == 0)
				by_role[r][n_by_role[r]++] = i;
		if (n_by_role[r] == 0)
			die("%s: no %s accounts", path, r == 0 ? "village" : "supplier");
	}
}

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
static json_t *as_received(const json_t *body)
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

static const char *const supplier_kinds[] = {"Công ty TNHH", "Hộ kinh doanh", "Cơ sở", "Hợp tác xã",
					     "Công ty cổ phần"};

static int cmd_accounts(const char *redis, const char *admin, long villages_n, long suppliers_n,
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

/* ---- listing bodies --------------------------------------------------- */

enum profile { PROFILE_BACKGROUND, PROFILE_CROSS, PROFILE_WIDE, PROFILE_FORUM };

/* --forum ID: listings register for this (open) forum; NULL none. */
static const char *forum_id;

static enum profile profile_parse(const char *s)
{
	if (s == NULL || strcmp(s, "background") == 0)
		return PROFILE_BACKGROUND;
	if (strcmp(s, "cross") == 0)
		return PROFILE_CROSS;
	if (strcmp(s, "wide") == 0)
		return PROFILE_WIDE;
	if (strcmp(s, "forum") == 0)
		return PROFILE_FORUM;
	die("unknown profile '%s' (background, cross or wide)", s);
	return PROFILE_BACKGROUND;
}

static void date_in_days(long days, char buf[16])
{
	time_t t = time(NULL) + 7 * 3600 + days * 86400; /* a Vietnamese calendar day */
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

/* A decimal amount string for base units in a unit of factor f (exact). */
static void amount_text(int64_t base, int64_t f, char *buf, size_t len)
{
	if (base % f == 0) {
		snprintf(buf, len, "%" PRId64, base / f);
	} else {
		/* one or more decimals; f is a power of ten for every unit here */
		int64_t whole = base / f, frac = base % f, den = f;
		char fr[48];
		int d = 0;
		while (den > 1) {
			den /= 10;
			d++;
		}
		snprintf(fr, sizeof(fr), "%0*" PRId64, d > 18 ? 18 : d, frac);
		size_t l = strlen(fr);
		while (l > 0 && fr[l - 1] == '0')
			fr[--l] = '\0';
		snprintf(buf, len, "%" PRId64 ".%s", whole, fr);
	}
}

/*
 * A POST /v1/needs or /v1/offers body, and the account that posts it.
 * material may force one material (NULL: drawn by weight).
 */
static json_t *listing_body(enum listing_kind kind, enum profile prof, const struct material *m,
			    const struct acct **owner)
{
	const struct acct *a = &accts[by_role[kind == LISTING_NEED ? 0 : 1]
					     [rng() % n_by_role[kind == LISTING_NEED ? 0 : 1]]];
	*owner = a;
	if (m == NULL)
		m = pick_material();
	const struct province *p = chance(0.8) ? provinces_find(a->province) : pick_province();
	if (p == NULL)
		p = pick_province();
	json_t *b = json_object();
	json_object_set_new(b, "material", json_string(m->code));

	/* quantity: a unit of the material (larger ones more often), an exact amount */
	size_t ui = m->n_units > 1 && chance(0.7) ? m->n_units - 1 - (size_t)(rng() % 2) : 0;
	if (ui >= m->n_units)
		ui = 0;
	const struct material_unit *u = &m->units[ui];
	int64_t base;
	if (u->factor >= 1000)
		base = rnd_between(2, 400) * u->factor / 2; /* 1 .. 200 units, halves */
	else if (u->factor >= 10)
		base = rnd_between(5, 300) * u->factor;
	else
		base = rnd_between(20, 5000) * u->factor;
	if (prof == PROFILE_CROSS) {
		/* a tenth of a background listing: crossing ones must not drain the pool */
		base = base / 10 / u->factor * u->factor;
		if (base < u->factor)
			base = u->factor;
	} else if (prof == PROFILE_WIDE) {
		/* above every background offer's minimum order: all candidates compatible */
		base *= 5;
	}
	char amt[48];
	amount_text(base, u->factor, amt, sizeof(amt));
	json_object_set_new(b, "quantity", json_string(amt));
	json_object_set_new(b, "unit", json_string(chance(0.5) ? u->name : u->code));

	/* price per unit (the quantity's unit, or the base unit) */
	double P = mat_price(m), Peff = mat_price_eff(m), mult;
	if (prof == PROFILE_FORUM)
		/* a forum's market: ceilings and asking prices overlap around P */
		mult = kind == LISTING_NEED ? 0.9 + 0.9 * rnd01() : 0.8 + 0.6 * rnd01();
	else if (kind == LISTING_NEED)
		mult = prof == PROFILE_BACKGROUND ? Peff / P * (0.50 + 0.45 * rnd01())
						  : 1.7 + 0.8 * rnd01();
	else
		mult = prof == PROFILE_BACKGROUND ? 1.0 + 0.6 * rnd01()
						  : Peff / P * (0.30 + 0.15 * rnd01());
	int per_base = chance(0.3);
	int64_t pf = per_base ? 1 : u->factor;
	int64_t vnd = (int64_t)floor(P * mult * (double)pf);
	if (kind == LISTING_NEED && prof == PROFILE_BACKGROUND)
		vnd = (int64_t)floor(P * mult * (double)pf); /* floor keeps it under */
	else if (kind == LISTING_OFFER && prof == PROFILE_BACKGROUND)
		vnd = (int64_t)ceil(P * mult * (double)pf);
	if (vnd < 1)
		vnd = 1;
	json_object_set_new(b, "price_vnd", json_integer(vnd));
	if (per_base)
		json_object_set_new(b, "price_unit", json_string(m->units[0].code));

	/* grade */
	if (kind == LISTING_OFFER)
		json_object_set_new(b, "grade", json_string(m->grades[rng() % m->n_grades]));
	else if ((prof == PROFILE_BACKGROUND || prof == PROFILE_FORUM) && chance(0.5))
		json_object_set_new(
		    b, "grade",
		    json_string(m->grades[m->n_grades > 1 ? 1 + rng() % (m->n_grades - 1) : 0]));

	/* place */
	json_object_set_new(b, "province", json_string(chance(0.9) ? p->code : p->name));
	const char *village = villages[rng() % N_VILLAGES];
	if (chance(0.7))
		json_object_set_new(b, "commune", json_string(village));
	if (chance(0.3)) {
		double lat = p->lat_udeg / 1e6 + (rnd01() - 0.5) * 0.3;
		double lon = p->lon_udeg / 1e6 + (rnd01() - 0.5) * 0.3;
		json_object_set_new(b, "location",
				    json_pack("{s:f, s:f}", "lat", round(lat * 1e4) / 1e4, "lon",
					      round(lon * 1e4) / 1e4));
	}
	char d[16];
	if (kind == LISTING_NEED) {
		date_in_days(prof == PROFILE_CROSS || prof == PROFILE_WIDE ? rnd_between(200, 400)
									   : rnd_between(30, 180),
			     d);
		json_object_set_new(b, "needed_by", json_string(d));
		if ((prof == PROFILE_BACKGROUND || prof == PROFILE_FORUM) && chance(0.3))
			json_object_set_new(b, "accept_substitutes", json_true());
	} else {
		if (chance(0.4)) {
			date_in_days(rnd_between(400, 700), d);
			json_object_set_new(b, "available_until", json_string(d));
		}
		if (chance(0.3)) {
			char mo[48];
			int64_t mb = base / 20 / u->factor * u->factor;
			if (mb >= u->factor) {
				amount_text(mb, u->factor, mo, sizeof(mo));
				json_object_set_new(b, "min_order", json_string(mo));
			}
		}
	}
	if ((prof == PROFILE_BACKGROUND || prof == PROFILE_FORUM) && chance(0.2))
		json_object_set_new(b, "max_distance_km", json_integer(rnd_between(150, 1500)));
	char note[512];
	const char *fmt =
	    kind == LISTING_NEED ? need_notes[rng() % N_NOTES] : offer_notes[rng() % N_NOTES];
	snprintf(note, sizeof(note), fmt, m->name_vi, kind == LISTING_NEED ? village : p->name);
	if (chance(0.8))
		json_object_set_new(b, "note", json_string(note));
	return b;
}

static enum listing_kind pick_kind(const char *kind, long i)
{
	if (kind == NULL || strcmp(kind, "mix") == 0)
		return (i & 1) ? LISTING_OFFER : LISTING_NEED;
	if (strcmp(kind, "need") == 0)
		return LISTING_NEED;
	if (strcmp(kind, "offer") == 0)
		return LISTING_OFFER;
	die("unknown kind '%s' (need, offer or mix)", kind);
	return LISTING_NEED;
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

static int cmd_listings(const char *redis, long count, enum profile prof, const char *material,
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
static int cmd_one(enum profile prof, const char *kind, const char *redis)
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

/* ---- request files ------------------------------------------------------ */

static void req_write(FILE *f, const char *method, const char *host, const char *path,
		      const char *token, const char *body)
{
	char head[1024];
	size_t bl = body ? strlen(body) : 0;
	int n;
	if (body)
		n = snprintf(
		    head, sizeof(head),
		    "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%sContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n",
		    method, path, host, token ? "Authorization: Bearer " : "", token ? token : "",
		    token ? "\r\n" : "", bl);
	else
		n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", method,
			     path, host, token ? "Authorization: Bearer " : "", token ? token : "",
			     token ? "\r\n" : "");
	fprintf(f, "%zu\n", (size_t)n + bl);
	fwrite(head, 1, (size_t)n, f);
	if (body)
		fwrite(body, 1, bl, f);
}

static int cmd_requests(long count, enum profile prof, const char *kind, const char *material,
			const char *host, const char *out)
{
	FILE *f = fopen(out, "w");
	if (f == NULL)
		die("%s: %s", out, strerror(errno));
	const struct material *m = NULL;
	if (material && (m = materials_find(material)) == NULL)
		die("unknown material '%s'", material);
	for (long i = 0; i < count; i++) {
		enum listing_kind k = pick_kind(kind, i);
		const struct acct *a;
		json_t *b = listing_body(k, prof, m, &a);
		char *text = json_dumps(b, JSON_COMPACT);
		req_write(f, "POST", host, k == LISTING_NEED ? "/v1/needs" : "/v1/offers", a->token,
			  text);
		free(text);
		json_decref(b);
	}
	if (fclose(f) != 0)
		die("%s: write failed", out);
	return 0;
}

static void url_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
			out[o++] = (char)*p;
		else if (*p == ' ')
			out[o++] = '+';
		else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/* A mix of the searches people make: by material, province, both, text, kind. */
static int cmd_searches(long count, const char *host, const char *out)
{
	static const char *const texts[] = {"bat trang", "cao lanh", "may",	   "tre",
					    "gom",	 "Vạn Phúc", "đồng kỵ",	   "son ta",
					    "co",	 "kho",	     "hop tac xa", "tơ tằm"};
	FILE *f = fopen(out, "w");
	if (f == NULL)
		die("%s: %s", out, strerror(errno));
	for (long i = 0; i < count; i++) {
		const struct acct *a = &accts[rng() % n_accts];
		char path[512], esc[256];
		const struct material *m = pick_material();
		const struct province *p = pick_province();
		const char *kind = chance(0.5) ? "need" : "offer";
		switch (i % 6) {
		case 0:
			snprintf(path, sizeof(path), "/v1/listings?material=%s", m->code);
			break;
		case 1:
			snprintf(path, sizeof(path), "/v1/offers?material=%s&province=%s", m->code,
				 p->code);
			break;
		case 2:
			snprintf(path, sizeof(path), "/v1/listings?kind=%s&province=%s&limit=50",
				 kind, p->code);
			break;
		case 3:
			url_escape(texts[rng() % (sizeof(texts) / sizeof(texts[0]))], esc,
				   sizeof(esc));
			snprintf(path, sizeof(path), "/v1/listings?q=%s", esc);
			break;
		case 4:
			url_escape(texts[rng() % (sizeof(texts) / sizeof(texts[0]))], esc,
				   sizeof(esc));
			snprintf(path, sizeof(path), "/v1/needs?material=%s&q=%s", m->code, esc);
			break;
		default:
			snprintf(path, sizeof(path), "/v1/listings?kind=%s", kind);
			break;
		}
		req_write(f, "GET", host, path, a->token, NULL);
	}
	if (fclose(f) != 0)
		die("%s: write failed", out);
	return 0;
}

/* ---- engine cursor -------------------------------------------------------- */

/*
 * After a bulk load the engine's feed cursor goes to the end of cm:events:
 * what an engine that saw every listing.created (and, the data never
 * crossing, proposed nothing) would have saved.
 */
static int cmd_cursor(const char *redis)
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

/* ---- plan timing ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int listing_to_matching(enum listing_kind kind, const json_t *body, const struct acct *a,
			       int64_t seq, struct matching_listing *out)
{
	json_t *errors = NULL;
	json_t *rb = as_received(body);
	json_t *doc = listing_from_request(kind, rb, now_ms(), &errors);
	json_decref(rb);
	if (doc == NULL)
		die("plan: body refused");
	char id[IDS_MAX];
	ids_new("lst", id);
	json_object_set_new(doc, "id", json_string(id));
	json_object_set_new(doc, "owner", json_string(a->id));
	const char *why = NULL;
	int rc = matching_listing_from_doc(out, doc, listing_quantity_base(doc), 1, seq, &why);
	json_decref(doc);
	if (rc < 0)
		die("plan: matching_listing_from_doc: %s", why ? why : "?");
	return 0;
}

#define PLAN_LISTS_MAX 8

/* The order of the engine's lists (matching_row_key): offers ascending, needs descending. */
static int plan_by_key(const void *pa, const void *pb)
{
	const struct matching_listing *a = *(const struct matching_listing *const *)pa;
	const struct matching_listing *b = *(const struct matching_listing *const *)pb;
	int64_t x = matching_row_key(a), y = matching_row_key(b);
	int c = (x > y) - (x < y);
	return a->kind == LISTING_OFFER ? c : -c;
}

/* One material's background listings of a kind, as the engine's index keeps them. */
struct plan_list {
	struct matching_listing *ls;
	const struct matching_listing **ptrs;
	struct matching_row *rows;
	size_t n;
};

static void plan_list_make(struct plan_list *pl, enum listing_kind kind, const struct material *m,
			   long n, int64_t *seq)
{
	pl->n = (size_t)n;
	pl->ls = calloc(pl->n ? pl->n : 1, sizeof(*pl->ls));
	pl->ptrs = calloc(pl->n ? pl->n : 1, sizeof(*pl->ptrs));
	pl->rows = calloc(pl->n ? pl->n : 1, sizeof(*pl->rows));
	for (size_t i = 0; i < pl->n; i++) {
		const struct acct *a;
		json_t *b = listing_body(kind, PROFILE_BACKGROUND, m, &a);
		listing_to_matching(kind, b, a, ++*seq, &pl->ls[i]);
		json_decref(b);
		pl->ptrs[i] = &pl->ls[i];
	}
	qsort(pl->ptrs, pl->n, sizeof(*pl->ptrs), plan_by_key);
	for (size_t i = 0; i < pl->n; i++)
		matching_row_fill(&pl->rows[i], pl->ptrs[i]);
}

/*
 * The engine's planning step alone, as server/engine/index.c makes it:
 * `cands` background listings of the other kind in key order with their
 * rows, one list per material (the material's, and with --substitutes yes
 * its substitutes' too, the candidates split evenly; needs as subjects then
 * accept substitutes), and matching_plan_runs, timed in thread CPU per
 * subject: new listings of --profile (default wide: crossing every
 * candidate on price) of --subject need|offer. --method full times
 * matching_plan over the same candidates instead: the plain plan that
 * offers and substitute-taking needs got before matching_plan_runs.
 */
static int cmd_plan(long ncand, long nsubj, const char *material, const char *subject,
		    const char *profile, const char *substitutes, const char *method)
{
	enum listing_kind skind = LISTING_NEED;
	if (subject && strcmp(subject, "offer") == 0)
		skind = LISTING_OFFER;
	else if (subject && strcmp(subject, "need") != 0)
		die("--subject need|offer");
	enum listing_kind ckind = skind == LISTING_NEED ? LISTING_OFFER : LISTING_NEED;
	int subst = substitutes && strcmp(substitutes, "yes") == 0;
	int full = method && strcmp(method, "full") == 0;
	if (method && !full && strcmp(method, "runs") != 0)
		die("--method runs|full");
	const struct material *m = materials_find(material ? material
						  : subst  ? "white_clay"
							   : "clay");
	if (m == NULL)
		die("unknown material");
	enum profile prof = profile ? profile_parse(profile) : PROFILE_WIDE;
	/* owners: the plan only compares owner ids */
	static struct acct fake[2];
	snprintf(fake[0].id, IDS_MAX, "acc_00000000000000000000");
	snprintf(fake[0].role, 16, "village");
	snprintf(fake[0].province, 8, "HN");
	snprintf(fake[1].id, IDS_MAX, "acc_11111111111111111111");
	snprintf(fake[1].role, 16, "supplier");
	snprintf(fake[1].province, 8, "HN");
	if (n_accts == 0) {
		accts = fake;
		n_accts = 2;
		static size_t v0 = 0, s1 = 1;
		by_role[0] = &v0;
		by_role[1] = &s1;
		n_by_role[0] = n_by_role[1] = 1;
	}

	/* the lists: the material's, then its substitutes' (either way), as the index */
	const struct material *mats[PLAN_LISTS_MAX];
	size_t n_mats = 0;
	mats[n_mats++] = m;
	for (size_t i = 0; subst && i < materials_count() && n_mats < PLAN_LISTS_MAX; i++) {
		const struct material *o = materials_at(i);
		if (o != m && (materials_is_substitute(m, o) || materials_is_substitute(o, m)))
			mats[n_mats++] = o;
	}
	if (subst && n_mats == 1)
		die("%s has no substitutes", m->code);
	struct plan_list lists[PLAN_LISTS_MAX];
	struct matching_run runs[PLAN_LISTS_MAX];
	int64_t seq = 0;
	for (size_t k = 0; k < n_mats; k++) {
		long share = ncand / (long)n_mats + ((long)k < ncand % (long)n_mats);
		plan_list_make(&lists[k], ckind, mats[k], share, &seq);
		runs[k] = (struct matching_run){lists[k].ptrs, lists[k].rows, lists[k].n};
	}
	const struct matching_listing **all = calloc((size_t)ncand + 1, sizeof(*all));
	size_t n_all = 0;
	for (size_t k = 0; k < n_mats; k++)
		for (size_t i = 0; i < lists[k].n; i++)
			all[n_all++] = lists[k].ptrs[i];

	uint64_t *ns = calloc((size_t)nsubj, sizeof(*ns));
	size_t total_considered = 0, total_allocs = 0, total_compatible = 0;
	struct matching_alloc allocs[5];
	for (long s = 0; s < nsubj; s++) {
		const struct acct *a;
		struct matching_listing subj;
		json_t *b = listing_body(skind, prof, m, &a);
		listing_to_matching(skind, b, a, ++seq, &subj);
		json_decref(b);
		if (subst && skind == LISTING_NEED)
			subj.accept_substitutes = 1;
		size_t considered = 0, k;
		int64_t now = now_ms();
		uint64_t t0 = thread_ns();
		if (full)
			k = matching_plan(&subj, all, n_all, now, 3000, allocs, 5, &considered);
		else
			k = matching_plan_runs(&subj, runs, n_mats, now, 3000, allocs, 5,
					       &considered);
		ns[s] = thread_ns() - t0;
		total_considered += considered;
		total_allocs += k;
		total_compatible += k ? allocs[0].compatible : 0;
	}
	qsort(ns, (size_t)nsubj, sizeof(*ns), cmp_u64);
	double sum = 0;
	for (long s = 0; s < nsubj; s++)
		sum += (double)ns[s];
	printf(
	    "{\"candidates\": %ld, \"subjects\": %ld, \"material\": \"%s\", \"subject\": \"%s\", "
	    "\"lists\": %zu, \"method\": \"%s\", "
	    "\"median_us\": %.1f, \"mean_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
	    "\"considered_mean\": %.1f, \"allocations_mean\": %.2f, "
	    "\"compatible_mean\": %.1f}\n",
	    ncand, nsubj, m->code, skind == LISTING_NEED ? "need" : "offer", n_mats,
	    full ? "full" : "runs", ns[nsubj / 2] / 1e3, sum / nsubj / 1e3,
	    ns[(size_t)(nsubj * 0.9)] / 1e3, ns[(size_t)(nsubj * 0.99)] / 1e3,
	    (double)total_considered / nsubj, (double)total_allocs / nsubj,
	    (double)total_compatible / nsubj);
	for (size_t k = 0; k < n_mats; k++) {
		free(lists[k].ls);
		free(lists[k].ptrs);
		free(lists[k].rows);
	}
	free(all);
	free(ns);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static const char data_usage[] =
    "usage: cmbench-data accounts|listings|one|requests|searches|cursor|plan [options]\n"
    "  accounts --redis H:P --admin ACC --villages N --suppliers N --moderators N [--seed S]\n"
    "           --out FILE\n"
    "  listings --redis H:P --accounts FILE --count N [--profile P] [--material CODE\n"
    "           --kind need|offer] [--seed S] [--forum ID]\n"
    "  one      --accounts FILE --profile P --kind K --seed S --index I\n"
    "  requests --accounts FILE --count N --profile P --kind need|offer|mix [--material CODE]\n"
    "           [--seed S] [--host H:P] --out FILE\n"
    "  searches --accounts FILE --count N [--seed S] --out FILE\n"
    "  cursor   --redis H:P\n"
    "  plan     --candidates N --subjects M [--material CODE] [--seed S]\n"
    "           [--subject need|offer] [--profile P] [--substitutes yes|no] [--method runs|full]\n"
    "(the top of scripts/bench.d/data.c says what each does)\n";

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(data_usage, stdout);
			return 0;
		}
	if (argc < 2) {
		fputs(data_usage, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	const char *redis = NULL, *admin = NULL, *out = NULL, *accounts = NULL, *profile = NULL,
		   *kind = NULL, *material = NULL, *host = "127.0.0.1", *subject = NULL,
		   *substitutes = NULL, *method = NULL;
	long villages_n = 0, suppliers_n = 0, moderators_n = 0, count = 0, seed = 1,
	     candidates = 10000, subjects = 1000;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			die("%s needs a value", o);
		i++;
		if (strcmp(o, "--redis") == 0)
			redis = v;
		else if (strcmp(o, "--admin") == 0)
			admin = v;
		else if (strcmp(o, "--out") == 0)
			out = v;
		else if (strcmp(o, "--accounts") == 0)
			accounts = v;
		else if (strcmp(o, "--profile") == 0)
			profile = v;
		else if (strcmp(o, "--kind") == 0)
			kind = v;
		else if (strcmp(o, "--material") == 0)
			material = v;
		else if (strcmp(o, "--host") == 0)
			host = v;
		else if (strcmp(o, "--subject") == 0)
			subject = v;
		else if (strcmp(o, "--substitutes") == 0)
			substitutes = v;
		else if (strcmp(o, "--method") == 0)
			method = v;
		else if (strcmp(o, "--forum") == 0)
			forum_id = v;
		else if (strcmp(o, "--exclude") == 0) {
			if ((excluded = materials_find(v)) == NULL)
				die("unknown material '%s'", v);
		} else if (strcmp(o, "--villages") == 0)
			villages_n = atol(v);
		else if (strcmp(o, "--suppliers") == 0)
			suppliers_n = atol(v);
		else if (strcmp(o, "--moderators") == 0)
			moderators_n = atol(v);
		else if (strcmp(o, "--count") == 0)
			count = atol(v);
		else if (strcmp(o, "--seed") == 0)
			seed = atol(v);
		else if (strcmp(o, "--candidates") == 0)
			candidates = atol(v);
		else if (strcmp(o, "--subjects") == 0)
			subjects = atol(v);
		else
			die("unknown option %s", o);
	}
	rng_seed((uint64_t)seed);
	if (strcmp(cmd, "accounts") == 0) {
		if (!redis || !admin || !out)
			die("accounts needs --redis, --admin and --out");
		return cmd_accounts(redis, admin, villages_n, suppliers_n, moderators_n, out);
	}
	if (strcmp(cmd, "cursor") == 0) {
		if (!redis)
			die("cursor needs --redis");
		return cmd_cursor(redis);
	}
	if (strcmp(cmd, "plan") == 0) {
		if (accounts)
			accounts_read(accounts);
		return cmd_plan(candidates, subjects, material, subject, profile, substitutes,
				method);
	}
	if (!accounts)
		die("%s needs --accounts", cmd);
	accounts_read(accounts);
	if (strcmp(cmd, "listings") == 0) {
		if (!redis)
			die("listings needs --redis");
		return cmd_listings(redis, count, profile_parse(profile), material, kind);
	}
	if (strcmp(cmd, "one") == 0)
		return cmd_one(profile_parse(profile), kind, redis);
	if (!out)
		die("%s needs --out", cmd);
	if (strcmp(cmd, "requests") == 0)
		return cmd_requests(count, profile_parse(profile), kind, material, host, out);
	if (strcmp(cmd, "searches") == 0)
		return cmd_searches(count, host, out);
	die("unknown command '%s'", cmd);
	return 2;
}
