/*
 * sentinel — finding the Redis primary through Redis Sentinel.
 *
 * hiredis 0.14 (Debian 12's) has no Sentinel client, so this is the small
 * part of one craftmatchd needs. With --sentinels, every link of the
 * process (the store's, the cm:events readers') is attached to one
 * struct sentinel and dials the address it knows:
 *  - discovery asks every sentinel SENTINEL get-master-addr-by-name NAME
 *    (the first valid answer wins; a wrong one is caught by ROLE below);
 *  - a link checks with ROLE that the server it reached is the primary
 *    before it counts as ready (redis.c); a replica is refused and the
 *    sentinels are asked again;
 *  - one link subscribes to +switch-master on a sentinel (the next one when
 *    it drops) and moves every link at once when the primary changes;
 *  - a link that drops, cannot connect, or has a write refused with
 *    READONLY asks for a discovery too (redis.c).
 * While no primary is known the links are down, so every call answers 503
 * with the reason sentinel_why() gives (/readyz shows it).
 */
#ifndef CM_STORE_SENTINEL_H
#define CM_STORE_SENTINEL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redis;
struct redisReply;
struct sentinel;

#define SENTINEL_MAX 16
#define SENTINEL_HOST_MAX 256

struct sentinel_addr {
	char host[SENTINEL_HOST_MAX];
	int port;
};

/* Parses "host:port,host:port,..." (at most max). Returns how many, or -1 with why. */
int sentinel_parse_list(const char *list, struct sentinel_addr *out, int max, const char **why);
/* The reply to SENTINEL get-master-addr-by-name: [host, port]. 0, or -1 (nil, malformed). */
int sentinel_parse_master(const struct redisReply *reply, struct sentinel_addr *out);
/* ROLE's reply: 1 primary ("master"), 0 anything else, -1 not a ROLE reply. */
int sentinel_parse_role(const struct redisReply *reply, const char **role);
/*
 * A +switch-master message, "NAME OLDHOST OLDPORT NEWHOST NEWPORT": 0 with
 * the new address when it names master, -1 otherwise.
 */
int sentinel_parse_switch(const char *msg, const char *master, struct sentinel_addr *out);

/* NULL with why for a bad list. Starts asking at once. */
struct sentinel *sentinel_new(struct event_base *base, const char *list, const char *master,
			      int timeout_ms, const char **why);
void sentinel_free(struct sentinel *s);

/* The primary as last discovered: 1 (and *out), or 0 while none is known. */
int sentinel_primary(const struct sentinel *s, struct sentinel_addr *out);
/* Times the primary's address changed (the first discovery counts). */
uint64_t sentinel_epoch(const struct sentinel *s);
/* Ask the sentinels again (a link saw the primary go, refuse, or be a replica). */
void sentinel_rediscover(struct sentinel *s, const char *why);
/* Why no link may be up yet (for /readyz): "" when a primary is known. */
const char *sentinel_why(const struct sentinel *s);

/* Links follow the primary (redis.c attaches and detaches them). */
void sentinel_attach(struct sentinel *s, struct redis *r);
void sentinel_detach(struct sentinel *s, struct redis *r);

struct sentinel_stats {
	uint64_t discoveries; /* rounds of questions asked */
	uint64_t switches;    /* +switch-master messages followed */
	uint64_t changes;     /* times the primary's address changed */
};
const struct sentinel_stats *sentinel_stats(const struct sentinel *s);

#endif
