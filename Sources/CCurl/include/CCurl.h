// curl_easy_setopt and friends are variadic, which Swift cannot call; these
// typed wrappers are the whole of this target.
#include <curl/curl.h>

typedef size_t (*mminf_data_callback)(char *data, size_t size, size_t count, void *user);

static inline CURLcode mminf_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mminf_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mminf_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mminf_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mminf_setopt_callback(CURL *h, CURLoption o, mminf_data_callback f) { return curl_easy_setopt(h, o, f); }
static inline CURLcode mminf_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode mminf_getinfo_ptr(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode mminf_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
