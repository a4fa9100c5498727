/*
 * filter — which entries of cm:events one subscriber receives: what its
 * account may see, narrowed by the filters of its request (types, listing).
 *
 * Who may see what, one rule per event family (filter.c, a table):
 *  - listing.*            the listing's owner; moderators whose scope covers
 *                         its province or forum; admins;
 *  - match.*              moderators covering either side's province or forum
 *                         and admins, from the proposal on; the two parties
 *                         once a moderator approved it (approved = "1"): the
 *                         rules of GET /v1/matches (common/match.h);
 *  - account.*, token.*   the account itself and admins;
 *  - any other type       admins only, until a rule says otherwise.
 * Pure: no I/O. The viewer is the account document as loaded when the stream
 * opened.
 */
#ifndef CM_PUSH_FILTER_H
#define CM_PUSH_FILTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "server/store/events.h"

/* The event types craftmatch appends, in a fixed order (bit i of a mask). */
extern const char *const filter_types[];
extern const size_t filter_types_count;

struct filter {
	json_t *viewer;	       /* the subscriber's account document; a reference is held */
	uint32_t types;	       /* bit i: filter_types[i] wanted; 0: every type */
	char listing[IDS_MAX]; /* "" for all, else only events about this listing */
};

/*
 * Parses a comma-separated list of event types ("listing.created,match.approved")
 * into *mask. Returns 0, or -1 with the first unknown or empty item copied into
 * bad (truncated to badlen).
 */
int filter_parse_types(const char *list, uint32_t *mask, char *bad, size_t badlen);

/* The known types, grouped by family: "listing.created|updated|..., match.proposed|...". */
void filter_types_text(char *buf, size_t len);

/* Fills f for viewer (json_incref'd) with no narrowing; filter_clear releases it. */
void filter_init(struct filter *f, json_t *viewer);
void filter_clear(struct filter *f);

/* Whether viewer may see entry e at all. */
int filter_visible(const json_t *viewer, const struct events_entry *e);

/* Whether the subscriber of f receives e: visible, of a wanted type, about its listing. */
int filter_match(const struct filter *f, const struct events_entry *e);

/*
 * Whether a and b receive exactly the same entries: the same narrowing and
 * viewers alike as far as visibility goes (any two admins; else equal
 * account documents). Such subscribers form one audience (server/push/hub.c).
 */
int filter_same(const struct filter *a, const struct filter *b);

/*
 * The keys that index audiences (server/push/audience.c), so that an entry
 * is put only to the audiences that can see it. The rules above compare an
 * entry with four attributes of a viewer, and with nothing else but the
 * admin role: its id, its moderator scope's provinces and forums, and the
 * forum it was registered for. A viewer has a key of each kind for each
 * such attribute it has; an entry has one for each field the rules compare
 * with that attribute (present or not). An entry visible to a viewer that
 * is not an admin shares a key with it; the converse does not hold, so a
 * shared key makes an audience a candidate, and filter_match decides.
 */
enum filter_key {
	FILTER_KEY_ACCOUNT,    /* the viewer's id */
	FILTER_KEY_PROVINCE,   /* a province of a moderator's scope */
	FILTER_KEY_FORUM,      /* a forum of a moderator's scope */
	FILTER_KEY_REGISTERED, /* the forum the account was registered for */
};
typedef void (*filter_key_fn)(enum filter_key kind, const char *value, size_t len, void *arg);

/* Calls fn with each key of viewer. Returns 1 for an admin (sees every entry; no keys), else 0. */
int filter_viewer_keys(const json_t *viewer, filter_key_fn fn, void *arg);
/* Calls fn with each key of e (a key may come more than once). */
void filter_entry_keys(const struct events_entry *e, filter_key_fn fn, void *arg);

#endif
