/*
 * imports (API) — /v1/imports: a spreadsheet of accounts, needs or offers
 * in (see imports.c and import_run.c).
 */
#ifndef CM_API_IMPORTS_H
#define CM_API_IMPORTS_H

struct http_req;

void imports_template(struct http_req *r); /* GET /v1/imports/template?kind= */
void imports_create(struct http_req *r);   /* POST /v1/imports?kind=&forum=&dry_run= */
void imports_get(struct http_req *r);	   /* GET /v1/imports/{id} */

#endif
