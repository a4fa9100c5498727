/*
 * admin — bootstrap admin creation (see admin.h).
 *
 * The only way to the first account: run on the server's machine against
 * its Redis, so whoever can do it already holds the keys to the data.
 */
#include "server/admin.h"

#include <event2/event.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/account.h"
#include "common/fields.h"
#include "common/ids.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/store/accounts.h"
#include "server/store/store.h"

struct admin_job {
	struct app *app;
	json_t *doc;
	char id[IDS_MAX], tok_id[IDS_MAX], secret[IDS_TOKEN_MAX], hash[IDS_TOKEN_HASH_HEX];
	int rc;
	struct event *poll, *deadline;
};

static void admin_token_done(const struct store_reply *res, void *arg)
{
	struct admin_job *j = arg;
	if (res->status != STORE_OK) {
		fprintf(stderr, "craftmatchd: cannot create the token: %s\n",
			res->message ? res->message : "store error");
	} else {
		printf("admin account: %s\ntoken id: %s\ntoken: %s\n"
		       "Keep the token secret; it is shown only this once.\n",
		       j->id, j->tok_id, j->secret);
		fflush(stdout);
		j->rc = 0;
	}
	sodium_memzero(j->secret, sizeof(j->secret));
	event_base_loopexit(j->app->base, NULL);
}

static void admin_account_done(const struct store_reply *res, void *arg)
{
	struct admin_job *j = arg;
	if (res->status != STORE_OK) {
		fprintf(stderr, "craftmatchd: cannot create the account: %s\n",
			res->message ? res->message : "store error");
		event_base_loopexit(j->app->base, NULL);
		return;
	}
	struct store_idem none = {NULL, NULL};
	ids_new("tok", j->tok_id);
	ids_token_new(j->secret);
	ids_token_hash(j->secret, strlen(j->secret), j->hash);
	store_token_create(j->app->store, j->tok_id, j->id, j->hash, "bootstrap", j->id, &none,
			   admin_token_done, j);
}

static void admin_poll(evutil_socket_t fd, short what, void *arg)
{
	struct admin_job *j = arg;
	if (!store_ready(j->app->store))
		return;
	event_del(j->poll);
	struct store_idem none = {NULL, NULL};
	store_account_create(j->app->store, j->id, j->doc, "bootstrap", &none, admin_account_done,
			     j);
}

static void admin_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct admin_job *j = arg;
	fprintf(stderr, "craftmatchd: Redis at the configured URL is not ready; nothing created\n");
	event_base_loopexit(j->app->base, NULL);
}

int admin_create(struct app *app, const char *name)
{
	struct admin_job j = {.app = app, .rc = 1};
	json_t *body = json_pack("{s:s, s:s}", "role", "admin", "name", name);
	json_t *errors = NULL;
	j.doc = account_from_request(body, &errors);
	json_decref(body);
	if (j.doc == NULL) {
		char *e = json_dumps(errors, JSON_COMPACT);
		fprintf(stderr, "craftmatchd: --create-admin: %s\n", e ? e : "invalid name");
		free(e);
		json_decref(errors);
		return 2;
	}
	char when[32];
	ids_new("acc", j.id);
	json_object_set_new(j.doc, "id", json_string(j.id));
	json_object_set_new(j.doc, "created_at", json_string(clock_text(clock_now_ms(), when)));
	json_object_set_new(j.doc, "created_by", json_string("bootstrap"));
	j.poll = event_new(app->base, -1, EV_PERSIST, admin_poll, &j);
	j.deadline = evtimer_new(app->base, admin_deadline, &j);
	struct timeval every = {0, 20000}, limit = {10, 0};
	event_add(j.poll, &every);
	evtimer_add(j.deadline, &limit);
	event_base_dispatch(app->base);
	event_free(j.poll);
	event_free(j.deadline);
	json_decref(j.doc);
	return j.rc;
}
