/*
 * forum — forum documents and state transitions (see forum.h). Pure: no I/O.
 */
#include "common/forum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dates.h"
#include "common/fields.h"
#include "common/materials.h"
#include "common/provinces.h"

static const char *const forum_create_allowed[] = {"id",
						   "name",
						   "organiser",
						   "provinces",
						   "venue",
						   "registration_opens",
						   "registration_closes",
						   "forum_day",
						   "materials",
						   NULL};
static const char *const forum_patch_allowed[] = {
    "name",	 "venue",     "provinces", "registration_opens", "registration_closes",
    "forum_day", "materials", NULL};

/* The date fields in the order they must keep, with their Vietnamese names. */
static const struct {
	const char *key;
	const char *vi;
} forum_dates[] = {
    {"registration_opens", "mở đăng ký"},
    {"registration_closes", "hạn đăng ký"},
    {"forum_day", "ngày diễn đàn"},
};
#define FORUM_NDATES (sizeof(forum_dates) / sizeof(forum_dates[0]))

static const struct forum_transition forum_transitions[] = {
    {"open", "draft", "open"},
    {"close-registration", "open", "clearing"},
    {"close", "review", "closed"},
    {"cancel", "draft,open,clearing,review", "cancelled"},
};

const struct forum_transition forum_cleared = {"cleared", "clearing", "review"};

static const char *const forum_states[] = {"draft",  "open",	  "clearing", "review",
					   "closed", "cancelled", NULL};

static size_t forum_nerr(const json_t *errors)
{
	return errors ? json_array_size(errors) : 0;
}

int forum_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < FORUM_ID_MIN || !fields_forum_id_ok(s) || s[n - 1] == '-')
		return 0;
	return strstr(s, "--") == NULL;
}

int forum_state_ok(const char *s)
{
	for (const char *const *p = forum_states; s && *p; p++)
		if (strcmp(*p, s) == 0)
			return 1;
	return 0;
}

const struct forum_transition *forum_transition_find(const char *action)
{
	for (size_t i = 0; action && i < sizeof(forum_transitions) / sizeof(forum_transitions[0]);
	     i++)
		if (strcmp(forum_transitions[i].action, action) == 0)
			return &forum_transitions[i];
	return NULL;
}

/* body[key] as a string (required when required) into doc[key]; returns 1 when set. */
static int forum_text(json_t *doc, const json_t *body, const char *key, const char *vi,
		      int required, size_t max, json_t **errors)
{
	size_t before = forum_nerr(*errors);
	/* present in a PATCH: required too (a forum's name and venue are never cleared) */
	json_t *v = json_object_get(body, key);
	required = required || (v && !json_is_null(v));
	char *s = fields_string(body, key, key, required, max, 0, errors);
	if (s) {
		json_object_set_new(doc, key, json_string(s));
		free(s);
		return 1;
	}
	if (forum_nerr(*errors) > before) {
		json_t *last = json_array_get(*errors, json_array_size(*errors) - 1);
		const char *msg = json_string_value(json_object_get(last, "message"));
		char buf[256];
		snprintf(buf, sizeof(buf), "%s: %s", vi, msg ? msg : "invalid");
		json_object_set_new(last, "message", json_string(buf));
	}
	return 0;
}

/* A list of reference codes (provinces or materials), each resolved, no repeats. */
static void forum_codes(json_t *doc, const json_t *body, const char *key, const char *vi,
			size_t min, size_t max, int provinces, json_t **errors)
{
	json_t *v = json_object_get(body, key);
	if (v == NULL || json_is_null(v)) {
		if (min > 0)
			fields_error(errors, key, "%s: required", vi);
		else
			json_object_set_new(doc, key, json_array());
		return;
	}
	json_t *items = fields_string_array(body, key, key, max, 80, errors);
	if (items == NULL)
		return;
	json_t *codes = json_array();
	size_t i;
	json_t *it;
	int bad = 0;
	json_array_foreach(items, i, it)
	{
		const char *text = json_string_value(it), *code = NULL;
		if (provinces) {
			const struct province *p = provinces_find(text);
			code = p ? p->code : NULL;
		} else {
			const struct material *m = materials_find(text);
			code = m ? m->code : NULL;
		}
		if (code == NULL) {
			fields_error(errors, key, "%s: '%.80s' is not a %s code", vi, text,
				     provinces ? "province" : "material");
			bad = 1;
			continue;
		}
		size_t j;
		json_t *seen;
		int dup = 0;
		json_array_foreach(codes, j, seen) dup |=
		    strcmp(json_string_value(seen), code) == 0;
		if (dup) {
			fields_error(errors, key, "%s: '%s' is listed twice", vi, code);
			bad = 1;
			continue;
		}
		json_array_append_new(codes, json_string(code));
	}
	json_decref(items);
	if (!bad && json_array_size(codes) < min)
		fields_error(errors, key, "%s: at least %zu needed", vi, min);
	else if (!bad)
		json_object_set(doc, key, codes);
	json_decref(codes);
}

/* Index of registration_closes in forum_dates: a day or a date-time. */
#define FORUM_CLOSES 1

/*
 * The moment date i stands for: registration opens at the start of its
 * day; registration closes, and the forum ends, at the end of theirs (the
 * first ms of the next day), or registration closes at the date-time given.
 */
static int forum_moment(const char *s, size_t i, int64_t *ms, const char **why)
{
	int day = strlen(s) == 10;
	if (dates_parse(s, i == 0 || !day ? DATES_DAY_START : DATES_DAY_END, ms, why) != 0)
		return -1;
	if (i > 0 && day)
		*ms += 1;
	return 0;
}

/* A day "YYYY-MM-DD" (or a date-time, for registration_closes) into doc[key]; 1 set, 0 absent, -1
 * bad. */
static int forum_day(json_t *doc, const json_t *body, size_t i, int64_t *ms, json_t **errors)
{
	const char *key = forum_dates[i].key, *vi = forum_dates[i].vi, *why = NULL;
	json_t *v = json_object_get(body, key);
	if (v == NULL)
		return 0;
	const char *s = json_string_value(v);
	size_t max = i == FORUM_CLOSES ? DATES_TEXT_MAX : 10;
	if (s == NULL || strlen(s) != json_string_length(v) || strlen(s) > max ||
	    (strlen(s) != 10 && i != FORUM_CLOSES) || strlen(s) < 10) {
		fields_error(errors, key,
			     i == FORUM_CLOSES
				 ? "%s: must be a day, YYYY-MM-DD, or a date-time, RFC 3339"
				 : "%s: must be a day, YYYY-MM-DD",
			     vi);
		return -1;
	}
	if (forum_moment(s, i, ms, &why) != 0) {
		fields_error(errors, key, "%s: %s", vi, why);
		return -1;
	}
	json_object_set(doc, key, v);
	return 1;
}

int forum_closes_at(const json_t *doc, int64_t *ms)
{
	const char *s = json_string_value(json_object_get(doc, forum_dates[FORUM_CLOSES].key));
	const char *why = NULL;
	return s && forum_moment(s, FORUM_CLOSES, ms, &why) == 0 ? 0 : -1;
}

/*
 * Every date present in doc (after body's were applied), in their order:
 * registration closes after it opens, and the forum ends no sooner.
 */
static void forum_dates_order(const json_t *doc, json_t **errors)
{
	int64_t prev = 0, ms;
	const char *why;
	for (size_t i = 0; i < FORUM_NDATES; i++) {
		const char *s = json_string_value(json_object_get(doc, forum_dates[i].key));
		if (s == NULL || forum_moment(s, i, &ms, &why) != 0)
			return;
		if (i > 0 && (ms < prev || (i == FORUM_CLOSES && ms == prev)))
			fields_error(
			    errors, forum_dates[i].key, "%s: must not be before %s (%s)",
			    forum_dates[i].vi, forum_dates[i - 1].key,
			    json_string_value(json_object_get(doc, forum_dates[i - 1].key)));
		prev = ms;
	}
}

/* The fields common to a create and a patch; required on create. */
static void forum_fields(json_t *doc, const json_t *body, int create, json_t **errors)
{
	int64_t ms;
	forum_text(doc, body, "name", "tên diễn đàn", create, FORUM_NAME_MAX, errors);
	forum_text(doc, body, "venue", "địa điểm", create, FORUM_VENUE_MAX, errors);
	if (create || json_object_get(body, "provinces"))
		forum_codes(doc, body, "provinces", "tỉnh", 1, FORUM_PROVINCES_MAX, 1, errors);
	if (create || json_object_get(body, "materials"))
		forum_codes(doc, body, "materials", "vật liệu trọng tâm", 0, FORUM_MATERIALS_MAX, 0,
			    errors);
	for (size_t i = 0; i < FORUM_NDATES; i++)
		if (forum_day(doc, body, i, &ms, errors) == 0 && create)
			fields_error(errors, forum_dates[i].key, "%s: required", forum_dates[i].vi);
}

json_t *forum_from_request(const json_t *body, json_t **errors)
{
	size_t before = forum_nerr(*errors);
	if (!json_is_object(body)) {
		fields_error(errors, "", "the body must be a JSON object");
		return NULL;
	}
	fields_unknown(body, "", forum_create_allowed, errors);
	json_t *doc = json_object();
	json_t *id = json_object_get(body, "id");
	const char *ids = json_string_value(id);
	if (id == NULL)
		fields_error(errors, "id", "mã diễn đàn: required");
	else if (ids == NULL || strlen(ids) != json_string_length(id) || !forum_id_ok(ids))
		fields_error(errors, "id",
			     "mã diễn đàn: %d to %d of a-z, 0-9 and '-' (not at either end, "
			     "never two in a row)",
			     FORUM_ID_MIN, FIELDS_FORUM_MAX);
	else
		json_object_set(doc, "id", id);
	json_t *org = json_object_get(body, "organiser");
	if (org) {
		const char *o = json_string_value(org);
		if (o == NULL || strlen(o) != json_string_length(org) ||
		    strncmp(o, "acc_", 4) != 0 || strlen(o) > 64)
			fields_error(errors, "organiser", "người tổ chức: must be an account id");
		else
			json_object_set(doc, "organiser", org);
	}
	forum_fields(doc, body, 1, errors);
	forum_dates_order(doc, errors);
	if (forum_nerr(*errors) > before) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

json_t *forum_apply_patch(const json_t *doc, const json_t *body, json_t **errors)
{
	size_t before = forum_nerr(*errors);
	if (!json_is_object(body)) {
		fields_error(errors, "", "the body must be a JSON object");
		return NULL;
	}
	if (json_object_size(body) == 0)
		fields_error(errors, "", "nothing to change");
	fields_unknown(body, "", forum_patch_allowed, errors);
	json_t *next = json_deep_copy(doc);
	forum_fields(next, body, 0, errors);
	forum_dates_order(next, errors);
	if (forum_nerr(*errors) > before) {
		json_decref(next);
		return NULL;
	}
	return next;
}

const char *forum_provinces_csv(const json_t *doc, char *buf, size_t len)
{
	size_t o = 0, i;
	json_t *v;
	buf[0] = '\0';
	json_array_foreach(json_object_get(doc, "provinces"), i, v)
	{
		int n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", json_string_value(v));
		if (n < 0 || (size_t)n >= len - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	return buf;
}

int forum_has_province(const json_t *doc, const char *code)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doc, "provinces"), i, v)
	{
		if (code && json_is_string(v) && strcmp(json_string_value(v), code) == 0)
			return 1;
	}
	return 0;
}
