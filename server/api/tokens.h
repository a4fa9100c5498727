/*
 * tokens (API) — /v1/tokens: issuing, listing and revoking bearer tokens.
 */
#ifndef CM_API_TOKENS_H
#define CM_API_TOKENS_H

struct http_req;

void tokens_create(struct http_req *r); /* POST /v1/tokens */
void tokens_list(struct http_req *r); /* GET /v1/tokens: the caller's, or an account's it manages */
void tokens_revoke(struct http_req *r); /* DELETE /v1/tokens/{id} */

#endif
