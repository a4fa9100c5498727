/*
 * position — stream ids as positions (see position.h).
 */
#include "server/push/position.h"

#include <stddef.h>
#include <stdio.h>

/* One decimal part of s, up to stop; returns a pointer past it or NULL. */
static const char *position_part(const char *s, char stop, uint64_t *out)
{
	const char *p = s;
	uint64_t v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (p == s || *p != stop || (s[0] == '0' && p - s > 1))
		return NULL;
	*out = v;
	return p;
}

int position_parse(const char *s, struct position *out)
{
	struct position pos;
	const char *p = position_part(s, '-', &pos.ms);
	if (p == NULL || position_part(p + 1, '\0', &pos.seq) == NULL)
		return -1;
	*out = pos;
	return 0;
}

int position_cmp(const struct position *a, const struct position *b)
{
	if (a->ms != b->ms)
		return a->ms < b->ms ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

char *position_format(const struct position *p, char *buf)
{
	snprintf(buf, POSITION_MAX, "%llu-%llu", (unsigned long long)p->ms,
		 (unsigned long long)p->seq);
	return buf;
}
