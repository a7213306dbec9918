import IORuntime
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension ClusterConfiguration {
    /// A cluster of `workers` worker processes on this machine, reached over a Unix domain socket
    /// in a folder only this user can enter and authenticated with a fresh ``ClusterToken``. The
    /// driver also listens on loopback TCP (``Cluster/driverAddress``).
    ///
    /// Each worker runs this same program again (or `workerExecutable`), with the same arguments
    /// (or `workerArguments`); in a worker, ``Cluster/start(_:registry:)`` serves as that worker and
    /// never returns, so build the same registry in every process. The token reaches the workers
    /// through a pipe, never a command line or the environment. Worker output appears in this
    /// process's output, each line prefixed with `(worker-N)`. Workers exit when the driver exits
    /// or crashes.
    ///
    /// - Parameters:
    ///   - workers: the number of worker processes.
    ///   - resourcesPerWorker: what each offers (`[.cpu: 1]` by default). A worker's BLAS (and
    ///     OpenMP) start as many threads as it has CPUs, unless `OPENBLAS_NUM_THREADS` (or
    ///     `OMP_NUM_THREADS`) is set in this process's environment.
    ///   - objectStoreMemory: the driver's object store cap (2 GiB by default).
    ///   - spillDirectory: where the driver spills objects over the cap.
    ///   - heartbeat: how lost workers are detected.
    ///   - workerExecutable: the program the workers run (this one by default).
    ///   - workerArguments: their arguments (this process's by default).
    ///   - startTimeout: how long the workers have to start and connect.
    ///   - transport: frame and buffer limits of the connections.
    ///   - sharedMemory: whether large objects (over 100 KiB) move between the processes as
    ///     shared-memory loans, mapped by the reader rather than copied over the connection (on
    ///     by default; off, they go in checksummed chunks over TCP, as between hosts).
    public static func localProcesses(
        workers: Int, resourcesPerWorker: ResourceSet = [.cpu: 1], objectStoreMemory: Int = 2 << 30,
        spillDirectory: String? = nil, heartbeat: HeartbeatPolicy = HeartbeatPolicy(), workerExecutable: String? = nil,
        workerArguments: [String]? = nil, startTimeout: Duration = .seconds(60),
        transport: TCPTransport.Configuration = TCPTransport.Configuration(), timelineCapacity: Int = 100_000,
        sharedMemory: Bool = true
    ) -> ClusterConfiguration {
        let network = LocalProcessNetwork(
            executable: workerExecutable, arguments: workerArguments, startTimeout: startTimeout, transport: transport,
            sharedMemory: sharedMemory, cpusPerWorker: resourcesPerWorker[.cpu])
        return ClusterConfiguration(
            mode: .network(network), workers: workers, resourcesPerWorker: resourcesPerWorker,
            objectStoreMemory: objectStoreMemory, spillDirectory: spillDirectory, routesThroughCodec: true,
            timelineCapacity: timelineCapacity, heartbeat: heartbeat)
    }
}

/// Worker processes on this machine, started by the driver and connected back to it over a Unix
/// domain socket (a round trip costs two thirds of one over loopback TCP).
public struct LocalProcessNetwork: ClusterNetwork {
    /// The environment variables a worker is started with.
    package enum Variable {
        package static let worker = "IOCOMPUTE_WORKER_ID"
        package static let port = "IOCOMPUTE_DRIVER_PORT"
        package static let socket = "IOCOMPUTE_DRIVER_SOCKET"
        /// The driver's host, for a worker on another machine (loopback by default).
        package static let host = "IOCOMPUTE_DRIVER_HOST"
        /// The folder of the node certificate a worker on another machine connects with.
        package static let credentials = "IOCOMPUTE_NODE_CREDENTIALS"
        /// The process whose end ends the worker (the driver, or the node agent that started it).
        package static let parent = "IOCOMPUTE_DRIVER_PID"
        package static let tokenDescriptor = "IOCOMPUTE_TOKEN_FD"
        package static let sharedMemory = "IOCOMPUTE_SHARED_MEMORY"
        /// The OpenCL device indices of the GPUs a worker holds, comma-separated.
        package static let devices = "IOCOMPUTE_GPU_DEVICES"
        static let all = [worker, port, socket, host, credentials, parent, tokenDescriptor, sharedMemory, devices]
    }

    let executable: String?
    let arguments: [String]?
    let startTimeout: Duration
    let transport: TCPTransport.Configuration
    let sharedMemory: Bool
    /// The CPUs each worker holds: its math libraries start that many threads (see `WorkerThreads`).
    let cpusPerWorker: Double

    public func runWorkerIfLaunched(registry: Registry) async {
        await WorkerProcess.runIfLaunched(registry: registry, transport: transport)
    }

    public func startWorkers(count: Int) async throws -> any ClusterLink {
        let token = ClusterToken.generate()
        let workers = Set((1...max(count, 1)).map { PeerID(UInt32($0)) })
        let transport = TCPTransport(localPeer: .driver, token: token, expectedPeers: workers, configuration: self.transport)
        let port = try await transport.listen(host: "127.0.0.1", port: 0)
        let executable = self.executable ?? Self.currentExecutable()
        let arguments = self.arguments ?? Array(CommandLine.arguments.dropFirst())
        var children: [ChildProcess] = []
        var socket: DriverSocket?
        do {
            // Workers connect over a Unix socket (a faster round trip); the TCP port stays open
            // for programs that reach the driver by address.
            socket = try DriverSocket.make()
            try await transport.listen(unixSocket: socket!.path)
            let endpoint = WorkerEndpoint(port: port, socket: socket!.path)
            for index in 0..<count {
                children.append(
                    try spawnWorker(
                        PeerID(UInt32(index + 1)), executable: executable, arguments: arguments, endpoint: endpoint, token: token))
            }
            try await waitForWorkers(children, peers: children.indices.map { PeerID(UInt32($0 + 1)) }, transport: transport)
        } catch {
            for child in children { child.kill() }
            await transport.shutdown()
            socket?.remove()
            throw error
        }
        return LocalProcessLink(
            network: self, tcp: transport, children: children, port: port, socket: socket!, executable: executable, arguments: arguments)
    }

    /// Where workers reach the driver.
    struct WorkerEndpoint {
        let port: Int
        let socket: String
    }

    /// Starts the process of worker `peer`.
    func spawnWorker(
        _ peer: PeerID, executable: String, arguments: [String], endpoint: WorkerEndpoint, token: ClusterToken
    ) throws -> ChildProcess {
        try ChildProcess.spawn(
            executable: executable, arguments: arguments,
            environment: WorkerThreads.environment(cpus: cpusPerWorker).merging([
                Variable.worker: "\(peer.rawValue)", Variable.port: "\(endpoint.port)", Variable.socket: endpoint.socket,
                Variable.parent: "\(getpid())",
                Variable.tokenDescriptor: "3", Variable.sharedMemory: sharedMemory ? "1" : "0",
            ]) { _, ours in ours },
            secret: Array(token.hexadecimal.utf8), name: "\(peer)")
    }

    /// Waits until the workers `peers` have connected and authenticated; fails early when one exits.
    func waitForWorkers(_ children: [ChildProcess], peers: [PeerID], transport: TCPTransport) async throws {
        let deadline = ContinuousClock.now + startTimeout
        let expected = Set(peers)
        while !expected.isSubset(of: transport.connectedPeers) {
            for child in children where child.exited != nil {
                let output = child.lastLines.suffix(5).joined(separator: " | ")
                throw ClusterError.startFailed("\(child.name) (pid \(child.pid)) \(child.exitDescription) before connecting: \(output)")
            }
            guard ContinuousClock.now < deadline else {
                let missing = expected.subtracting(transport.connectedPeers).sorted { $0.rawValue < $1.rawValue }
                throw ClusterError.startFailed("\(missing) did not connect within \(startTimeout)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The path of the running program.
    package static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The driver's end of a local-process cluster: the TCP transport and the worker processes.
final class LocalProcessLink: ClusterLink {
    let network: LocalProcessNetwork
    let tcp: TCPTransport
    /// The worker processes by peer (worker-1 first); a replaced worker's entry is its new process.
    private let children: Mutex<[ChildProcess]>
    let port: Int
    let socket: DriverSocket
    let executable: String
    let arguments: [String]

    var address: String { "127.0.0.1:\(port)" }
    var sharesMemory: Bool { network.sharedMemory }

    var peerNetwork: PeerNetwork? { .tcp(token: tcp.token, tls: nil) { nil } }

    init(
        network: LocalProcessNetwork, tcp: TCPTransport, children: [ChildProcess], port: Int, socket: DriverSocket, executable: String,
        arguments: [String]
    ) {
        self.socket = socket
        self.network = network
        self.tcp = tcp
        self.children = Mutex(children)
        self.port = port
        self.executable = executable
        self.arguments = arguments
    }

    var transport: any Transport { tcp }

    func processID(of peer: PeerID) -> Int32? {
        children.withLock { $0[safe: Int(peer.rawValue) - 1] }?.pid
    }

    func terminate(_ peer: PeerID) {
        children.withLock { $0[safe: Int(peer.rawValue) - 1] }?.kill()
        tcp.disconnect(peer)
    }

    /// Starts a new process for worker `peer`, after making sure the old one is gone.
    func replace(_ peer: PeerID) async throws {
        let index = Int(peer.rawValue) - 1
        guard let old = children.withLock({ $0[safe: index] }) else { throw ClusterError.startFailed("there is no \(peer) to replace") }
        old.kill()
        tcp.disconnect(peer)
        let child = try network.spawnWorker(
            peer, executable: executable, arguments: arguments,
            endpoint: LocalProcessNetwork.WorkerEndpoint(port: port, socket: socket.path), token: tcp.token)
        children.withLock { $0[index] = child }
        do {
            try await network.waitForWorkers([child], peers: [peer], transport: tcp)
        } catch {
            child.kill()
            throw error
        }
    }

    /// Closes the connections (workers exit when the driver's connection goes), then kills the
    /// workers still running a second later.
    func shutdown() async {
        await tcp.shutdown()
        socket.remove()
        let processes = children.withLock { $0 }
        let deadline = ContinuousClock.now + .seconds(1)
        // A cancelled caller does not wait (its sleeps would return at once): the kills follow.
        while processes.contains(where: { $0.exited == nil }) && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
        for child in processes { child.kill() }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
