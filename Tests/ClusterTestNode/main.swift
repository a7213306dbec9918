// The worker executable of the multi-process tests, and a driver for the tests that need a
// driver in its own process.
//
//   ClusterTestNode worker         serve as a worker (started by a test's cluster)
//   ClusterTestNode orphan-check   start 2 workers (this program again), print their pids, wait
//   ClusterTestNode reexec         start 2 workers (this program again), run tasks, print, exit
import ClusterTestSupport
import IORuntime
import IOTransportTCP

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

// Lines reach the test that reads this program's output as they are printed.
setvbuf(stdout, nil, _IOLBF, 0)

let mode = CommandLine.arguments.dropFirst().first ?? ""
let registry = ClusterTestFunctions.registry

switch mode {
case "worker":
    // A worker never returns from here.
    _ = try await Cluster.start(.localProcesses(workers: 1), registry: registry)
    print("not started as a worker")
    exit(2)
case "orphan-check", "reexec":
    let cluster = try await Cluster.start(.localProcesses(workers: 2), registry: registry)
    let spread = TaskOptions(placement: .spread)
    let pids = try await cluster.get(
        [
            try await cluster.submit(ClusterTestFunctions.processID, 200, options: spread),
            try await cluster.submit(ClusterTestFunctions.processID, 200, options: spread),
        ])
    if mode == "orphan-check" {
        print("WORKERS \(pids.map(String.init).joined(separator: " "))")
        while true { try await Task.sleep(for: .seconds(60)) }
    }
    let squares = try await cluster.get(try await (1...10).asyncMap { try await cluster.submit(ClusterTestFunctions.square, $0) })
    _ = try await cluster.get(try await cluster.submit(ClusterTestFunctions.shout, "hello from a worker"))
    print("SQUARES \(squares.map(String.init).joined(separator: " "))")
    print("DRIVER \(getpid()) WORKERS \(Set(pids).count)")
    await cluster.shutdown()
default:
    print("usage: ClusterTestNode worker|orphan-check|reexec")
    exit(2)
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
