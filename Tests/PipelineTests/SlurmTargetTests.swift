import Foundation
import Pipeline
import XCTest

final class SlurmTargetTests: XCTestCase {
    /// servers_per_task: task i takes P of the model's servers from the (i x P)-th on, wrapping.
    func testEachTaskTakesItsShareOfTheServers() throws {
        let urls = (0..<8).map { "'http://gpu\($0):8000/v1'" }.joined(separator: ", ")
        let p = try plan(
            """
            pipeline: t
            input: in.jsonl
            models:
              vl: {base_url: [\(urls)], servers_per_task: 2, model: Qwen2-VL-72B}
            steps:
              - a: {gen: {model: vl, prompt: hi}}
            """)
        let scripts = try SlurmTarget.render(p, shards: 6, settings: ["partition": "gpu", "throttle": "4"])
        XCTAssertTrue(scripts.task.contains("#SBATCH --partition=gpu\n"), scripts.task)
        XCTAssertFalse(scripts.task.contains("throttle"), "the throttle is the array's %K, not an sbatch option")
        XCTAssertTrue(scripts.submit.contains(#"--array="$spec%4""#), scripts.submit)
        XCTAssertTrue(scripts.task.contains(#"mminf-gen \"# + "\n" + #"  "${mminf_pick_0[@]}" \"#), scripts.task)
        // Run the share code as a task would.
        let start = try XCTUnwrap(scripts.task.range(of: "mminf_urls_0=("))
        let end = try XCTUnwrap(scripts.task.range(of: "done\n", range: start.upperBound..<scripts.task.endIndex))
        let code = String(scripts.task[start.lowerBound..<end.upperBound])
        for (task, want) in [(0, [0, 1]), (3, [6, 7]), (5, [2, 3])] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", "SLURM_ARRAY_TASK_ID=\(task)\n" + code + "\nprintf '%s\\n' \"${mminf_pick_0[@]}\""]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(text, want.map { "--base-url=http://gpu\($0):8000/v1\n" }.joined(), "task \(task)")
        }
    }

    func testSharesNeedAListAndSlurmValuesAreOneWord() throws {
        // Checked when the file is read, for every target, at the value's place.
        XCTAssertThrowsError(
            try plan(
                "pipeline: t\ninput: i\nmodels:\n  vl: {base_url: 'http://h/v1', servers_per_task: 2}\nsteps:\n  - a: {gen: {model: vl}}\n"
            )
        ) { e in
            XCTAssertEqual(
                "\(e)", "p.yaml:4:51: model 'vl': servers_per_task 2 is more than its 1 base_url servers")
        }
        XCTAssertThrowsError(
            try plan(
                "pipeline: t\ninput: i\nmodels:\n  vl: {serve: 'run $MMINF_PORT', servers_per_task: 1}\nsteps:\n  - a: {gen: {model: vl}}\n"
            )
        ) { e in XCTAssertTrue("\(e)".contains("p.yaml:4:52: model 'vl': servers_per_task shares a list"), "\(e)") }
        XCTAssertThrowsError(
            try plan(
                "pipeline: t\ninput: i\nslurm: {partition: 'gpu\\n#SBATCH --x'}\nsteps:\n  - a: {filter: {where: x}}\n")
        ) { e in XCTAssertTrue("\(e)".contains("p.yaml:3:20: slurm partition"), "\(e)") }
    }
}

extension SlurmTargetTests {
    func testTheMergeAsksForGPUsOnlyWhenItServesAModel() throws {
        let text = """
            pipeline: t
            input: in.jsonl
            models:
              m: {serve: 'vllm serve x --port $MMINF_PORT'}
            slurm: {gres: 'gpu:1', partition: gpu}
            steps:
              - a: {gen: {model: m, prompt: hi}}
              - u: {filter: {unique: response}}

            """
        let plain = try SlurmTarget.render(try plan(text), shards: 2, settings: ["gres": "gpu:1"])
        XCTAssertFalse(plain.merge.contains("--gres"), "the merge serves nothing here")
        XCTAssertTrue(plain.task.contains("#SBATCH --gres=gpu:1"))
        let serving = try SlurmTarget.render(
            try plan(text + "  - b: {gen: {model: m, prompt: again}}\n"), shards: 2, settings: ["gres": "gpu:1"])
        XCTAssertTrue(serving.merge.contains("#SBATCH --gres=gpu:1"), "the merge starts the model itself")
        XCTAssertTrue(serving.merge.contains("mminf_port_0=\nmminf_serve"), serving.merge)
    }
}
