/*
 * admin — `craftmatchd --create-admin NAME`: the bootstrap account.
 */
#ifndef CM_ADMIN_H
#define CM_ADMIN_H

struct app;

/*
 * Creates an admin account and a token for it in the configured Redis,
 * prints the token once on stdout, and returns the process exit code.
 * Runs the event loop until done (or the Redis deadline passes).
 */
int admin_create(struct app *app, const char *name);

#endif
