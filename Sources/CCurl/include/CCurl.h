// curl_easy_setopt and friends are variadic, which Swift cannot call; these
// typed wrappers are the whole of this target.
#include <curl/curl.h>
#include <errno.h>

typedef size_t (*mminf_data_callback)(char *data, size_t size, size_t count, void *user);

static inline CURLcode mminf_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mminf_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mminf_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mminf_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mminf_setopt_callback(CURL *h, CURLoption o, mminf_data_callback f) { return curl_easy_setopt(h, o, f); }
static inline CURLcode mminf_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode mminf_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

// Socket-event driving (curl_multi_socket_action with epoll): typed setters for
// the two multi callbacks, and epoll calls that keep the packed epoll_event
// struct on the C side.
#include <sys/epoll.h>
#include <sys/socket.h>

typedef int (*mminf_socket_callback)(CURL *easy, curl_socket_t s, int what, void *user, void *socketp);
typedef int (*mminf_timer_callback)(CURLM *multi, long timeout_ms, void *user);

static inline CURLMcode mminf_multi_setopt_ptr(CURLM *m, CURLMoption o, void *v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode mminf_multi_setopt_socketfn(CURLM *m, mminf_socket_callback f) { return curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, f); }
static inline CURLMcode mminf_multi_setopt_timerfn(CURLM *m, mminf_timer_callback f) { return curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, f); }

/// Opens and closes the sockets of an easy handle's connections through
/// `open` (which calls `mminf_open_socket`) and `close`, so the caller knows
/// which socket numbers are connections and when each one ends.
typedef curl_socket_t (*mminf_opensocket_callback)(void *user, curlsocktype purpose, struct curl_sockaddr *address);
typedef int (*mminf_closesocket_callback)(void *user, curl_socket_t fd);
static inline void mminf_setopt_socket_callbacks(CURL *h, mminf_opensocket_callback open, mminf_closesocket_callback close, void *user) {
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, user);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, user);
}
static inline curl_socket_t mminf_open_socket(struct curl_sockaddr *a) {
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/// Watch `fd` for curl's CURL_POLL_* interest (add, change, or remove with CURL_POLL_REMOVE).
static inline int mminf_epoll_watch(int epfd, int fd, int what, int known) {
    if (what == CURL_POLL_REMOVE) return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    struct epoll_event ev = {0};
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    ev.data.fd = fd;
    /* What we believe may be stale: a socket closed without CURL_POLL_REMOVE leaves
       epoll's set by itself, and its number can come back for a new connection. */
    int rc = epoll_ctl(epfd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    if (rc != 0 && known && errno == ENOENT) rc = epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    if (rc != 0 && !known && errno == EEXIST) rc = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    return rc;
}

/// Waits for events; fills fds[i] and curl's CURL_CSELECT_* mask in masks[i].
static inline int mminf_epoll_wait(int epfd, int *fds, int *masks, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = evs[i].data.fd;
        int m = 0;
        if (evs[i].events & EPOLLIN) m |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT) m |= CURL_CSELECT_OUT;
        if (evs[i].events & (EPOLLERR | EPOLLHUP)) m |= CURL_CSELECT_ERR;
        masks[i] = m;
    }
    return n;
}
