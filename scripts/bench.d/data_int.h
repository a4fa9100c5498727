/*
 * cmbench-data's private header: what its files share. data.c holds the
 * request files' commands and main (and says what the tool does),
 * data_model.c the helpers (die, clocks, a request file's records, URL
 * escaping), the randomness, reference prices, accounts file and listing
 * bodies, data_redis.c what is written to Redis, data_plan.c the plan timing,
 * data_mixed.c the mixed day's request files.
 * One thread: the state below is plain globals, each defined in the file
 * named above its declaration.
 */
#ifndef CMBENCH_DATA_H
#define CMBENCH_DATA_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/account.h"
#include "common/ids.h"
#include "common/listing.h"
#include "common/matching.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "server/store/calls.h"

/* One line of the accounts file. */
struct acct {
	char id[IDS_MAX];
	char role[16];
	char province[8];
	char token[IDS_TOKEN_MAX];
	char name[160];
};

enum profile { PROFILE_BACKGROUND, PROFILE_CROSS, PROFILE_WIDE, PROFILE_FORUM };

/* ---- data_model.c: the helpers ---------------------------------------------- */

void die(const char *fmt, ...);
int64_t now_ms(void);
double mono(void);

/* One HTTP/1.1 request of a request file: its length line, then its bytes. */
void req_write(FILE *f, const char *method, const char *host, const char *path, const char *token,
	       const char *body);
/* URL query escaping: unreserved bytes kept, space as '+', the rest %XX. */
void url_escape(const char *s, char *out, size_t len);

/* ---- data_model.c: the data ------------------------------------------------- */

void rng_seed(uint64_t s);
uint64_t rng(void);
int chance(double p);

/* --exclude: a material drawn by weight never is (the engine phase's own). */
extern const struct material *excluded;
const struct material *pick_material(void);
/* The material's reference price, VND per base unit (refprices.h). */
double mat_ref_price(const struct material *m);
/* Northern provinces (the forums' region) four times as likely. */
const struct province *pick_province(void);

#define N_VILLAGES 30
extern const char *const villages[N_VILLAGES];

extern struct acct *accts;
extern size_t n_accts;
extern size_t *by_role[2]; /* 0: villages, 1: suppliers */
extern size_t n_by_role[2];
void accounts_read(const char *path);

/* --forum ID: listings register for this (open) forum; NULL none. */
extern const char *forum_id;
enum profile profile_parse(const char *s);
/*
 * A POST /v1/needs or /v1/offers body, and the account that posts it.
 * material may force one material (NULL: drawn by weight).
 */
json_t *listing_body(enum listing_kind kind, enum profile prof, const struct material *m,
		     const struct acct **owner);
enum listing_kind pick_kind(const char *kind, long i);

/* ---- data_redis.c --------------------------------------------------------- */

/* A JSON body as the server receives it: dumped to text and parsed back. */
json_t *as_received(const json_t *body);
int cmd_accounts(const char *redis, const char *admin, long villages_n, long suppliers_n,
		 long moderators_n, const char *out);
int cmd_listings(const char *redis, long count, enum profile prof, const char *material,
		 const char *kind);
/* One body and its owner, for the loader self-check: "<kind>\t<owner index>\t<body>". */
int cmd_one(enum profile prof, const char *kind, const char *redis);
int cmd_cursor(const char *redis);

/* ---- data_mixed.c --------------------------------------------------------- */

/* The mixed day's request files: PREFIX.search.req, .post.req, .patch.req. */
int cmd_mixed(long count, const char *host, const char *price_params, double cross_share,
	      const char *prefix);

/* ---- data_plan.c ---------------------------------------------------------- */

int cmd_plan(long ncand, long nsubj, const char *material, const char *subject, const char *profile,
	     const char *substitutes, const char *method);

#endif
