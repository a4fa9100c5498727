/*
 * clearing — where a forum's clearing runs once its registration closes.
 *
 * close-registration moves a forum to `clearing` and calls
 * clearing_start(). A clearing is one run (its id "clr_…"):
 *   1. on the event loop: read the forum's held listings (cm_forum_held)
 *      and copy them out of the store's reply;
 *   2. on a worker thread (pthread): decode them, allocate them in one
 *      solve (common/clearing.h: the most quantity, then the least landed
 *      cost; minimum orders repaired), write each proposal's explanation,
 *      and compute what the continuous greedy engine would have allocated
 *      on the same listings (server/engine/greedy.h). The loop goes on
 *      serving meanwhile;
 *   3. back on the loop (the worker wakes it through a pipe; the loop
 *      joins the thread before it reads anything the worker wrote): the
 *      batch is proposed in pages of at most --clearing-page proposals,
 *      one Redis call each (cm_forum_clear_page: atomic, every proposal
 *      checked against over-allocation, stale ones refused), in order,
 *      two in flight (the next one travels while Redis applies one); the
 *      last page moves the forum along forum_cleared (clearing → review)
 *      with the clearing's totals.
 *
 * Threads: the worker touches only its job's input copy and output arrays,
 * which the loop does not read or write until it has joined the worker;
 * the loop alone touches Redis, the app and the list of jobs. The solver,
 * the matching code and jansson (objects private to the worker) keep no
 * shared mutable state (the province-distance table is built under
 * call_once); match ids and the time of day are taken on the loop (the
 * worker reads only its own CPU clock).
 *
 * Failures: a page refused because the forum left `clearing` or another
 * run took over ends the run (once the page in flight after it is
 * answered). Redis away or late on a page: the answer of the page sent
 * after it is ignored (it was refused as out of order, or applied), and
 * once it is in, the pages are sent again from the failed one (same run,
 * numbers and match ids) after a backoff; the function answers a page
 * already applied without applying it again, so a page whose answer was
 * lost never proposes twice. Redis failing the read:
 * the run starts again (a new run id) after a backoff. A restarting daemon (roles all and engine)
 * calls clearing_resume(), which starts a run for every forum it finds in `clearing`: a forum is
 * never left there by a crash.
 */
#ifndef CM_ENGINE_CLEARING_H
#define CM_ENGINE_CLEARING_H

struct app;

/* Starts the clearing of forum id (in state clearing); returns at once. */
void clearing_start(struct app *app, const char *forum_id);

/* Starts a clearing for every forum left in state clearing (at start). */
void clearing_resume(struct app *app);

/*
 * At shutdown, before the store is freed: waits for the workers running,
 * and drops every run (the forums stay in clearing, resumed at next start).
 */
void clearing_stop(struct app *app);

#endif
