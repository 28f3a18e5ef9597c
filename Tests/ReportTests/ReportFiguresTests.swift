import Foundation
import RecordCore
import Report
import XCTest

/// The figures of a small fixture, worked out by hand.
final class ReportFiguresTests: XCTestCase {
    static let fixture = [
        #"{"id":1,"instruction":"What is red?","response":"The bicycle.","scores":{"clarity":5,"verify":true},"history":{"hook":{"usage":{"prompt_tokens":10,"completion_tokens":4},"latency_ms":100}}}"#,
        #"{"id":2,"instruction":"What is red?","response":"A bus.","scores":{"clarity":3,"verify":false},"history":{"hook":{"usage":{"prompt_tokens":12,"completion_tokens":6},"latency_ms":300}}}"#,
        #"{"id":3,"instruction":"图中的自行车是什么颜色的？","response":"红色。","scores":{"clarity":5},"history":{"hook":{"latency_ms":200}}}"#,
        #"{"id":4,"response":""}"#,
        "not a record",
    ]

    func figures(_ lines: [String], _ configure: (inout ReportFigures.Settings) -> Void = { _ in }) throws
        -> ReportFigures
    {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).jsonl")
            .path
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        var s = ReportFigures.Settings()
        configure(&s)
        let f = ReportFigures(settings: s)
        try f.read([path])
        return f
    }

    func testFiguresOfTheFixture() throws {
        let f = try figures(Self.fixture)
        XCTAssertEqual(f.records, 4)
        XCTAssertEqual(f.badLines, 1)
        XCTAssertEqual(f.scores["clarity"]?.numbers, [5: 2, 3: 1])
        XCTAssertEqual(f.missing("clarity"), 1)
        XCTAssertEqual(f.scores["verify"]?.trues, 1)
        XCTAssertEqual(f.scores["verify"]?.falses, 1)
        XCTAssertEqual(f.missing("verify"), 2)
        let instruction = try XCTUnwrap(f.lengths["instruction"])
        XCTAssertEqual(instruction.present, 3)
        XCTAssertEqual(instruction.missing, 1)
        // 12, 12 and 13 code points: bins 8-15 hold all three.
        XCTAssertEqual(instruction.bins[ReportFigures.LengthFigures.bin(12)], 3)
        XCTAssertEqual(ReportFigures.LengthFigures.binLabel(ReportFigures.LengthFigures.bin(12)), "8-15")
        XCTAssertEqual(f.lengths["response"]?.bins[0], 1, "the empty response is length 0")
        XCTAssertEqual(f.stepOrder, ["hook"])
        XCTAssertEqual(f.steps["hook"]?.calls, 3)
        XCTAssertEqual(f.steps["hook"]?.promptTokens, 22)
        XCTAssertEqual(f.steps["hook"]?.completionTokens, 10)
        XCTAssertEqual(f.steps["hook"]?.latencyPercentile(50), 200)
        XCTAssertEqual(f.steps["hook"]?.latencyPercentile(100), 300)
        XCTAssertEqual(f.steps["hook"]?.completionPercentile(50), 4, "answer lengths 4 and 6 tokens")
        XCTAssertEqual(f.steps["hook"]?.completionPercentile(100), 6)
        XCTAssertEqual(f.languages["cjk"], 1)
        XCTAssertEqual(f.languages["latin"], 2)
        XCTAssertEqual(f.languages["none"], 1, "a record with no letters in its text fields")
        // instruction: "What is red?" twice among three present values.
        XCTAssertEqual(f.duplicateRate, 1.0 / 3.0, accuracy: 0.01)
        XCTAssertEqual(f.sample.count, 4)
    }

    func testDuplicateRateStaysAccurateAtScale() throws {
        let lines = (0..<20_000).map { #"{"instruction":"question \#($0 % 5_000)"}"# }
        let f = try figures(lines)
        XCTAssertEqual(f.distinctEstimate, 5_000, accuracy: 5_000 * 0.03)
        XCTAssertEqual(f.duplicateRate, 0.75, accuracy: 0.01)
    }

    func testSampleIsSeededAndInInputOrder() throws {
        let lines = (0..<1_000).map { #"{"id":\#($0)}"# }
        let a = try figures(lines) {
            $0.sampleSize = 10
            $0.seed = 7
        }.sample.map(\.line)
        let b = try figures(lines) {
            $0.sampleSize = 10
            $0.seed = 7
        }.sample.map(\.line)
        let c = try figures(lines) {
            $0.sampleSize = 10
            $0.seed = 8
        }.sample.map(\.line)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(a, a.sorted())
    }

    func testHTMLEscapesWhatRecordsHold() throws {
        let f = try figures([#"{"instruction":"<script>alert(1)</script>","scores":{"x\"><b>":2}}"#])
        var html = ReportHTML(runs: [("<in>", f)])
        html.thresholds = [try ScoreThreshold(parsing: "scores.x\"><b> >= 2")]
        let text = html.render()
        XCTAssertFalse(text.contains("<script>alert"), "record text is escaped")
        XCTAssertTrue(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertFalse(text.contains("x\"><b>"), "a score name is escaped")
        XCTAssertTrue(text.contains("data-score=\"x&quot;&gt;&lt;b&gt;\""))
        XCTAssertTrue(text.contains("<title>mminf report: &lt;in&gt;</title>"))
    }
}

extension ReportFiguresTests {
    /// Numbers out of range never crash a report; they are left out of the sums.
    func testHostileNumbersAndManyNames() throws {
        var lines = [
            #"{"history":{"gen":{"usage":{"prompt_tokens":1e300,"completion_tokens":-7},"latency_ms":1e400}}}"#,
            #"{"history":{"gen":{"usage":{"prompt_tokens":9000000000000000000,"completion_tokens":3}}}}"#,
            #"{"scores":{"a":1e400,"a":2,"b":"high"}}"#,
        ]
        lines += (0..<500).map { #"{"history":{"step\#($0)":{"latency_ms":5}},"scores":{"s\#($0)":1}}"# }
        let f = try figures(lines)
        XCTAssertEqual(f.steps["gen"]?.calls, 2)
        XCTAssertEqual(f.steps["gen"]?.promptTokens, 0, "1e300 and 9e18 are not token counts")
        XCTAssertEqual(f.steps["gen"]?.completionTokens, 3, "-7 is not one either")
        XCTAssertEqual(f.scores["a"]?.unreadable, 1, "an infinite score is unreadable; the repeated name counts once")
        XCTAssertEqual(f.scores["b"]?.unreadable, 1)
        XCTAssertEqual(f.steps.count, ReportFigures.nameLimit, "names past the limit are counted together")
        XCTAssertEqual(f.otherSteps, 501 - ReportFigures.nameLimit)
        XCTAssertEqual(f.scores.count, ReportFigures.nameLimit)
    }

    /// A threshold counts every value, past the 200 the chart keeps apart.
    func testThresholdsCountEveryValue() throws {
        let lines = (0..<1_000).map { #"{"scores":{"clip":\#(Double($0) / 1000 + 0.0001)}}"# }
        let f = try figures(lines) { $0.thresholds = [try! ScoreThreshold(parsing: "scores.clip >= 0.5")] }
        XCTAssertEqual(f.scores["clip"]?.numbers.count, ReportFigures.distinctValueLimit)
        XCTAssertEqual(f.scores["clip"]?.overflow, 800)
        XCTAssertEqual(f.scores["clip"]?.thresholdCounts.first?.scored, 1_000)
        XCTAssertEqual(f.scores["clip"]?.thresholdCounts.first?.pass, 500)
        XCTAssertThrowsError(try ScoreThreshold(parsing: "scores.clip >= inf"))
    }

    /// The fast path reads what a full parse would: a text field below history, duplicate keys.
    func testFieldsBelowHistoryAreRead() throws {
        let f = try figures([#"{"history":{"gen":{"answer":"hello world","latency_ms":7}}}"#]) {
            $0.textFields = ["history.gen.answer"]
        }
        XCTAssertEqual(f.lengths["history.gen.answer"]?.present, 1)
        XCTAssertEqual(f.languages["latin"], 1)
        XCTAssertEqual(f.steps["gen"]?.timed, 1)
    }

    func testThresholdLinesSitBetweenTheBarsTheySplit() throws {
        let f = try figures((1...5).map { #"{"scores":{"x":\#($0)}}"# })
        for (op, bar) in [(">", 3), (">=", 2), ("<=", 3), ("<", 2)] {
            var html = ReportHTML(runs: [("in", f)])
            html.thresholds = [try ScoreThreshold(parsing: "scores.x \(op) 3")]
            let text = html.render()
            let w = 60  // five bars: the widest bar
            XCTAssertTrue(text.contains(#"x1="\#(bar * w + 1)""#), "\(op): \(text)")
        }
    }

    /// Shards of one step add up to one funnel row, their drop reasons too.
    func testShardStatsAddUpWithTheirDropReasons() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func stats(_ name: String, _ text: String) throws -> String {
            let p = folder.appendingPathComponent(name).path
            try Data(text.utf8).write(to: URL(fileURLWithPath: p))
            return p
        }
        let f = ReportFigures(settings: .init())
        try f.addStats(
            path: try stats(
                "02-keep.shard-0.stats.json",
                #"{"tool":"mminf-filter","in":10,"out":6,"dropped":4,"dropped_by_reason":{"where: x":3,"empty":1}}"#))
        try f.addStats(
            path: try stats(
                "02-keep.shard-1.stats.json",
                #"{"tool":"mminf-filter","in":5,"out":3,"dropped":2,"dropped_by_reason":{"where: x":2}}"#))
        XCTAssertEqual(f.funnel.count, 1)
        let row = try XCTUnwrap(f.funnel.first)
        XCTAssertEqual(row.name, "02-keep (mminf-filter)")
        XCTAssertEqual([row.recordsIn, row.recordsOut, row.dropped], [15, 9, 6])
        XCTAssertEqual(row.droppedByReason.map(\.reason), ["where: x", "empty"])
        XCTAssertEqual(row.droppedByReason.map(\.count), [5, 1])
        let bad = try stats("bad.stats.json", #"{"tool":"mminf-filter","in":1,"dropped_by_reason":{"where: x":-1}}"#)
        XCTAssertThrowsError(try f.addStats(path: bad)) { e in
            XCTAssertEqual("\(e)", "--stats \(bad): \"dropped_by_reason\".\"where: x\" is not a count")
        }
    }
}
