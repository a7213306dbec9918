import ClusterTestSupport
import Foundation
import IONodes
import Testing

/// Three hosts on one machine: network namespaces joined by veth pairs to a bridge that lives in
/// a namespace of its own, so the machine's own network is never touched. Each host runs its
/// processes with `ip netns exec`; a host's link can be taken down and up again.
struct NamespaceHosts {
    let prefix: String
    let subnet: String
    let count: Int

    /// Whether this machine lets the tests make namespaces (root, iproute2), and why not.
    static let availability: (allowed: Bool, reason: String) = {
        guard getuid() == 0 else { return (false, "network namespaces need root") }
        let probe = "iop\(UInt16.random(in: 0...0xFFFF))"
        guard (try? run(["ip", "netns", "add", probe]))?.status == 0 else { return (false, "`ip netns add` is not allowed here") }
        _ = try? run(["ip", "netns", "del", probe])
        return (true, "")
    }()

    init(count: Int) throws {
        let tag = String(format: "%04x", UInt16.random(in: 0...0xFFFF))
        prefix = "io" + tag
        subnet = "10.\(Int.random(in: 100...199)).\(Int.random(in: 0...250))"
        self.count = count
        try Self.check(["ip", "netns", "add", bridge])
        try Self.check(["ip", "-n", bridge, "link", "add", "br0", "type", "bridge"])
        try Self.check(["ip", "-n", bridge, "link", "set", "br0", "up"])
        for index in 0..<count {
            try Self.check(["ip", "netns", "add", host(index)])
            try Self.check([
                "ip", "link", "add", "\(prefix)v\(index)a", "netns", host(index), "type", "veth", "peer", "name", "\(prefix)v\(index)b",
                "netns", bridge,
            ])
            try Self.check(["ip", "-n", host(index), "addr", "add", address(index) + "/24", "dev", "\(prefix)v\(index)a"])
            try Self.check(["ip", "-n", host(index), "link", "set", "\(prefix)v\(index)a", "up"])
            try Self.check(["ip", "-n", host(index), "link", "set", "lo", "up"])
            try Self.check(["ip", "-n", bridge, "link", "set", "\(prefix)v\(index)b", "master", "br0"])
            try Self.check(["ip", "-n", bridge, "link", "set", "\(prefix)v\(index)b", "up"])
        }
    }

    var bridge: String { prefix + "br" }
    func host(_ index: Int) -> String { prefix + "h\(index)" }
    func address(_ index: Int) -> String { "\(subnet).\(index + 1)" }

    /// Cuts host `index` off the network, or connects it again.
    func setLink(of index: Int, up: Bool) throws {
        try Self.check(["ip", "-n", bridge, "link", "set", "\(prefix)v\(index)b", up ? "up" : "down"])
    }

    /// The command line that runs `arguments` on host `index`.
    func on(_ index: Int, _ arguments: [String]) -> [String] { ["netns", "exec", host(index)] + arguments }

    func remove() {
        for index in 0..<count { _ = try? Self.run(["ip", "netns", "del", host(index)]) }
        _ = try? Self.run(["ip", "netns", "del", bridge])
    }

    /// Runs the `ip` command `arguments` to its end. It ends at once, so it blocks its thread;
    /// commands that take a while go through ``runLong(_:)``.
    @discardableResult
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Program.runBlocking(program(arguments[0]), Array(arguments.dropFirst()))
    }

    /// Runs the command `arguments` (`ip netns exec …`) to its end, waiting off the cooperative pool.
    static func runLong(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Program.run(program(arguments[0]), Array(arguments.dropFirst()))
    }

    private static func program(_ name: String) -> URL {
        let program = URL(fileURLWithPath: "/usr/sbin/" + name)
        return FileManager.default.isExecutableFile(atPath: program.path) ? program : URL(fileURLWithPath: "/sbin/" + name)
    }

    static func check(_ arguments: [String]) throws {
        let (status, output) = try run(arguments)
        guard status == 0 else { throw NamespaceError(command: arguments.joined(separator: " "), output: output) }
    }

    struct NamespaceError: Error, CustomStringConvertible {
        let command: String
        let output: String
        var description: String { "`\(command)` failed: \(output)" }
    }
}

@Suite(
    "three hosts in network namespaces", .serialized, .timeLimit(.minutes(4)),
    .enabled(if: NamespaceHosts.availability.allowed, "skipped: \(NamespaceHosts.availability.reason)"))
struct MultiHostTests {
    static let ip = URL(fileURLWithPath: "/usr/sbin/ip")
    static var testNode: String {
        DemoCommandTests.executable.deletingLastPathComponent().appendingPathComponent("ClusterTestNode").path
    }

    /// `iocompute ARGUMENTS` on host `index`, to its end.
    private static func iocompute(_ hosts: NamespaceHosts, _ index: Int, _ arguments: [String]) async throws -> (
        status: Int32, output: String
    ) {
        try await NamespaceHosts.runLong(["ip"] + hosts.on(index, [DemoCommandTests.executable.path] + arguments))
    }

    private static func status(_ hosts: NamespaceHosts, stateDir: String, until ready: (ClusterSnapshot) -> Bool) async throws
        -> ClusterSnapshot
    {
        while true {
            let (code, output) = try await iocompute(hosts, 0, ["status", "--state-dir", stateDir, "--json"])
            if code == 0, let snapshot = try? JSONDecoder().decode(ClusterSnapshot.self, from: Data(output.utf8)), ready(snapshot) {
                return snapshot
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test(
        "a head and two nodes on three hosts: a job spreads over all of them, federates clients on data pinned to each, and survives a host cut off mid-job, which comes back"
    )
    func threeHosts() async throws {
        let hosts = try NamespaceHosts(count: 3)
        defer { hosts.remove() }
        let root = NSTemporaryDirectory() + "iocompute-hosts-\(hosts.prefix)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) } }
        let iocompute = DemoCommandTests.executable.path
        var processes: [Background] = []
        defer { for process in processes { process.kill() } }

        // The head on host 0, listening on its own address; nodes silent for 3 s are dead.
        processes.append(
            try Background(
                hosts.on(
                    0,
                    [
                        iocompute, "start", "--head", "--host", hosts.address(0), "--port", "6380", "--state-dir", root + "/h0",
                        "--node-timeout", "3",
                    ]),
                log: root + "/h0.log", executable: Self.ip))
        let head = "\(hosts.address(0)):6380"
        while !FileManager.default.fileExists(atPath: root + "/h0/head.address") {
            try #require(processes[0].process.isRunning, "the head exited: \(processes[0].output)")
            try await Task.sleep(for: .milliseconds(50))
        }
        for index in 1...2 {
            let issued = try await Self.iocompute(
                hosts, 0,
                [
                    "credentials", "issue", "--node", "node-\(index)", "--host", hosts.address(index), "--out", root + "/h\(index)",
                    "--state-dir", root + "/h0",
                ])
            #expect(issued.status == 0, "\(issued.output)")
            processes.append(
                try Background(
                    hosts.on(index, [iocompute, "start", "--join", head, "--state-dir", root + "/h\(index)"]), log: root + "/h\(index).log",
                    executable: Self.ip))
        }
        let joined = try await Self.status(hosts, stateDir: root + "/h0") {
            $0.nodes.count == 3 && $0.nodes.allSatisfy { $0.state == .alive }
        }
        #expect(Set(joined.nodes.map(\.announcement.host)) == [hosts.address(0), hosts.address(1), hosts.address(2)])

        // A job with a worker on each host: tasks and an actor on all of them, then a gate.
        let gate = root + "/gate"
        let job = try Background(
            hosts.on(0, [iocompute, "submit", "--state-dir", root + "/h0", Self.testNode, "job", "3", gate]), log: root + "/job.log",
            executable: Self.ip)
        processes.append(job)
        while !job.output.contains("ROUND 1 WORKERS") {
            try #require(job.process.isRunning, "the job ended early: \(job.output)")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(job.output.contains("ROUND 1 WORKERS 3"), "\(job.output)")
        #expect(job.output.contains("FEDERATED 3 CLIENTS"), "federated rounds on pinned data over the three hosts: \(job.output)")
        let placed = try await Self.status(hosts, stateDir: root + "/h0") { !$0.jobs.isEmpty }
        #expect(Set(placed.jobs.values.first?.map(\.node) ?? []).count == 3)

        // Host 2 is cut off mid-job: the head declares its node dead; the job's second round
        // finishes on the workers left (the lost worker's tasks run again).
        try hosts.setLink(of: 2, up: false)
        let cut = try await Self.status(hosts, stateDir: root + "/h0") { snapshot in
            snapshot.nodes.first { $0.announcement.name == "node-2" }?.state == .dead
        }
        #expect(cut.nodes.filter { $0.state == .alive }.count == 2)
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        await Program.waitForExit(of: job.process)
        #expect(job.process.terminationStatus == 0, "\(job.output)")
        #expect(job.output.contains("ROUND 2 DONE") && job.output.contains("ALL OK"), "\(job.output)")

        // Back on the network, the node joins again by itself.
        try hosts.setLink(of: 2, up: true)
        let back = try await Self.status(hosts, stateDir: root + "/h0") { snapshot in
            let node = snapshot.nodes.first { $0.announcement.name == "node-2" }
            return node?.state == .alive && (node?.joins ?? 0) >= 2
        }
        #expect(back.nodes.allSatisfy { $0.state == .alive })
    }
}
