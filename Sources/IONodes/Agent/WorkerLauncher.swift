import Foundation
import IORuntime
import IOTransportTCP
import Logging
import Synchronization

/// The environment a submitted job's driver starts with, which `ClusterConfiguration.connect`
/// reads.
public enum DriverEnvironment {
    /// The head's `HOST:PORT`.
    public static let address = "IOCOMPUTE_ADDRESS"
    /// The state folder with the node's certificate and the cluster token.
    public static let home = "IOCOMPUTE_HOME"
    /// The job's name, which its workers' output is filed under.
    public static let job = "IOCOMPUTE_JOB"
}

/// Starts the worker processes the head orders on this node, from executables fetched from the
/// head and checked against their SHA-256, and stops them when their job ends.
final class WorkerLauncher: Sendable {
    let store: ExecutableStore
    /// The node's certificate folder, which workers connect to their driver with.
    let credentialsFolder: String
    private let children = Mutex<[String: [UInt32: ChildProcess]]>([:])
    /// The drivers of submitted jobs running here, by job.
    private let drivers = Mutex<[String: ChildProcess]>([:])
    /// The node's name, in front of the lines its processes print.
    let node: String
    /// The head, as this node reaches it (a driver started here connects to it there).
    let head: NodeAddress
    private let fetches = Mutex<[String: Task<Void, any Error>]>([:])
    private let logger = Logger(label: "iocompute.agent")

    init(store: ExecutableStore, credentialsFolder: String, node: String, head: NodeAddress) {
        self.node = node
        self.head = head
        self.store = store
        self.credentialsFolder = credentialsFolder
    }

    /// Starts the worker `order` describes; tells the head if it cannot.
    func launch(_ order: LaunchOrder, over connection: ControlConnection) async {
        do {
            let executable = try await fetch(order.executable, over: connection)
            try Task.checkCancellation()
            let variables = LocalProcessNetwork.Variable.self
            let child = try ChildProcess.spawn(
                executable: executable, arguments: order.arguments,
                environment: WorkerThreads.environment(cpus: order.cpus).merging([
                    variables.worker: "\(order.peer)", variables.host: order.driverHost, variables.port: "\(order.driverPort)",
                    variables.parent: "\(getpid())", variables.tokenDescriptor: "3", variables.sharedMemory: "0",
                    variables.credentials: credentialsFolder, variables.devices: order.devices.map(String.init).joined(separator: ","),
                ]) { _, ours in ours },
                secret: Array(order.token.utf8), name: "\(order.job)/worker-\(order.peer)",
                lines: { [node] line in try? connection.send(.jobOutput(job: order.job, line: "(\(node)/worker-\(order.peer)) \(line)")) })
            let replaced = children.withLock { children in
                defer { children[order.job, default: [:]][order.peer] = child }
                return children[order.job]?[order.peer]
            }
            replaced?.kill()
            logger.info("started worker-\(order.peer) of job \(order.job) (process \(child.pid))")
            Task { [weak self] in await self?.watch(child, order: order, over: connection) }
        } catch {
            logger.error("could not start worker-\(order.peer) of job \(order.job): \(error)")
            try? connection.send(
                .workerEnded(job: order.job, peer: order.peer, attempt: order.attempt, reason: "could not start: \(error)"))
        }
    }

    /// Stops the workers `peers` of `job` (all of them when `nil`).
    func terminate(job: String, peers: [UInt32]?) {
        let stopped = children.withLock { children -> [ChildProcess] in
            guard var workers = children[job] else { return [] }
            let chosen = peers.map { Set($0) } ?? Set(workers.keys)
            let stopped = chosen.compactMap { workers.removeValue(forKey: $0) }
            children[job] = workers.isEmpty ? nil : workers
            return stopped
        }
        for child in stopped { child.kill() }
    }

    /// Stops every worker and driver (the node is leaving).
    func terminateAll() {
        for job in children.withLock({ Array($0.keys) }) { terminate(job: job, peers: nil) }
        for driver in drivers.withLock({ Array($0.values) }) { driver.kill(SIGTERM) }
    }

    /// Starts the driver of a submitted job: the job's executable, told where the head is and
    /// where this node's certificate and token are; its lines and its end go to the head.
    func launchDriver(_ order: DriverOrder, over connection: ControlConnection) async {
        do {
            let executable = try await fetch(order.executable, over: connection)
            let child = try ChildProcess.spawn(
                executable: executable, arguments: order.arguments,
                environment: [
                    DriverEnvironment.address: head.description, DriverEnvironment.home: credentialsFolder,
                    DriverEnvironment.job: order.job,
                ],
                secret: [], name: "\(order.job)/driver",
                lines: { line in try? connection.send(.jobOutput(job: order.job, line: line)) })
            drivers.withLock { $0[order.job] = child }
            logger.info("started the driver of job \(order.job) (process \(child.pid))")
            Task {
                while child.exited == nil { try? await Task.sleep(for: .milliseconds(100)) }
                // Let the output threads hand over the last lines first.
                try? await Task.sleep(for: .milliseconds(100))
                self.drivers.withLock { _ = $0.removeValue(forKey: order.job) }
                try? connection.send(.jobEnded(job: order.job, status: child.exitCode, description: child.exitDescription))
            }
        } catch {
            try? connection.send(.jobOutput(job: order.job, line: "iocompute: could not start the driver on \(node): \(error)"))
            try? connection.send(.jobEnded(job: order.job, status: 127, description: "could not start: \(error)"))
        }
    }

    /// Asks the driver of `job` to end (SIGTERM).
    func stopDriver(job: String) {
        drivers.withLock { $0[job] }?.kill(SIGTERM)
    }

    /// The number of worker processes running here, by job.
    var running: [String: Int] { children.withLock { $0.mapValues(\.count) } }

    /// Reports the end of `child` to the head.
    private func watch(_ child: ChildProcess, order: LaunchOrder, over connection: ControlConnection) async {
        let (job, peer) = (order.job, order.peer)
        while child.exited == nil { try? await Task.sleep(for: .milliseconds(200)) }
        children.withLock { children in
            if children[job]?[peer] === child { children[job]?[peer] = nil }
            if children[job]?.isEmpty == true { children[job] = nil }
        }
        try? connection.send(.workerEnded(job: job, peer: peer, attempt: order.attempt, reason: child.exitDescription))
    }

    /// The path of executable `hash` here, fetched from the head first if missing (one fetch at a
    /// time per executable).
    private func fetch(_ hash: String, over connection: ControlConnection) async throws -> String {
        if let path = store.path(of: hash) { return path }
        let task = fetches.withLock { fetches in
            if let running = fetches[hash] { return running }
            let task = Task { try await self.download(hash, over: connection) }
            fetches[hash] = task
            return task
        }
        defer { fetches.withLock { _ = $0.removeValue(forKey: hash) } }
        try await task.value
        guard let path = store.path(of: hash) else { throw ControlError.refused("executable \(hash) did not arrive") }
        return path
    }

    private func download(_ hash: String, over connection: ControlConnection) async throws {
        var offset = 0
        while true {
            let answer = try await connection.request { .readExecutable(request: $0, hash: hash, offset: offset) }
            guard case .bytes(_, let bytes) = answer else {
                if case .failed(_, let reason) = answer { throw ControlError.refused(reason) }
                throw ControlError.malformed("the head answered a read with something else")
            }
            if bytes.isEmpty { break }
            try store.write(hash, offset: offset, bytes: Array(bytes))
            offset += bytes.count
        }
        // The bytes must hash to the name they were asked for.
        try store.seal(hash, size: offset)
        logger.info("fetched executable \(hash) (\(offset) bytes)")
    }
}
