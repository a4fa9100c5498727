/*
 * clearing — where a forum's clearing runs once its registration closes.
 *
 * close-registration moves a forum to `clearing` and calls
 * clearing_start(): it reads the forum's held listings (cm_forum_held),
 * allocates them in one solve (common/clearing.h: the most quantity, then
 * the least landed cost), runs the continuous engine's greedy planner over
 * the same listings in memory for comparison, and proposes the whole
 * allocation as one batch in one Redis call (cm_forum_clear) that also
 * moves the forum to `review` with the clearing's totals (the forum hash's
 * `clearing` field): proposals made, quantity and landed cost proposed,
 * the solver's status, the proposals refused as stale (a listing edited or
 * withdrawn since it was read) and the greedy comparison.
 *
 * Cost: the solve and the greedy comparison run on the event loop between
 * two store replies. The greedy comparison plans each listing over all
 * earlier ones (quadratic in the forum's size); fine for the forums of
 * today (tens to hundreds of listings), not for a 10,000-listing forum,
 * which wants a worker thread.
 */
#ifndef CM_ENGINE_CLEARING_H
#define CM_ENGINE_CLEARING_H

struct app;

/* Starts the clearing of forum id (in state clearing); returns at once. */
void clearing_start(struct app *app, const char *forum_id);

#endif
