import Foundation
import RecordCore

extension ReportFigures {
    /// The report's figures for scripts (`mminf-report --json`).
    public func json() -> JSONValue {
        func int(_ n: Int) -> JSONValue { .int(n) }
        var o = JSONObject()
        o.members.append(("records", int(records)))
        o.members.append(("bad_lines", int(badLines)))
        o.members.append(
            (
                "funnel",
                .array(
                    funnel.map {
                        .object(
                            JSONObject([
                                ("step", .string($0.name)), ("in", int($0.recordsIn)), ("out", int($0.recordsOut)),
                                ("dropped", int($0.dropped)), ("failed", int($0.failed)),
                                (
                                    "dropped_by_reason",
                                    .object(JSONObject($0.droppedByReason.map { ($0.reason, int($0.count)) }))
                                ),
                            ]))
                    })
            ))
        o.members.append(
            (
                "scores",
                .object(
                    JSONObject(
                        scores.keys.sorted().map { name in
                            let s = scores[name]!
                            let values = JSONObject(
                                s.numbers.keys.sorted().map { (JSONWriter.format($0), int(s.numbers[$0]!)) })
                            return (
                                name,
                                .object(
                                    JSONObject([
                                        ("values", .object(values)), ("true", int(s.trues)), ("false", int(s.falses)),
                                        ("missing", int(missing(name))), ("other_values", int(s.overflow)),
                                        (
                                            "thresholds",
                                            .array(
                                                zip(settings.thresholds.filter { $0.score == name }, s.thresholdCounts)
                                                    .map {
                                                        .object(
                                                            JSONObject([
                                                                ("op", .string($0.0.op)),
                                                                ("value", .double($0.0.value)),
                                                                ("scored", int($0.1.scored)), ("pass", int($0.1.pass)),
                                                            ]))
                                                    })
                                        ),
                                    ]))
                            )
                        }))
            ))
        o.members.append(
            (
                "lengths",
                .object(
                    JSONObject(
                        settings.textFields.compactMap { name in
                            guard let l = lengths[name] else { return nil }
                            return (
                                name,
                                .object(
                                    JSONObject([
                                        ("present", int(l.present)), ("missing", int(l.missing)),
                                        ("p50", int(l.percentile(50))), ("p95", int(l.percentile(95))),
                                        ("p99", int(l.percentile(99))),
                                    ]))
                            )
                        }))
            ))
        o.members.append(
            (
                "steps",
                .object(
                    JSONObject(
                        stepOrder.map { name in
                            let s = steps[name]!
                            return (
                                name,
                                .object(
                                    JSONObject([
                                        ("calls", int(s.calls)), ("prompt_tokens", int(s.promptTokens)),
                                        ("completion_tokens", int(s.completionTokens)),
                                        ("completion_tokens_p50", int(s.completionPercentile(50))),
                                        ("completion_tokens_p95", int(s.completionPercentile(95))),
                                        ("completion_tokens_p99", int(s.completionPercentile(99))),
                                        ("latency_ms_p50", int(s.latencyPercentile(50))),
                                        ("latency_ms_p95", int(s.latencyPercentile(95))),
                                        ("latency_ms_p99", int(s.latencyPercentile(99))),
                                    ]))
                            )
                        }))
            ))
        o.members.append(("languages", .object(JSONObject(languages.keys.sorted().map { ($0, int(languages[$0]!)) }))))
        o.members.append(("duplicate_rate", .double((duplicateRate * 10000).rounded() / 10000)))
        return .object(o)
    }
}
