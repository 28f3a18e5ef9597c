/// Where the model tools write when not told otherwise, in one place for the
/// tools and for mminf-compile's --explain (which cannot ask the tools).
/// Option defaults that are plain values (`--part-field part`) are read from
/// the tools' own `--experimental-dump-help` instead.
public enum DefaultFields {
    /// mminf-gen's output field without --out or a preset's `out:`.
    public static func genOut(truncate: Bool) -> String { truncate ? "instruction" : "response" }
    /// The name of a gen step's entry in `history` without --step.
    public static func genStep(truncate: Bool, out: String) -> String { truncate ? "hook" : out }
    /// The object mminf-score writes each score into (`scores.<name>`).
    public static let scores = "scores"
    /// The name of a score's entry in `history` (`history.score_<name>`).
    public static func scoreStep(_ name: String) -> String { "score_" + name }
}
