/*
 * csvout — CSV text (RFC 4180) of JSON rows: a field is quoted when it holds
 * a comma, a double quote, CR or LF (its quotes doubled), records end with
 * CRLF, text stays UTF-8 as it is.
 *
 * A column names a member of the row by its dotted path ("owner.name",
 * "quantity.base"); the cell is that member's value: a string as it is, an
 * integer in decimal, a real with 15 significant digits, true/false, and an
 * empty cell for null or a missing member. An array or object there is
 * written as its compact JSON text. So any JSON table (a list page, a
 * statistics table whose rows nest count/quantity/value) becomes CSV with a
 * column table, or with the columns csvout_paths finds in the rows.
 *
 * Spreadsheets run a cell that starts with = + - @ (and tab or CR) as a
 * formula; with CSVOUT_SAFE_TEXT a string value (never a number) starting
 * so is written with a leading apostrophe, which Excel and LibreOffice show
 * as text (OWASP's advice against CSV injection).
 *
 * Pure: no I/O; the text goes to the caller's sink. Allocation aborts on OOM.
 */
#ifndef CM_CSVOUT_H
#define CM_CSVOUT_H

#include <stddef.h>

#include <jansson.h>

/* Receives the text in pieces, in order. */
typedef void (*csvout_sink)(void *arg, const char *data, size_t len);

struct csvout_column {
	const char *header; /* the header row's cell */
	const char *path;   /* dotted path of the member in the row */
	const char *label;  /* another header (people's words, e.g. Vietnamese), or NULL */
};

#define CSVOUT_SAFE_TEXT 0x1 /* an apostrophe before a string that a spreadsheet would run */
#define CSVOUT_LABELS 0x2    /* the header row has each column's label (its header when none) */

/* The UTF-8 byte order mark (EF BB BF), for Excel to read the file as UTF-8. */
#define CSVOUT_BOM "\xef\xbb\xbf"

/* One field, quoted when it must be (no separator, no record end). */
void csvout_field(csvout_sink sink, void *arg, const char *s, size_t len);

/* The header row: each column's header (or label, by flags), then CRLF. */
void csvout_header(csvout_sink sink, void *arg, const struct csvout_column *cols, size_t n,
		   unsigned flags);

/* One record of row (an object; anything else writes empty cells), then CRLF. */
void csvout_row(csvout_sink sink, void *arg, const json_t *row, const struct csvout_column *cols,
		size_t n, unsigned flags);

/* The member of v at a dotted path, or NULL (borrowed). */
const json_t *csvout_lookup(const json_t *v, const char *path);

/*
 * The dotted paths of the scalar leaves (arrays count as leaves) of every
 * object in rows, in first-seen order, without repeats: the columns of a
 * table whose rows nest. Returns a new array of strings.
 */
json_t *csvout_paths(const json_t *rows);

#endif
