/*
 * forums (API) — /v1/forums: the supply-demand forums and their life.
 */
#ifndef CM_API_FORUMS_H
#define CM_API_FORUMS_H

struct http_req;

void forums_create(struct http_req *r);		    /* POST /v1/forums: admins, moderators */
void forums_search(struct http_req *r);		    /* GET /v1/forums */
void forums_get(struct http_req *r);		    /* GET /v1/forums/{id} */
void forums_patch(struct http_req *r);		    /* PATCH /v1/forums/{id}: organiser, admin */
void forums_open(struct http_req *r);		    /* POST /v1/forums/{id}/open */
void forums_close_registration(struct http_req *r); /* POST /v1/forums/{id}/close-registration */
void forums_close(struct http_req *r);		    /* POST /v1/forums/{id}/close */
void forums_cancel(struct http_req *r);		    /* POST /v1/forums/{id}/cancel */

/* GET /v1/forums/{id}/report: the forum's outcome and its clearing's gain (managers). */
void forums_report(struct http_req *r);

/*
 * The review of the clearing's batch as one batch (organiser, admin): every
 * selected match approved, or rejected with a reason, or none of them.
 */
void forums_approve_batch(struct http_req *r); /* POST /v1/forums/{id}/approve-batch */
void forums_reject_batch(struct http_req *r);  /* POST /v1/forums/{id}/reject-batch */
/* GET /v1/forums/{id}/batch: the clearing's batch as the organiser reviews it. */
void forums_batch(struct http_req *r);

#endif
