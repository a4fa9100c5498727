/*
 * routes — the route table (see routes.h). Order matters only among
 * patterns that could match the same path: literal segments first.
 */
#include "server/api/routes.h"

#include "server/api/accounts.h"
#include "server/api/events.h"
#include "server/api/forums.h"
#include "server/api/health.h"
#include "server/api/imports.h"
#include "server/api/listings.h"
#include "server/api/matches.h"
#include "server/api/reference.h"
#include "server/api/reputation.h"
#include "server/api/sessions.h"
#include "server/api/stats.h"
#include "server/api/tokens.h"

const struct route api_routes[] = {
    {"GET", "/healthz", health_healthz, ROUTE_PUBLIC},
    {"GET", "/readyz", health_readyz, ROUTE_PUBLIC},
    {"GET", "/metrics", health_metrics, ROUTE_PUBLIC},
    {"GET", "/v1/provinces", reference_provinces, ROUTE_PUBLIC},
    {"GET", "/v1/materials", reference_materials, ROUTE_PUBLIC},
    {"GET", "/v1/me", accounts_me, 0},
    {"POST", "/v1/accounts", accounts_create, ROUTE_ONE_TRIP},
    {"GET", "/v1/accounts", accounts_search, 0},
    {"GET", "/v1/accounts/{id}", accounts_get, 0},
    {"PATCH", "/v1/accounts/{id}", accounts_patch, ROUTE_ONE_TRIP},
    {"GET", "/v1/accounts/{id}/reputation", accounts_reputation, 0},
    {"POST", "/v1/tokens", tokens_create, ROUTE_ONE_TRIP},
    {"GET", "/v1/tokens", tokens_list, 0},
    {"DELETE", "/v1/tokens/{id}", tokens_revoke, ROUTE_ONE_TRIP},
    /* Takes an access code in its body, and checks the CSRF rule itself. */
    {"POST", "/v1/sessions", sessions_sign_in, ROUTE_PUBLIC},
    {"DELETE", "/v1/sessions/current", sessions_sign_out, 0},
    {"POST", "/v1/needs", listings_post_need, ROUTE_ONE_TRIP},
    {"GET", "/v1/needs", listings_search_needs, 0},
    {"POST", "/v1/offers", listings_post_offer, ROUTE_ONE_TRIP},
    {"GET", "/v1/offers", listings_search_offers, 0},
    {"GET", "/v1/listings", listings_search, 0},
    {"GET", "/v1/listings/{id}", listings_get, 0},
    {"PATCH", "/v1/listings/{id}", listings_patch, ROUTE_ONE_TRIP},
    {"DELETE", "/v1/listings/{id}", listings_close, ROUTE_ONE_TRIP},
    {"GET", "/v1/matches", matches_search, 0},
    {"GET", "/v1/matches/{id}", matches_get, 0},
    {"POST", "/v1/matches/{id}/approve", matches_approve, ROUTE_ONE_TRIP},
    {"POST", "/v1/matches/{id}/reject", matches_reject, ROUTE_ONE_TRIP},
    {"POST", "/v1/matches/{id}/accept", matches_accept, ROUTE_ONE_TRIP},
    {"POST", "/v1/matches/{id}/decline", matches_decline, ROUTE_ONE_TRIP},
    {"POST", "/v1/matches/{id}/fulfil", matches_fulfil, ROUTE_ONE_TRIP},
    {"POST", "/v1/matches/{id}/cancel", matches_cancel, ROUTE_ONE_TRIP},
    {"GET", "/v1/stats", stats_get, 0},
    {"POST", "/v1/forums", forums_create, ROUTE_ONE_TRIP},
    {"GET", "/v1/forums", forums_search, 0},
    {"GET", "/v1/forums/{id}", forums_get, 0},
    {"GET", "/v1/forums/{id}/report", forums_report, 0},
    {"PATCH", "/v1/forums/{id}", forums_patch, ROUTE_ONE_TRIP},
    {"POST", "/v1/forums/{id}/open", forums_open, ROUTE_ONE_TRIP},
    {"POST", "/v1/forums/{id}/close-registration", forums_close_registration, ROUTE_ONE_TRIP},
    {"POST", "/v1/forums/{id}/close", forums_close, ROUTE_ONE_TRIP},
    {"POST", "/v1/forums/{id}/cancel", forums_cancel, ROUTE_ONE_TRIP},
    {"GET", "/v1/forums/{id}/batch", forums_batch, 0},
    {"POST", "/v1/forums/{id}/approve-batch", forums_approve_batch, ROUTE_ONE_TRIP},
    {"POST", "/v1/forums/{id}/reject-batch", forums_reject_batch, ROUTE_ONE_TRIP},
    {"GET", "/v1/imports/template", imports_template, ROUTE_PUBLIC},
    {"POST", "/v1/imports", imports_create, 0},
    {"GET", "/v1/imports/{id}", imports_get, 0},
    /* Authenticates itself: a stream ticket or the bearer token (server/api/events.c). */
    {"GET", "/v1/events", events_stream, ROUTE_PUBLIC | ROUTE_STREAM},
    {"POST", "/v1/stream-tickets", events_ticket_create, 0},
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
