/*
 * load_arena — a jemalloc arena in huge pages for a start's loads (see
 * load_arena.h).
 */
#define _GNU_SOURCE
#include "server/load_arena.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

/*
 * jemalloc's mallctl, when craftmatchd is linked with it (weak: the tests
 * and the sanitizer builds have glibc's malloc and no mallctl). The header
 * is not included: it declares malloc and the rest for every file that does.
 */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

/* jemalloc's extent_hooks_t (jemalloc 5): alloc, then eight more we keep as they are. */
struct load_arena_hooks {
	void *(*alloc)(struct load_arena_hooks *hooks, void *new_addr, size_t size,
		       size_t alignment, bool *zero, bool *commit, unsigned arena_ind);
	void (*rest[8])(void);
};

static struct load_arena_hooks *load_arena_default; /* arena 0's */
static struct load_arena_hooks load_arena_hooks;
static unsigned load_arena_index;
static int load_arena_ok;
static pthread_once_t load_arena_once = PTHREAD_ONCE_INIT;

static __thread unsigned load_arena_depth;
static __thread unsigned load_arena_before; /* the thread's arena before it entered */

/* jemalloc's own mapping, advised to be backed by huge pages where it spans 2 MiB. */
static void *load_arena_alloc(struct load_arena_hooks *hooks, void *new_addr, size_t size,
			      size_t alignment, bool *zero, bool *commit, unsigned arena_ind)
{
	(void)hooks;
	void *p = load_arena_default->alloc(load_arena_default, new_addr, size, alignment, zero,
					    commit, arena_ind);
	if (p)
		(void)madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static void load_arena_create(void)
{
	if (mallctl == NULL)
		return;
	size_t len = sizeof(load_arena_default);
	if (mallctl("arena.0.extent_hooks", &load_arena_default, &len, NULL, 0) != 0 ||
	    load_arena_default == NULL || load_arena_default->alloc == NULL)
		return;
	memcpy(&load_arena_hooks, load_arena_default, sizeof(load_arena_hooks));
	load_arena_hooks.alloc = load_arena_alloc;
	struct load_arena_hooks *hooks = &load_arena_hooks;
	len = sizeof(load_arena_index);
	if (mallctl("arenas.create", &load_arena_index, &len, &hooks, sizeof(hooks)) != 0)
		return;
	load_arena_ok = 1;
}

void load_arena_enter(void)
{
	pthread_once(&load_arena_once, load_arena_create);
	if (!load_arena_ok || load_arena_depth++ > 0)
		return;
	size_t len = sizeof(load_arena_before);
	unsigned to = load_arena_index;
	if (mallctl("thread.arena", &load_arena_before, &len, &to, sizeof(to)) != 0)
		load_arena_depth = 0;
}

void load_arena_leave(void)
{
	if (!load_arena_ok || load_arena_depth == 0 || --load_arena_depth > 0)
		return;
	unsigned to = load_arena_before;
	(void)mallctl("thread.arena", NULL, NULL, &to, sizeof(to));
}
