/*
 * framer — a strict HTTP/1.1 request framer for the bytes of one connection.
 *
 * Pure: no I/O, no allocation, one pass over each byte. It is fed the raw
 * stream in pieces of any size, split anywhere, and follows it request line
 * → header fields → body (by Content-Length) → next request, so every
 * pipelined request gets the same checks. It decides where each request
 * ends and whether its framing is unambiguous; it never interprets a request
 * beyond that. server.c passes evhttp only the bytes of requests the framer
 * has accepted, so evhttp never parses anything the framer would refuse.
 *
 * What is refused (framer_refusal() says which status and problem type):
 *   400 bad-request     malformed request line (method not a token, target
 *                       not an origin-form path, version not HTTP/1.0 or
 *                       HTTP/1.1, stray spaces), a field name that is not a
 *                       token or is followed by whitespace before the colon,
 *                       obsolete line folding, a control byte (NUL, bare CR,
 *                       DEL, ...; HTAB only inside values), a Content-Length
 *                       that is not plain decimal or overflows, Content-Length
 *                       repeated (even with the same value), Content-Length
 *                       with Transfer-Encoding, a body on HEAD, Host missing
 *                       in HTTP/1.1, repeated or not a host[:port]
 *   411 length-required Transfer-Encoding without Content-Length
 *   413 payload-too-large Content-Length over the body limit
 *   417 expectation-failed an Expect other than 100-continue
 *   431 headers-too-large request line and header fields over the limit
 *   501 not-implemented a method token the server implements nowhere (only
 *                       GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS are)
 * After a refusal the framer stays refused: the caller answers and closes.
 *
 * Empty lines before a request line are allowed (RFC 9112 §2.2) and are
 * reported as bytes to drop. A line may end in CRLF or a bare LF (§2.2,
 * as evhttp reads them); a CR not followed by LF is refused.
 */
#ifndef CM_HTTP_FRAMER_H
#define CM_HTTP_FRAMER_H

#include <stddef.h>
#include <stdint.h>

struct framer_limits {
	size_t max_header_bytes; /* request line + fields + the empty line, inclusive */
	uint64_t max_body_bytes; /* inclusive */
	/* A POST to exactly upload_path (then nothing or a query) may carry up
	 * to max_upload_bytes instead (a spreadsheet); NULL: no such path. */
	const char *upload_path;
	uint64_t max_upload_bytes;
};

/* What framer_feed() stopped at; *used says how many bytes it consumed. */
enum framer_event {
	FRAMER_IDLE,	/* only empty lines between requests: drop the *used bytes */
	FRAMER_START,	/* drop the *used bytes; a request starts at data[*used] */
	FRAMER_PARTIAL, /* the *used bytes (all given) belong to an unfinished request */
	FRAMER_DONE,	/* a request ends with the *used bytes: it is well-framed */
	FRAMER_REFUSED, /* a refusal; see framer_refusal() */
};

struct framer_refusal {
	int status;	    /* 400, 411, 413, 417, 431, 501 */
	const char *slug;   /* the problem type, e.g. "bad-request" */
	const char *detail; /* a static sentence for the client */
};

struct framer {
	struct framer_limits lim;
	int state;
	int after_cr; /* state to resume at once the LF after a CR arrives */
	size_t head_bytes;
	uint64_t body_left;
	/* the request being read */
	int method;  /* FRAMER_M_* index, or -1 while unknown */
	char tok[8]; /* method, then the version text */
	size_t tok_len;
	int version_minor;
	char target[24]; /* the target's first bytes (for upload_path) */
	size_t target_len;
	int field;     /* which field the current line is (see framer.c) */
	char name[20]; /* the current field name, lower case, when short */
	size_t name_len;
	char val[24]; /* the current value of a field we read, after leading OWS */
	size_t val_len;
	int val_over;  /* the value did not fit in val, or is malformed */
	int val_state; /* 0 before the value, 1 in it, 2 in whitespace after it */
	int n_content_length, n_host, n_transfer_encoding, expect_bad;
	uint64_t content_length;
	struct framer_refusal refusal;
	uint64_t requests; /* requests accepted so far */
};

void framer_init(struct framer *f, const struct framer_limits *lim);

/*
 * Consumes data[0..len) up to the next event (see enum framer_event) and
 * sets *used. Call again with the rest. A refused framer stays refused and
 * consumes nothing more.
 */
enum framer_event framer_feed(struct framer *f, const unsigned char *data, size_t len,
			      size_t *used);

/* Between requests (nothing of a request has been seen since the last one). */
int framer_idle(const struct framer *f);

/* The request being read, or the one refused, is a HEAD (its answer has no body). */
int framer_head(const struct framer *f);

/* The refusal after FRAMER_REFUSED, or NULL. */
const struct framer_refusal *framer_refusal(const struct framer *f);

#endif
