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
 *   cmbench-data mixed    --accounts FILE --count N [--seed S] [--cross-share F]
 *                         [--price-params LO,HI] --out PREFIX
 *                         (the mixed day's searches, posts and edits: data_mixed.c)
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
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "data_int.h"

/* ---- request files ------------------------------------------------------ */

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

/* ---- main ---------------------------------------------------------------- */

static const char data_usage[] =
    "usage: cmbench-data accounts|listings|one|requests|searches|mixed|cursor|plan [options]\n"
    "  accounts --redis H:P --admin ACC --villages N --suppliers N --moderators N [--seed S]\n"
    "           --out FILE\n"
    "  listings --redis H:P --accounts FILE --count N [--profile P] [--material CODE\n"
    "           --kind need|offer] [--seed S] [--forum ID]\n"
    "  one      --accounts FILE --profile P --kind K --seed S --index I\n"
    "  requests --accounts FILE --count N --profile P --kind need|offer|mix [--material CODE]\n"
    "           [--seed S] [--host H:P] --out FILE\n"
    "  searches --accounts FILE --count N [--seed S] --out FILE\n"
    "  mixed    --accounts FILE --count N [--seed S] [--cross-share F] [--price-params LO,HI]\n"
    "           --out PREFIX\n"
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
		   *substitutes = NULL, *method = NULL, *price_params = NULL;
	double cross_share = 0.3;
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
		else if (strcmp(o, "--price-params") == 0)
			price_params = v;
		else if (strcmp(o, "--cross-share") == 0)
			cross_share = atof(v);
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
	if (strcmp(cmd, "mixed") == 0)
		return cmd_mixed(count, host, price_params, cross_share, out);
	die("unknown command '%s'", cmd);
	return 2;
}
