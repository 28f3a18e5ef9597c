// SQLITE_TRANSIENT is a cast macro Swift cannot import; these wrappers pass it.
#include <sqlite3.h>

static inline int mminf_bind_text(sqlite3_stmt *s, int i, const char *text, int n) {
    return sqlite3_bind_text(s, i, text, n, SQLITE_TRANSIENT);
}
static inline int mminf_bind_blob64(sqlite3_stmt *s, int i, const void *data, sqlite3_uint64 n) {
    return sqlite3_bind_blob64(s, i, data, n, SQLITE_TRANSIENT);
}
