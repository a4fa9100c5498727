/*
 * problem — the catalogue of problem types (RFC 9457) and their JSON.
 *
 * Pure: builds documents, sends nothing. Every error the API can answer with
 * is one row of the table in problem.c; docs/errors.md lists the same rows.
 */
#ifndef CM_HTTP_PROBLEM_H
#define CM_HTTP_PROBLEM_H

#include <jansson.h>

struct problem_type {
	const char *slug;
	const char *title;
};

/* The row for slug, or the generic "about:blank" row when unknown. */
const struct problem_type *problem_find(const char *slug);

/*
 * Returns a new problem document: type, title, status, detail, instance
 * (the request id) and errors (stolen, may be NULL).
 */
json_t *problem_new(int status, const char *slug, const char *detail, const char *instance,
		    json_t *errors);

/* Appends {field, message} to *errors (created on first use). */
void problem_add_error(json_t **errors, const char *field, const char *message);

#endif
