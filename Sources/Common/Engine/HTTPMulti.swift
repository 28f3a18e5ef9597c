import CCurl
import Foundation
import RecordCore

/// One HTTP request in flight on libcurl.
public final class HTTPTransfer {
    public let url: String
    public let method: String
    /// The request body, owned here: libcurl reads it from this address while the transfer runs.
    let body: UnsafeMutableBufferPointer<UInt8>
    /// The most response bytes kept; a longer answer ends the transfer (`tooLarge`).
    let maxResponseBytes: Int
    public internal(set) var tooLarge = false
    /// Given back to the pool when the transfer ends, so handles (and their buffers) are reused.
    var easy: UnsafeMutableRawPointer!
    public internal(set) var response: [UInt8] = []
    public internal(set) var responseHeaders: [String: String] = [:]
    public internal(set) var status = 0
    /// Set when no HTTP answer arrived (refused, reset, timed out...).
    public internal(set) var transportError: String?
    public internal(set) var timedOut = false
    public let started = Date()
    /// Whatever the caller needs back when the transfer ends.
    public var context: AnyObject?

    init(
        easy e: UnsafeMutableRawPointer, url: String, method: String, body: [UInt8],
        headerList shared: UnsafeMutablePointer<curl_slist>?,
        timeoutMs: Int, connectTimeoutMs: Int, maxResponseBytes: Int
    ) {
        self.url = url
        self.method = method
        self.body = .allocate(capacity: max(1, body.count))
        _ = self.body.initialize(from: body)
        self.maxResponseBytes = maxResponseBytes
        easy = e
        mminf_setopt_str(e, CURLOPT_URL, url)
        mminf_setopt_long(e, CURLOPT_NOSIGNAL, 1)
        mminf_setopt_long(e, CURLOPT_TCP_NODELAY, 1)
        mminf_setopt_long(e, CURLOPT_TCP_KEEPALIVE, 1)
        if timeoutMs > 0 { mminf_setopt_long(e, CURLOPT_TIMEOUT_MS, timeoutMs) }
        mminf_setopt_long(e, CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMs)
        if method == "POST" {
            mminf_setopt_long(e, CURLOPT_POST, 1)
            mminf_setopt_off(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            mminf_setopt_ptr(e, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(self.body.baseAddress))
        } else {
            mminf_setopt_long(e, CURLOPT_HTTPGET, 1)
        }
        mminf_setopt_ptr(e, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(shared))
        // Only http(s): a base URL of file:// or another scheme is refused by libcurl itself.
        mminf_setopt_str(e, CURLOPT_PROTOCOLS_STR, "http,https")
        mminf_setopt_str(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        mminf_setopt_callback(e, CURLOPT_WRITEFUNCTION, HTTPTransfer.onBody)
        mminf_setopt_callback(e, CURLOPT_HEADERFUNCTION, HTTPTransfer.onHeader)
    }

    deinit {
        if let easy { curl_easy_cleanup(easy) }
        body.deallocate()
    }

    func attach() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        mminf_setopt_ptr(easy, CURLOPT_WRITEDATA, me)
        mminf_setopt_ptr(easy, CURLOPT_HEADERDATA, me)
        mminf_setopt_ptr(easy, CURLOPT_PRIVATE, me)
    }

    static let onBody: mminf_data_callback = { data, size, count, user in
        let t = Unmanaged<HTTPTransfer>.fromOpaque(user!).takeUnretainedValue()
        let n = size * count
        if t.response.count + n > t.maxResponseBytes {
            t.tooLarge = true
            return 0  // libcurl ends the transfer
        }
        if n > 0, let data {
            data.withMemoryRebound(to: UInt8.self, capacity: n) {
                t.response.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
            }
        }
        return n
    }

    /// Only the headers mminf reads are kept; the rest are not even turned into strings.
    static let wantedHeaders: [[UInt8]] = ["retry-after"].map { Array($0.utf8) }

    static let onHeader: mminf_data_callback = { data, size, count, user in
        let t = Unmanaged<HTTPTransfer>.fromOpaque(user!).takeUnretainedValue()
        let n = size * count
        guard n > 0, let data else { return n }
        data.withMemoryRebound(to: UInt8.self, capacity: n) { p in
            let line = UnsafeBufferPointer(start: p, count: n)
            if n >= 5 && p[0] == UInt8(ascii: "H") && p[1] == UInt8(ascii: "T") && p[4] == UInt8(ascii: "/") {
                t.responseHeaders = [:]  // a new response (after 100 Continue)
                return
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
            for wanted in HTTPTransfer.wantedHeaders where wanted.count == colon {
                var same = true
                for i in 0..<colon where p[i] | 0x20 != wanted[i] {
                    same = false
                    break
                }
                guard same else { continue }
                let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines)
                t.responseHeaders[String(decoding: wanted, as: UTF8.self)] = value
            }
        }
        return n
    }

    public var elapsed: Double { Date().timeIntervalSince(started) }
}

/// libcurl's multi interface driven from one thread through socket events
/// (curl_multi_socket_action with epoll): each wake-up touches only the
/// connections that have something to do, however many are in flight;
/// connections are kept alive and reused between requests.
public final class HTTPMulti {
    let multi: UnsafeMutableRawPointer
    var active: [UnsafeMutableRawPointer: HTTPTransfer] = [:]
    var idle: [UnsafeMutableRawPointer] = []
    let epfd: Int32
    /// What each socket is registered for in epoll (curl's CURL_POLL_* value).
    var interest: [Int32: Int32] = [:]
    /// Connections' sockets, from libcurl's open callback to its close callback.
    /// Only these are parked: curl's other sockets (the threaded resolver's
    /// socket pair) are closed without telling, so they leave epoll when curl
    /// stops watching them.
    var connections = Set<Int32>()
    /// Connections curl stopped watching (back in its pool) that stay in epoll:
    /// the next request on the connection usually wants the same events, and
    /// keeping them saves two epoll_ctl calls per request.
    var parked = Set<Int32>()
    /// When libcurl wants to be called for its timeouts (nil: not asked).
    var timerDeadline: Date?
    var fds = [Int32](repeating: 0, count: 256)
    /// Header lists built once per distinct set of headers and shared by every request.
    var headerLists: [[String]: UnsafeMutablePointer<curl_slist>] = [:]
    var masks = [Int32](repeating: 0, count: 256)

    static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(maxConnections: Int) {
        _ = HTTPMulti.globalInit
        guard let m = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        multi = m
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        mminf_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(8, maxConnections))
        mminf_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        let me = Unmanaged.passUnretained(self).toOpaque()
        mminf_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me)
        mminf_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me)
        mminf_multi_setopt_socketfn(multi) { _, socket, what, user, _ in
            Unmanaged<HTTPMulti>.fromOpaque(user!).takeUnretainedValue().watch(socket, what)
            return 0
        }
        mminf_multi_setopt_timerfn(multi) { _, timeoutMs, user in
            let m = Unmanaged<HTTPMulti>.fromOpaque(user!).takeUnretainedValue()
            m.timerDeadline = timeoutMs < 0 ? nil : Date().addingTimeInterval(Double(timeoutMs) / 1000)
            return 0
        }
    }

    func watch(_ socket: Int32, _ what: Int32) {
        let registered = interest[socket]
        if what == CURL_POLL_REMOVE {
            guard registered != nil else { return }
            if connections.contains(socket) {
                parked.insert(socket)
            } else {
                forget(socket, leavingEpoll: true)
            }
            return
        }
        parked.remove(socket)
        if registered == what { return }
        // Recorded only once epoll took it, so a failed call is tried again next time.
        if mminf_epoll_watch(epfd, socket, what, registered != nil ? 1 : 0) == 0 {
            interest[socket] = what
        } else {
            interest[socket] = nil
        }
    }

    /// Drops what is known of a socket; `leavingEpoll` when it is still open.
    func forget(_ socket: Int32, leavingEpoll: Bool) {
        if leavingEpoll { _ = mminf_epoll_watch(epfd, socket, CURL_POLL_REMOVE, 1) }
        interest[socket] = nil
        parked.remove(socket)
    }

    static let onOpenSocket: mminf_opensocket_callback = { user, _, address in
        let fd = mminf_open_socket(address)
        if fd >= 0 {
            let m = Unmanaged<HTTPMulti>.fromOpaque(user!).takeUnretainedValue()
            // A number just handed out belonged to a closed socket, which epoll dropped by itself.
            m.forget(fd, leavingEpoll: false)
            m.connections.insert(fd)
        }
        return fd
    }

    /// Closing a socket takes it out of epoll by itself (nothing else holds it).
    static let onCloseSocket: mminf_closesocket_callback = { user, fd in
        let m = Unmanaged<HTTPMulti>.fromOpaque(user!).takeUnretainedValue()
        m.forget(fd, leavingEpoll: false)
        m.connections.remove(fd)
        return close(fd)
    }

    deinit {
        for t in active.values { curl_multi_remove_handle(multi, t.easy) }
        for e in idle { curl_easy_cleanup(e) }
        curl_multi_cleanup(multi)
        for l in headerLists.values { curl_slist_free_all(l) }
        close(epfd)
    }

    public var inFlight: Int { active.count }

    public func start(
        url: String, method: String = "POST", body: [UInt8] = [], headers: [String] = [],
        timeoutMs: Int, connectTimeoutMs: Int = 10_000, maxResponseBytes: Int = 64 << 20, context: AnyObject? = nil
    ) -> HTTPTransfer {
        let easy: UnsafeMutableRawPointer
        if let reused = idle.popLast() {
            curl_easy_reset(reused)
            easy = reused
        } else {
            guard let e = curl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
            easy = e
        }
        let key = method == "POST" ? headers + ["Content-Type: application/json", "Expect:"] : headers
        var list = headerLists[key]
        if list == nil {
            // "Expect:" stops libcurl from waiting for 100-continue on large bodies.
            for h in key { list = curl_slist_append(list, h) }
            headerLists[key] = list
        }
        let t = HTTPTransfer(
            easy: easy, url: url, method: method, body: body, headerList: list, timeoutMs: timeoutMs,
            connectTimeoutMs: connectTimeoutMs, maxResponseBytes: maxResponseBytes)
        t.context = context
        t.attach()
        mminf_setopt_socket_callbacks(
            easy, HTTPMulti.onOpenSocket, HTTPMulti.onCloseSocket, Unmanaged.passUnretained(self).toOpaque())
        active[t.easy] = t
        curl_multi_add_handle(multi, t.easy)
        return t
    }

    /// Abandons a transfer (on interrupt).
    public func cancel(_ t: HTTPTransfer) {
        guard let easy = t.easy, active.removeValue(forKey: easy) != nil else { return }
        curl_multi_remove_handle(multi, easy)
    }

    /// Moves transfers along, waiting up to `timeoutMs` for socket activity
    /// (or libcurl's own timer), and returns the ones that finished.
    public func poll(timeoutMs: Int) -> [HTTPTransfer] {
        guard !active.isEmpty else {
            if timeoutMs > 0 { usleep(useconds_t(min(timeoutMs, 50) * 1000)) }
            return []
        }
        var wait = timeoutMs
        if let deadline = timerDeadline {
            wait = max(0, min(wait, Int((deadline.timeIntervalSinceNow * 1000).rounded(.up))))
        }
        var running: Int32 = 0
        let n = fds.withUnsafeMutableBufferPointer { f in
            masks.withUnsafeMutableBufferPointer { m in
                mminf_epoll_wait(epfd, f.baseAddress, m.baseAddress, 256, Int32(wait))
            }
        }
        for i in 0..<max(0, Int(n)) {
            if parked.contains(fds[i]) {
                // An event on a parked connection (the server closed it while idle):
                // curl is not listening, so it leaves epoll rather than wake every wait.
                forget(fds[i], leavingEpoll: true)
            } else {
                curl_multi_socket_action(multi, fds[i], masks[i], &running)
            }
        }
        if let deadline = timerDeadline, deadline <= Date() {
            timerDeadline = nil
            curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running)
        }
        return collect()
    }

    func collect() -> [HTTPTransfer] {
        var done: [HTTPTransfer] = []
        var left: Int32 = 0
        while let msg = curl_multi_info_read(multi, &left) {
            guard msg.pointee.msg == CURLMSG_DONE, let easy = msg.pointee.easy_handle,
                let t = active.removeValue(forKey: easy)
            else { continue }
            let result = msg.pointee.data.result
            var code: Int = 0
            mminf_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            t.status = code
            if result != CURLE_OK {
                t.transportError = String(cString: curl_easy_strerror(result))
                t.timedOut = result == CURLE_OPERATION_TIMEDOUT
                if code == 0 { t.status = 0 }
            }
            t.response = Secrets.redact(t.response)
            curl_multi_remove_handle(multi, easy)
            idle.append(easy)
            t.easy = nil
            done.append(t)
        }
        return done
    }
}

/// One blocking request, for start-up probes (`--check`, listing models).
public enum HTTPRequest {
    public static func get(_ url: String, headers: [String] = [], timeoutMs: Int = 10_000) -> HTTPTransfer {
        let m = HTTPMulti(maxConnections: 1)
        let t = m.start(url: url, method: "GET", headers: headers, timeoutMs: timeoutMs)
        while m.inFlight > 0 { _ = m.poll(timeoutMs: 100) }
        return t
    }

    public static func post(_ url: String, body: [UInt8], headers: [String] = [], timeoutMs: Int = 60_000)
        -> HTTPTransfer
    {
        let m = HTTPMulti(maxConnections: 1)
        let t = m.start(url: url, method: "POST", body: body, headers: headers, timeoutMs: timeoutMs)
        while m.inFlight > 0 { _ = m.poll(timeoutMs: 100) }
        return t
    }
}
