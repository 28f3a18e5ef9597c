import Foundation
import RecordCore

/// A threshold drawn on a score's histogram: `scores.NAME OP NUMBER`.
public struct ScoreThreshold {
    public let score: String
    public let op: String
    public let value: Double

    public init(parsing text: String) throws {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 3, parts[0].hasPrefix("scores."), [">=", ">", "<=", "<", "=="].contains(parts[1]),
            let v = Double(parts[2]), v.isFinite
        else {
            throw ToolError(
                "--threshold '\(text)': write it as 'scores.NAME OP NUMBER' with OP one of >= > <= < ==, e.g. 'scores.clarity >= 3'",
                status: .usage)
        }
        score = String(parts[0].dropFirst("scores.".count))
        op = parts[1]
        value = v
    }

    public func holds(_ x: Double) -> Bool {
        switch op {
        case ">=": return x >= value
        case ">": return x > value
        case "<=": return x <= value
        case "<": return x < value
        default: return x == value
        }
    }
}

/// One HTML file, no network: inline CSS, charts as inline SVG, thumbnails as
/// data URLs (or relative links). Elements carry data-* attributes with the
/// figures so that a browser test (and a script) can read them back.
public struct ReportHTML {
    public var runs: [(label: String, figures: ReportFigures)]
    public var thresholds: [ScoreThreshold] = []
    public var mediaRoot: String?
    public var linkImages = false

    public init(runs: [(label: String, figures: ReportFigures)]) { self.runs = runs }

    public func render() -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>mminf report: \(esc(runs.map(\.label).joined(separator: " vs ")))</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
            h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
            table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
            td:first-child,th:first-child{text-align:left}.runs{display:grid;grid-template-columns:repeat(\(runs.count),1fr);gap:24px}
            .chart{margin:8px 0 16px}.bar{fill:#4a78c2}.bar.fail{fill:#c8cfd9}.threshold{stroke:#d33;stroke-width:2}
            .card{border:1px solid #ddd;border-radius:6px;padding:10px;margin:10px 0;display:flex;gap:12px}
            .card img{max-width:160px;max-height:160px}.noimg{width:160px;color:#a33;font-size:12px}
            .turn{margin:4px 0;white-space:pre-wrap}.who{font-weight:600}.muted{color:#777}
            pre{white-space:pre-wrap;background:#f6f6f6;padding:6px}
            </style></head><body>
            <h1>mminf report</h1>

            """
        h += section("Overview", id: "overview") { f in
            var t = "<table><tr><th>records</th><td data-records=\"\(f.records)\">\(f.records)</td></tr>"
            t +=
                "<tr><th>lines that are not records</th><td data-bad-lines=\"\(f.badLines)\">\(f.badLines)</td></tr></table>"
            if f.records == 0 { t += "<p class=\"empty\">This input holds no records.</p>" }
            return t
        }
        h += section("Funnel", id: "funnel") { f in funnel(f) }
        h += section("Scores", id: "scores") { f in scores(f) }
        h += section("Text lengths (characters)", id: "lengths") { f in lengths(f) }
        h += section("Steps: tokens and latency", id: "steps") { f in steps(f) }
        h += section("Language and duplicates", id: "mix") { f in mix(f) }
        h += section("Sample", id: "sample") { f in sample(f) }
        return h + "</body></html>\n"
    }

    func section(_ title: String, id: String, _ body: (ReportFigures) -> String) -> String {
        var s = "<h2>\(esc(title))</h2><div class=\"runs\" id=\"\(id)\">"
        for r in runs {
            s += "<div class=\"run\" data-run=\"\(esc(r.label))\"><h3>\(esc(r.label))</h3>\(body(r.figures))</div>"
        }
        return s + "</div>\n"
    }

    func funnel(_ f: ReportFigures) -> String {
        if f.funnel.isEmpty {
            guard !f.stepOrder.isEmpty else { return "<p class=\"muted\">No --stats files and no history.</p>" }
            var t =
                "<p class=\"muted\">No --stats files: the steps recorded in history, by records that carry them.</p><table><tr><th>step</th><th>records</th></tr>"
            for s in f.stepOrder {
                t += "<tr data-step=\"\(esc(s))\"><td>\(esc(s))</td><td>\(f.steps[s]?.calls ?? 0)</td></tr>"
            }
            return t + "</table>"
        }
        let top = max(1, f.funnel.map { max($0.recordsIn, $0.recordsOut) }.max() ?? 1)
        var t = "<table><tr><th>step</th><th>in</th><th>out</th><th>dropped</th><th>failed</th><th></th></tr>"
        for s in f.funnel {
            let w = Int(200 * Double(s.recordsOut) / Double(top))
            t += """
                <tr class="funnel-step" data-step="\(esc(s.name))" data-in="\(s.recordsIn)" data-out="\(s.recordsOut)" data-dropped="\(s.dropped)" data-failed="\(s.failed)"><td>\(esc(s.name))</td><td>\(s.recordsIn)</td><td>\(s.recordsOut)</td><td>\(s.dropped)\(reasons(s))</td><td>\(s.failed)</td><td><svg width="200" height="12"><rect class="bar" width="\(w)" height="12"/></svg></td></tr>
                """
        }
        return t + "</table>"
    }

    /// Why a step dropped records, one line per reason under the count.
    func reasons(_ s: ReportFigures.FunnelStep) -> String {
        s.droppedByReason.map {
            "<div class=\"reason muted\" data-drop-reason=\"\(esc($0.reason))\" data-dropped-count=\"\($0.count)\">\(esc($0.reason)): \($0.count)</div>"
        }.joined()
    }

    func scores(_ f: ReportFigures) -> String {
        guard !f.scores.isEmpty else { return "<p class=\"muted\">No scores.</p>" }
        var t = ""
        for name in f.scores.keys.sorted() {
            let s = f.scores[name]!
            var bars: [(label: String, count: Int, value: Double?)] = s.numbers.keys.sorted().map {
                (JSONWriter.format($0), s.numbers[$0]!, $0)
            }
            if s.trues + s.falses > 0 { bars += [("true", s.trues, nil), ("false", s.falses, nil)] }
            let marks = thresholds.filter { $0.score == name }
            // Counted over every value while reading, not only the values the chart keeps.
            var passing = ""
            for (m, c) in zip(marks, s.thresholdCounts) {
                passing +=
                    " · <span class=\"pass\" data-threshold=\"\(esc(m.op)) \(JSONWriter.format(m.value))\" data-scored=\"\(c.scored)\" data-pass=\"\(c.pass)\">\(c.pass) of \(c.scored) are \(esc(m.op)) \(JSONWriter.format(m.value))</span>"
            }
            let missing = f.missing(name)
            let overflow =
                s.overflow > 0
                ? ", \(s.overflow) more with other values (the chart shows the first \(ReportFigures.distinctValueLimit) distinct)"
                : ""
            t +=
                "<div class=\"chart score\" data-score=\"\(esc(name))\" data-missing=\"\(missing)\"><b>scores.\(esc(name))</b> <span class=\"muted\">missing \(missing)\(overflow)\(passing)</span><br>"
            t += barChart(bars, marks: marks)
            t += "</div>"
        }
        return t
    }

    /// Bars with their label under each; thresholds drawn between the bars they separate.
    func barChart(_ bars: [(label: String, count: Int, value: Double?)], marks: [ScoreThreshold] = []) -> String {
        let top = max(1, bars.map(\.count).max() ?? 1)
        let w = max(24, min(60, 480 / max(1, bars.count)))
        var s = "<svg class=\"bars\" width=\"\(w * bars.count + 2)\" height=\"140\">"
        for (i, b) in bars.enumerated() {
            let h = Int(100 * Double(b.count) / Double(top))
            let fail = b.value.map { v in !marks.allSatisfy { $0.holds(v) } } ?? false
            s +=
                "<rect class=\"bar\(fail ? " fail" : "")\" data-label=\"\(esc(b.label))\" data-count=\"\(b.count)\" x=\"\(i * w + 2)\" y=\"\(110 - h)\" width=\"\(w - 4)\" height=\"\(h)\"><title>\(esc(b.label)): \(b.count)</title></rect>"
            s += "<text x=\"\(i * w + w / 2)\" y=\"125\" font-size=\"11\" text-anchor=\"middle\">\(esc(b.label))</text>"
            s +=
                "<text x=\"\(i * w + w / 2)\" y=\"\(max(10, 106 - h))\" font-size=\"10\" text-anchor=\"middle\">\(b.count)</text>"
        }
        for m in marks {
            // Between the bars the threshold separates: before the first bar above it for > and
            // <=, at or above it for >= and <; == is drawn before its own value.
            let strict = m.op == ">" || m.op == "<="
            let i =
                bars.firstIndex { b in b.value.map { strict ? $0 > m.value : $0 >= m.value } ?? true } ?? bars.count
            let x = i * w + 1
            s +=
                "<line class=\"threshold\" data-threshold=\"\(esc(m.op)) \(JSONWriter.format(m.value))\" x1=\"\(x)\" x2=\"\(x)\" y1=\"0\" y2=\"112\"/>"
        }
        return s + "</svg>"
    }

    func lengths(_ f: ReportFigures) -> String {
        var t = ""
        for name in f.settings.textFields {
            guard let l = f.lengths[name] else { continue }
            let last = l.bins.lastIndex { $0 > 0 } ?? 0
            let bars = (0...last).map { (ReportFigures.LengthFigures.binLabel($0), l.bins[$0], Optional<Double>.none) }
            t +=
                "<div class=\"chart length\" data-field=\"\(esc(name))\" data-present=\"\(l.present)\" data-missing=\"\(l.missing)\" data-p50=\"\(l.percentile(50))\" data-p95=\"\(l.percentile(95))\"><b>\(esc(name))</b> <span class=\"muted\">\(l.present) present, \(l.missing) missing · p50 \(l.percentile(50)), p95 \(l.percentile(95)), p99 \(l.percentile(99))</span><br>"
            t += l.present > 0 ? barChart(bars) : ""
            t += "</div>"
        }
        return t
    }

    func steps(_ f: ReportFigures) -> String {
        guard !f.stepOrder.isEmpty else {
            return "<p class=\"muted\">No history (the records were made with --no-history, or by no model).</p>"
        }
        var t =
            "<table><tr><th>step</th><th>calls</th><th>prompt tokens</th><th>completion tokens</th><th>answer tokens p50</th><th>p95</th><th>p99</th><th>latency p50 ms</th><th>p95</th><th>p99</th></tr>"
        for name in f.stepOrder {
            let s = f.steps[name]!
            t +=
                "<tr class=\"step\" data-step=\"\(esc(name))\" data-calls=\"\(s.calls)\" data-completion-tokens=\"\(s.completionTokens)\"><td>\(esc(name))</td><td>\(s.calls)</td><td>\(s.promptTokens)</td><td>\(s.completionTokens)</td><td>\(s.completionPercentile(50))</td><td>\(s.completionPercentile(95))</td><td>\(s.completionPercentile(99))</td><td>\(s.latencyPercentile(50))</td><td>\(s.latencyPercentile(95))</td><td>\(s.latencyPercentile(99))</td></tr>"
        }
        return t
            + "</table><p class=\"muted\">Answer lengths in tokens (usage.completion_tokens) and latencies: percentiles from HDR histograms (2 significant digits).</p>"
    }

    func mix(_ f: ReportFigures) -> String {
        let l = f.languages
        let field = f.settings.duplicateField ?? f.settings.textFields.first ?? ""
        return """
            <table><tr><th>mostly CJK</th><td data-lang="cjk">\(l["cjk"] ?? 0)</td></tr><tr><th>mostly Latin</th><td data-lang="latin">\(l["latin"] ?? 0)</td></tr><tr><th>other scripts</th><td data-lang="other">\(l["other"] ?? 0)</td></tr><tr><th>no letters</th><td data-lang="none">\(l["none"] ?? 0)</td></tr>
            <tr><th>duplicates of \(esc(field))</th><td data-duplicate-rate="\(String(format: "%.4f", f.duplicateRate))">\(String(format: "%.1f", f.duplicateRate * 100))% of \(f.duplicatesSeen) (about \(Int(f.distinctEstimate.rounded())) distinct, ±1%)</td></tr></table>
            """
    }

    func sample(_ f: ReportFigures) -> String {
        let entries = f.sample
        guard !entries.isEmpty else { return "<p class=\"muted\">No records to show.</p>" }
        var t = "<p class=\"muted\">\(entries.count) records chosen at random (seed \(f.settings.seed)).</p>"
        for e in entries {
            guard let record = try? e.bytes.withUnsafeBufferPointer({ try parseRecord($0) }) else { continue }
            t += "<div class=\"card\" data-line=\"\(e.line)\"><div>\(images(record))</div><div>"
            t += "<div class=\"muted\">\(esc(e.source)):\(e.line)</div>"
            if case .array(let turns)? = record["conversations"] {
                for turn in turns {
                    let who = turn["from"]?.stringValue ?? turn["role"]?.stringValue ?? "?"
                    let text = turn["value"]?.stringValue ?? turn["content"]?.stringValue ?? ""
                    t += "<div class=\"turn\"><span class=\"who\">\(esc(who)):</span> \(esc(text))</div>"
                }
            } else {
                for name in f.settings.textFields {
                    if let v = (try? FieldPath(parsing: name)).flatMap({ record.value(at: $0) }) {
                        t +=
                            "<div class=\"turn\"><span class=\"who\">\(esc(name)):</span> \(esc(Template.text(of: v)))</div>"
                    }
                }
            }
            if case .object(let s)? = record["scores"] {
                t +=
                    "<div class=\"muted\">"
                    + s.members.map { "\(esc($0.key)) \(esc(JSONWriter.string($0.value)))" }.joined(separator: " · ")
                    + "</div>"
            }
            if case .object(let h)? = record["history"] {
                for (step, v) in h.members {
                    t +=
                        "<details><summary>history.\(esc(step))</summary><pre>\(esc(JSONWriter.string(v)))</pre></details>"
                }
            }
            t += "</div></div>"
        }
        return t
    }

    func images(_ record: JSONValue) -> String {
        var paths: [String] = []
        for field in MediaFields.images {
            switch record[field] {
            case .string(let p)?: paths.append(p)
            case .array(let a)?: paths += a.compactMap(\.stringValue)
            default: break
            }
        }
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }.map { p -> String in
            if linkImages {
                // Files only: the report must not reach out to any host when opened.
                if p.contains("://") || p.lowercased().hasPrefix("data:") || p.lowercased().hasPrefix("javascript:") {
                    return
                        "<div class=\"noimg\" data-reason=\"not linked: not a file path\">\(esc(p)): not linked: not a file path</div>"
                }
            }
            // With --media-root, as in mminf-gen: relative paths below it, and nothing outside it.
            var file = p
            if let root = mediaRoot.map(MediaRoot.init), !p.contains("://"), !p.lowercased().hasPrefix("data:") {
                do { file = try root.resolve(p, what: "image \(p)") } catch {
                    return "<div class=\"noimg\" data-reason=\"\(esc("\(error)"))\">\(esc(p)): \(esc("\(error)"))</div>"
                }
            }
            if linkImages {
                // A URL for the file: absolute as file://; relative with its special characters
                // escaped, after "./" so that no part before a ':' is read as a scheme.
                let url =
                    file.hasPrefix("/")
                    ? URL(fileURLWithPath: file).absoluteString
                    : "./" + (file.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? file)
                return "<img class=\"thumb\" src=\"\(esc(url))\" alt=\"\(esc(p))\">"
            }
            switch Thumbnail.make(path: file) {
            case .png(let d):
                return
                    "<img class=\"thumb\" src=\"data:image/png;base64,\(d.base64EncodedString())\" alt=\"\(esc(p))\">"
            case .unavailable(let why):
                return "<div class=\"noimg\" data-reason=\"\(esc(why))\">\(esc(p)): \(esc(why))</div>"
            }
        }.joined()
    }

    func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
