/*
 * forums (store) — supply-demand forums in Redis.
 *
 * Every create, change and state transition is one function call that
 * writes the forum, its indexes and its event on cm:events together; the
 * transitions that end a forum release its listings in the same call.
 */
#ifndef CM_STORE_FORUMS_H
#define CM_STORE_FORUMS_H

#include <jansson.h>
#include <stdint.h>

#include "common/forum.h"
#include "server/store/accounts.h"
#include "server/store/matches.h"
#include "server/store/store.h"

/* A forum view, as every forum function answers: these fields in this order. */
enum store_forum_field { SFF_DOC, SFF_STATE, SFF_VERSION, SFF_CREATED, SFF_UPDATED, SFF_LISTINGS };

/*
 * id must pass forum_id_ok. value: ["created"|"replay", id, view];
 * CONFLICT when the id is taken.
 */
void store_forum_create(struct store *s, const char *id, const json_t *doc, const char *organiser,
			const char *provinces_csv, const char *by, const struct store_idem *idem,
			store_cb cb, void *arg);

/* value: the view, or null */
void store_forum_get(struct store *s, const char *id, store_cb cb, void *arg);

/* value: the view as written; REFUSED (not editable now), CONFLICT (version) */
void store_forum_update(struct store *s, const char *id, const char *caller,
			const char *expected_version, const json_t *doc, const char *provinces_csv,
			store_cb cb, void *arg);

/* value: the view as written; REFUSED (not from this state), CONFLICT (version) */
void store_forum_transition(struct store *s, const char *id, const struct forum_transition *t,
			    const char *caller, const char *expected_version,
			    const struct store_idem *idem, store_cb cb, void *arg);

struct store_forum_query {
	const char *state, *province; /* validated; NULL = any */
	int drafts;		      /* drafts listed too */
	const char *cursor;	      /* NULL = first page */
	int limit;
};

/* value: [next cursor or "", [[id, view fields...], ...]] */
void store_forum_search(struct store *s, const struct store_forum_query *q, store_cb cb, void *arg);

/*
 * The forum's held listings, for its clearing. value: [[id, engine record,
 * remaining, version, seq]...].
 */
void store_forum_held(struct store *s, const char *id, store_cb cb, void *arg);

/* One page of a clearing's batch (all borrowed). */
struct store_clearing {
	const struct store_proposal *p;
	const int64_t *landed_vnd; /* per proposal */
	size_t n;
	int64_t expires_at;
	const char *status; /* "optimal" | "feasible" (transport_status_str) */
	int64_t greedy_quantity, greedy_landed_vnd;
	const char *run;			/* the clearing run's id */
	int page;				/* 1, 2, … */
	int last;				/* the last page: hands the forum on */
	const struct forum_transition *cleared; /* forum_cleared */
};

/*
 * Proposes one page of the batch between the forum's held listings (each
 * proposal checked as store_match_propose checks it; stale ones refused)
 * in one call (cm_forum_clear_page); the last page moves the forum along
 * c->cleared. value: ["page", proposed, refused] | ["done", forum view,
 * totals JSON text] | ["applied", forum view, totals or false] (a page of
 * this run already applied). REFUSED: the forum left clearing, another run
 * took over, or a page out of order.
 */
void store_forum_clear_page(struct store *s, const char *id, const struct store_clearing *c,
			    store_cb cb, void *arg);

/* value: the ids of the forums in state (at most limit, oldest first). */
void store_forum_in_state(struct store *s, const char *state, int limit, store_cb cb, void *arg);

/* value: [report JSON text, clearing totals JSON text or null] (cm_forum_report). */
void store_forum_report(struct store *s, const char *id, store_cb cb, void *arg);

#endif
