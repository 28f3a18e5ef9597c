import XCTest

@testable import Prompts
@testable import RecordCore

/// Judge answers as models really write them (written for these tests), with
/// what must be read from each; nil means "unreadable: null, not a guess".
final class RubricParserTests: XCTestCase {
    let fivePoint: [(String, Double?)] = [
        ("[[4]]", 4),
        ("Rating: [[4]]", 4),
        ("Score: [[4]]", 4),
        ("**[[4]]**", 4),
        ("The instruction is clear and specific. Rating: [[5]]", 5),
        ("Reason: the image shows a dog but the question asks about a cat.\nRating: [[1]]", 1),
        ("I first thought [[2]], but on reflection the question is answerable. Final rating: [[4]]", 4),
        ("[[ 3 ]]", 3),
        ("Rating: [[3.5]]", 3.5),
        ("Rating: [[7]]", nil),
        ("Rating: [[0]]", nil),
        ("4", 4),
        ("4.", 4),
        ("**4**", 4),
        ("Rating: 4", 4),
        ("rating = 2", 2),
        ("Score: **5**", 5),
        ("The question mentions 3 dogs and 2 cats; overall [[4]]", 4),
        ("The question mentions 3 dogs and 2 cats.", nil),
        ("I would give it a 4.", 4),
        ("I'd say between 3 and 4.", nil),
        ("4/5", 4),
        ("4 out of 5", 4),
        ("Rating: 4/5 — clear enough.", 4),
        ("It deserves 8/10", nil),
        ("Clear, specific, answerable.\n\n5", 5),
        ("The text refers to 2 objects.\n3", 3),
        ("", nil),
        ("I cannot rate this instruction.", nil),
        ("Rating: [[four]]", nil),
        ("<think>The user asks about 7 things... maybe [[2]]?</think>\nRating: [[4]]", 4),
        // Scores the judge rules out are not its verdict; when unsure, null.
        ("It is not Score 1 or Score 2; I give it a 3.", 3),
        ("This matches Score 4 much better than Score 5.", 4),
        ("This matches Score 4 rather than Score 5.", 4),
        ("Not a [[2]] but a [[4]].", 4),
        ("Neither Score 2 nor Score 3 fits; Score: 5", 5),
        ("I'd rate it 3.", 3),
        ("I would rate this a 2 out of 5.", 2),
        ("I give this instruction a score of 4.", 4),
        ("Score 1 means unanswerable and Score 5 means fully answerable.", nil),
        ("Score 1 means unanswerable, 5 fully answerable. Score: 4", 4),
        ("It is not Score 1 or Score 2.", nil),
        ("Rather than [[5]], this deserves less.", nil),
        ("Instead of Score 3, consider the details.", nil),
        // A ruling-out word in another sentence, or in Chinese, says nothing of the score.
        ("My first impression was score 4, but the instruction is not specific. Score: 3", 3),
        ("[[5]] would need a precise target. This one is not precise. [[3]]", 3),
        ("Initially I leaned to [[4]], however the object is not named. [[2]]", 2),
        ("The instruction asks the model to give 3 reasons why the sky is blue. It is clear and specific.\n\n5", 5),
        ("The instruction is not clear. [[2]]", 2),
        ("The user wants a caption, not a list. [[4]]", 4),
        ("The question is never ambiguous: [[5]]", 5),
        ("<think>hmm</think>Final: [[3]]", 3),
        ("[[4]] because it is clear. (Other reviewers said [[2]].)", 2),
        ("评分：4", 4),
        ("Rating: [[-1]]", nil),
    ]

    let tenPoint: [(String, Double?)] = [
        ("【7分】", 7),
        ("回答基本切题，但遗漏了细节。【6分】", 6),
        ("【 9 分】", 9),
        ("8分", 8),
        ("理由：完全无关。【1分】", 1),
        ("【11分】", nil),
        ("7/10", 7),
        ("Score: [[10]]", 10),
        ("The response is good. 7/10", 7),
        ("Good answer overall. Score: 8", 8),
        ("Rating: 4/5", nil),
        ("The response lists 3 items, all correct.", nil),
        ("评分：7分（满分10分）", 7),
        ("得分：6 分，满分 10 分", 6),
        ("评分：8/10分", 8),
        ("【8/10分】", 8),
        ("回答基本切题，但不是很完整。【6分】", 6),
        ("该回答并非完全正确，但大体切题。得分：7", 7),
        ("回答完整准确，不是敷衍之作。【9分】", 9),
    ]

    let yesNo: [(String, Bool?)] = [
        ("Yes", true),
        ("yes.", true),
        ("Yes, because both answers say 42.", true),
        ("No", false),
        ("No. The candidate says 12, the reference 13.", false),
        ("**Yes**", true),
        ("[[Yes]]", true),
        ("Answer: No", false),
        ("After comparing both, the final answers agree.\nVerdict: yes", true),
        ("The final answers match, so yes.", true),
        ("The final answers do not match.", nil),
        ("Yes and no: the units differ.", nil),
        ("Yes, the answers agree; there is no difference.", true),
        ("Maybe.", nil),
        ("", nil),
        ("<think>Is 0.5 equal to 1/2? yes... but no, wait</think>Yes", true),
        ("是，两个答案一致。", true),
        ("否", false),
        ("They don't agree. No.", false),
        ("It does not. No.", false),
        ("No doubt about it, yes.", nil),
        // An echoed task is not a verdict.
        ("Decide whether everything the statement claims is true of the image.", nil),
        ("Determine if the answer is correct: yes or no.", nil),
        ("Check whether the two answers agree.", nil),
        ("The task asks whether they match. Yes.", true),
        ("Whether it is true I cannot say.", nil),
    ]

    let correctness: [(String, Bool?)] = [
        ("Correct", true),
        ("Incorrect", false),
        ("Incorrect. The car is blue, not red.", false),
        ("correct.", true),
        ("The statement is correct.", true),
        ("The statement is incorrect: there are two dogs.", false),
        ("The statement is not correct.", false),
        ("[[Incorrect]]", false),
        ("**Correct** - the sign reads STOP.", true),
        ("Partially correct, partially incorrect.", nil),
        ("It is accurate.", true),
        ("Wrong: the image shows a cat.", false),
        ("I can't tell from this image.", nil),
        ("正确", true),
        ("The paragraph isn't correct.", false),
        ("The statement is not entirely correct.", false),
        ("Correct? No, it is incorrect.", nil),
        ("Not quite. Incorrect.", false),
        ("I cannot confirm this. Incorrect.", false),
        ("Judge whether the paragraph is correct.", nil),
        ("Decide if the statement is accurate.", nil),
        ("I judge the statement to be correct.", true),
        ("I determine that the statement is incorrect.", false),
    ]

    func testTable() {
        let total = fivePoint.count + tenPoint.count + yesNo.count + correctness.count
        XCTAssertGreaterThanOrEqual(total, 60)
        for (text, want) in fivePoint {
            XCTAssertEqual(RubricParser.score(text, min: 1, max: 5), want, "1-5: \(text.debugDescription)")
        }
        for (text, want) in tenPoint {
            XCTAssertEqual(RubricParser.score(text, min: 1, max: 10), want, "1-10: \(text.debugDescription)")
        }
        for (text, want) in yesNo { XCTAssertEqual(RubricParser.yesNo(text), want, "yes/no: \(text.debugDescription)") }
        for (text, want) in correctness {
            XCTAssertEqual(RubricParser.correct(text), want, "correct: \(text.debugDescription)")
        }
    }

    func testBuiltInRubricsAndPresetsLoadAndMatchTheirFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for kind in [PromptLibrary.Kind.preset, .rubric] {
            let folder = root.appendingPathComponent("prompts/\(kind.rawValue)s")
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".txt") }
            XCTAssertEqual(
                files.map { String($0.dropLast(4)) }.sorted(), PromptLibrary.names(kind), "run scripts/embed-prompts.py"
            )
            for f in files {
                let onDisk = try String(contentsOf: folder.appendingPathComponent(f), encoding: .utf8)
                let embedded = try PromptLibrary.load(String(f.dropLast(4)), kind: kind)
                XCTAssertEqual(
                    embedded.text.trimmingCharacters(in: .newlines), onDisk.trimmingCharacters(in: .newlines),
                    "\(f) changed: run scripts/embed-prompts.py")
                XCTAssertFalse(embedded.description.isEmpty, f)
                XCTAssertNoThrow(try Template(embedded.template), f)
                if kind == .rubric { XCTAssertNoThrow(try Rubric(embedded), f) }
            }
        }
        XCTAssertEqual(PromptLibrary.names(.preset).count, 10)
        XCTAssertEqual(try Rubric(try PromptLibrary.load("match-zh", kind: .rubric)).answer, .scale(min: 1, max: 10))
        XCTAssertTrue(try Rubric(try PromptLibrary.load("solvability", kind: .rubric)).sendsMedia)
        XCTAssertFalse(try Rubric(try PromptLibrary.load("nonsense", kind: .rubric)).sendsMedia)
    }
}
