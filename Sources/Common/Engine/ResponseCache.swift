import CSQLite
import Foundation
import RecordCore

/// A SQLite file of model responses keyed by a hash of the exact request.
///
/// Each response is committed before its record is written, so a run killed
/// at any moment (even `kill -9`) replays everything it had received when it
/// is started again. WAL mode and a busy timeout let several processes share
/// one file.
public final class ResponseCache {
    let db: OpaquePointer
    let path: String
    var getStatement: OpaquePointer?
    var putStatement: OpaquePointer?
    var warnedTooBig = false

    public struct CacheError: ToolFailure, CustomStringConvertible {
        public var description: String
        /// Another connection held a lock (SQLITE_BUSY or SQLITE_LOCKED).
        var busy = false
    }

    /// Whether answers are stored (`--cache-read-only` replays and stores nothing).
    public let readOnly: Bool
    /// The largest answer SQLite stores (its length limit, about 1 GB); a larger one
    /// is not cached (a warning says so), never cut short.
    let largestEntry: Int

    /// Opens (or creates) the cache and proves it can be written before any request
    /// is paid for. Several processes may open one new file at the same moment.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        self.readOnly = readOnly
        if !readOnly {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } else if !FileManager.default.fileExists(atPath: path) {
            throw CacheError(
                description: "\(path): --cache-read-only needs an existing cache; there is none at that path")
        }
        if readOnly, let opened = ResponseCache.openReadOnly(path) {
            db = opened
        } else {
            var handle: OpaquePointer?
            let flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
            let rc = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_FULLMUTEX, nil)
            guard rc == SQLITE_OK, let handle else {
                let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(rc)"
                if let handle { sqlite3_close(handle) }
                throw CacheError(description: "\(path): cannot open the cache: \(msg)")
            }
            db = handle
        }
        // First, before anything that takes a lock: wait for other processes, not fail.
        sqlite3_busy_timeout(db, 30_000)
        largestEntry = Int(sqlite3_limit(db, SQLITE_LIMIT_LENGTH, -1)) - 1024
        if readOnly {
            getStatement = try prepare("SELECT response FROM responses WHERE key = ?1")
            return
        }
        if sqlite3_db_readonly(db, "main") == 1 {
            throw CacheError(
                description: "\(path): the cache file cannot be written (read-only); fix its permissions, "
                    + "or give --cache-read-only to replay it without storing")
        }
        // Switching to WAL and creating the table take locks that SQLite's busy handler
        // does not always wait for when several processes start at once: retry them.
        try execRetrying("PRAGMA journal_mode=WAL")
        // NORMAL in WAL mode survives a killed process; only a power cut can lose the last commits.
        try execRetrying("PRAGMA synchronous=NORMAL")
        try execRetrying(
            """
            CREATE TABLE IF NOT EXISTS responses (
                key TEXT PRIMARY KEY,
                response BLOB NOT NULL,
                created REAL NOT NULL
            )
            """)
        getStatement = try prepare("SELECT response FROM responses WHERE key = ?1")
        putStatement = try prepare("INSERT OR REPLACE INTO responses (key, response, created) VALUES (?1, ?2, ?3)")
        // Prove a write works now (file, folder, disk), not after the first answer was paid for.
        do {
            try execRetrying(
                "BEGIN IMMEDIATE; INSERT OR REPLACE INTO responses VALUES ('mminf:write-check', x'', 0); "
                    + "DELETE FROM responses WHERE key = 'mminf:write-check'; COMMIT")
        } catch let e as CacheError {
            _ = try? exec("ROLLBACK")
            throw CacheError(
                description: "\(e.description) (the cache cannot be written; fix the file's or folder's permissions, "
                    + "or give --cache-read-only to replay it without storing)")
        }
    }

    /// A cache on read-only storage: a WAL database opened read-only still wants to
    /// make its -shm file, which a read-only folder refuses; `immutable=1` reads it
    /// as it stands. Tried in that order; nil when neither can read it.
    static func openReadOnly(_ path: String) -> OpaquePointer? {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        let escaped = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        for uri in ["file:\(escaped)?mode=ro", "file:\(escaped)?immutable=1"] {
            var handle: OpaquePointer?
            let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX
            if sqlite3_open_v2(uri, &handle, flags, nil) == SQLITE_OK, let handle {
                var stmt: OpaquePointer?
                if sqlite3_prepare_v2(handle, "SELECT count(*) FROM responses", -1, &stmt, nil) == SQLITE_OK,
                    sqlite3_step(stmt) == SQLITE_ROW
                {
                    sqlite3_finalize(stmt)
                    return handle
                }
                sqlite3_finalize(stmt)
            }
            if let handle { sqlite3_close(handle) }
        }
        return nil
    }

    /// `exec`, retried for up to 30 s while another process holds the lock.
    func execRetrying(_ sql: String) throws {
        let deadline = Date().addingTimeInterval(30)
        var wait: useconds_t = 2_000
        while true {
            do { return try exec(sql) } catch let e as CacheError where e.busy && Date() < deadline {
                usleep(wait + useconds_t.random(in: 0...wait))
                wait = min(wait * 2, 200_000)
            }
        }
    }

    deinit {
        sqlite3_finalize(getStatement)
        sqlite3_finalize(putStatement)
        sqlite3_close(db)
    }

    func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(err)
            let code = rc & 0xFF
            throw CacheError(description: "\(path): \(msg)", busy: code == SQLITE_BUSY || code == SQLITE_LOCKED)
        }
    }

    func prepare(_ sql: String) throws -> OpaquePointer? {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else {
            throw CacheError(description: "\(path): \(String(cString: sqlite3_errmsg(db)))")
        }
        return stmt
    }

    /// The stored response for `key`, if any.
    public func get(_ key: String) throws -> [UInt8]? {
        guard let s = getStatement else { return nil }
        defer { sqlite3_reset(s) }
        _ = mminf_bind_text(s, 1, key, -1)
        let rc = sqlite3_step(s)
        if rc == SQLITE_ROW {
            let n = Int(sqlite3_column_bytes(s, 0))
            guard n > 0, let p = sqlite3_column_blob(s, 0) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: n))
        }
        if rc == SQLITE_DONE { return nil }
        throw CacheError(description: "\(path): read failed: \(String(cString: sqlite3_errmsg(db)))")
    }

    /// Stores a response; it is durable when this returns.
    public func put(_ key: String, _ response: [UInt8]) throws {
        guard let s = putStatement else { return }
        guard response.count <= largestEntry else {
            if !warnedTooBig {
                warnedTooBig = true
                FileHandle.standardError.write(
                    Data(
                        "mminf: an answer of \(response.count) bytes is larger than the cache stores; it is not cached\n"
                            .utf8))
            }
            return
        }
        defer { sqlite3_reset(s) }
        _ = mminf_bind_text(s, 1, key, -1)
        _ = response.withUnsafeBytes { mminf_bind_blob64(s, 2, $0.baseAddress, sqlite3_uint64($0.count)) }
        sqlite3_bind_double(s, 3, Date().timeIntervalSince1970)
        let rc = sqlite3_step(s)
        guard rc == SQLITE_DONE else {
            throw CacheError(description: "\(path): write failed: \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    public var count: Int {
        guard let s = try? prepare("SELECT count(*) FROM responses") else { return 0 }
        defer { sqlite3_finalize(s) }
        return sqlite3_step(s) == SQLITE_ROW ? Int(sqlite3_column_int64(s, 0)) : 0
    }
}

extension ResponseCache.CacheError {
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { .ioError }
}
