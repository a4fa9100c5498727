/*
 * config — craftmatchd's settings, from flags and CRAFTMATCH_* variables.
 *
 * One static table (config.c) is the source of parsing, defaults, --help and
 * the README's table: add a setting there and nowhere else.
 * Precedence: flag, then environment, then default.
 */
#ifndef CM_CONFIG_H
#define CM_CONFIG_H

#include <stdio.h>

#include "server/log.h"

enum config_role { ROLE_ALL, ROLE_API, ROLE_ENGINE, ROLE_PUSH };

struct config {
	char bind[64];
	int port;
	char redis_url[512];
	char sentinels[1024];	   /* "" : no Sentinel, --redis-url names the server */
	char sentinel_master[128]; /* the name the sentinels monitor the primary by */
	int durability_replicated; /* --durability replicated */
	int durability_replicas;
	int durability_timeout_ms;
	enum config_role role;
	int redis_timeout_ms;
	int request_timeout_s;
	int idle_timeout_s;
	int max_connections;
	long max_body_bytes;
	long import_max_bytes; /* POST /v1/imports only */
	int import_max_rows;
	int import_stale_ms; /* an import this long without progress reads "interrupted" */
	long max_header_bytes;
	enum log_format log_format;
	enum log_level log_level;
	int shutdown_grace_s;
	int expiry_interval_ms;
	int review_timeout_s;
	long freight_rate;
	int clearing_page;
	int call_interval_s; /* 0: continuous matching; N: a call market round every N s */
	long events_maxlen;
	int events_heartbeat_s;
	long events_buffer_bytes;
	int events_io_uring; /* 1: fan-out sends through io_uring where allowed */
	int events_retry_ms;
	int stream_ticket_ttl_s;
	int session_ttl_s;
	char web_root[1024]; /* "" until static_resolve_root() picks the default */

	/* one-shot actions, not settings */
	char create_admin[128];
	int show_help;
	int show_version;
	int show_routes;
};

/*
 * Fills cfg from defaults, the environment and argv. Returns 0, or -1 with a
 * message naming the setting in err.
 */
int config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
void config_usage(FILE *out);
const char *config_role_name(enum config_role role);

#endif
