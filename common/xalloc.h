/*
 * xalloc — allocation that cannot half-fail.
 *
 * Every function aborts the process when memory is exhausted, so callers keep
 * their error paths for the errors a user can cause. No I/O beyond the final
 * message on abort.
 */
#ifndef CM_XALLOC_H
#define CM_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns a new NUL-terminated copy; caller frees. */
char *xstrdup(const char *s);
/* Copies at most n bytes and terminates; caller frees. */
char *xstrndup(const char *s, size_t n);
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
