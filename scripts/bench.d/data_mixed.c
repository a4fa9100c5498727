/*
 * cmbench-data mixed: the request files of the bench's "mixed day" phase (a
 * forum morning: searches, posts and edits, match actions; cmbench-load
 * --mixed plays them, bench.py runs it; data.c says what the tool does).
 *
 *   PREFIX.search.req  marketplace searches, each as one of the accounts:
 *                      by material, kind, province, both; Vietnamese text with
 *                      and without accents, alone or with a material; a
 *                      price range (only with --price-params LO,HI, the
 *                      names of the API's range filter: main's API has none);
 *                      the caller's own listings; page sizes 10-100. The next
 *                      pages (cursor) are followed by cmbench-load from the
 *                      answers.
 *   PREFIX.post.req    POST /v1/needs and /v1/offers: background listings
 *                      (they cross nothing) and, a --cross-share of them,
 *                      crossing ones (the match phase's profile): each gets a
 *                      proposal the load generator then acts on.
 *   PREFIX.patch.req   for the i-th post, the PATCH its owner sends later:
 *                      "PATCH /v1/listings/<24 x X>", the id filled in by
 *                      cmbench-load from the POST's Location; quantity,
 *                      price (a need's ceiling down, an offer's price up, so
 *                      that background listings still cross nothing) or the
 *                      note. A crossing post has none: "-" (its quantity is
 *                      held by its match).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_int.h"

#define PATCH_ID_PLACEHOLDER "XXXXXXXXXXXXXXXXXXXXXXXX" /* as long as "lst_" + 20 */

static FILE *open_out(const char *prefix, const char *suffix, char *path, size_t len)
{
	snprintf(path, len, "%s%s", prefix, suffix);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	return f;
}

static void close_out(FILE *f, const char *path)
{
	if (fclose(f) != 0)
		die("%s: write failed", path);
}

static double rnd_unit(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

/* Text people type into the search box: villages, materials, trade words. */
static const char *const phrases[] = {
    "bat trang", "Bát Tràng", "cao lanh",    "đất sét",	    "men gốm",	  "tơ tằm",
    "to tam",	 "mây tre",   "may tre dan", "Vạn Phúc",    "van phuc",	  "đồng kỵ",
    "dong ky",	 "gỗ",	      "son ta",	     "sơn mài",	    "hợp tác xã", "giao tận xưởng",
    "gia si",	 "giá sỉ",    "xuất khẩu",   "hàng có sẵn", "Phù Lãng",	  "Chuyên Mỹ",
    "kho",	 "Ninh Bình", "Bắc Ninh",    "lang nghe",   "làng nghề",  "co",
};
#define N_PHRASES (sizeof(phrases) / sizeof(phrases[0]))

static void search_path(char *path, size_t len, const char *lo, const char *hi)
{
	char esc[256];
	const struct material *m = pick_material();
	const struct province *p = pick_province();
	const char *kind = chance(0.5) ? "need" : "offer";
	const char *route = kind[0] == 'n' ? "/v1/needs" : "/v1/offers";
	static const int limits[] = {10, 20, 20, 20, 50, 100};
	int limit = limits[rng() % 6];
	long r = (long)(rng() % 100);
	if (r < 18) {
		snprintf(path, len, "%s?material=%s&limit=%d", route, m->code, limit);
	} else if (r < 32) {
		url_escape(chance(0.8) ? p->code : p->name, esc, sizeof(esc));
		snprintf(path, len, "%s?material=%s&province=%s", route, m->code, esc);
	} else if (r < 42) {
		snprintf(path, len, "/v1/listings?kind=%s&province=%s&limit=%d", kind, p->code,
			 limit);
	} else if (r < 58) {
		url_escape(phrases[rng() % N_PHRASES], esc, sizeof(esc));
		snprintf(path, len, "/v1/listings?q=%s", esc);
	} else if (r < 68) {
		url_escape(chance(0.5) ? m->name_vi : phrases[rng() % N_PHRASES], esc, sizeof(esc));
		snprintf(path, len, "%s?material=%s&q=%s", route, m->code, esc);
	} else if (r < 80 && lo != NULL) {
		/* a price range around the reference price, VND per base unit */
		double P = mat_ref_price(m);
		long a = (long)floor(P * (0.5 + 0.5 * rnd_unit()));
		long b = (long)ceil(P * (1.0 + 0.8 * rnd_unit()));
		if (chance(0.3))
			snprintf(path, len, "%s?material=%s&%s=%ld", route, m->code,
				 chance(0.5) ? lo : hi, chance(0.5) ? a : b);
		else
			snprintf(path, len, "%s?material=%s&%s=%ld&%s=%ld", route, m->code, lo, a,
				 hi, b);
	} else if (r < 80) {
		snprintf(path, len, "%s?material=%s&province=%s&limit=%d", route, m->code, p->code,
			 limit);
	} else if (r < 86) {
		snprintf(path, len, "/v1/listings?owner=me&status=any&limit=%d", limit);
	} else if (r < 94) {
		snprintf(path, len, "/v1/listings?kind=%s&material=%s&limit=%d", kind, m->code,
			 limit);
	} else {
		snprintf(path, len, "/v1/listings?province=%s", p->code);
	}
}

/* A PATCH body for a background listing just posted as `b`. */
static char *patch_body(enum listing_kind k, const json_t *b)
{
	json_t *p = json_object();
	long r = (long)(rng() % 100);
	const char *q = json_string_value(json_object_get(b, "quantity"));
	json_int_t price = json_integer_value(json_object_get(b, "price_vnd"));
	if (r < 45 && q) {
		/* the quantity, in the same unit, a whole number of it */
		double nq = floor(atof(q) * (0.8 + 0.45 * rnd_unit()));
		char t[32];
		snprintf(t, sizeof(t), "%.0f", nq < 1 ? 1 : nq);
		json_object_set_new(p, "quantity", json_string(t));
		json_object_set(p, "unit", json_object_get(b, "unit"));
	} else if (r < 85 && price > 0) {
		/* a need's ceiling down, an offer's price up: still crossing nothing */
		double f = k == LISTING_NEED ? 0.90 + 0.09 * rnd_unit() : 1.01 + 0.09 * rnd_unit();
		json_int_t np = (json_int_t)(k == LISTING_NEED ? floor((double)price * f)
							       : ceil((double)price * f));
		json_object_set_new(p, "price_vnd", json_integer(np < 1 ? 1 : np));
	} else {
		json_object_set_new(
		    p, "note",
		    json_string(k == LISTING_NEED ? "Cập nhật: vẫn cần hàng, ưu tiên giao sớm"
						  : "Cập nhật: còn hàng tại kho, giao trong tuần"));
	}
	char *text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	return text;
}

int cmd_mixed(long count, const char *host, const char *price_params, double cross_share,
	      const char *prefix)
{
	char lo[64] = "", hi[64] = "";
	if (price_params && *price_params) {
		const char *comma = strchr(price_params, ',');
		if (comma == NULL || comma == price_params || comma[1] == '\0' ||
		    (size_t)(comma - price_params) >= sizeof(lo) || strlen(comma + 1) >= sizeof(hi))
			die("--price-params wants LO,HI (the API's range filter names)");
		memcpy(lo, price_params, (size_t)(comma - price_params));
		snprintf(hi, sizeof(hi), "%s", comma + 1);
	}
	char sp[1024], pp[1024], xp[1024];
	FILE *fs = open_out(prefix, ".search.req", sp, sizeof(sp));
	FILE *fp = open_out(prefix, ".post.req", pp, sizeof(pp));
	FILE *fx = open_out(prefix, ".patch.req", xp, sizeof(xp));
	for (long i = 0; i < count; i++) {
		char path[512];
		search_path(path, sizeof(path), lo[0] ? lo : NULL, hi[0] ? hi : NULL);
		req_write(fs, "GET", host, path, accts[rng() % n_accts].token, NULL);
	}
	long crossing = 0;
	for (long i = 0; i < count; i++) {
		enum listing_kind k = (i & 1) ? LISTING_OFFER : LISTING_NEED;
		int cross = chance(cross_share);
		const struct acct *a;
		json_t *b = listing_body(k, cross ? PROFILE_CROSS : PROFILE_BACKGROUND, NULL, &a);
		char *text = json_dumps(b, JSON_COMPACT);
		req_write(fp, "POST", host, k == LISTING_NEED ? "/v1/needs" : "/v1/offers",
			  a->token, text);
		free(text);
		if (cross) {
			crossing++;
			fputs("1\n-", fx);
		} else {
			char *pb = patch_body(k, b);
			req_write(fx, "PATCH", host, "/v1/listings/" PATCH_ID_PLACEHOLDER, a->token,
				  pb);
			free(pb);
		}
		json_decref(b);
	}
	close_out(fs, sp);
	close_out(fp, pp);
	close_out(fx, xp);
	printf("{\"searches\": %ld, \"posts\": %ld, \"crossing\": %ld, \"price_range\": %s}\n",
	       count, count, crossing, lo[0] ? "true" : "false");
	return 0;
}
