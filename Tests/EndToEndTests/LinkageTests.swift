import Foundation
import TestSupport
import XCTest

/// The tools that never talk to a server link none of the network, cache or TLS
/// libraries: the library targets' direction, seen from the binaries.
final class LinkageTests: XCTestCase {
    func sharedLibraries(_ tool: String) throws -> [String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ldd", Tools.binDir.appendingPathComponent(tool).path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "ldd \(tool)")
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            String($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
    }

    func testToolsThatCallNoModelLinkNoCurlSQLiteOrOpenSSL() throws {
        let forbidden = ["libcurl", "libsqlite3", "libssl", "libcrypto"]
        for tool in ["mminf-filter", "mminf-split", "mminf-compile", "mminf-report"] {
            let libs = try sharedLibraries(tool)
            XCTAssertTrue(libs.contains { $0.hasPrefix("libzstd") }, "\(tool) should link libzstd: \(libs)")
            for name in forbidden {
                XCTAssertFalse(libs.contains { $0.hasPrefix(name) }, "\(tool) links \(name): \(libs)")
            }
        }
        // The model-calling tools do link them, so this test sees what ldd reports.
        let gen = try sharedLibraries("mminf-gen")
        XCTAssertTrue(gen.contains { $0.hasPrefix("libcurl") }, "\(gen)")
        XCTAssertTrue(gen.contains { $0.hasPrefix("libsqlite3") }, "\(gen)")
        XCTAssertTrue(try sharedLibraries("mminf-compile").contains { $0.hasPrefix("libyaml") }, "the system libyaml")
        XCTAssertTrue(try sharedLibraries("mminf-report").contains { $0.hasPrefix("libgd") }, "the system libgd")
    }
}
