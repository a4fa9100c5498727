/*
 * account — account documents and their rules (see account.h).
 */
#include "common/account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/provinces.h"

static const char *const account_role_names[] = {"village", "supplier", "moderator", "admin"};

enum account_role account_role_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && strcmp(s, account_role_names[i]) == 0)
			return (enum account_role)i;
	return ACCOUNT_ROLE_UNKNOWN;
}

const char *account_role_name(enum account_role role)
{
	return role < ACCOUNT_ROLE_UNKNOWN ? account_role_names[role] : "unknown";
}

enum account_role account_role_of(const json_t *doc)
{
	return account_role_parse(json_string_value(json_object_get(doc, "role")));
}

static void account_check_phone(const char *phone, json_t **errors)
{
	int digits = 0;
	for (const char *p = phone; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (!strchr(" +-.()", *p)) {
			fields_error(errors, "contact.phone",
				     "số điện thoại: use digits, spaces and + - . ( ) only");
			return;
		}
	}
	if (digits < 8 || digits > 15)
		fields_error(errors, "contact.phone", "số điện thoại: must have 8 to 15 digits");
}

static void account_check_email(const char *email, json_t **errors)
{
	const char *at = strchr(email, '@');
	if (at == NULL || at == email || strchr(at + 1, '@') || strchr(at + 1, '.') == NULL ||
	    strchr(email, ' ') || at[1] == '.' || email[strlen(email) - 1] == '.')
		fields_error(errors, "contact.email",
			     "must be an e-mail address like name@example.vn");
}

json_t *account_from_request(const json_t *body, json_t **errors)
{
	static const char *const allowed[] = {"role",  "name",	  "province", "commune",
					      "forum", "contact", "scope",    NULL};
	static const char *const contact_allowed[] = {"phone", "email", "address", NULL};
	static const char *const scope_allowed[] = {"provinces", "forums", NULL};
	size_t n_before = *errors ? json_array_size(*errors) : 0;
	fields_unknown(body, "", allowed, errors);

	json_t *doc = json_object();
	enum account_role role = ACCOUNT_ROLE_UNKNOWN;
	json_t *rv = json_object_get(body, "role");
	if (rv == NULL)
		fields_error(errors, "role", "is required: village, supplier, moderator or admin");
	else if ((role = account_role_parse(json_string_value(rv))) == ACCOUNT_ROLE_UNKNOWN)
		fields_error(errors, "role", "must be village, supplier, moderator or admin");
	else
		json_object_set_new(doc, "role", json_string(account_role_name(role)));

	char *name = fields_string(body, "name", "name", 1, 120, 0, errors);
	if (name)
		json_object_set_new(doc, "name", json_string(name));
	free(name);

	int needs_place = role == ACCOUNT_VILLAGE || role == ACCOUNT_SUPPLIER;
	char *prov = fields_string(body, "province", "province", needs_place, 80, 0, errors);
	if (prov) {
		const struct province *p = provinces_find(prov);
		if (p == NULL)
			fields_error(
			    errors, "province",
			    "tỉnh/thành: '%.80s' is not a province, current or former (see "
			    "/v1/provinces)",
			    prov);
		else
			json_object_set_new(doc, "province", json_string(p->code));
	}
	free(prov);

	char *commune = fields_string(body, "commune", "commune", 0, 100, 0, errors);
	if (commune)
		json_object_set_new(doc, "commune", json_string(commune));
	free(commune);

	char *forum = fields_string(body, "forum", "forum", 0, FIELDS_FORUM_MAX, 0, errors);
	if (forum && !needs_place)
		fields_error(errors, "forum",
			     "only village and supplier accounts register for a forum");
	else if (forum && !fields_forum_id_ok(forum))
		fields_error(errors, "forum", "diễn đàn: not a forum id (a-z, 0-9 and '-')");
	else if (forum)
		json_object_set_new(doc, "forum", json_string(forum));
	free(forum);

	json_t *contact = json_object_get(body, "contact");
	if (contact && !json_is_object(contact)) {
		fields_error(errors, "contact", "must be an object with phone, email, address");
	} else if (contact) {
		fields_unknown(contact, "contact.", contact_allowed, errors);
		json_t *c = json_object();
		char *phone = fields_string(contact, "phone", "contact.phone", 0, 24, 0, errors);
		char *email = fields_string(contact, "email", "contact.email", 0, 254, 0, errors);
		char *addr =
		    fields_string(contact, "address", "contact.address", 0, 300, 0, errors);
		if (phone) {
			account_check_phone(phone, errors);
			json_object_set_new(c, "phone", json_string(phone));
		}
		if (email) {
			account_check_email(email, errors);
			json_object_set_new(c, "email", json_string(email));
		}
		if (addr)
			json_object_set_new(c, "address", json_string(addr));
		free(phone);
		free(email);
		free(addr);
		json_object_set_new(doc, "contact", c);
	}

	json_t *scope = json_object_get(body, "scope");
	if (scope && role != ACCOUNT_MODERATOR) {
		fields_error(errors, "scope", "only moderator accounts have a scope");
	} else if (scope && !json_is_object(scope)) {
		fields_error(errors, "scope", "must be an object with provinces and/or forums");
	} else if (role == ACCOUNT_MODERATOR) {
		json_t *provs = NULL, *forums = NULL;
		if (scope) {
			fields_unknown(scope, "scope.", scope_allowed, errors);
			provs = fields_string_array(scope, "provinces", "scope.provinces", 34, 80,
						    errors);
			forums =
			    fields_string_array(scope, "forums", "scope.forums", 50, 40, errors);
		}
		json_t *codes = json_array(), *fids = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(provs, i, v)
		{
			const struct province *p = provinces_find(json_string_value(v));
			if (p == NULL)
				fields_error(errors, "scope.provinces", "'%.80s' is not a province",
					     json_string_value(v));
			else
				json_array_append_new(codes, json_string(p->code));
		}
		json_array_foreach(forums, i, v)
		{
			if (!fields_forum_id_ok(json_string_value(v)))
				fields_error(errors, "scope.forums",
					     "'%.40s' is not a forum id (a-z, 0-9 and -)",
					     json_string_value(v));
			else
				json_array_append(fids, v);
		}
		if (json_array_size(codes) + json_array_size(fids) == 0 &&
		    (provs == NULL || json_array_size(provs) == 0) &&
		    (forums == NULL || json_array_size(forums) == 0))
			fields_error(errors, "scope",
				     "a moderator needs at least one province or forum in scope");
		json_object_set_new(doc, "scope",
				    json_pack("{s:o, s:o}", "provinces", codes, "forums", fids));
		json_decref(provs);
		json_decref(forums);
	}

	if (*errors && json_array_size(*errors) > n_before) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int account_array_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	if (s == NULL || *s == '\0')
		return 0;
	json_array_foreach((json_t *)arr, i, v) if (json_is_string(v) &&
						    strcmp(json_string_value(v), s) == 0) return 1;
	return 0;
}

int account_covers(const json_t *viewer, const char *province, const char *forum)
{
	switch (account_role_of(viewer)) {
	case ACCOUNT_ADMIN:
		return 1;
	case ACCOUNT_MODERATOR: {
		json_t *scope = json_object_get(viewer, "scope");
		return account_array_has(json_object_get(scope, "provinces"), province) ||
		       account_array_has(json_object_get(scope, "forums"), forum);
	}
	default:
		return 0;
	}
}

int account_may_manage(const json_t *caller, const json_t *subject, const char **why)
{
	enum account_role target = account_role_of(subject);
	switch (account_role_of(caller)) {
	case ACCOUNT_ADMIN:
		return 1;
	case ACCOUNT_MODERATOR:
		if (target != ACCOUNT_VILLAGE && target != ACCOUNT_SUPPLIER) {
			*why = "moderators manage village and supplier accounts only";
			return 0;
		}
		/* account_covers: the province, or the forum the account was registered for. */
		if (!account_covers(caller, json_string_value(json_object_get(subject, "province")),
				    json_string_value(json_object_get(subject, "forum")))) {
			*why = "the account's province and forum are outside your scope";
			return 0;
		}
		return 1;
	default:
		*why = "only admins and moderators manage other accounts";
		return 0;
	}
}

int account_sees_contact(const json_t *viewer, const json_t *subject)
{
	const char *vid = json_string_value(json_object_get(viewer, "id"));
	const char *sid = json_string_value(json_object_get(subject, "id"));
	const char *why = NULL;
	if (vid && sid && strcmp(vid, sid) == 0)
		return 1;
	return account_may_manage(viewer, subject, &why);
}

const char *account_scope_csv(const json_t *doc, const char *which, char *buf, size_t len)
{
	json_t *arr = json_object_get(json_object_get(doc, "scope"), which);
	size_t o = 0, i;
	json_t *v;
	buf[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		int n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", json_string_value(v));
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	return buf;
}

json_t *account_render(const json_t *doc, int with_contact)
{
	json_t *out = json_deep_copy(doc);
	json_object_del(out, "created_by");
	if (!with_contact)
		json_object_del(out, "contact");
	const char *code = json_string_value(json_object_get(doc, "province"));
	const struct province *p = code ? provinces_find(code) : NULL;
	if (p)
		json_object_set_new(out, "province",
				    json_pack("{s:s, s:s}", "code", p->code, "name", p->name));
	return out;
}
