/*
 * match — the rules of seeing and acting on matches (see match.h).
 */
#include "common/match.h"

#include <string.h>

#include "common/account.h"

enum match_side match_side_of(const json_t *viewer, const struct match_facts *m)
{
	const char *id = json_string_value(json_object_get(viewer, "id"));
	if (id == NULL)
		return MATCH_SIDE_NONE;
	if (strcmp(id, m->need_owner) == 0)
		return MATCH_SIDE_NEED;
	if (strcmp(id, m->offer_owner) == 0)
		return MATCH_SIDE_OFFER;
	return MATCH_SIDE_NONE;
}

const char *match_side_name(enum match_side side)
{
	return side == MATCH_SIDE_NEED ? "need" : side == MATCH_SIDE_OFFER ? "offer" : "";
}

int match_moderates(const json_t *viewer, const struct match_facts *m)
{
	return account_covers(viewer, m->need_province, m->need_forum) ||
	       account_covers(viewer, m->offer_province, m->offer_forum);
}

int match_visible(const json_t *viewer, const struct match_facts *m)
{
	if (match_moderates(viewer, m))
		return 1;
	return m->approved && match_side_of(viewer, m) != MATCH_SIDE_NONE;
}

static const struct {
	const char *action;
	int moderator; /* 1: moderators in scope and admins; 0: parties */
	int need_only; /* only the need's owner (fulfil) */
} match_actions[] = {
    {"approve", 1, 0}, {"reject", 1, 0},  {"cancel", 1, 0},
    {"accept", 0, 0},  {"decline", 0, 0}, {"fulfil", 0, 1},
};

int match_may_act(const json_t *viewer, const struct match_facts *m, const char *action,
		  const char **why)
{
	for (size_t i = 0; i < sizeof(match_actions) / sizeof(match_actions[0]); i++) {
		if (strcmp(match_actions[i].action, action) != 0)
			continue;
		if (match_actions[i].moderator) {
			if (match_moderates(viewer, m))
				return 1;
			*why = "only a moderator whose scope covers this match, or an admin, may "
			       "do this";
			return 0;
		}
		enum match_side side = match_side_of(viewer, m);
		if (side == MATCH_SIDE_NONE || !m->approved) {
			*why = "only the two parties of an approved match may do this";
			return 0;
		}
		if (match_actions[i].need_only && side != MATCH_SIDE_NEED) {
			*why = "only the village that posted the need confirms delivery";
			return 0;
		}
		return 1;
	}
	*why = "unknown action";
	return 0;
}

int match_contacts_open(const char *state)
{
	return strcmp(state, "confirmed") == 0 || strcmp(state, "fulfilled") == 0;
}

void match_reputation_sides(const json_t *viewer, const struct match_facts *m, int *need,
			    int *offer)
{
	*need = *offer = 0;
	if (match_moderates(viewer, m)) {
		*need = *offer = 1;
		return;
	}
	if (!m->approved)
		return;
	enum match_side side = match_side_of(viewer, m);
	*need = side == MATCH_SIDE_OFFER;
	*offer = side == MATCH_SIDE_NEED;
}
