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
 * id must pass forum_id_ok; closes_at: when its registration closes by
 * itself (forum_closes_at), ms. value: ["created"|"replay", id, view];
 * CONFLICT when the id is taken.
 */
void store_forum_create(struct store *s, const char *id, const json_t *doc, const char *organiser,
			const char *provinces_csv, int64_t closes_at, const char *by,
			const struct store_idem *idem, store_cb cb, void *arg);

/* value: the view, or null */
void store_forum_get(struct store *s, const char *id, store_cb cb, void *arg);

/* value: the view as written; REFUSED (not editable now), CONFLICT (version) */
void store_forum_update(struct store *s, const char *id, const char *caller,
			const char *expected_version, const json_t *doc, const char *provinces_csv,
			int64_t closes_at, store_cb cb, void *arg);

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

/* The fields of each row of store_forum_held's answer. */
enum store_forum_held_field { SFH_ID, SFH_RECORD, SFH_REMAINING, SFH_VERSION, SFH_SEQ };

/*
 * The forum's held listings, for its clearing. value: [[id, engine record,
 * remaining, version, seq]...] (enum store_forum_held_field).
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
	int timeout_ms; /* the call's deadline; 0: the link's (--redis-timeout-ms) */
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
enum store_forum_page_field {
	SFP_OUTCOME, /* "page", "done" or "applied" */
	SFP_VIEW,    /* "done", "applied": the forum view (store_forum_field) */
	SFP_TOTALS,  /* "done", "applied": the totals JSON text (or false) */
};
/* A "page" answer's counts, after SFP_OUTCOME. */
enum store_forum_page_count { SFP_PROPOSED = 1, SFP_REFUSED = 2 };
void store_forum_clear_page(struct store *s, const char *id, const struct store_clearing *c,
			    store_cb cb, void *arg);

/* value: the ids of the forums in state (at most limit, oldest first). */
void store_forum_in_state(struct store *s, const char *state, int limit, store_cb cb, void *arg);

/* The fields of store_forum_report's answer. */
enum store_forum_report_field { SFR_REPORT, SFR_TOTALS };
/* value: [report JSON text, clearing totals JSON text or null] (enum store_forum_report_field). */
void store_forum_report(struct store *s, const char *id, store_cb cb, void *arg);

/*
 * The review of a clearing's batch as one batch (cm_forum_review): action
 * "approve" or "reject" on the n selected matches (mat_ ids checked by the
 * caller; n = 0: every proposed match of the batch), with reason (reject)
 * and the deadline an approved match takes. value: ["done"|"replay",
 * [match ids], proposed left] or ["refused", [[match id, why]...]];
 * REFUSED when the forum is not in review or nothing is left to review.
 */
enum store_forum_review_field { SFV_OUTCOME, SFV_MATCHES, SFV_LEFT };
/* Each row of a refused review's match list. */
enum store_forum_refusal_field { SFX_MATCH, SFX_WHY };
void store_forum_review(struct store *s, const char *id, const char *action, const char *caller,
			const char *reason, int64_t expires_at, const char *const *matches,
			size_t n, const struct store_idem *idem, store_cb cb, void *arg);

/*
 * The forum's batch, the first limit matches by seq. value: [matches in
 * the batch, [[id, match fields in store_match_field order, need's owner
 * name, offer's owner name]...], [state, count, ...] of the whole batch].
 */
enum store_forum_batch_field { SFB_COUNT, SFB_ROWS, SFB_STATES };
/* Each row of the batch: the match's id, its fields from SFB_FIELDS on
 * (store_match_field order), then the two owners' names. */
enum store_forum_batch_row { SFB_ID, SFB_FIELDS };
void store_forum_batch(struct store *s, const char *id, int limit, store_cb cb, void *arg);

/* The open forums whose registration closes by now_ms. value: [forum ids] (limit at most). */
void store_forum_due(struct store *s, int64_t now_ms, int limit, store_cb cb, void *arg);

#endif
