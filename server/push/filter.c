/*
 * filter — the visibility rules and request filters of /v1/events (see filter.h).
 */
#include "server/push/filter.h"

#include <stdio.h>
#include <string.h>

#include "common/account.h"
#include "common/match.h"

const char *const filter_types[] = {
    "listing.created", "listing.updated",   "listing.closed",	   "listing.expired",
    "listing.filled",  "match.proposed",    "match.approved",	   "match.rejected",
    "match.accepted",  "match.confirmed",   "match.declined",	   "match.fulfilled",
    "match.cancelled", "match.expired",	    "account.created",	   "token.created",
    "token.revoked",   "forum.created",	    "forum.updated",	   "forum.open",
    "forum.clearing",  "forum.review",	    "forum.closed",	   "forum.cancelled",
    "account.updated", "account.suspended", "account.reactivated",
};
const size_t filter_types_count = sizeof(filter_types) / sizeof(filter_types[0]);

static int filter_type_index(const char *type, size_t len)
{
	for (size_t i = 0; i < filter_types_count; i++)
		if (strlen(filter_types[i]) == len && memcmp(filter_types[i], type, len) == 0)
			return (int)i;
	return -1;
}

int filter_parse_types(const char *list, uint32_t *mask, char *bad, size_t badlen)
{
	*mask = 0;
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		int i = filter_type_index(p, n);
		if (i < 0) {
			snprintf(bad, badlen, "%.*s", (int)n, p);
			return -1;
		}
		*mask |= 1u << i;
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

void filter_types_text(char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < filter_types_count && o < len; i++) {
		const char *dot = strchr(filter_types[i], '.');
		size_t family = (size_t)(dot - filter_types[i]) + 1;
		int same = i > 0 && strncmp(filter_types[i - 1], filter_types[i], family) == 0;
		int n = same ? snprintf(buf + o, len - o, "|%s", dot + 1)
			     : snprintf(buf + o, len - o, "%s%s", i ? ", " : "", filter_types[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

void filter_init(struct filter *f, json_t *viewer)
{
	memset(f, 0, sizeof(*f));
	f->viewer = json_incref(viewer);
}

void filter_clear(struct filter *f)
{
	json_decref(f->viewer);
	f->viewer = NULL;
}

static int filter_is_viewer(const json_t *viewer, const char *account)
{
	const char *id = json_string_value(json_object_get(viewer, "id"));
	return id && *account && strcmp(id, account) == 0;
}

static int filter_listing_rule(const json_t *viewer, const struct events_entry *e)
{
	return filter_is_viewer(viewer, events_field(e, "owner")) ||
	       account_covers(viewer, events_field(e, "province"), events_field(e, "forum"));
}

static int filter_match_rule(const json_t *viewer, const struct events_entry *e)
{
	struct match_facts m = {
	    .state = events_field(e, "state"),
	    .need_owner = events_field(e, "need_owner"),
	    .offer_owner = events_field(e, "offer_owner"),
	    .need_province = events_field(e, "need_province"),
	    .offer_province = events_field(e, "offer_province"),
	    .need_forum = events_field(e, "need_forum"),
	    .offer_forum = events_field(e, "offer_forum"),
	    .approved = strcmp(events_field(e, "approved"), "1") == 0,
	};
	return match_visible(viewer, &m);
}

static int filter_self_rule(const json_t *viewer, const struct events_entry *e)
{
	return filter_is_viewer(viewer, events_field(e, "account"));
}

/*
 * A forum's events: its organiser, the moderators whose scope holds the
 * forum or one of its provinces, and the villages and suppliers registered
 * for it (their account's forum) — once it is no longer a draft.
 */
static int filter_forum_rule(const json_t *viewer, const struct events_entry *e)
{
	const char *forum = events_field(e, "forum");
	if (filter_is_viewer(viewer, events_field(e, "organiser")) ||
	    account_covers(viewer, NULL, forum))
		return 1;
	char code[16];
	for (const char *p = events_field(e, "provinces"); *p;) {
		size_t n = strcspn(p, ",");
		snprintf(code, sizeof(code), "%.*s", (int)(n < sizeof(code) ? n : 0), p);
		if (account_covers(viewer, code, NULL))
			return 1;
		p += n + (p[n] == ',');
	}
	const char *registered = json_string_value(json_object_get(viewer, "forum"));
	return strcmp(e->type, "forum.created") != 0 && strcmp(events_field(e, "state"), "draft") &&
	       registered && *forum && strcmp(registered, forum) == 0;
}

static const struct {
	const char *prefix;
	int (*visible)(const json_t *viewer, const struct events_entry *e);
} filter_rules[] = {
    {"listing.", filter_listing_rule}, {"match.", filter_match_rule},
    {"account.", filter_self_rule},    {"token.", filter_self_rule},
    {"forum.", filter_forum_rule},
};

int filter_visible(const json_t *viewer, const struct events_entry *e)
{
	if (account_role_of(viewer) == ACCOUNT_ADMIN)
		return 1;
	for (size_t i = 0; i < sizeof(filter_rules) / sizeof(filter_rules[0]); i++)
		if (strncmp(e->type, filter_rules[i].prefix, strlen(filter_rules[i].prefix)) == 0)
			return filter_rules[i].visible(viewer, e);
	return 0;
}

/* Whether e concerns the listing: its own events, and the matches it is a side of. */
static int filter_about_listing(const struct events_entry *e, const char *listing)
{
	return strcmp(events_field(e, "listing"), listing) == 0 ||
	       strcmp(events_field(e, "need"), listing) == 0 ||
	       strcmp(events_field(e, "offer"), listing) == 0;
}

int filter_match(const struct filter *f, const struct events_entry *e)
{
	if (f->types) {
		int i = filter_type_index(e->type, strlen(e->type));
		if (i < 0 || !(f->types & (1u << i)))
			return 0;
	}
	if (f->listing[0] && !filter_about_listing(e, f->listing))
		return 0;
	return filter_visible(f->viewer, e);
}

int filter_same(const struct filter *a, const struct filter *b)
{
	if (a->types != b->types || strcmp(a->listing, b->listing) != 0)
		return 0;
	if (a->viewer == b->viewer)
		return 1;
	int admin_a = account_role_of(a->viewer) == ACCOUNT_ADMIN;
	int admin_b = account_role_of(b->viewer) == ACCOUNT_ADMIN;
	if (admin_a || admin_b)
		return admin_a && admin_b;
	return json_equal(a->viewer, b->viewer);
}

int filter_viewer_keys(const json_t *viewer, filter_key_fn fn, void *arg)
{
	enum account_role role = account_role_of(viewer);
	if (role == ACCOUNT_ADMIN)
		return 1;
	const char *id = json_string_value(json_object_get(viewer, "id"));
	if (id)
		fn(FILTER_KEY_ACCOUNT, id, strlen(id), arg);
	const char *registered = json_string_value(json_object_get(viewer, "forum"));
	if (registered)
		fn(FILTER_KEY_REGISTERED, registered, strlen(registered), arg);
	if (role == ACCOUNT_MODERATOR) {
		json_t *scope = json_object_get(viewer, "scope");
		static const struct {
			const char *name;
			enum filter_key kind;
		} lists[] = {{"provinces", FILTER_KEY_PROVINCE}, {"forums", FILTER_KEY_FORUM}};
		for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
			size_t i;
			json_t *v;
			json_array_foreach(json_object_get(scope, lists[l].name), i, v)
			{
				if (json_is_string(v))
					fn(lists[l].kind, json_string_value(v),
					   json_string_length(v), arg);
			}
		}
	}
	return 0;
}

/*
 * The fields each rule compares with a viewer's attribute (see the rules
 * above): owners, parties, the account and the organiser with its id; the
 * provinces and forums with a moderator's scope; the forum with the one it
 * was registered for. "provinces" is a comma-separated list.
 */
static const struct {
	const char *field;
	enum filter_key kind;
} filter_entry_fields[] = {
    {"owner", FILTER_KEY_ACCOUNT},	    {"need_owner", FILTER_KEY_ACCOUNT},
    {"offer_owner", FILTER_KEY_ACCOUNT},    {"account", FILTER_KEY_ACCOUNT},
    {"organiser", FILTER_KEY_ACCOUNT},	    {"province", FILTER_KEY_PROVINCE},
    {"need_province", FILTER_KEY_PROVINCE}, {"offer_province", FILTER_KEY_PROVINCE},
    {"provinces", FILTER_KEY_PROVINCE},	    {"forum", FILTER_KEY_FORUM},
    {"need_forum", FILTER_KEY_FORUM},	    {"offer_forum", FILTER_KEY_FORUM},
    {"forum", FILTER_KEY_REGISTERED},
};

void filter_entry_keys(const struct events_entry *e, filter_key_fn fn, void *arg)
{
	for (size_t k = 0; k < sizeof(filter_entry_fields) / sizeof(filter_entry_fields[0]); k++) {
		const char *v = events_field(e, filter_entry_fields[k].field);
		enum filter_key kind = filter_entry_fields[k].kind;
		if (strcmp(filter_entry_fields[k].field, "provinces") != 0) {
			fn(kind, v, strlen(v), arg);
			continue;
		}
		for (const char *p = v; *p;) {
			size_t n = strcspn(p, ",");
			fn(kind, p, n, arg);
			p += n + (p[n] == ',');
		}
	}
}
