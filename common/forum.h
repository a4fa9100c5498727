/*
 * forum — the supply-demand forum as a resource: checking a POST or PATCH
 * body into a stored document, and the table of its state transitions.
 *
 * A forum document: {id, name, organiser, provinces:[codes], venue,
 * registration_opens, registration_closes, forum_day ("YYYY-MM-DD", days
 * in Vietnam; registration_closes may also be an RFC 3339 date-time),
 * materials:[codes], created_by}. Its state and version are
 * kept beside the document by the store, never inside it.
 *
 * Pure: no I/O, no clock. The Redis function that changes a forum's state
 * is told the states it may leave and the one it goes to from the table
 * here, so the rule lives in one place.
 */
#ifndef CM_FORUM_H
#define CM_FORUM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FORUM_ID_MIN 3	       /* characters of a forum id (FIELDS_FORUM_MAX at most) */
#define FORUM_NAME_MAX 200     /* characters */
#define FORUM_VENUE_MAX 300    /* characters */
#define FORUM_PROVINCES_MAX 34 /* every province-level unit at most */
#define FORUM_MATERIALS_MAX 50

/*
 * Whether s is an id a new forum may take: a forum id (fields_forum_id_ok:
 * a-z, 0-9 and '-', not starting with '-') of FORUM_ID_MIN characters at
 * least, not ending with '-' and without "--". Only such ids become part of
 * a Redis key (cm:forum:<id>).
 */
int forum_id_ok(const char *s);

/*
 * Checks a POST /v1/forums body. Returns a new document (id, name,
 * provinces, venue, the three dates, materials; organiser only when the
 * body names one), or NULL with every problem appended to *errors.
 */
json_t *forum_from_request(const json_t *body, json_t **errors);

/*
 * Applies a PATCH body (name, venue, provinces, the dates, materials) to a
 * stored document. Returns a new document, or NULL with every problem
 * appended to *errors; the dates are checked again in their new order.
 */
json_t *forum_apply_patch(const json_t *doc, const json_t *body, json_t **errors);

/*
 * When a checked document's registration closes by itself, in ms since the
 * epoch: the end of its registration_closes day in Vietnam (the first ms
 * of the next day), or the date-time it gives. 0, or -1 when it has none.
 */
int forum_closes_at(const json_t *doc, int64_t *ms);

/* The province codes of a document joined by commas into buf ("" none). */
const char *forum_provinces_csv(const json_t *doc, char *buf, size_t len);

/* Whether the document lists province code among its provinces. */
int forum_has_province(const json_t *doc, const char *code);

/*
 * One state transition: the action route's name (POST /v1/forums/{id}/<name>),
 * the states it may leave (comma-separated, as the Redis function takes
 * them) and the state it enters.
 */
struct forum_transition {
	const char *action;
	const char *from;
	const char *to;
};

/* The transition named action, or NULL. */
const struct forum_transition *forum_transition_find(const char *action);

/*
 * The transition by which the clearing, once done, hands the forum to the
 * organiser's review (clearing → review). Not a route: the call that
 * proposes the last page of the clearing's batch (cm_forum_clear_page)
 * makes this step, told the states it may leave and enters from here (as
 * cm_forum_transition is told a route's), and every earlier page checks
 * the forum is still in one it may leave.
 */
extern const struct forum_transition forum_cleared;

/* States in which a forum's document may still be changed (PATCH). */
#define FORUM_EDITABLE_STATES "draft,open"

/* 1 when s is a forum state ("draft", "open", "clearing", "review", "closed", "cancelled"). */
int forum_state_ok(const char *s);

#endif
