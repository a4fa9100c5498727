/*
 * match — who may see and do what with a match. Pure: no I/O.
 *
 * A match's life: proposed → approved | rejected (moderator) → accepted by
 * each party → confirmed (both) → fulfilled; or declined (a party),
 * cancelled (a moderator), expired (not answered in time). Moderators see
 * and review matches touching their provinces or forums; parties see their
 * matches from approval on; admins see and do everything a moderator does.
 */
#ifndef CM_MATCH_H
#define CM_MATCH_H

#include <jansson.h>

/* The parts of a match the rules look at (borrowed strings; "" when absent). */
struct match_facts {
	const char *state;
	const char *need_owner, *offer_owner;
	const char *need_province, *offer_province;
	const char *need_forum, *offer_forum;
	int approved; /* approved_at is set: parties may see it */
};

enum match_side { MATCH_SIDE_NONE, MATCH_SIDE_NEED, MATCH_SIDE_OFFER };

/* Which party viewer is in the match (by account id). */
enum match_side match_side_of(const json_t *viewer, const struct match_facts *m);
const char *match_side_name(enum match_side side);

/* A moderator in scope of either listing, or an admin. */
int match_moderates(const json_t *viewer, const struct match_facts *m);

/* Whether viewer may see the match at all. */
int match_visible(const json_t *viewer, const struct match_facts *m);

/*
 * Whether viewer may take action (approve, reject, accept, decline, fulfil,
 * cancel); 0 with a reason otherwise. The state itself is checked
 * atomically by the store, not here.
 */
int match_may_act(const json_t *viewer, const struct match_facts *m, const char *action,
		  const char **why);

/* Contact details of the other party show only in these states. */
int match_contacts_open(const char *state);

/*
 * Whose reputation viewer sees on match m: *need and *offer set to 1 or 0.
 * Moderators of the match and admins see both sides always; a party sees
 * the other party's from approval on (never its own here: it has
 * GET /v1/accounts/{id}/reputation); anyone else neither.
 */
void match_reputation_sides(const json_t *viewer, const struct match_facts *m, int *need,
			    int *offer);

#endif
