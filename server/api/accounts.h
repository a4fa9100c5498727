/*
 * accounts (API) — /v1/accounts, /v1/me: registering, reading, and the
 * organiser's desk (searching, changing contact details, suspending).
 */
#ifndef CM_API_ACCOUNTS_H
#define CM_API_ACCOUNTS_H

struct http_req;

void accounts_create(struct http_req *r); /* POST /v1/accounts: admins and moderators */
void accounts_get(struct http_req *r);	  /* GET /v1/accounts/{id} */
void accounts_me(struct http_req *r);	  /* GET /v1/me */
void accounts_search(struct http_req *r); /* GET /v1/accounts: admins and moderators */
void accounts_patch(struct http_req *r);  /* PATCH /v1/accounts/{id}: contact, suspended */

#endif
