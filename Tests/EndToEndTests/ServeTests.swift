import Foundation
import TestSupport
import XCTest

/// `serve:` models: the compiled script starts the server, waits for it,
/// shares it among the steps, and stops it however the script ends.
final class ServeTests: ToolTestCase {
    let double = packageRoot.appendingPathComponent("Tests/double/chat_double.py").path

    func pipeline(serve: String, timeout: Int = 60, steps: Int = 2) throws {
        try write("in.jsonl", idRecords(3))
        var text = """
            pipeline: s
            input: in.jsonl
            output: out/s.jsonl
            models:
              m: {serve: \(serve), serve_timeout: \(timeout), model: m, concurrency: 1}
            steps:

            """
        for i in 0..<steps {
            text += "  - s\(i): {gen: {model: m, prompt: 'q\(i) {id}', no_media: true, out: a\(i)}}\n"
        }
        try write("s.yaml", text)
        let c = try Tools.run("mminf-compile", ["s.yaml", "-o", "s.sh"], cwd: dir)
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(try Tools.shell("shellcheck s.sh", in: dir).status, 0)
    }

    /// The pid the script reported for the model's server.
    func serverPid(_ stderr: String) -> Int32? {
        guard let r = stderr.range(of: #"\(pid \d+"#, options: .regularExpression) else { return nil }
        return Int32(stderr[r].dropFirst(5))
    }

    func testOneServerForEveryStepStoppedAtTheEnd() throws {
        try pipeline(serve: "\"python3 '\(double)' --port $MMINF_PORT\"", steps: 3)
        let r = try Tools.shell("./s.sh", in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "starting its server").count, 2, "one server: \(r.stderr)")
        let pid = try XCTUnwrap(serverPid(r.stderr))
        XCTAssertNotEqual(kill(pid, 0), 0, "the server stopped with the script")
        let out = try read("out/s.jsonl").split(separator: "\n")
        XCTAssertEqual(out.count, 3)
        XCTAssertTrue(out[0].contains(#""a2":"echo: q2 0""#), String(out[0]))
        // The compiled make target starts it once for every step, too.
        XCTAssertEqual(try Tools.run("mminf-compile", ["--make", "s.yaml", "-o", "Makefile"], cwd: dir).status, 0)
        let m = try Tools.shell("rm -rf out .mminf && make -s", in: dir)
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertEqual(m.stderr.components(separatedBy: "starting its server").count, 2, m.stderr)
        XCTAssertNotEqual(kill(try XCTUnwrap(serverPid(m.stderr)), 0), 0)
        // Nothing left to do, or only showing what would run: no server is started.
        for args in ["make -s", "make -n"] {
            let again = try Tools.shell(args, in: dir)
            XCTAssertEqual(again.status, 0, again.stderr)
            XCTAssertFalse((again.out + again.stderr).contains("starting its server"), "\(args): \(again.stderr)")
        }
    }

    func testACommandThatEndsAtOnceIsOneClearError() throws {
        try pipeline(serve: "'echo loading weights; echo out of memory >&2; exit 3'")
        let r = try Tools.shell("./s.sh", in: dir)
        XCTAssertEqual(r.status, 69, r.stderr)
        XCTAssertTrue(
            r.stderr.contains(
                "mminf: model m: its serve command ended before the server answered; the last lines of out/s/serve-0.log:"
            ),
            r.stderr)
        XCTAssertTrue(r.stderr.contains("out of memory"), "the log's last lines are shown: \(r.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out/s.jsonl")))
    }

    func testAServerThatNeverAnswersTimesOutAndIsStopped() throws {
        try pipeline(serve: "'exec sleep 321.5'", timeout: 1)
        let r = try Tools.shell("./s.sh", in: dir)
        XCTAssertEqual(r.status, 69, r.stderr)
        XCTAssertTrue(r.stderr.contains("mminf: model m: no answer on /health or /v1/models within 1s"), r.stderr)
        usleep(300_000)
        XCTAssertNotEqual(try Tools.shell("pgrep -f 'sleep 321.5'", in: dir).status, 0, "the server was stopped")
    }

    func testSIGTERMStopsTheServer() throws {
        try pipeline(serve: "\"python3 '\(double)' --port $MMINF_PORT --faults '{\\\"latency_ms\\\": 20000}'\"")
        // As Slurm's time limit or a terminal does: SIGTERM to the script's whole process group.
        let script = """
            setsid ./s.sh 2>err.txt &
            pid=$!
            for _ in $(seq 100); do grep -q 'starting its server' err.txt 2>/dev/null && break; sleep 0.1; done
            sleep 2
            kill -TERM -- "-$pid"
            status=0
            wait "$pid" || status=$?
            echo "status $status"
            """
        let r = try Tools.shell(script, in: dir)
        let err = try read("err.txt")
        XCTAssertTrue(r.out.contains("status 143"), r.out + err)
        let pid = try XCTUnwrap(serverPid(err))
        usleep(500_000)
        XCTAssertNotEqual(kill(pid, 0), 0, "the server stopped on SIGTERM")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out/s.jsonl")))
    }

    func testServeAndBaseURLTogetherAreRefused() throws {
        try write(
            "b.yaml",
            "pipeline: b\ninput: i\nmodels:\n  m: {serve: 'x', base_url: 'http://h/v1'}\nsteps:\n  - a: {gen: {model: m}}\n"
        )
        let r = try Tools.run("mminf-compile", ["b.yaml"], cwd: dir)
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("b.yaml:4:29: model 'm': base_url goes with a server you started"), r.stderr)
    }
}

extension ServeTests {
    /// A server that accepts connections but never answers is timed out all the same.
    func testAServerThatListensButNeverAnswersTimesOut() throws {
        try write(
            "mute.py",
            "import os, socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', int(os.environ['MMINF_PORT'])))\ns.listen(16)\ntime.sleep(300)\n"
        )
        try pipeline(serve: "\"exec python3 '\(path("mute.py"))'\"", timeout: 2)
        let started = Date()
        let r = try Tools.shell("./s.sh", in: dir)
        XCTAssertEqual(r.status, 69, r.stderr)
        XCTAssertTrue(r.stderr.contains("no answer on /health or /v1/models within 2s"), r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "the timeout holds while connections hang")
        usleep(300_000)
        XCTAssertNotEqual(try Tools.shell("pgrep -f '\(path("mute.py"))'", in: dir).status, 0, "the server was stopped")
    }
}
