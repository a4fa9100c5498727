/*
 * framer — a strict HTTP/1.1 request framer (see framer.h).
 *
 * The grammar is RFC 9112's, read strictly: where a message could be framed
 * two ways (§6.3, §11.2) it is refused, never guessed. The head is read a
 * byte at a time only where a byte can change the state; runs of ordinary
 * bytes (the target, field names and values) are skipped with a class
 * table. Bodies are counted, not scanned.
 */
#include "server/http/framer.h"

#include <string.h>

enum {
	S_IDLE,	   /* between requests: empty lines may come */
	S_IDLE_CR, /* a CR between requests: its LF must follow */
	S_METHOD,
	S_TARGET0, /* the first byte of the target: '/' */
	S_TARGET1, /* the second: anything of the path but '/' */
	S_TARGET,
	S_PCT1, /* after '%': two hex digits */
	S_PCT2,
	S_VERSION,
	S_LF,	 /* after a CR in the head: LF, then f->after_cr */
	S_FIELD, /* the start of a field line, or the empty line */
	S_NAME,
	S_VALUE,
	S_HEAD_END, /* only as f->after_cr: the empty line's LF ends the head */
	S_BODY,
	S_REFUSED,
};

/* The fields whose value the framer reads; the others are only checked. */
enum { F_OTHER, F_CONTENT_LENGTH, F_TRANSFER_ENCODING, F_HOST, F_EXPECT };

/* Methods the server implements somewhere (see the route table). */
static const char *const framer_methods[] = {"GET",   "HEAD",	"POST",	  "PUT",
					     "PATCH", "DELETE", "OPTIONS"};
enum { FRAMER_M_HEAD = 1, FRAMER_M_POST = 2 };

/* Byte classes (RFC 9110 §5.6.2 tchar, RFC 3986 path and query, field-vchar). */
enum {
	C_TCHAR = 1,  /* token */
	C_TARGET = 2, /* unreserved / sub-delims / ":" / "@" / "/" / "?" ("%" apart), "[]{}|^`" */
	C_VALUE = 4,  /* field-content: VCHAR, obs-text, SP, HTAB */
	C_HOST = 8,   /* unreserved / sub-delims / "%" / ":" / "[" / "]" */
	C_HEX = 16,
};

static unsigned char framer_class[256];

static void framer_classes_init(void)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	/* RFC 3986 pchar, "/" and "?", plus what browsers leave unescaped in a
	 * query (WHATWG URL): harmless to framing, and refusing it helps nobody. */
	static const char target[] = "-._~!$&'()*+,;=:@/?[]{}|^`";
	static const char host[] = "-._~!$&'()*+,;=%:[]";
	for (int c = 0; c < 256; c++) {
		unsigned char k = 0;
		int alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (alnum || (c && strchr(tchar, c)))
			k |= C_TCHAR;
		if (alnum || (c && strchr(target, c)))
			k |= C_TARGET;
		if (alnum || (c && strchr(host, c)))
			k |= C_HOST;
		if ((c > 0x20 && c < 0x7f) || c >= 0x80 || c == ' ' || c == '\t')
			k |= C_VALUE;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			k |= C_HEX;
		framer_class[c] = k;
	}
}

void framer_init(struct framer *f, const struct framer_limits *lim)
{
	if (framer_class['a'] == 0)
		framer_classes_init(); /* idempotent: racing threads write the same bytes */
	memset(f, 0, sizeof(*f));
	f->lim = *lim;
	f->state = S_IDLE;
	f->method = -1;
}

int framer_idle(const struct framer *f)
{
	return f->state == S_IDLE || f->state == S_IDLE_CR;
}

int framer_head(const struct framer *f)
{
	return !framer_idle(f) && f->method == FRAMER_M_HEAD;
}

const struct framer_refusal *framer_refusal(const struct framer *f)
{
	return f->state == S_REFUSED ? &f->refusal : NULL;
}

static enum framer_event framer_refuse(struct framer *f, int status, const char *slug,
				       const char *detail)
{
	f->state = S_REFUSED;
	f->refusal.status = status;
	f->refusal.slug = slug;
	f->refusal.detail = detail;
	return FRAMER_REFUSED;
}

static enum framer_event framer_bad(struct framer *f, const char *detail)
{
	return framer_refuse(f, 400, "bad-request", detail);
}

static void framer_request_begin(struct framer *f)
{
	f->state = S_METHOD;
	f->head_bytes = 0;
	f->method = -1;
	f->tok_len = 0;
	f->target_len = 0;
	f->n_content_length = f->n_host = f->n_transfer_encoding = f->expect_bad = 0;
	f->content_length = 0;
}

static int framer_ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* At the space after the method. */
static enum framer_event framer_method_end(struct framer *f)
{
	if (f->tok_len == 0)
		return framer_bad(f, "the request line does not start with a method");
	for (size_t m = 0; m < sizeof(framer_methods) / sizeof(framer_methods[0]); m++)
		if (strlen(framer_methods[m]) == f->tok_len &&
		    memcmp(framer_methods[m], f->tok, f->tok_len) == 0) {
			f->method = (int)m;
			f->state = S_TARGET0;
			return FRAMER_PARTIAL;
		}
	return framer_refuse(f, 501, "not-implemented",
			     "this method is not implemented by the server; it serves GET, HEAD, "
			     "POST, PUT, PATCH, DELETE and OPTIONS");
}

/* At the CR or LF ending the request line. */
static enum framer_event framer_version_end(struct framer *f)
{
	if (f->tok_len != 8 || memcmp(f->tok, "HTTP/1.", 7) != 0 ||
	    (f->tok[7] != '0' && f->tok[7] != '1'))
		return framer_bad(f, "the request line must end with HTTP/1.1 or HTTP/1.0 "
				     "after a single space");
	f->version_minor = f->tok[7] - '0';
	return FRAMER_PARTIAL;
}

/* At the colon ending a field name. */
static enum framer_event framer_name_end(struct framer *f)
{
	static const struct {
		const char *name;
		int field;
	} known[] = {{"content-length", F_CONTENT_LENGTH},
		     {"transfer-encoding", F_TRANSFER_ENCODING},
		     {"host", F_HOST},
		     {"expect", F_EXPECT}};
	f->field = F_OTHER;
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (strlen(known[k].name) == f->name_len &&
		    memcmp(known[k].name, f->name, f->name_len) == 0)
			f->field = known[k].field;
	switch (f->field) {
	case F_CONTENT_LENGTH:
		if (++f->n_content_length > 1)
			return framer_bad(f, "Content-Length is given more than once");
		break;
	case F_HOST:
		if (++f->n_host > 1)
			return framer_bad(f, "Host is given more than once");
		break;
	case F_TRANSFER_ENCODING:
		f->n_transfer_encoding++;
		break;
	}
	f->val_len = 0;
	f->val_over = 0;
	f->val_state = 0;
	f->state = S_VALUE;
	return FRAMER_PARTIAL;
}

/*
 * One byte of the value of a field the framer reads. Leading and trailing
 * whitespace is dropped; whitespace inside marks the value malformed
 * (val_over), as does a byte a Host cannot hold.
 */
static void framer_value_byte(struct framer *f, unsigned char c)
{
	if (c == ' ' || c == '\t') {
		if (f->val_state == 1)
			f->val_state = 2;
		return;
	}
	if (f->val_state == 2 || (f->field == F_HOST && !(framer_class[c] & C_HOST)))
		f->val_over = 1;
	f->val_state = 1;
	if (f->val_len < sizeof(f->val))
		f->val[f->val_len++] = (char)c;
	else
		f->val_over = 1;
}

/* At the end of a field line. */
static enum framer_event framer_field_end(struct framer *f)
{
	switch (f->field) {
	case F_CONTENT_LENGTH: {
		uint64_t v = 0;
		if (f->val_over || f->val_len == 0)
			return framer_bad(f, "Content-Length must be one decimal number");
		for (size_t k = 0; k < f->val_len; k++) {
			unsigned d = (unsigned char)f->val[k] - '0';
			if (d > 9)
				return framer_bad(f, "Content-Length must be one decimal number");
			if (v > (UINT64_MAX / 2 - d) / 10)
				return framer_bad(f, "Content-Length is too large a number");
			v = v * 10 + d;
		}
		f->content_length = v;
		break;
	}
	case F_HOST:
		if (f->val_over)
			return framer_bad(
			    f, "Host must be a host name or address and an optional port");
		break;
	case F_EXPECT: {
		static const char cont[] = "100-continue";
		int ok = !f->val_over && f->val_len == sizeof(cont) - 1;
		for (size_t k = 0; ok && k < f->val_len; k++)
			ok = framer_ascii_lower((unsigned char)f->val[k]) == cont[k];
		if (!ok)
			f->expect_bad = 1;
		break;
	}
	}
	f->field = F_OTHER;
	return FRAMER_PARTIAL;
}

/* The body limit of the request being read: larger for a POST to the upload path. */
static uint64_t framer_body_limit(const struct framer *f)
{
	const char *up = f->lim.upload_path;
	if (up == NULL || f->method != FRAMER_M_POST)
		return f->lim.max_body_bytes;
	size_t n = strlen(up);
	if (f->target_len < n || memcmp(f->target, up, n) != 0)
		return f->lim.max_body_bytes;
	if (f->target_len > n && f->target[n] != '?')
		return f->lim.max_body_bytes;
	return f->lim.max_upload_bytes;
}

static void framer_target_byte(struct framer *f, unsigned char c)
{
	if (f->target_len < sizeof(f->target))
		f->target[f->target_len] = (char)c;
	f->target_len++;
}

/* At the empty line: decides the body, or refuses. */
static enum framer_event framer_head_end(struct framer *f)
{
	if (f->version_minor == 1 && f->n_host == 0)
		return framer_bad(f, "an HTTP/1.1 request must carry a Host field");
	if (f->n_transfer_encoding && f->n_content_length)
		return framer_bad(f, "Transfer-Encoding and Content-Length together are ambiguous");
	if (f->n_transfer_encoding)
		return framer_refuse(f, 411, "length-required",
				     "send the body with a Content-Length; Transfer-Encoding "
				     "(chunked) is not accepted");
	if (f->expect_bad)
		return framer_refuse(f, 417, "expectation-failed",
				     "the only expectation the server meets is 100-continue");
	if (f->content_length > framer_body_limit(f))
		return framer_refuse(f, 413, "payload-too-large",
				     "the request body exceeds the server's limit");
	if (f->method == FRAMER_M_HEAD && f->content_length > 0)
		return framer_bad(f, "a HEAD request carries no body");
	f->body_left = f->content_length;
	if (f->body_left > 0) {
		f->state = S_BODY;
		return FRAMER_PARTIAL;
	}
	f->state = S_IDLE;
	f->method = -1;
	f->requests++;
	return FRAMER_DONE;
}

/* A CR in the head: its LF must come next, then `then`. */
static void framer_expect_lf(struct framer *f, int then)
{
	f->after_cr = then;
	f->state = S_LF;
}

/* After the CR or LF ending a line: the next line is a field line. */
static void framer_line_end(struct framer *f, unsigned char c)
{
	if (c == '\r')
		framer_expect_lf(f, S_FIELD);
	else
		f->state = S_FIELD;
}

enum framer_event framer_feed(struct framer *f, const unsigned char *data, size_t len, size_t *used)
{
	size_t i = 0;
	enum framer_event ev;

	while (i < len) {
		unsigned char c;
		size_t j;

		switch (f->state) {
		case S_REFUSED:
			*used = i;
			return FRAMER_REFUSED;
		case S_BODY: {
			uint64_t take = len - i < f->body_left ? len - i : f->body_left;
			i += (size_t)take;
			f->body_left -= take;
			if (f->body_left == 0) {
				f->state = S_IDLE;
				f->method = -1;
				f->requests++;
				*used = i;
				return FRAMER_DONE;
			}
			continue;
		}
		case S_IDLE:
			if (data[i] == '\n') {
				i++;
			} else if (data[i] == '\r') {
				f->state = S_IDLE_CR;
				i++;
			} else {
				framer_request_begin(f);
				*used = i;
				return FRAMER_START;
			}
			continue;
		case S_IDLE_CR:
			if (data[i] != '\n') {
				*used = i;
				return framer_bad(f, "a CR not followed by LF");
			}
			f->state = S_IDLE;
			i++;
			continue;
		case S_TARGET:
			for (j = i; j < len && (framer_class[data[j]] & C_TARGET); j++)
				framer_target_byte(f, data[j]);
			break;
		case S_NAME:
			for (j = i; j < len && (framer_class[data[j]] & C_TCHAR); j++) {
				if (f->name_len < sizeof(f->name))
					f->name[f->name_len] = (char)framer_ascii_lower(data[j]);
				f->name_len++;
			}
			break;
		case S_VALUE:
			if (f->field == F_OTHER)
				for (j = i; j < len && (framer_class[data[j]] & C_VALUE); j++)
					;
			else
				for (j = i; j < len && (framer_class[data[j]] & C_VALUE); j++)
					framer_value_byte(f, data[j]);
			break;
		default:
			j = i;
			break;
		}
		/* The head: a run of ordinary bytes (i..j), then one byte that may
		 * change the state. Every byte counts against the limit first. */
		f->head_bytes += j - i + (j < len);
		i = j;
		if (f->head_bytes > f->lim.max_header_bytes) {
			*used = i;
			return framer_refuse(
			    f, 431, "headers-too-large",
			    "the request line and headers exceed the server's limit");
		}
		if (i == len)
			break;
		c = data[i++];
		ev = FRAMER_PARTIAL;
		switch (f->state) {
		case S_METHOD:
			if (c == ' ')
				ev = framer_method_end(f);
			else if (!(framer_class[c] & C_TCHAR))
				ev = framer_bad(f, "the method is not a token");
			else if (f->tok_len < sizeof(f->tok))
				f->tok[f->tok_len++] = (char)c;
			else
				f->tok_len = sizeof(f->tok) + 1; /* too long to be one we serve */
			break;
		case S_TARGET0:
			if (c != '/')
				ev = framer_bad(
				    f, "the request target must be a path starting with /");
			else
				f->state = S_TARGET1;
			framer_target_byte(f, c);
			break;
		case S_TARGET1:
			if (c == '/') {
				ev = framer_bad(f, "the request target must not start with //");
				break;
			}
			f->state = S_TARGET;
			/* fall through */
		case S_TARGET:
			if (c == ' ') {
				f->state = S_VERSION;
				f->tok_len = 0;
			} else if (c == '%') {
				framer_target_byte(f, c);
				f->state = S_PCT1;
			} else if (!(framer_class[c] & C_TARGET)) {
				ev = framer_bad(f, "the request target holds a byte that must be "
						   "percent-encoded");
			} else {
				framer_target_byte(f, c);
			}
			break;
		case S_PCT1:
		case S_PCT2:
			if (!(framer_class[c] & C_HEX))
				ev = framer_bad(f,
						"a % in the request target is not followed by two "
						"hex digits");
			else
				f->state = f->state == S_PCT1 ? S_PCT2 : S_TARGET;
			break;
		case S_VERSION:
			if (c == '\r' || c == '\n') {
				ev = framer_version_end(f);
				if (ev == FRAMER_PARTIAL)
					framer_line_end(f, c);
			} else if (f->tok_len < sizeof(f->tok)) {
				f->tok[f->tok_len++] = (char)c;
			} else {
				f->tok_len = 0; /* too long to be a version */
				ev = framer_version_end(f);
			}
			break;
		case S_LF:
			if (c != '\n')
				ev = framer_bad(f, "a CR not followed by LF");
			else if (f->after_cr == S_HEAD_END)
				ev = framer_head_end(f);
			else
				f->state = f->after_cr;
			break;
		case S_FIELD:
			if (c == '\r') {
				framer_expect_lf(f, S_HEAD_END);
			} else if (c == '\n') {
				ev = framer_head_end(f);
			} else if (c == ' ' || c == '\t') {
				ev = framer_bad(f,
						"obsolete line folding (a field line starting with "
						"whitespace) is not accepted");
			} else if (framer_class[c] & C_TCHAR) {
				f->name[0] = (char)framer_ascii_lower(c);
				f->name_len = 1;
				f->state = S_NAME;
			} else {
				ev = framer_bad(f, "a field name is not a token");
			}
			break;
		case S_NAME:
			if (c == ':')
				ev = framer_name_end(f);
			else if (c == ' ' || c == '\t')
				ev = framer_bad(f, "whitespace between a field name and its colon");
			else if (c == '\r' || c == '\n')
				ev = framer_bad(f, "a field line without a colon");
			else
				ev = framer_bad(f, "a field name is not a token");
			break;
		case S_VALUE:
			if (c == '\r' || c == '\n') {
				ev = framer_field_end(f);
				if (ev == FRAMER_PARTIAL)
					framer_line_end(f, c);
			} else {
				ev = framer_bad(
				    f, "a control byte (NUL, CR, DEL, ...) in a field value");
			}
			break;
		}
		if (f->state == S_REFUSED)
			ev = FRAMER_REFUSED;
		if (ev != FRAMER_PARTIAL) {
			*used = i;
			return ev;
		}
	}
	*used = i;
	if (f->state == S_REFUSED)
		return FRAMER_REFUSED;
	return framer_idle(f) ? FRAMER_IDLE : FRAMER_PARTIAL;
}
