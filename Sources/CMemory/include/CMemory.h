// glibc's malloc tuning, which Swift cannot reach (the M_* constants live in malloc.h).
#include <malloc.h>

/// Blocks up to 32 MB from the heap (reused), not fresh mmaps (faulted in page by page).
static inline void mminf_keep_large_blocks_on_heap(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}
