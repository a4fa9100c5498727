/*
 * account — accounts as JSON documents: validation, rendering, and the
 * rules of who may create whom and who sees contact details.
 *
 * A stored account document:
 *   {id, role, name, province, commune, forum, contact:{phone,email,address},
 *    scope:{provinces:[codes], forums:[ids]}, created_at, created_by}
 * (forum: the forum a village or supplier was registered for, if any.)
 * Pure: no I/O.
 */
#ifndef CM_ACCOUNT_H
#define CM_ACCOUNT_H

#include <jansson.h>
#include <stddef.h>

enum account_role {
	ACCOUNT_VILLAGE,
	ACCOUNT_SUPPLIER,
	ACCOUNT_MODERATOR,
	ACCOUNT_ADMIN,
	ACCOUNT_ROLE_UNKNOWN
};

enum account_role account_role_parse(const char *s);
const char *account_role_name(enum account_role role);
/* The role of a stored document (ACCOUNT_ROLE_UNKNOWN when absent). */
enum account_role account_role_of(const json_t *doc);

/*
 * Checks a POST /v1/accounts body. Returns a new document without id,
 * created_at and created_by, or NULL with every problem appended to *errors.
 */
json_t *account_from_request(const json_t *body, json_t **errors);

/*
 * Whether caller may manage subject: register it, issue, list and revoke its
 * tokens, see its contact details. The one rule for acting on an account
 * other than one's own; every such route asks it. Returns 1, or 0 with a
 * reason (*why, a static string): admins manage every account; a moderator
 * manages village and supplier accounts whose province is in its scope's
 * provinces or whose forum is in its scope's forums (a moderator whose scope
 * lists only forums manages only accounts registered for those forums);
 * nobody else manages any account.
 */
int account_may_manage(const json_t *caller, const json_t *subject, const char **why);

/*
 * Whether a moderator's scope covers a province and/or forum (either may be
 * NULL or ""). Admins cover everything; other roles nothing.
 */
int account_covers(const json_t *viewer, const char *province, const char *forum);

/* Whether viewer may see subject's contact details: its own, or one it manages. */
int account_sees_contact(const json_t *viewer, const json_t *subject);

/*
 * The codes of a moderator's scope ("provinces" or "forums") joined with
 * commas into buf (as the store keeps them); "" when none. Returns buf.
 */
const char *account_scope_csv(const json_t *doc, const char *which, char *buf, size_t len);

/* Returns a new public rendering of doc; contact only when with_contact. */
json_t *account_render(const json_t *doc, int with_contact);

#endif
