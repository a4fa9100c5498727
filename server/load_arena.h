/*
 * load_arena — the memory a start's loads fill (the engine's index and the
 * search index of every open listing, the scan's replies) in 2 MiB pages.
 *
 * A node's start at 1M listings faults in about 1.4 GB of fresh memory; in
 * 4 KiB pages that is ~390,000 page faults and as many TLB entries for the
 * hash tables it probes at random, a third of the start's CPU on this kind
 * of virtual machine (docs/performance.md, "Fifth pass (issue 15):
 * restart"). While a thread is inside, its allocations come from a jemalloc
 * arena of its own whose memory is advised MADV_HUGEPAGE; the rest of the
 * process (requests, SSE subscribers) keeps the ordinary 4 KiB pages, so a
 * small process's RSS is not rounded up to huge pages.
 *
 * Without jemalloc (the sanitizer builds) both calls do nothing.
 */
#ifndef CRAFTMATCH_SERVER_LOAD_ARENA_H
#define CRAFTMATCH_SERVER_LOAD_ARENA_H

/* The calling thread allocates from the load arena until as many leaves (nested). */
void load_arena_enter(void);
void load_arena_leave(void);

#endif
