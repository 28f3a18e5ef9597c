import Engine
import Prompts
import RecordCore

/// What mminf-score asks for each record: one judge call per rubric (all of a
/// record's rubrics in flight together), each answer read into
/// `scores.<name>`, the raw judgement kept in `history.score_<name>`.
public struct ScoringPlan {
    public struct Judge {
        public var rubric: Rubric
        /// The name the score is written under (`--as`).
        public var name: String
        public var request: GenerationPlan

        public init(rubric: Rubric, name: String, request: GenerationPlan) {
            self.rubric = rubric
            self.name = name
            self.request = request
        }
    }

    public var judges: [Judge]
    public var history = true

    public init(judges: [Judge]) { self.judges = judges }

    public func calls(for record: JSONValue, position: Int) throws -> [PlannedCall] {
        try judges.flatMap { try $0.request.calls(for: record, position: position) }
    }

    public func outputs(record: JSONValue, results: [CallResult]) throws -> [JSONValue] {
        var o = record
        for (judge, r) in zip(judges, results) {
            let answer = try r.readAnswer()
            try o.set(judge.rubric.read(answer.text), at: ScoringPlan.scorePath(judge.name))
            if history {
                try o.set(
                    try judge.request.historyEntry(record: record, answer: answer, result: r, sample: nil),
                    at: ScoringPlan.historyPath(judge.name))
            }
        }
        return [o]
    }

    public static func scorePath(_ name: String) -> FieldPath {
        FieldPath(components: [.key(DefaultFields.scores), .key(name)], text: "\(DefaultFields.scores).\(name)")
    }

    public static func historyPath(_ name: String) -> FieldPath {
        FieldPath(
            components: [.key("history"), .key(DefaultFields.scoreStep(name))],
            text: "history.\(DefaultFields.scoreStep(name))")
    }

    /// `--reparse` over a whole input: a record without its stored judgement goes to
    /// the failures file, the others are re-read; exit 1 when more failed than --max-failures allows.
    public func reparseAll(
        _ tool: RecordTool, failuresPath: String, statsPath: String? = nil, maxFailures: FailureBudget = .none
    ) throws {
        tool.summary.callsModel = true
        let failures = RejectStream(openingOnFirstWrite: failuresPath)
        defer { try? failures.close() }
        try tool.process { tool in
            try tool.eachLine { line in
                let record = try parseRecord(line.bytes)  // not a record: a bad line
                do {
                    try tool.emit(try reparse(record))
                } catch let e as RecordError {
                    try failures.write(line, reason: "reparse: \(e)", recordIsValid: true)
                    tool.summary.failed += 1
                }
            }
            try failures.closeCompleted()
            if let statsPath { try tool.summary.writeStats(to: statsPath) }
        }
        let failed = tool.summary.failed
        if let error = maxFailures.verdict(
            failed: failed, of: tool.summary.recordsIn,
            message: "\(failed) record\(failed == 1 ? "" : "s") had no stored judgement; they are in \(failuresPath)")
        {
            throw error
        }
    }

    /// `--reparse`: read the scores again from the judgements in history, with no model.
    public func reparse(_ record: JSONValue) throws -> JSONValue {
        var o = record
        for judge in judges {
            let path = FieldPath(
                components: ScoringPlan.historyPath(judge.name).components + [.key("response")],
                text: "history.score_\(judge.name).response")
            guard let raw = record.value(at: path)?.stringValue else {
                throw RecordError.missing(
                    path.description,
                    hint:
                        "--reparse reads the judgement a scoring run stored there (it was run with --no-history, or not at all)"
                )
            }
            try o.set(judge.rubric.read(raw), at: ScoringPlan.scorePath(judge.name))
        }
        return o
    }
}
