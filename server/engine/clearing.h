/*
 * clearing — where a forum's clearing runs once its registration closes.
 *
 * The hook: close-registration moves a forum to `clearing` and calls
 * clearing_start(). The clearing is meant to allocate the forum's held
 * listings in one optimal solve and propose the result as one batch for the
 * organiser's review; until that solver is plugged in here, clearing_start
 * proposes nothing and hands the forum straight to `review` (through the
 * same atomic transition, forum_cleared, the solver will end with), so the
 * organiser can close it and its listings join the market or close.
 */
#ifndef CM_CLEARING_H
#define CM_CLEARING_H

struct app;

/* Starts the clearing of forum id (in state clearing); returns at once. */
void clearing_start(struct app *app, const char *forum_id);

#endif
