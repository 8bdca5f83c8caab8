package index

/*
#include <stdlib.h>

extern void ts_set_allocator(
	void *(*new_malloc)(size_t),
	void *(*new_calloc)(size_t, size_t),
	void *(*new_realloc)(void *, size_t),
	void (*new_free)(void *));

static void rubberduck_libc_allocator(void) { ts_set_allocator(malloc, calloc, realloc, free); }
*/
import "C"

// go-tree-sitter routes every allocation of the C library through Go
// callbacks (C -> Go -> C), which costs more than the parse on large
// trees. Its default callbacks call libc anyway, so the C library is
// pointed at libc directly: memory stays malloc'd and freed by the same
// allocator either way.
func init() { C.rubberduck_libc_allocator() }
