/*
 * clearing — the forum clearing hook (see clearing.h).
 */
#include "server/engine/clearing.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/fields.h"
#include "common/forum.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/log.h"
#include "server/store/forums.h"

struct clearing_job {
	char forum[FIELDS_FORUM_MAX + 1];
};

static void clearing_reviewed(const struct store_reply *res, void *arg)
{
	struct clearing_job *j = arg;
	if (res->status == STORE_OK)
		log_info("clearing", "forum handed to review", "forum=%s proposals=0", j->forum);
	else
		log_warn("clearing", "forum left in clearing", "forum=%s error=\"%s\"", j->forum,
			 res->message ? res->message : "");
	free(j);
}

void clearing_start(struct app *app, const char *forum_id)
{
	struct clearing_job *j = xcalloc(1, sizeof(*j));
	snprintf(j->forum, sizeof(j->forum), "%s", forum_id);
	/*
	 * The solver goes here: read the forum's held listings, allocate them,
	 * propose the batch, then end with forum_cleared as below. With no
	 * solver the batch is empty.
	 */
	store_forum_transition(app->store, j->forum, &forum_cleared, "system", "", NULL,
			       clearing_reviewed, j);
}
