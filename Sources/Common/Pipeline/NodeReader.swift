import Foundation

/// Reads values of a pipeline file, each error placed at its node.
struct NodeReader {
    let file: String

    func fail(_ mark: SourceMark, _ what: String) -> PipelineError { PipelineError(file, mark, what) }

    func text(_ node: YAMLNode, _ what: String) throws -> String {
        guard let s = node.scalar, !node.isNull else {
            throw fail(node.mark, "\(what) takes a text value, not \(node.kindName)")
        }
        return s
    }

    func word(_ node: YAMLNode, _ what: String) throws -> PipelineFile.Located<ShellWord> {
        .init(value: try ShellWord.parse(try text(node, what), file: file, at: node.mark), mark: node.mark)
    }
}
