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

    public struct CacheError: ToolFailure, CustomStringConvertible {
        public var description: String
    }

    public init(path: String) throws {
        self.path = path
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(rc)"
            if let handle { sqlite3_close(handle) }
            throw CacheError(description: "\(path): cannot open the cache: \(msg)")
        }
        db = handle
        sqlite3_busy_timeout(db, 30_000)
        try exec("PRAGMA journal_mode=WAL")
        // NORMAL in WAL mode survives a killed process; only a power cut can lose the last commits.
        try exec("PRAGMA synchronous=NORMAL")
        try exec(
            """
            CREATE TABLE IF NOT EXISTS responses (
                key TEXT PRIMARY KEY,
                response BLOB NOT NULL,
                created REAL NOT NULL
            )
            """)
        getStatement = try prepare("SELECT response FROM responses WHERE key = ?1")
        putStatement = try prepare("INSERT OR REPLACE INTO responses (key, response, created) VALUES (?1, ?2, ?3)")
    }

    deinit {
        sqlite3_finalize(getStatement)
        sqlite3_finalize(putStatement)
        sqlite3_close(db)
    }

    func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(err)
            throw CacheError(description: "\(path): \(msg)")
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
        defer { sqlite3_reset(s) }
        _ = mminf_bind_text(s, 1, key, -1)
        _ = response.withUnsafeBytes { mminf_bind_blob(s, 2, $0.baseAddress, Int32($0.count)) }
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
