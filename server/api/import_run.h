/*
 * import_run — checking and applying the rows of an imported sheet, a
 * batch per turn of the event loop (see import_run.c).
 *
 * A dry run checks every row with the validators of the JSON routes and
 * answers 200 with every row's errors when the last batch is checked: it
 * writes nothing. A real run stores the import resource (queued), answers
 * 202, then checks and creates IMPORT_BATCH rows per turn, their create
 * calls pipelined on the store's link, and records each batch's results in
 * the resource. One real run goes at a time per process; the others wait
 * queued.
 */
#ifndef CM_API_IMPORT_RUN_H
#define CM_API_IMPORT_RUN_H

#include "common/sheet.h"

struct app;
struct http_req;
struct imports;

#define IMPORT_BATCH 250      /* rows created per turn of the loop */
#define IMPORT_DRY_BATCH 1000 /* rows checked per turn of a dry run */
#define IMPORT_JOBS_MAX 8     /* imports in memory at once (more: 503) */
#define IMPORT_TTL_S 86400    /* an import resource lives a day after its last change */

struct imports *imports_new(struct app *app);
/* No new batch starts; dry runs still waiting are answered 503. */
void imports_stop(struct imports *im);
void imports_free(struct imports *im);

/* 1 when IMPORT_JOBS_MAX imports are under way. */
int imports_busy(const struct imports *im);

/*
 * Takes sheet (owned) for the caller of r; forum (may be NULL) is the
 * default forum of its rows. Answers r: 200 with the errors (dry run), or
 * 202 with the new resource.
 */
void import_run(struct imports *im, struct http_req *r, struct sheet *sheet, const char *forum,
		int dry_run);

#endif
