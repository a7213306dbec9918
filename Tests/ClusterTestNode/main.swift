// The worker executable of the multi-process tests, and a driver for the tests that need a
// driver in its own process.
//
//   ClusterTestNode worker [INLINE_US]  serve as a worker (started by a test's cluster); with
//                                  INLINE_US, actor methods averaging under that many microseconds
//                                  run on the connection's thread (100 by default)
//   ClusterTestNode orphan-check   start 2 workers (this program again), print their pids, wait
//   ClusterTestNode reexec         start 2 workers (this program again), run tasks, print, exit
//   ClusterTestNode job N [GATE]   a job submitted to a cluster of machines: N workers, tasks and an
//                                  actor on all of them, checked, and federated rounds with one
//                                  client per worker on data pinned there; with GATE, waits for that file to
//                                  exist after the first round (a test cuts a link then), then
//                                  runs a second round that must survive the cut
//   ClusterTestNode tune DIR [resume|die-after N]  the fixture experiment in DIR on 2 worker
//                                  processes (or resumed from DIR); prints its final table between
//                                  TABLE and END; with die-after, kills itself with SIGKILL once N
//                                  trials have ended
import ClusterTestSupport
import Dispatch
import IOFederated
import IONodes
import IORuntime
import IOTransportTCP
import IOTune

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

// Lines reach the test that reads this program's output as they are printed.
setvbuf(stdout, nil, _IOLBF, 0)

let mode = CommandLine.arguments.dropFirst().first ?? ""
let registry = ClusterTestFunctions.registry

switch mode {
case "worker":
    if let limit = CommandLine.arguments.dropFirst(2).first { setenv("IOCOMPUTE_INLINE_CALL_LIMIT_US", limit, 1) }
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
case "job":
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    let workers = arguments.first.flatMap(Int.init) ?? 2
    let cluster = try await Cluster.start(.connect(workers: workers), registry: registry)
    // One task per worker at a time, spread: every worker gets some.
    let spread = TaskOptions(placement: .spread)
    func round(_ count: Int) async throws -> Set<Int> {
        var refs: [ObjectRef<Int>] = []
        for value in 0..<count { refs.append(try await cluster.submit(ClusterTestFunctions.square, value)) }
        let squares = try await cluster.get(refs)
        guard squares == (0..<count).map({ $0 * $0 }) else {
            print("WRONG SQUARES \(squares)")
            exit(1)
        }
        var pids: [ObjectRef<Int>] = []
        for _ in 0..<(workers * 3) { pids.append(try await cluster.submit(ClusterTestFunctions.processID, 50, options: spread)) }
        return Set(try await cluster.get(pids))
    }
    let pids = try await round(20)
    let tally = try await cluster.spawn(TallyActor.self)
    for amount in 1...10 { _ = try await tally.add(amount) }
    guard try await tally.add(0) == 55 else { print("WRONG TALLY"); exit(1) }
    // Federated learning across the machines: each worker loads its client's rows, pinned there;
    // the driver cannot read them, and the rounds move only parameters.
    var clients: [FederatedClient] = []
    for worker in 0..<workers {
        let configuration = ClientConfiguration(name: "client-\(worker)", learner: "blobs", seed: UInt64(worker + 1))
        let rows = try await cluster.loadClientData(FederatedFixtures.loadBlobs, configuration, on: worker)
        if (try? await rows.get()) != nil { print("PINNED ROWS READ BY THE DRIVER"); exit(1) }
        clients.append(try await cluster.spawnClient(on: rows))
    }
    let (_, history) = try await FederatedFixtures.twoRounds(clients)
    guard history.rounds.allSatisfy({ $0.completed && $0.aggregated.count == workers }), let accuracy = history.finalAccuracy,
        accuracy > 0.9
    else {
        print("FEDERATED ROUNDS FAILED \(history.rounds)")
        exit(1)
    }
    print("FEDERATED \(clients.count) CLIENTS ACCURACY \(accuracy)")
    print("ROUND 1 WORKERS \(pids.count)")
    if let gate = arguments.dropFirst().first {
        while access(gate, F_OK) != 0 { try await Task.sleep(for: .milliseconds(50)) }
        // A worker cut off with its node is found lost by heartbeats; its tasks run again elsewhere.
        _ = try await round(40)
        print("ROUND 2 DONE")
    }
    print("ALL OK")
    await cluster.shutdown()
case "tune":
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    let cluster = try await Cluster.start(.localProcesses(workers: 2), registry: registry)
    let tuner = try TuneFixtures.tuner(cluster: cluster, directory: arguments[0])
    if arguments.count == 3, arguments[1] == "die-after", let count = Int(arguments[2]) {
        // A dispatch thread, not the task pool: it dies mid-experiment, as a driver killed by
        // another process would, at a point the test can count on.
        let directory = arguments[0]
        DispatchQueue.global().async {
            while true {
                let ended = (0..<12).count { trial in
                    let path = directory + "/trial-" + String(repeating: "0", count: trial < 10 ? 4 : 3) + "\(trial)/events.jsonl"
                    return contents(of: path).contains("\"kind\":\"ended\"")
                }
                if ended >= count { kill(getpid(), SIGKILL) }
                usleep(2_000)
            }
        }
    }
    let results = arguments.dropFirst().first == "resume" ? try await tuner.resume() : try await tuner.run()
    print("TABLE\n\(results.table)\nEND")
    await cluster.shutdown()
default:
    print("usage: ClusterTestNode worker|orphan-check|reexec|job|tune")
    exit(2)
}

/// The text of the file at `path`, empty when there is none.
func contents(of path: String) -> String {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return "" }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
