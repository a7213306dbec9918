import Foundation
import IONodes
import IOTransportTCP
import Testing

/// An `iocompute` process that runs until killed, its output kept in a file.
private final class Background: Sendable {
    let process: Process
    let log: String

    init(_ arguments: [String], log: String) throws {
        self.log = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process = Process()
        process.executableURL = DemoCommandTests.executable
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
    private static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try DemoCommandTests.run(arguments)
    }

    /// The cluster as `iocompute status --json` prints it, once it satisfies `ready` (the
    /// suite's time limit bounds the wait).
    private static func status(_ address: String, stateDir: String, until ready: (ClusterSnapshot) -> Bool) async throws -> ClusterSnapshot
    {
        while true {
            let (code, output) = try run(["status", "--address", address, "--state-dir", stateDir, "--json"])
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

        let issued = try Self.run(
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
        let table = try Self.run(["status", "--address", address, "--state-dir", root + "/b"])
        #expect(table.status == 0 && table.output.contains("2 of 2 nodes alive") && table.output.contains("node-b"))

        // Killed: dead at once (its connection closed). Started again: alive, a second join.
        node.kill()
        snapshot = try await Self.status(address, stateDir: root + "/head") { Self.node("node-b", in: $0)?.state == .dead }
        node = try Background(joinArguments, log: root + "/b2.log")
        snapshot = try await Self.status(address, stateDir: root + "/head") {
            Self.node("node-b", in: $0)?.state == .alive && Self.node("node-b", in: $0)?.joins == 2
        }
        // `stop` ends it cleanly: the head sees it leave.
        let stopped = try Self.run(["stop", "--state-dir", root + "/b"])
        #expect(stopped.status == 0 && stopped.output.contains("stopped"), "\(stopped.output)")
        snapshot = try await Self.status(address, stateDir: root + "/head") { Self.node("node-b", in: $0)?.state == .left }

        // A node with the wrong token, and one whose certificate another authority signed.
        try FileManager.default.copyItem(atPath: root + "/b", toPath: root + "/wrong-token")
        try PrivateFile.write(ClusterToken.generate().hexadecimal, to: root + "/wrong-token/token")
        let wrongToken = try Self.run(["start", "--join", address, "--state-dir", root + "/wrong-token"])
        #expect(wrongToken.status != 0 && wrongToken.output.contains("handshake failed"), "\(wrongToken.output)")
        try ClusterAuthority.create().issue(node: "node-x").write(to: root + "/stranger")
        try PrivateFile.write(token, to: root + "/stranger/token")
        let stranger = try Self.run(["start", "--join", address, "--state-dir", root + "/stranger"])
        #expect(stranger.status != 0, "\(stranger.output)")
        snapshot = try await Self.status(address, stateDir: root + "/head") { _ in true }
        // Neither got in: the head still lists its own node and node-b only.
        #expect(snapshot.nodes.count == 2 && !snapshot.nodes.contains { $0.announcement.name == "node-x" })

        // Stopping the head: nothing answers there any more, and status says so.
        #expect(try Self.run(["stop", "--state-dir", root + "/head"]).status == 0)
        let gone = try Self.run(["status", "--address", address, "--state-dir", root + "/b"])
        #expect(gone.status != 0 && gone.output.contains("could not connect to \(address)"), "\(gone.output)")
    }
}
