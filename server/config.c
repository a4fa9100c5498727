/*
 * config — the settings table and its parser (see config.h).
 */
#include "server/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/sheet.h"

enum config_type {
	CT_STRING,
	CT_INT,
	CT_LONG,
	CT_ROLE,
	CT_LOGFMT,
	CT_LOGLEVEL,
	CT_FLAG,
	CT_DURABILITY,
};

struct config_setting {
	const char *flag;
	const char *env; /* NULL: flag only */
	enum config_type type;
	size_t offset;
	size_t size; /* strings: buffer size */
	const char *def;
	long min, max;
	const char *help;
};

#define CFG(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)

static const struct config_setting config_settings[] = {
    {"bind", "CRAFTMATCH_BIND", CT_STRING, CFG(bind), "127.0.0.1", 0, 0, "address to listen on"},
    {"port", "CRAFTMATCH_PORT", CT_INT, CFG(port), "8080", 0, 65535,
     "TCP port to listen on (0: any free port, printed at start)"},
    {"redis-url", "CRAFTMATCH_REDIS_URL", CT_STRING, CFG(redis_url), "redis://127.0.0.1:6379", 0, 0,
     "Redis to use: redis://[:password@]host[:port][/db]"},
    {"sentinels", "CRAFTMATCH_SENTINELS", CT_STRING, CFG(sentinels), "", 0, 0,
     "Redis Sentinel addresses host:port,host:port,... to ask for the primary (empty: no "
     "Sentinel; with sentinels, --redis-url gives only the password and database)"},
    {"sentinel-master", "CRAFTMATCH_SENTINEL_MASTER", CT_STRING, CFG(sentinel_master), "craftmatch",
     0, 0, "the name the sentinels monitor the primary by"},
    {"durability", "CRAFTMATCH_DURABILITY", CT_DURABILITY, CFG(durability_replicated), "local", 0,
     0,
     "local: a change is acknowledged once the primary has it (on disk, AOF always); "
     "replicated: only once WAIT saw it on --durability-replicas replicas (else 503, "
     "retry with the Idempotency-Key)"},
    {"durability-replicas", "CRAFTMATCH_DURABILITY_REPLICAS", CT_INT, CFG(durability_replicas), "1",
     1, 16, "replicas WAIT must count before a change is acknowledged (replicated)"},
    {"durability-timeout-ms", "CRAFTMATCH_DURABILITY_TIMEOUT_MS", CT_INT,
     CFG(durability_timeout_ms), "1000", 1, 600000,
     "how long WAIT waits for the replicas (replicated); past it the request gets 503"},
    {"role", "CRAFTMATCH_ROLE", CT_ROLE, CFG(role), "all", 0, 0,
     "background work besides the HTTP API: all (engine and push hub), api (neither), engine, "
     "push"},
    {"redis-timeout-ms", "CRAFTMATCH_REDIS_TIMEOUT_MS", CT_INT, CFG(redis_timeout_ms), "2000", 10,
     600000, "deadline on every Redis call; a request missing it gets 503 with Retry-After"},
    {"request-timeout", "CRAFTMATCH_REQUEST_TIMEOUT", CT_INT, CFG(request_timeout_s), "30", 1, 3600,
     "seconds a client may take to send a whole request"},
    {"idle-timeout", "CRAFTMATCH_IDLE_TIMEOUT", CT_INT, CFG(idle_timeout_s), "60", 1, 86400,
     "seconds a connection may stay silent (between reads or writes)"},
    {"max-connections", "CRAFTMATCH_MAX_CONNECTIONS", CT_INT, CFG(max_connections), "4096", 1,
     1000000, "open client connections at most; beyond it new ones wait in the backlog"},
    {"max-body-bytes", "CRAFTMATCH_MAX_BODY_BYTES", CT_LONG, CFG(max_body_bytes), "65536", 256,
     64L << 20, "largest request body accepted (larger: 413)"},
    {"import-max-bytes", "CRAFTMATCH_IMPORT_MAX_BYTES", CT_LONG, CFG(import_max_bytes), "4194304",
     1024, 64L << 20, "largest spreadsheet POST /v1/imports accepts (larger: 413)"},
    {"import-max-rows", "CRAFTMATCH_IMPORT_MAX_ROWS", CT_INT, CFG(import_max_rows), "10000", 1,
     SHEET_ROWS_MAX, "data rows one spreadsheet of POST /v1/imports may hold"},
    {"import-stale-ms", "CRAFTMATCH_IMPORT_STALE_MS", CT_INT, CFG(import_stale_ms), "60000", 100,
     86400000, "an import with no progress for this long reads as status interrupted"},
    {"max-header-bytes", "CRAFTMATCH_MAX_HEADER_BYTES", CT_LONG, CFG(max_header_bytes), "16384",
     1024, 1L << 20, "largest request line + headers accepted"},
    {"log-format", "CRAFTMATCH_LOG_FORMAT", CT_LOGFMT, CFG(log_format), "logfmt", 0, 0,
     "log line format: logfmt or json"},
    {"log-level", "CRAFTMATCH_LOG_LEVEL", CT_LOGLEVEL, CFG(log_level), "info", 0, 0,
     "lowest level logged: debug, info, warn or error"},
    {"shutdown-grace", "CRAFTMATCH_SHUTDOWN_GRACE", CT_INT, CFG(shutdown_grace_s), "10", 0, 3600,
     "seconds in-flight requests may take after SIGTERM before exit"},
    {"expiry-interval-ms", "CRAFTMATCH_EXPIRY_INTERVAL_MS", CT_INT, CFG(expiry_interval_ms), "1000",
     50, 3600000,
     "how often listings past their end date, and matches left unanswered, are expired, and "
     "open forums past their registration deadline close registration"},
    {"events-maxlen", "CRAFTMATCH_EVENTS_MAXLEN", CT_LONG, CFG(events_maxlen), "1000000", 1000,
     1000000000L, "approximate number of entries kept in the cm:events stream"},
    {"events-heartbeat", "CRAFTMATCH_EVENTS_HEARTBEAT", CT_INT, CFG(events_heartbeat_s), "15", 1,
     3600,
     "seconds between heartbeat comments on /v1/events streams (always sent more often "
     "than --idle-timeout)"},
    {"events-buffer-bytes", "CRAFTMATCH_EVENTS_BUFFER_BYTES", CT_LONG, CFG(events_buffer_bytes),
     "262144", 4096, 1L << 30,
     "bytes a /v1/events subscriber may leave unread before it is dropped as too slow"},
    {"events-io-uring", "CRAFTMATCH_EVENTS_IO_URING", CT_INT, CFG(events_io_uring), "1", 0, 1,
     "1: a fan-out's sends go to the kernel in io_uring submissions where the kernel allows "
     "it (plain sends where it does not); 0: one send() each"},
    {"events-retry-ms", "CRAFTMATCH_EVENTS_RETRY_MS", CT_INT, CFG(events_retry_ms), "3000", 100,
     600000, "reconnection delay /v1/events suggests to its clients (the SSE retry: field)"},
    {"stream-ticket-ttl", "CRAFTMATCH_STREAM_TICKET_TTL", CT_INT, CFG(stream_ticket_ttl_s), "60", 1,
     3600, "seconds a single-use stream ticket (POST /v1/stream-tickets) stays valid"},
    {"session-ttl", "CRAFTMATCH_SESSION_TTL", CT_INT, CFG(session_ttl_s), "2592000", 60, 31536000,
     "seconds a browser session (POST /v1/sessions) lasts before its owner signs in again"},
    {"review-timeout", "CRAFTMATCH_REVIEW_TIMEOUT", CT_INT, CFG(review_timeout_s), "172800", 1,
     31536000,
     "seconds a proposal may wait for review, and an approved match for both "
     "parties, before it expires and its quantity returns"},
    {"call-interval", "CRAFTMATCH_CALL_INTERVAL", CT_INT, CFG(call_interval_s), "0", 0, 86400,
     "market mode: 0 matches continuously (each new or changed listing at once, first come "
     "first served); N > 0 runs a call market: every N seconds the open listings are "
     "allocated in one solve (the most quantity, then the least landed cost) and proposed"},
    {"freight-rate", "CRAFTMATCH_FREIGHT_RATE", CT_LONG, CFG(freight_rate), "3000", 0, 1000000,
     "road freight in VND per tonne-km, for landed cost"},
    {"clearing-page", "CRAFTMATCH_CLEARING_PAGE", CT_INT, CFG(clearing_page), "1000", 1, 100000,
     "proposals a forum's clearing writes per Redis call (each call atomic; a smaller page "
     "blocks Redis for less time)"},
    {"web-root", "CRAFTMATCH_WEB_ROOT", CT_STRING, CFG(web_root), "", 0, 0,
     "folder of the built web app served at / (default: web/ beside the craftmatchd binary, "
     "else ../share/craftmatch/web from it)"},
    {"create-admin", NULL, CT_STRING, CFG(create_admin), "", 0, 0,
     "create an admin account with this display name, print its token once, exit"},
    {"routes", NULL, CT_FLAG, CFG(show_routes), "0", 0, 0,
     "print the HTTP routes served (method and path), exit"},
    {"version", NULL, CT_FLAG, CFG(show_version), "0", 0, 0, "print the version, exit"},
    {"help", NULL, CT_FLAG, CFG(show_help), "0", 0, 0, "print this help, exit"},
};

#define N_SETTINGS (sizeof(config_settings) / sizeof(config_settings[0]))

static const char *const role_names[] = {"all", "api", "engine", "push"};

const char *config_role_name(enum config_role role)
{
	return role_names[role];
}

static int config_set(struct config *cfg, const struct config_setting *s, const char *value,
		      char *err, size_t errlen)
{
	char *field = (char *)cfg + s->offset;
	switch (s->type) {
	case CT_STRING:
		if (strlen(value) >= s->size) {
			snprintf(err, errlen, "--%s: value longer than %zu bytes", s->flag,
				 s->size - 1);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case CT_INT:
	case CT_LONG: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < s->min || v > s->max) {
			snprintf(err, errlen, "--%s: '%s' is not a whole number from %ld to %ld",
				 s->flag, value, s->min, s->max);
			return -1;
		}
		if (s->type == CT_INT)
			*(int *)field = (int)v;
		else
			*(long *)field = v;
		return 0;
	}
	case CT_ROLE:
		for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
			if (strcmp(value, role_names[i]) == 0) {
				*(enum config_role *)field = (enum config_role)i;
				return 0;
			}
		snprintf(err, errlen, "--%s: '%s' is not one of all, api, engine, push", s->flag,
			 value);
		return -1;
	case CT_LOGFMT:
		if (log_format_parse(value, (enum log_format *)field) == 0)
			return 0;
		snprintf(err, errlen, "--%s: '%s' is not logfmt or json", s->flag, value);
		return -1;
	case CT_LOGLEVEL:
		if (log_level_parse(value, (enum log_level *)field) == 0)
			return 0;
		snprintf(err, errlen, "--%s: '%s' is not debug, info, warn or error", s->flag,
			 value);
		return -1;
	case CT_FLAG:
		*(int *)field = strcmp(value, "0") != 0;
		return 0;
	case CT_DURABILITY:
		if (strcmp(value, "local") == 0 || strcmp(value, "replicated") == 0) {
			*(int *)field = strcmp(value, "replicated") == 0;
			return 0;
		}
		snprintf(err, errlen, "--%s: '%s' is not local or replicated", s->flag, value);
		return -1;
	}
	return -1;
}

int config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (config_set(cfg, &config_settings[i], config_settings[i].def, err, errlen) < 0)
			return -1;
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		const char *v = s->env ? getenv(s->env) : NULL;
		if (v && *v && config_set(cfg, s, v, err, errlen) < 0) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, " (from %s)", s->env);
			return -1;
		}
	}
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s' (see --help)", arg);
			return -1;
		}
		arg += 2;
		const char *eq = strchr(arg, '=');
		size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct config_setting *s = NULL;
		for (size_t i = 0; i < N_SETTINGS; i++)
			if (strlen(config_settings[i].flag) == nl &&
			    strncmp(config_settings[i].flag, arg, nl) == 0)
				s = &config_settings[i];
		if (s == NULL) {
			snprintf(err, errlen, "unknown option '--%.*s' (see --help)", (int)nl, arg);
			return -1;
		}
		const char *value;
		if (s->type == CT_FLAG) {
			value = eq ? eq + 1 : "1";
		} else if (eq) {
			value = eq + 1;
		} else if (a + 1 < argc) {
			value = argv[++a];
		} else {
			snprintf(err, errlen, "--%s needs a value", s->flag);
			return -1;
		}
		if (config_set(cfg, s, value, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void config_usage(FILE *out)
{
	fprintf(out, "usage: craftmatchd [--setting value]...\n\n"
		     "craftmatch supply-demand matchmaking server. Settings (flag, environment, "
		     "default):\n\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		if (s->type == CT_FLAG)
			fprintf(out, "  --%s\n      %s\n", s->flag, s->help);
		else
			fprintf(out, "  --%s %s%s (default: %s)\n      %s\n", s->flag,
				s->env ? "| " : "", s->env ? s->env : "",
				s->def[0] ? s->def : "none", s->help);
	}
}
