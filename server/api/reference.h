/*
 * reference (API) — /v1/provinces and /v1/materials, the versioned
 * reference tables compiled into common/.
 */
#ifndef CM_API_REFERENCE_H
#define CM_API_REFERENCE_H

struct http_req;

void reference_provinces(struct http_req *r);
void reference_materials(struct http_req *r);

#endif
