import ClusterTestSupport
import Foundation
import IORuntime
import IOTransportTCP

/// Helpers for tests that run clusters of worker processes.
enum ClusterProcess {
    /// The `ClusterTestNode` binary in the build folder that holds this test runner.
    static var node: String {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [runner.deletingLastPathComponent(), Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("ClusterTestNode").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// A cluster of `workers` ClusterTestNode processes.
    static func start(
        workers: Int,
        heartbeat: HeartbeatPolicy = HeartbeatPolicy(interval: .milliseconds(200), missedHeartbeats: 5, timeout: .seconds(10)),
        resourcesPerWorker: ResourceSet = [.cpu: 1], sharedMemory: Bool = true, pipelinedTaskLimit: Duration? = nil,
        objectStoreMemory: Int? = nil, workerArguments: [String] = ["worker"]
    ) async throws -> Cluster {
        var configuration = ClusterConfiguration.localProcesses(
            workers: workers, resourcesPerWorker: resourcesPerWorker, heartbeat: heartbeat, workerExecutable: node,
            workerArguments: workerArguments, sharedMemory: sharedMemory)
        if let pipelinedTaskLimit { configuration.pipelinedTaskLimit = pipelinedTaskLimit }
        if let objectStoreMemory { configuration.objectStoreMemory = objectStoreMemory }
        return try await Cluster.start(configuration, registry: ClusterTestFunctions.registry)
    }

    /// Whether process `pid` is gone (exited, or a zombie nobody reaped yet).
    static func isGone(_ pid: Int) -> Bool {
        guard kill(pid_t(pid), 0) == 0 else { return true }
        return state(of: pid) ?? "Z" == "Z"
    }

    /// Whether process `pid` is stopped (by SIGSTOP): a signal is sent at once but takes effect
    /// when the kernel next schedules the process.
    static func isStopped(_ pid: Int) -> Bool { state(of: pid) == "T" }

    /// The state letter of process `pid` in `/proc` (R, S, T, Z, …), nil when there is none.
    private static func state(of pid: Int) -> Character? {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")"), stat.distance(from: close, to: stat.endIndex) > 2 else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    /// Waits up to `timeout` for `condition` (long enough for a loaded machine; the suites' time
    /// limits end a real hang sooner).
    static func eventually(within timeout: Duration = .seconds(120), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    /// Runs ClusterTestNode with `arguments` and returns its output once it exits, waiting off
    /// the cooperative pool (see ``onOwnThread(_:)``).
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Program.run(URL(fileURLWithPath: node), arguments)
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
