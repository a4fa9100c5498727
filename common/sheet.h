/*
 * sheet — a registration sheet (CSV) of accounts, needs or offers, read into
 * request bodies for the same validators as the JSON routes use.
 *
 * The file is parsed by libcsv (Debian's libcsv3, strict mode; see
 * docs/decisions.md): UTF-8 with or without a BOM, comma- or
 * semicolon-separated (the separator of the header line), RFC 4180 quoting.
 * The first record names the columns by their Vietnamese headers (or the
 * JSON field names), matched with accents, case and punctuation folded; a
 * column with an empty header is ignored, its cells must be empty. Each
 * later record becomes one JSON body (empty cells are left out) plus its row
 * key ("Khóa dòng"); a record whose cells are all empty is skipped.
 *
 * A file that cannot be read as a sheet (not UTF-8, not CSV, unknown,
 * repeated or missing headers, too many rows or cells) is refused whole:
 * sheet_parse returns NULL with the reasons. Pure: no I/O.
 */
#ifndef CM_SHEET_H
#define CM_SHEET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum sheet_kind { SHEET_ACCOUNTS, SHEET_NEEDS, SHEET_OFFERS, SHEET_KIND_UNKNOWN };

/* "accounts" | "needs" | "offers" and back. */
enum sheet_kind sheet_kind_parse(const char *s);
const char *sheet_kind_name(enum sheet_kind k);

#define SHEET_ROWS_MAX 10000  /* data rows in one file */
#define SHEET_CELLS_MAX 40    /* cells in one record */
#define SHEET_CELL_MAX 2000   /* bytes in one cell */
#define SHEET_ROW_KEY_MAX 100 /* characters of a row key */
#define SHEET_ROW_KEY_HEADER "Khóa dòng"

struct sheet_row {
	size_t row;	/* its row number as a spreadsheet shows it: the header is row 1 */
	char *key;	/* the row key, or NULL when the cell is empty */
	json_t *body;	/* the request body the row makes */
	json_t *errors; /* errors found while reading it (sheet_error), or NULL */
};

struct sheet {
	enum sheet_kind kind;
	size_t ncols;
	int *cols; /* per CSV column: index into the kind's column table */
	size_t nrows;
	struct sheet_row *rows;
};

/*
 * Reads data[0..len) as a sheet of kind. Returns the sheet, or NULL with
 * *errors set to an array of {field, message} saying why the file as a whole
 * is refused (field: "file" or the header concerned).
 */
struct sheet *sheet_parse(enum sheet_kind kind, const char *data, size_t len, size_t max_rows,
			  json_t **errors);
void sheet_free(struct sheet *s);

/*
 * Appends a row error {row, column, field, message, message_vi} to *errors:
 * field is the body member concerned ("" for the row as a whole), column
 * the header of its column (null when none), message English, message_vi
 * Vietnamese.
 */
void sheet_error(json_t **errors, size_t row, const char *column, const char *field,
		 const char *message, const char *message_vi);

/*
 * The header (Vietnamese) of the column that fills field (a body member,
 * maybe dotted: "contact.phone"), or NULL when no column does.
 */
const char *sheet_column_of(enum sheet_kind kind, const char *field);

/*
 * Turns the validator errors ({field, message}, stolen) of row into row
 * errors appended to row->errors.
 */
void sheet_row_errors(const struct sheet *s, struct sheet_row *row, json_t *errors);

/*
 * The template of kind: a BOM, the header row and one example row, CSV
 * (CRLF line ends). Returns a new string; *len its length.
 */
char *sheet_template(enum sheet_kind kind, size_t *len);

#endif
