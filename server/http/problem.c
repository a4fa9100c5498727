/*
 * problem — RFC 9457 problem details (see problem.h).
 *
 * type is a URI reference relative to the server ("/problems/<slug>"), so a
 * client can resolve it against the API's base; docs/errors.md describes each.
 */
#include "server/http/problem.h"

#include <stdio.h>
#include <string.h>

static const struct problem_type problem_types[] = {
    {"bad-request", "Bad request"},
    {"malformed-json", "Malformed JSON body"},
    {"validation", "Invalid request"},
    {"malformed-sheet", "Not a readable spreadsheet"},
    {"unauthorized", "Authentication required"},
    {"forbidden", "Not allowed"},
    {"csrf", "Cross-site request refused"},
    {"not-found", "Not found"},
    {"method-not-allowed", "Method not allowed"},
    {"request-timeout", "Request not received in time"},
    {"conflict", "Conflict"},
    {"precondition-failed", "Precondition failed"},
    {"length-required", "Content-Length required"},
    {"payload-too-large", "Request body too large"},
    {"unsupported-media-type", "Unsupported media type"},
    {"expectation-failed", "Expectation not met"},
    {"headers-too-large", "Request headers too large"},
    {"internal", "Internal error"},
    {"not-implemented", "Method not implemented"},
    {"unavailable", "Service unavailable"},
    {"unconfirmed", "Change not confirmed by a replica"},
};

static const struct problem_type problem_blank = {"about:blank", "Error"};

const struct problem_type *problem_find(const char *slug)
{
	for (size_t i = 0; i < sizeof(problem_types) / sizeof(problem_types[0]); i++)
		if (strcmp(problem_types[i].slug, slug) == 0)
			return &problem_types[i];
	return &problem_blank;
}

json_t *problem_new(int status, const char *slug, const char *detail, const char *instance,
		    json_t *errors)
{
	const struct problem_type *t = problem_find(slug);
	json_t *p = json_object();
	if (t == &problem_blank) {
		json_object_set_new(p, "type", json_string("about:blank"));
	} else {
		char type[96];
		snprintf(type, sizeof(type), "/problems/%s", t->slug);
		json_object_set_new(p, "type", json_string(type));
	}
	json_object_set_new(p, "title", json_string(t->title));
	json_object_set_new(p, "status", json_integer(status));
	if (detail && *detail)
		json_object_set_new(p, "detail", json_string(detail));
	if (instance && *instance) {
		char inst[80];
		snprintf(inst, sizeof(inst), "urn:craftmatch:request:%s", instance);
		json_object_set_new(p, "instance", json_string(inst));
	}
	if (errors)
		json_object_set_new(p, "errors", errors);
	return p;
}

void problem_add_error(json_t **errors, const char *field, const char *message)
{
	if (*errors == NULL)
		*errors = json_array();
	json_t *e = json_object();
	json_object_set_new(e, "field", json_string(field));
	json_object_set_new(e, "message", json_string(message));
	json_array_append_new(*errors, e);
}
