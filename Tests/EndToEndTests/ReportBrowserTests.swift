import Foundation
import TestSupport
import XCTest

/// mminf-report's HTML, opened in a real browser (Debian's headless Chromium):
/// the DOM after rendering holds the figures, and a screenshot is kept.
final class ReportBrowserTests: ToolTestCase {
    func chromium(_ args: [String]) throws -> ToolRun {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
            throw XCTSkip("chromium is not installed (scripts/setup.sh installs it)")
        }
        let quoted = args.map { "'\($0)'" }.joined(separator: " ")
        return try Tools.shell(
            "timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \(quoted)",
            in: dir)
    }

    func testReportOfARunInABrowser() throws {
        let images = packageRoot.appendingPathComponent("examples/data/images").path
        try write("broken.png", "not a picture")
        var lines: [String] = []
        for i in 0..<30 {
            let image =
                i == 0
                ? path("broken.png") : i == 1 ? "missing.png" : "\(images)/\(["bicycle", "mugs", "chart"][i % 3]).png"
            let clarity = [3, 4, 5][i % 3]
            lines.append(
                #"{"id":\#(i),"image":"\#(image)","instruction":"Question \#(i % 10)?","response":"答案 \#(i)","scores":{"clarity":\#(clarity)},"history":{"hook":{"usage":{"prompt_tokens":5,"completion_tokens":\#(i)},"latency_ms":\#(100 + i)}}}"#
            )
        }
        try write("in.jsonl", lines.joined(separator: "\n") + "\n")
        // A two-step run whose --stats files make the funnel.
        let run = try Tools.shell(
            """
            mminf-filter -q --stats keep.stats.json 'scores.clarity >= 4' in.jsonl \
            | mminf-split -q --stats split.stats.json --sample 15 --seed 1 > kept.jsonl
            mminf-report --stats keep.stats.json --stats split.stats.json --threshold 'scores.clarity >= 4' \
                --sample 12 kept.jsonl -o r.html
            mminf-report --json kept.jsonl > r.json
            : > empty.jsonl
            mminf-report empty.jsonl -o empty.html
            """, in: dir)
        XCTAssertEqual(run.status, 0, run.stderr)

        let dom = try chromium(["--dump-dom", "file://" + path("r.html")])
        XCTAssertEqual(dom.status, 0, dom.stderr)
        let html = dom.out
        XCTAssertTrue(
            html.contains(#"data-step="keep (mminf-filter)" data-in="30" data-out="20" data-dropped="10""#), html)
        XCTAssertTrue(html.contains(#"data-step="split (mminf-split)" data-in="20" data-out="15" data-dropped="5""#))
        // Why each step dropped what it dropped, from the stats files.
        XCTAssertTrue(html.contains(#"data-drop-reason="where: scores.clarity &gt;= 4" data-dropped-count="10""#), html)
        XCTAssertTrue(html.contains(#"data-drop-reason="sample" data-dropped-count="5""#), html)
        XCTAssertTrue(html.contains(#"data-records="15""#))
        // Histogram of clarity among the kept: only 4s and 5s, bars add up to 15.
        let counts = html.components(separatedBy: #"data-label=""#).dropFirst().compactMap { part -> (String, Int)? in
            let label = String(part.prefix { $0 != "\"" })
            guard let c = part.range(of: #"data-count=""#) else { return nil }
            return (label, Int(part[c.upperBound...].prefix { $0.isNumber }) ?? -1)
        }
        let clarity = counts.filter { $0.0 == "4" || $0.0 == "5" }
        XCTAssertEqual(clarity.map(\.1).reduce(0, +), 15, "\(counts)")
        XCTAssertTrue(html.contains(#"class="threshold" data-threshold="&gt;= 4""#), "the threshold is drawn")
        XCTAssertTrue(html.contains(#"<img class="thumb" src="data:image/png;base64,"#), "thumbnails embedded")
        XCTAssertTrue(html.contains(#"data-step="hook""#))
        // "Question N?" and "答案 N": eight Latin letters to two CJK ones in every record.
        XCTAssertTrue(html.contains(#"data-lang="latin">15<"#), html)
        XCTAssertTrue(html.contains(#"data-lang="cjk">0<"#))
        XCTAssertTrue(html.contains(#"data-pass="15""#), "every kept record passes >= 4")
        XCTAssertFalse(html.contains("<script"), "no script at all")
        let console = dom.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        XCTAssertTrue(console.isEmpty, "console errors: \(console)")

        // Undecodable and missing images show a placeholder with the reason.
        try write("bad.jsonl", #"{"image":"\#(path("broken.png"))"}"# + "\n" + #"{"image":"missing.png"}"# + "\n")
        XCTAssertEqual(try Tools.shell("mminf-report bad.jsonl -o bad.html", in: dir).status, 0)
        let bad = try chromium(["--dump-dom", "file://" + path("bad.html")]).out
        XCTAssertTrue(bad.contains(#"data-reason="not a PNG, JPEG, GIF or WebP image""#), bad)
        XCTAssertTrue(bad.contains(#"data-reason="cannot read missing.png""#), bad)

        // Linked images stay files: the report never reaches a host.
        try write(
            "remote.jsonl", #"{"image":"http://example.invalid/track.png"}"# + "\n" + #"{"image":"a.png"}"# + "\n")
        XCTAssertEqual(
            try Tools.shell("mminf-report --link-images --media-root pics remote.jsonl -o remote.html", in: dir).status,
            0)
        let remote = try read("remote.html")
        XCTAssertTrue(remote.contains(#"data-reason="not linked: not a file path""#), remote)
        XCTAssertFalse(remote.contains(#"src="http"#))
        XCTAssertTrue(remote.contains(#"data-reason="--media-root pics: cannot be read (No such file"#), remote)

        // --media-root keeps every image inside it, as mminf-gen does: no `..`, no absolute
        // path elsewhere, no link out; a linked name's special characters are escaped.
        try FileManager.default.createDirectory(atPath: path("pics"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: images + "/bicycle.png", toPath: path("pics/a#1.png"))
        try FileManager.default.copyItem(atPath: images + "/mugs.png", toPath: path("outside.png"))
        try FileManager.default.createSymbolicLink(atPath: path("pics/link.png"), withDestinationPath: "../outside.png")
        try write(
            "rooted.jsonl",
            ["a#1.png", "../outside.png", path("outside.png"), "link.png"].map { #"{"image":"\#($0)"}"# }
                .joined(separator: "\n") + "\n")
        for mode in ["--link-images", "--sample 4"] {
            let r = try Tools.shell("mminf-report \(mode) --media-root pics rooted.jsonl -o rooted.html", in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
            let rooted = try read("rooted.html")
            XCTAssertEqual(rooted.components(separatedBy: "outside --media-root pics").count - 1, 6, rooted)
            XCTAssertEqual(rooted.components(separatedBy: #"<img class="thumb""#).count - 1, 1, mode)
            if mode == "--link-images" { XCTAssertTrue(rooted.contains("a%231.png\""), rooted) }
        }
        // A stats file cut short by an interrupted step is a clear error.
        try write("cut.stats.json", "")
        let cut = try Tools.shell("mminf-report --stats cut.stats.json kept.jsonl -o x.html", in: dir)
        XCTAssertEqual(cut.status, 65)
        XCTAssertTrue(cut.stderr.contains("--stats cut.stats.json: not JSON"), cut.stderr)

        let empty = try chromium(["--dump-dom", "file://" + path("empty.html")]).out
        XCTAssertTrue(empty.contains("This input holds no records."), empty)

        let json = try JSONSerialization.jsonObject(with: Data(try read("r.json").utf8)) as? [String: Any]
        XCTAssertEqual(json?["records"] as? Int, 15)

        // A screenshot, kept under .build for a person to look at.
        let shots = packageRoot.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let shot = shots.appendingPathComponent("report.png").path
        try? FileManager.default.removeItem(atPath: shot)
        let s = try chromium(["--screenshot=" + shot, "--window-size=1200,2400", "file://" + path("r.html")])
        XCTAssertEqual(s.status, 0, s.stderr)
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertGreaterThan(png.count, 20_000, "a rendered page, not a blank one")
    }

    func testCompareShowsTwoRunsSideBySide() throws {
        try write("a.jsonl", #"{"scores":{"clarity":3}}"# + "\n" + #"{"scores":{"clarity":5}}"# + "\n")
        try write("b.jsonl", #"{"scores":{"clarity":5}}"# + "\n")
        try write("a.stats.json", #"{"tool":"mminf-filter","in":5,"out":2,"dropped":3}"#)
        try write("b.stats.json", #"{"tool":"mminf-filter","in":5,"out":1,"dropped":4}"#)
        let r = try Tools.shell(
            "mminf-report --compare a.jsonl b.jsonl --stats a.stats.json --stats-b b.stats.json -o c.html", in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try read("c.html")
        XCTAssertTrue(
            html.contains(#"data-run="a.jsonl"><h3>a.jsonl</h3><table><tr><th>records</th><td data-records="2""#), html)
        XCTAssertTrue(
            html.contains(#"data-run="b.jsonl"><h3>b.jsonl</h3><table><tr><th>records</th><td data-records="1""#))
        XCTAssertTrue(html.contains(#"data-step="a (mminf-filter)" data-in="5" data-out="2""#), html)
        XCTAssertTrue(html.contains(#"data-step="b (mminf-filter)" data-in="5" data-out="1""#), html)
        let bad = try Tools.run("mminf-report", ["--compare", path("a.jsonl")])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--compare takes exactly two FILEs"), bad.stderr)
        let threshold = try Tools.run("mminf-report", ["--threshold", "clarity > 3", path("a.jsonl")])
        XCTAssertEqual(threshold.status, 64)
        XCTAssertTrue(threshold.stderr.contains("write it as 'scores.NAME OP NUMBER'"), threshold.stderr)
    }
}
