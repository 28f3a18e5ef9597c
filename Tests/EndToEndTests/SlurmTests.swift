import Foundation
import TestSupport
import XCTest

/// Compiled pipelines on a real Slurm cluster (one node, started by
/// scripts/slurm-cluster.sh; scripts/test.sh names it in MMINF_TEST_SLURM_CONF).
final class SlurmTests: DoubleTestCase {
    var conf: String!

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard let c = ProcessInfo.processInfo.environment["MMINF_TEST_SLURM_CONF"], !c.isEmpty else {
            throw XCTSkip("MMINF_TEST_SLURM_CONF is not set: run scripts/test.sh, or scripts/slurm-cluster.sh start")
        }
        conf = c
        double = try ChatDouble(script: EightPipelinesTests.script)
    }

    func env(_ d: ChatDouble? = nil) -> [String: String] {
        let url = (d ?? double).baseURL
        return ["SLURM_CONF": conf, "VL_URL": url, "LLM_URL": url, "R1_URL": url]
    }

    func sh(_ script: String, in f: URL, env extra: [String: String] = [:]) throws -> ToolRun {
        try Tools.shell(script, in: f, env: env().merging(extra) { $1 })
    }

    /// Waits (at most `seconds`) until none of the jobs is queued or running.
    func wait(_ jobs: [String], seconds: Double = 180) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let q = try sh("squeue -h -j \(jobs.joined(separator: ",")) -o %i 2>/dev/null || true", in: dir)
            if q.out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            usleep(300_000)
        }
        XCTFail("jobs \(jobs) still in the queue after \(seconds)s")
    }

    /// submit.sh's merge job (stdout) and array job (from its message), after both ended.
    func submit(_ f: URL, env extra: [String: String] = [:]) throws -> (merge: String, array: String?, log: String) {
        let r = try sh("slurm/submit.sh", in: f, env: extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        let merge = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let array = r.stderr.range(of: #"as job array (\d+)"#, options: .regularExpression).map {
            String(r.stderr[$0].split(separator: " ").last!)
        }
        return (merge, array, r.stderr)
    }

    func testShardedJobArrayWritesWhatTheShellPipeWrites() throws {
        let f = try folderWithExamples("slurm")
        let sh = try folderWithExamples("sh")
        for name in ["oasis", "caption-hallucination"] {
            XCTAssertEqual(try self.sh("mminf-compile examples/\(name).yaml | bash", in: sh).status, 0)
            let c = try self.sh(
                "rm -rf slurm && mminf-compile --slurm --shards 4 examples/\(name).yaml -o slurm && shellcheck slurm/*.sh",
                in: f)
            XCTAssertEqual(c.status, 0, c.out + c.stderr)
            let (merge, array, _) = try submit(f)
            try wait([merge] + (array.map { [$0] } ?? []))
            XCTAssertEqual(
                try Tools.recordsWithoutTiming(f.appendingPathComponent("out/\(name).jsonl.zst")),
                try Tools.recordsWithoutTiming(sh.appendingPathComponent("out/\(name).jsonl.zst")), name)
            for k in 0..<4 {
                XCTAssertTrue(
                    FileManager.default.fileExists(
                        atPath: f.appendingPathComponent("out/\(name)/done-4.shard-\(k)").path)
                )
                XCTAssertTrue(
                    FileManager.default.fileExists(
                        atPath: f.appendingPathComponent(".mminf/\(name).shard-\(k).sqlite").path),
                    "each shard has its own cache")
            }
        }
    }

    func testCancelledShardIsTheOnlyOneToRunAgain() throws {
        let slow = try ChatDouble(faults: #"{"latency_ms": 1500}"#)
        let f = try folderWithExamples("cancel")
        try write("cancel/in.jsonl", idRecords(8))
        try write(
            "cancel/c.yaml",
            """
            pipeline: c
            input: in.jsonl
            output: out/c.jsonl.zst
            models: {m: {base_url: "${LLM_URL}", model: m, concurrency: 1}}
            steps:
              - ask: {gen: {model: m, prompt: 'q {id}', no_media: true}}
            """)
        XCTAssertEqual(try sh("mminf-compile --slurm --shards 4 c.yaml -o slurm", in: f).status, 0)
        let first = try sh("slurm/submit.sh", in: f, env: env(slow))
        XCTAssertEqual(first.status, 0, first.stderr)
        let merge = first.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let array = try XCTUnwrap(
            first.stderr.range(of: #"as job array (\d+)"#, options: .regularExpression).map {
                String(first.stderr[$0].split(separator: " ").last!)
            })
        // Cancel shard 2 while it runs (each shard takes two 1.5 s answers).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let state = try sh("squeue -h -j \(array)_2 -o %T", in: dir).out
            if state.contains("RUNNING") { break }
            usleep(100_000)
        }
        usleep(500_000)
        XCTAssertEqual(try sh("scancel \(array)_2", in: dir).status, 0)
        try wait([array, merge])
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.appendingPathComponent("out/c.jsonl.zst").path))
        let log = try read("cancel/out/c/logs/merge.log")
        XCTAssertTrue(log.contains("merge.sh: shard(s) 2 of 4 have no completion marker"), log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.appendingPathComponent("out/c/done-4.shard-2").path))
        func stamp(_ k: Int) throws -> Date? {
            try FileManager.default.attributesOfItem(atPath: f.appendingPathComponent("out/c/done-4.shard-\(k)").path)[
                .modificationDate] as? Date
        }
        let before = try [0, 1, 3].map(stamp)

        let fast = try ChatDouble()
        let again = try submit(f, env: env(fast))
        XCTAssertTrue(again.log.contains("submit.sh: shards 2 of 4 as job array"), again.log)
        try wait([again.merge] + (again.array.map { [$0] } ?? []))
        XCTAssertEqual(try [0, 1, 3].map(stamp), before, "finished shards did not run again")
        // Shard 2 holds records 4 and 5; what its cache already had is not asked again.
        let asked = try fast.requests().compactMap {
            (($0.body["messages"] as? [[String: Any]])?.last?["content"] as? String)
        }
        XCTAssertFalse(asked.isEmpty)
        XCTAssertTrue(Set(asked).isSubset(of: ["q 4", "q 5"]), "\(asked)")
        let out = try Tools.recordsWithoutTiming(f.appendingPathComponent("out/c.jsonl.zst"))
        XCTAssertEqual(out.map { $0["id"] as? Int }, Array(0..<8))
    }

    func testServedModelStartsAndStopsInEachTask() throws {
        let run = packageRoot.appendingPathComponent("scripts/llama-server.sh").path
        // sed reads both lines: `head -1` closed the pipe early, and under pipefail
        // the script's second line failing to write made this check fail now and then.
        guard
            (try? Tools.shell("test -x \"$('\(run)' path | sed -n 1p)\"", in: dir).status) == 0
        else { throw XCTSkip("llama.cpp's server is not built (scripts/llama-server.sh build)") }
        let f = try folderWithExamples("serve")
        try write("serve/in.jsonl", (0..<2).map { #"{"id": \#($0), "w": "hello"}"# }.joined(separator: "\n") + "\n")
        try write(
            "serve/s.yaml",
            """
            pipeline: s
            input: in.jsonl
            output: out/s.jsonl
            models:
              local: {serve: "'\(run)' run $MMINF_PORT", max_tokens: 8, serve_timeout: 120}
            steps:
              - ask: {gen: {model: local, prompt: 'Say {w}', no_media: true}}
              - again: {gen: {model: local, prompt: 'Again {w}', no_media: true, out: again}}
            """)
        XCTAssertEqual(
            try sh("mminf-compile --slurm --shards 2 s.yaml -o slurm && shellcheck slurm/*.sh", in: f).status, 0)
        let (merge, array, _) = try submit(f)
        try wait([merge] + (array.map { [$0] } ?? []))
        XCTAssertEqual(try Tools.recordsWithoutTiming(f.appendingPathComponent("out/s.jsonl")).count, 2)
        var pids: [Int32] = []
        for k in 0..<2 {
            let log = try read("serve/out/s/logs/task-\(k).log")
            let starts = log.components(separatedBy: "mminf: model local: starting its server on port ")
            XCTAssertEqual(starts.count, 2, "one server per task, shared by both steps: \(log)")
            if let pid = starts.last?.range(of: #"\(pid (\d+)"#, options: .regularExpression) {
                pids.append(Int32(starts.last![pid].dropFirst(5).prefix { $0.isNumber })!)
            }
        }
        XCTAssertEqual(pids.count, 2)
        for pid in pids { XCTAssertNotEqual(kill(pid, 0), 0, "server pid \(pid) still runs after its task") }
    }

    func testBadSubmissionsSayWhatIsWrongAndMergeNothing() throws {
        let f = try folderWithExamples("bad")
        XCTAssertEqual(
            try sh("mminf-compile --slurm --shards 2 --partition nowhere examples/match-score-zh.yaml -o slurm", in: f)
                .status, 0)
        let r = try sh("slurm/submit.sh", in: f)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(
            r.stderr.contains(
                "submit.sh: sbatch refused the array job (its message is above); it asked for --partition=nowhere, "
                    + "from slurm: in examples/match-score-zh.yaml or mminf-compile's flags"), r.stderr)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: f.appendingPathComponent("out/match-score-zh.jsonl.zst").path))
        let noSlurm = try sh("PATH=/nonexistent /bin/bash slurm/submit.sh", in: f)
        XCTAssertEqual(noSlurm.status, 69)
        XCTAssertTrue(noSlurm.stderr.contains("sbatch is not on PATH"), noSlurm.stderr)
    }
}

extension SlurmTests {
    /// Values in run_dir and output reach submit.sh's and merge.sh's messages as text, never as
    /// commands (with stand-ins for sbatch and squeue, so no cluster is needed for it).
    func testScriptMessagesQuoteHostilePaths() throws {
        let f = dir.appendingPathComponent("hostile")
        try FileManager.default.createDirectory(
            at: f.appendingPathComponent("fakebin"), withIntermediateDirectories: true)
        try write("hostile/fakebin/sbatch", "#!/bin/sh\necho 4242\n")
        try write("hostile/fakebin/squeue", "#!/bin/sh\nexit 0\n")
        try write("hostile/in.jsonl", "{\"id\": 1}\n")
        try write(
            "hostile/h.yaml",
            """
            pipeline: h
            input: in.jsonl
            run_dir: 'out/r`touch canary1`'
            output: 'out/a"; touch canary2; echo ".jsonl.zst'
            steps:
              - a: {filter: {where: 'id > 0'}}
            """)
        let r = try Tools.shell(
            """
            chmod +x fakebin/*
            mminf-compile --slurm --shards 2 h.yaml -o slurm
            shellcheck slurm/*.sh
            PATH="$PWD/fakebin:$PATH" slurm/submit.sh
            slurm/merge.sh || true
            """, in: f, env: ["SLURM_CONF": conf])
        XCTAssertEqual(r.status, 0, r.out + r.stderr)
        XCTAssertTrue(r.stderr.contains(#"merge job 4242 writes out/a"; touch canary2; echo ".jsonl.zst"#), r.stderr)
        XCTAssertTrue(r.stderr.contains("merge.sh: shard(s) 0 1 of 2 have no completion marker"), r.stderr)
        for c in ["canary1", "canary2"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: f.appendingPathComponent(c).path), c)
        }
    }

    /// Recompiling for another N, or changing the input, cuts the input again and voids the markers.
    func testAnotherShardCountOrInputRunsAgainWithoutStaleShards() throws {
        let f = try folderWithExamples("recut")
        try write("recut/in.jsonl", idRecords(10))
        try write(
            "recut/r.yaml",
            "pipeline: r\ninput: in.jsonl\noutput: out/r.jsonl\nsteps:\n  - a: {filter: {where: 'id >= 0'}}\n")
        func run(_ n: Int) throws -> [Int] {
            XCTAssertEqual(try sh("mminf-compile --slurm --shards \(n) r.yaml -o slurm", in: f).status, 0)
            let (merge, array, _) = try submit(f)
            try wait([merge] + (array.map { [$0] } ?? []))
            return try read("recut/out/r.jsonl").split(separator: "\n").map {
                (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? Int ?? -1
            }
        }
        XCTAssertEqual(try run(4), Array(0..<10))
        XCTAssertEqual(try run(3), Array(0..<10))
        XCTAssertEqual(try run(4), Array(0..<10), "no stale shard of the 4-shard run")
        try write("recut/in.jsonl", (20..<25).map { #"{"id": \#($0)}"# }.joined(separator: "\n") + "\n")
        XCTAssertEqual(try run(4), Array(20..<25), "a changed input is cut again")
    }
}
