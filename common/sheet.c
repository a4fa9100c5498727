/*
 * sheet — reading a registration sheet (see sheet.h).
 *
 * The column table below is the whole mapping from the sheet to the JSON
 * bodies of POST /v1/accounts, /v1/needs and /v1/offers: every check of a
 * value is left to the validators of those routes (common/account.c,
 * common/listing.c); here a cell only becomes the JSON value the route
 * takes (a number for price and distance columns, a boolean for yes/no, a
 * list for the scope columns, a string otherwise).
 */
#include "common/sheet.h"

#include <csv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/textfold.h"
#include "common/xalloc.h"

enum sheet_type { T_KEY, T_STR, T_ROLE, T_INT, T_NUM, T_DEC, T_BOOL, T_LIST };

enum { K_A = 1, K_N = 2, K_O = 4 };

struct sheet_column {
	const char *header; /* Vietnamese; also matched: the field name */
	const char *field;  /* body member, dotted for nested ones */
	enum sheet_type type;
	unsigned kinds;	   /* where it is a column */
	unsigned required; /* where the header must be present */
	const char *example[3];
};

/* Template order. Examples: accounts, needs, offers. */
static const struct sheet_column sheet_columns[] = {
    {SHEET_ROW_KEY_HEADER,
     "row_key",
     T_KEY,
     K_A | K_N | K_O,
     K_A | K_N | K_O,
     {"bat-trang-001", "nhu-cau-001", "chao-hang-001"}},
    {"Vai trò", "role", T_ROLE, K_A, K_A, {"village"}},
    {"Tên", "name", T_STR, K_A, K_A, {"Hợp tác xã Gốm sứ Bát Tràng"}},
    {"Vật liệu", "material", T_STR, K_N | K_O, K_N | K_O, {NULL, "kaolin", "kaolin"}},
    {"Loại", "grade", T_STR, K_N | K_O, 0, {NULL, "B", "A"}},
    {"Số lượng", "quantity", T_DEC, K_N | K_O, K_N | K_O, {NULL, "12,5", "500"}},
    {"Đơn vị", "unit", T_STR, K_N | K_O, 0, {NULL, "tấn", "tấn"}},
    {"Đơn tối thiểu", "min_order", T_DEC, K_O, 0, {NULL, NULL, "10"}},
    {"Đơn giá (VND)", "price_vnd", T_INT, K_N | K_O, K_O, {NULL, "2.400.000", "2.100.000"}},
    {"Đơn vị giá", "price_unit", T_STR, K_N | K_O, 0, {NULL, "tấn", "tấn"}},
    {"Tỉnh/Thành phố",
     "province",
     T_STR,
     K_A | K_N | K_O,
     K_N | K_O,
     {"Hà Nội", "Hà Nội", "Hải Dương"}},
    {"Xã/Phường", "commune", T_STR, K_A | K_N | K_O, 0, {"Bát Tràng", "Bát Tràng", "Chí Linh"}},
    {"Vĩ độ", "location.lat", T_NUM, K_N | K_O, 0, {NULL, "20.9755", NULL}},
    {"Kinh độ", "location.lon", T_NUM, K_N | K_O, 0, {NULL, "105.9116", NULL}},
    {"Cần trước ngày", "needed_by", T_STR, K_N, K_N, {NULL, "2030-12-20", NULL}},
    {"Nhận vật liệu thay thế", "accept_substitutes", T_BOOL, K_N, 0, {NULL, "có", NULL}},
    {"Có từ ngày", "available_from", T_STR, K_O, 0, {NULL, NULL, NULL}},
    {"Có đến ngày", "available_until", T_STR, K_O, 0, {NULL, NULL, "2030-02-28"}},
    {"Khoảng cách tối đa (km)", "max_distance_km", T_INT, K_N | K_O, 0, {NULL, "400", NULL}},
    {"Điện thoại", "contact.phone", T_STR, K_A, 0, {"0912345678"}},
    {"Email", "contact.email", T_STR, K_A, 0, {"gom@battrang.vn"}},
    {"Địa chỉ", "contact.address", T_STR, K_A, 0, {"Thôn 3, Bát Tràng, Gia Lâm"}},
    {"Phạm vi tỉnh", "scope.provinces", T_LIST, K_A, 0, {NULL}},
    {"Phạm vi diễn đàn", "scope.forums", T_LIST, K_A, 0, {NULL}},
    {"Diễn đàn", "forum", T_STR, K_A | K_N | K_O, 0, {NULL}},
    {"Sau diễn đàn", "after_forum", T_STR, K_N | K_O, 0, {NULL}},
    {"Ghi chú", "note", T_STR, K_N | K_O, 0, {NULL, "Cao lanh làm xương gốm", "Cao lanh lọc"}},
};
#define SHEET_NCOLUMNS (sizeof(sheet_columns) / sizeof(sheet_columns[0]))

static unsigned sheet_kind_bit(enum sheet_kind k)
{
	return k == SHEET_ACCOUNTS ? K_A : k == SHEET_NEEDS ? K_N : k == SHEET_OFFERS ? K_O : 0;
}

enum sheet_kind sheet_kind_parse(const char *s)
{
	if (s == NULL)
		return SHEET_KIND_UNKNOWN;
	if (strcmp(s, "accounts") == 0)
		return SHEET_ACCOUNTS;
	if (strcmp(s, "needs") == 0)
		return SHEET_NEEDS;
	if (strcmp(s, "offers") == 0)
		return SHEET_OFFERS;
	return SHEET_KIND_UNKNOWN;
}

const char *sheet_kind_name(enum sheet_kind k)
{
	static const char *const names[] = {"accounts", "needs", "offers"};
	return k < SHEET_KIND_UNKNOWN ? names[k] : "unknown";
}

void sheet_error(json_t **errors, size_t row, const char *column, const char *field,
		 const char *message, const char *message_vi)
{
	if (*errors == NULL)
		*errors = json_array();
	json_array_append_new(*errors,
			      json_pack("{s:I, s:s*, s:s, s:s, s:s}", "row", (json_int_t)row,
					"column", column, "field", field ? field : "", "message",
					message, "message_vi", message_vi));
}

const char *sheet_column_of(enum sheet_kind kind, const char *field)
{
	unsigned bit = sheet_kind_bit(kind);
	const struct sheet_column *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; field && i < SHEET_NCOLUMNS; i++) {
		const struct sheet_column *c = &sheet_columns[i];
		if (!(c->kinds & bit))
			continue;
		size_t n = strlen(c->field);
		/* "location.lat" for "location.lat"; "location" for its columns' parent */
		if (strcmp(c->field, field) == 0)
			return c->header;
		if (strncmp(c->field, field, strlen(field)) == 0 &&
		    c->field[strlen(field)] == '.' && best == NULL)
			best = c;
		else if (strncmp(field, c->field, n) == 0 && field[n] == '.' && n > best_len)
			best = c, best_len = n;
	}
	return best ? best->header : NULL;
}

void sheet_row_errors(const struct sheet *s, struct sheet_row *row, json_t *errors)
{
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e)
	{
		const char *field = json_string_value(json_object_get(e, "field"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		const char *column = sheet_column_of(s->kind, field);
		char vi[256];
		if (column)
			snprintf(vi, sizeof(vi), "Giá trị ở cột «%s» không hợp lệ", column);
		else
			snprintf(vi, sizeof(vi), "Dòng này không hợp lệ");
		sheet_error(&row->errors, row->row, column, field, msg ? msg : "not valid", vi);
	}
	json_decref(errors);
}

/* ---- parsing ------------------------------------------------------------ */

struct sheet_parse {
	struct sheet *s;
	unsigned bit;
	size_t max_rows;
	json_t **errors;
	int refused;
	size_t records; /* records seen (the header is the first) */
	/* the record being read */
	char **cells;
	size_t ncells;
	int too_many_cells;
	int cell_too_long;
};

static void sheet_refuse(struct sheet_parse *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sheet_refuse(struct sheet_parse *p, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a cut ("%.100s", or the buffer's end) may split a character: drop its bytes */
	size_t n = strlen(msg);
	while (n > 0 && !text_valid_utf8(msg, n))
		msg[--n] = '\0';
	if (*p->errors == NULL)
		*p->errors = json_array();
	if (json_array_size(*p->errors) < 50)
		json_array_append_new(*p->errors,
				      json_pack("{s:s, s:s}", "field", field, "message", msg));
	p->refused = 1;
}

static void sheet_cell(void *data, size_t len, void *arg)
{
	struct sheet_parse *p = arg;
	if (p->refused)
		return;
	if (p->ncells >= SHEET_CELLS_MAX) {
		p->too_many_cells = 1;
		return;
	}
	if (len > SHEET_CELL_MAX) {
		p->cell_too_long = 1;
		len = 0;
	}
	char *c = xmalloc(len + 1);
	if (len)
		memcpy(c, data, len);
	c[len] = '\0';
	p->cells[p->ncells++] = c;
}

static void sheet_cells_clear(struct sheet_parse *p)
{
	for (size_t i = 0; i < p->ncells; i++)
		free(p->cells[i]);
	p->ncells = 0;
	p->too_many_cells = 0;
	p->cell_too_long = 0;
}

/* Trims spaces around a cell in place; returns it. */
static char *sheet_trim(char *c)
{
	size_t n = strlen(c);
	while (n && (c[n - 1] == ' ' || c[n - 1] == '\t'))
		c[--n] = '\0';
	size_t k = strspn(c, " \t");
	if (k)
		memmove(c, c + k, n - k + 1);
	return c;
}

static void sheet_header(struct sheet_parse *p)
{
	struct sheet *s = p->s;
	s->ncols = p->ncells;
	s->cols = xcalloc(p->ncells ? p->ncells : 1, sizeof(int));
	int seen[SHEET_NCOLUMNS] = {0};
	for (size_t i = 0; i < p->ncells; i++) {
		const char *h = sheet_trim(p->cells[i]);
		char *fh = text_fold_key(h, strlen(h));
		s->cols[i] = -1;
		for (size_t k = 0; fh && k < SHEET_NCOLUMNS; k++) {
			const struct sheet_column *c = &sheet_columns[k];
			if (!(c->kinds & p->bit))
				continue;
			char *fc = text_fold_key(c->header, strlen(c->header));
			int same = (fc && strcmp(fc, fh) == 0) || strcmp(h, c->field) == 0;
			free(fc);
			if (same) {
				s->cols[i] = (int)k;
				break;
			}
		}
		free(fh);
		if (s->cols[i] < 0 && *h == '\0')
			continue; /* a column without a header (spreadsheets leave them): its cells
				     must be empty */
		if (s->cols[i] < 0)
			sheet_refuse(
			    p, h,
			    "unknown column header '%.100s' for %s (cột không có trong mẫu %s; "
			    "see GET /v1/imports/template?kind=%s)",
			    h, sheet_kind_name(s->kind), sheet_kind_name(s->kind),
			    sheet_kind_name(s->kind));
		else if (seen[s->cols[i]]++)
			sheet_refuse(p, sheet_columns[s->cols[i]].header,
				     "the column '%s' is given twice (cột bị lặp)",
				     sheet_columns[s->cols[i]].header);
	}
	for (size_t k = 0; k < SHEET_NCOLUMNS; k++)
		if ((sheet_columns[k].required & p->bit) && !seen[k])
			sheet_refuse(p, sheet_columns[k].header,
				     "the required column '%s' is missing (thiếu cột bắt buộc)",
				     sheet_columns[k].header);
}

/* Sets body[a.b] = v (stolen), making the parent object. */
static void sheet_put(json_t *body, const char *field, json_t *v)
{
	const char *dot = strchr(field, '.');
	if (dot == NULL) {
		json_object_set_new(body, field, v);
		return;
	}
	char parent[32];
	snprintf(parent, sizeof(parent), "%.*s", (int)(dot - field), field);
	json_t *obj = json_object_get(body, parent);
	if (!json_is_object(obj)) {
		obj = json_object();
		json_object_set_new(body, parent, obj);
	}
	json_object_set_new(obj, dot + 1, v);
}

/* "2.400.000", "2,400,000" or "2 400 000" → "2400000" in place when it is grouped digits. */
static void sheet_ungroup(char *c)
{
	size_t n = strlen(c), digits = 0;
	char sep = 0;
	for (size_t i = 0; i < n; i++) {
		if (c[i] >= '0' && c[i] <= '9') {
			digits++;
			continue;
		}
		if ((c[i] != '.' && c[i] != ',' && c[i] != ' ') || (sep && c[i] != sep))
			return;
		sep = c[i];
		/* a separator must have 1..3 digits before (first group) or exactly 3 */
		if (digits == 0 || n - i - 1 < 3)
			return;
		for (size_t k = 1; k <= 3; k++)
			if (c[i + k] < '0' || c[i + k] > '9')
				return;
		if (i + 4 < n && c[i + 4] != sep)
			return;
	}
	if (sep == 0)
		return;
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (c[i] != sep)
			c[w++] = c[i];
	c[w] = '\0';
}

/* The JSON value of a cell of column c (never NULL). */
static json_t *sheet_value(const struct sheet_column *c, char *cell)
{
	char *end;
	switch (c->type) {
	case T_INT: {
		sheet_ungroup(cell);
		size_t n = strlen(cell);
		if (n > 0 && n <= 18 && strspn(cell, "0123456789") == n)
			return json_integer(strtoll(cell, NULL, 10));
		return json_string(cell); /* the validator says why it is not a number */
	}
	case T_NUM: {
		/* a decimal comma is the Vietnamese way of writing 20,9755 */
		char *comma = strchr(cell, ',');
		if (comma && strchr(cell, '.') == NULL && strchr(comma + 1, ',') == NULL)
			*comma = '.';
		double d = strtod(cell, &end);
		if (end != cell && *end == '\0')
			return json_real(d);
		return json_string(cell);
	}
	case T_DEC: {
		char *comma = strchr(cell, ',');
		if (comma && strchr(cell, '.') == NULL && strchr(comma + 1, ',') == NULL)
			*comma = '.';
		return json_string(cell);
	}
	case T_BOOL: {
		char *f = text_fold_key(cell, strlen(cell));
		json_t *v = NULL;
		if (f && (!strcmp(f, "co") || !strcmp(f, "x") || !strcmp(f, "true") ||
			  !strcmp(f, "1") || !strcmp(f, "yes")))
			v = json_true();
		else if (f && (!strcmp(f, "khong") || !strcmp(f, "false") || !strcmp(f, "0") ||
			       !strcmp(f, "no")))
			v = json_false();
		free(f);
		return v ? v : json_string(cell);
	}
	case T_ROLE: {
		static const char *const vi[][2] = {{"lang nghe", "village"},
						    {"nha cung cap", "supplier"},
						    {"dieu phoi vien", "moderator"},
						    {"quan tri vien", "admin"}};
		char *f = text_fold_key(cell, strlen(cell));
		json_t *v = NULL;
		for (size_t i = 0; f && !v && i < sizeof(vi) / sizeof(vi[0]); i++)
			if (strcmp(f, vi[i][0]) == 0)
				v = json_string(vi[i][1]);
		free(f);
		return v ? v : json_string(cell);
	}
	case T_LIST: {
		json_t *a = json_array();
		char *save = NULL;
		for (char *t = strtok_r(cell, ";,", &save); t; t = strtok_r(NULL, ";,", &save)) {
			t = sheet_trim(t);
			if (*t)
				json_array_append_new(a, json_string(t));
		}
		return a;
	}
	case T_KEY:
	case T_STR:
		break;
	}
	return json_string(cell);
}

/* A row key: 1..SHEET_ROW_KEY_MAX characters, no control characters. */
static int sheet_key_ok(const char *k)
{
	for (const unsigned char *c = (const unsigned char *)k; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return 0;
	size_t n = fields_chars(k);
	return n >= 1 && n <= SHEET_ROW_KEY_MAX;
}

static void sheet_record_row(struct sheet_parse *p)
{
	struct sheet *s = p->s;
	size_t rowno = p->records; /* the header is row 1 */
	int any = 0;
	for (size_t i = 0; i < p->ncells; i++)
		if (*sheet_trim(p->cells[i]))
			any = 1;
	if (!any && !p->too_many_cells)
		return; /* an empty line of the spreadsheet */
	if (s->nrows >= p->max_rows) {
		sheet_refuse(p, "file", "more than %zu rows (quá %zu dòng); split the file",
			     p->max_rows, p->max_rows);
		return;
	}
	struct sheet_row *row = &s->rows[s->nrows++];
	int key_bad = 0, headless = 0;
	row->row = rowno;
	row->body = json_object();
	if (p->too_many_cells || p->ncells > s->ncols)
		sheet_error(&row->errors, rowno, NULL, "",
			    "the row has more cells than the header has columns",
			    "Dòng có nhiều ô hơn số cột của tiêu đề");
	if (p->cell_too_long)
		sheet_error(&row->errors, rowno, NULL, "", "a cell is too long", "Có ô quá dài");
	for (size_t i = 0; i < p->ncells && i < s->ncols; i++) {
		char *cell = p->cells[i];
		if (*cell == '\0')
			continue;
		if (s->cols[i] < 0) {
			if (!headless++)
				sheet_error(&row->errors, rowno, NULL, "",
					    "a cell holds a value in a column without a header",
					    "Có ô có giá trị ở cột không có tiêu đề");
			continue;
		}
		const struct sheet_column *c = &sheet_columns[s->cols[i]];
		if (c->type == T_KEY) {
			if (sheet_key_ok(cell))
				row->key = xstrdup(cell);
			else
				key_bad = 1,
				sheet_error(&row->errors, rowno, c->header, "row_key",
					    "the row key must be text of at most 100 characters",
					    "Khóa dòng phải là chữ, tối đa 100 ký tự");
			continue;
		}
		sheet_put(row->body, c->field, sheet_value(c, cell));
	}
	if (row->key == NULL && !key_bad)
		sheet_error(&row->errors, rowno, SHEET_ROW_KEY_HEADER, "row_key",
			    "the row key is missing: it names the row, so importing the file "
			    "again creates nothing twice",
			    "Thiếu khóa dòng");
}

static void sheet_record(int term, void *arg)
{
	struct sheet_parse *p = arg;
	if (!p->refused) {
		p->records++;
		if (p->records == 1)
			sheet_header(p);
		else
			sheet_record_row(p);
	}
	sheet_cells_clear(p);
}

static unsigned char sheet_delimiter(const char *data, size_t len)
{
	size_t commas = 0, semis = 0, tabs = 0;
	int quoted = 0;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && (c == '\n' || c == '\r'))
			break;
		else if (!quoted && c == ',')
			commas++;
		else if (!quoted && c == ';')
			semis++;
		else if (!quoted && c == '\t')
			tabs++;
	}
	if (semis > commas && semis >= tabs)
		return ';';
	if (tabs > commas)
		return '\t';
	return ',';
}

struct sheet *sheet_parse(enum sheet_kind kind, const char *data, size_t len, size_t max_rows,
			  json_t **errors)
{
	*errors = NULL;
	struct sheet_parse p = {
	    .bit = sheet_kind_bit(kind), .max_rows = max_rows, .errors = errors};
	if (p.bit == 0) {
		sheet_refuse(&p, "kind", "unknown kind");
		return NULL;
	}
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		data += 3, len -= 3;
	if (len == 0) {
		sheet_refuse(&p, "file", "the file is empty (tệp rỗng)");
		return NULL;
	}
	if (memchr(data, '\0', len) || !text_valid_utf8(data, len)) {
		sheet_refuse(&p, "file",
			     "the file is not UTF-8 text; save it as \"CSV UTF-8\" (tệp không phải "
			     "văn bản UTF-8)");
		return NULL;
	}
	struct sheet *s = xcalloc(1, sizeof(*s));
	s->kind = kind;
	s->rows = xcalloc(max_rows ? max_rows : 1, sizeof(*s->rows));
	p.s = s;
	p.cells = xcalloc(SHEET_CELLS_MAX, sizeof(char *));
	struct csv_parser csv;
	if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
		abort();
	csv_set_delim(&csv, sheet_delimiter(data, len));
	if (csv_parse(&csv, data, len, sheet_cell, sheet_record, &p) != len ||
	    csv_fini(&csv, sheet_cell, sheet_record, &p) != 0) {
		if (!p.refused)
			sheet_refuse(&p, "file",
				     "the file is not CSV: %s near record %zu (không đọc được CSV)",
				     csv_strerror(csv_error(&csv)), p.records + 1);
	}
	csv_free(&csv);
	sheet_cells_clear(&p);
	free(p.cells);
	if (!p.refused && p.records == 0)
		sheet_refuse(&p, "file", "the file has no header row (thiếu dòng tiêu đề)");
	if (p.refused) {
		sheet_free(s);
		return NULL;
	}
	/* row keys: present and unique */
	json_t *keys = json_object();
	for (size_t i = 0; i < s->nrows; i++) {
		struct sheet_row *row = &s->rows[i];
		if (row->key == NULL)
			continue;
		json_t *prev = json_object_get(keys, row->key);
		if (prev) {
			char en[128], vi[128];
			snprintf(en, sizeof(en), "the row key repeats that of row %lld",
				 (long long)json_integer_value(prev));
			snprintf(vi, sizeof(vi), "Khóa dòng trùng với dòng %lld",
				 (long long)json_integer_value(prev));
			sheet_error(&row->errors, row->row, SHEET_ROW_KEY_HEADER, "row_key", en,
				    vi);
		} else {
			json_object_set_new(keys, row->key, json_integer((json_int_t)row->row));
		}
	}
	json_decref(keys);
	return s;
}

void sheet_free(struct sheet *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nrows; i++) {
		free(s->rows[i].key);
		json_decref(s->rows[i].body);
		json_decref(s->rows[i].errors);
	}
	free(s->rows);
	free(s->cols);
	free(s);
}

/* ---- the template ------------------------------------------------------- */

static void sheet_put_cell(char **buf, size_t *len, size_t *cap, const char *text, int first)
{
	size_t n = strlen(text);
	size_t need = *len + 2 * n + 4;
	if (need > *cap) {
		*cap = need * 2;
		*buf = xrealloc(*buf, *cap);
	}
	if (!first)
		(*buf)[(*len)++] = ',';
	*len += csv_write(*buf + *len, *cap - *len, text, n);
}

char *sheet_template(enum sheet_kind kind, size_t *len)
{
	unsigned bit = sheet_kind_bit(kind);
	size_t cap = 1024, n = 0;
	char *buf = xmalloc(cap);
	memcpy(buf, "\xEF\xBB\xBF", 3);
	n = 3;
	for (int line = 0; line < 2; line++) {
		int first = 1;
		for (size_t k = 0; k < SHEET_NCOLUMNS; k++) {
			const struct sheet_column *c = &sheet_columns[k];
			if (!(c->kinds & bit))
				continue;
			const char *ex = c->example[kind];
			sheet_put_cell(&buf, &n, &cap, line == 0 ? c->header : ex ? ex : "", first);
			first = 0;
		}
		if (n + 3 > cap)
			buf = xrealloc(buf, cap = n + 3);
		buf[n++] = '\r';
		buf[n++] = '\n';
	}
	buf = xrealloc(buf, n + 1);
	buf[n] = '\0';
	*len = n;
	return buf;
}
