import ClusterTestSupport
import Foundation
import IONodes
import IOTransportTCP
import Testing

/// An `iocompute` process (or another program) that runs until killed, its output kept in a file.
final class Background: Sendable {
    let process: Process
    let log: String

    init(_ arguments: [String], log: String, executable: URL = DemoCommandTests.executable) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func kill(_ signal: Int32 = SIGKILL) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }
}

@Suite("iocompute start, status and stop", .serialized, .timeLimit(.minutes(3)))
struct NodeCommandTests {
    /// Runs `iocompute` to its end.
    private static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await DemoCommandTests.run(arguments)
    }

    /// The cluster as `iocompute status --json` prints it, once it satisfies `ready` (the
    /// suite's time limit bounds the wait).
    private static func status(_ address: String, stateDir: String, until ready: (ClusterSnapshot) -> Bool) async throws -> ClusterSnapshot
    {
        while true {
            let (code, output) = try await run(["status", "--address", address, "--state-dir", stateDir, "--json"])
            if code == 0, let snapshot = try? JSONDecoder().decode(ClusterSnapshot.self, from: Data(output.utf8)), ready(snapshot) {
                return snapshot
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private static func node(_ name: String, in snapshot: ClusterSnapshot) -> NodeStatus? {
        snapshot.nodes.first { $0.announcement.name == name }
    }

    @Test("a head and a node from the command line: status, a killed node, its return, and stop")
    func headAndNode() async throws {
        let root = NSTemporaryDirectory() + "iocompute-nodes-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let head = try Background(
            ["start", "--head", "--host", "127.0.0.1", "--port", "0", "--state-dir", root + "/head", "--cpus", "2"], log: root + "/head.log"
        )
        defer { head.kill() }
        var address = ""
        while address.isEmpty {
            #expect(head.process.isRunning, "the head exited: \(head.output)")
            try #require(head.process.isRunning)
            address = ((try? String(contentsOfFile: root + "/head/head.address", encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try await Task.sleep(for: .milliseconds(50))
        }
        // The token and the authority's key stay private; the token is never printed.
        var info = stat()
        #expect(stat(root + "/head/token", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(root + "/head/authority-key.pem", &info) == 0 && info.st_mode & 0o777 == 0o600)
        let token = try String(contentsOfFile: root + "/head/token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(head.output.contains("iocompute start --join \(address)"))
        #expect(!head.output.contains(token))

        let issued = try await Self.run(
            ["credentials", "issue", "--node", "node-b", "--host", "127.0.0.1", "--out", root + "/b", "--state-dir", root + "/head"])
        #expect(issued.status == 0, "\(issued.output)")
        let joinArguments = ["start", "--join", address, "--state-dir", root + "/b", "--cpus", "3", "--label", "zone=x"]
        var node = try Background(joinArguments, log: root + "/b.log")
        defer { node.kill() }
        var snapshot = try await Self.status(address, stateDir: root + "/head") { Self.node("node-b", in: $0)?.state == .alive }
        let b = try #require(Self.node("node-b", in: snapshot))
        #expect(b.announcement.resources["cpu"] == 3 && b.announcement.labels == ["zone": "x"] && b.announcement.host == "127.0.0.1")
        #expect(snapshot.nodes.count == 2 && snapshot.nodes.allSatisfy { $0.state == .alive })
        // The table for people names both nodes.
        let table = try await Self.run(["status", "--address", address, "--state-dir", root + "/b"])
        #expect(table.status == 0 && table.output.contains("2 of 2 nodes alive") && table.output.contains("node-b"))

        // Killed: dead at once (its connection closed). Started again: alive, a second join.
        node.kill()
        snapshot = try await Self.status(address, stateDir: root + "/head") { Self.node("node-b", in: $0)?.state == .dead }
        node = try Background(joinArguments, log: root + "/b2.log")
        snapshot = try await Self.status(address, stateDir: root + "/head") {
            Self.node("node-b", in: $0)?.state == .alive && Self.node("node-b", in: $0)?.joins == 2
        }
        // `stop` ends it cleanly: the head sees it leave.
        let stopped = try await Self.run(["stop", "--state-dir", root + "/b"])
        #expect(stopped.status == 0 && stopped.output.contains("stopped"), "\(stopped.output)")
        snapshot = try await Self.status(address, stateDir: root + "/head") { Self.node("node-b", in: $0)?.state == .left }

        // A node with the wrong token, and one whose certificate another authority signed.
        try FileManager.default.copyItem(atPath: root + "/b", toPath: root + "/wrong-token")
        try PrivateFile.write(ClusterToken.generate().hexadecimal, to: root + "/wrong-token/token")
        let wrongToken = try await Self.run(["start", "--join", address, "--state-dir", root + "/wrong-token"])
        #expect(wrongToken.status != 0 && wrongToken.output.contains("handshake failed"), "\(wrongToken.output)")
        try ClusterAuthority.create().issue(node: "node-x").write(to: root + "/stranger")
        try PrivateFile.write(token, to: root + "/stranger/token")
        let stranger = try await Self.run(["start", "--join", address, "--state-dir", root + "/stranger"])
        #expect(stranger.status != 0, "\(stranger.output)")
        snapshot = try await Self.status(address, stateDir: root + "/head") { _ in true }
        // Neither got in: the head still lists its own node and node-b only.
        #expect(snapshot.nodes.count == 2 && !snapshot.nodes.contains { $0.announcement.name == "node-x" })

        // Stopping the head: nothing answers there any more, and status says so.
        #expect(try await Self.run(["stop", "--state-dir", root + "/head"]).status == 0)
        let gone = try await Self.run(["status", "--address", address, "--state-dir", root + "/b"])
        #expect(gone.status != 0 && gone.output.contains("could not connect to \(address)"), "\(gone.output)")
    }

    /// A head and one node started from the command line, in fresh state folders under `root`.
    private static func startCluster(in root: String) async throws -> (head: Background, node: Background, address: String) {
        let head = try Background(
            ["start", "--head", "--host", "127.0.0.1", "--port", "0", "--state-dir", root + "/head", "--cpus", "2"], log: root + "/head.log"
        )
        var address = ""
        while address.isEmpty {
            try #require(head.process.isRunning, "the head exited: \(head.output)")
            address = ((try? String(contentsOfFile: root + "/head/head.address", encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try await run(["credentials", "issue", "--node", "node-b", "--out", root + "/b", "--state-dir", root + "/head"])
        let node = try Background(["start", "--join", address, "--state-dir", root + "/b", "--cpus", "2"], log: root + "/b.log")
        _ = try await status(address, stateDir: root + "/head") { $0.nodes.count == 2 && $0.nodes.allSatisfy { $0.state == .alive } }
        return (head, node, address)
    }

    private static func jobs(_ root: String) async throws -> [JobSummary] {
        let (code, output) = try await run(["jobs", "--state-dir", root + "/head", "--json"])
        guard code == 0 else { return [] }
        return (try? JSONDecoder().decode([JobSummary].self, from: Data(output.utf8))) ?? []
    }

    @Test("submit runs a program as a job on the nodes, streams its output back and exits with its status; jobs, logs and stop")
    func submit() async throws {
        let root = NSTemporaryDirectory() + "iocompute-submit-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (head, node, _) = try await Self.startCluster(in: root)
        defer {
            node.kill()
            head.kill()
        }
        // The example estimates π with 4 workers spread over the two nodes.
        let example = DemoCommandTests.executable.deletingLastPathComponent().appendingPathComponent("MonteCarloPi").path
        let job = try await Self.run(["submit", "--state-dir", root + "/head", example, "8", "100000"])
        #expect(job.status == 0, "\(job.output)")
        #expect(job.output.contains("π ≈ 3.1"), "\(job.output)")
        var jobs = try await Self.jobs(root)
        let first = try #require(jobs.first)
        #expect(jobs.count == 1 && first.state == .succeeded && first.ending == "exited with status 0")
        let log = try await Self.run(["logs", "--state-dir", root + "/head", first.job])
        #expect(log.status == 0 && log.output.contains("π ≈ 3.1"))
        // Both nodes fetched the example once, named by its hash.
        let (hash, _) = try ExecutableStore.digest(ofFile: example)
        #expect(FileManager.default.isExecutableFile(atPath: root + "/head/node-executables/\(hash)"))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/b/executables/\(hash)"))

        // A job that fails: submit exits with its status.
        let failing = try await Self.run(["submit", "--state-dir", root + "/head", "/bin/false"])
        #expect(failing.status == 1, "\(failing.output)")

        // A job stopped while it runs: SIGTERM ends its driver, and submit reports it.
        let sleeper = try Background(["submit", "--state-dir", root + "/head", "/bin/sleep", "120"], log: root + "/sleeper.log")
        defer { sleeper.kill() }
        var running: JobSummary?
        while running == nil {
            running = try await Self.jobs(root).first { $0.state == .running }
            try await Task.sleep(for: .milliseconds(50))
        }
        let stop = try await Self.run(["stop", "--state-dir", root + "/head", running!.job])
        #expect(stop.status == 0, "\(stop.output)")
        await Program.waitForExit(of: sleeper.process)
        #expect(sleeper.process.terminationStatus == 128 + SIGTERM, "\(sleeper.output)")
        jobs = try await Self.jobs(root)
        #expect(jobs.first { $0.job == running!.job }?.state == .stopped)
        #expect(jobs.filter { $0.state == .failed }.count == 1)

        // While a long job runs, status shows what its driver reports: tasks and objects.
        let long = try Background(["submit", "--state-dir", root + "/head", example, "100000", "20000"], log: root + "/long.log")
        defer { long.kill() }
        var table = ""
        // The first report comes as the cluster starts; a later one counts the submitted tasks.
        while !table.contains("tasks:") || table.contains("tasks: 0 running, 0 waiting, 0 finished") {
            try #require(long.process.isRunning, "the long job ended: \(long.output)")
            try await Task.sleep(for: .milliseconds(200))
            table = try await Self.run(["status", "--state-dir", root + "/head"]).output
        }
        #expect(table.contains(" running, ") && table.contains("objects: ") && table.contains("in memory of"), "\(table)")
        let longJob = try #require(try await Self.jobs(root).first { $0.state == .running })
        #expect(try await Self.run(["stop", "--state-dir", root + "/head", longJob.job]).status == 0)
        await Program.waitForExit(of: long.process)

        // A program that is not there, and a head where nothing listens.
        let missing = try await Self.run(["submit", "--state-dir", root + "/head", root + "/no-such-program"])
        #expect(missing.status != 0 && missing.output.contains("is not an executable file"))
        let nowhere = try await Self.run(["submit", "--state-dir", root + "/head", "--address", "127.0.0.1:1", "/bin/true"])
        #expect(nowhere.status != 0 && nowhere.output.contains("could not connect to 127.0.0.1:1"))
    }
}
