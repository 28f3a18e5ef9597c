// glibc's malloc tuning, which Swift cannot reach (the M_* constants live in malloc.h).
#include <malloc.h>

/// Blocks up to 8 MB (image request bodies) from the heap, reused, not fresh mmaps
/// faulted in page by page; larger ones (videos) still mmap and go back to the system
/// when freed. Free heap above 32 MB at the top is returned.
static inline void mminf_keep_large_blocks_on_heap(void) {
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
}
