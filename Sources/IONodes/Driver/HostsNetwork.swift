import Foundation
import IORuntime
import IOTransportTCP
import Logging
import Synchronization

extension ClusterConfiguration {
    /// A cluster whose workers run on the machines of a running IOCompute cluster (see
    /// `iocompute start`): this program becomes the driver of a job, its executable goes to the
    /// head (by SHA-256, once), and the head has node agents start `workers` worker processes
    /// from it, which connect back to this program over mutual TLS.
    ///
    /// - Parameters:
    ///   - address: the head's `HOST:PORT`; by default `IOCOMPUTE_ADDRESS` (which `iocompute
    ///     submit` sets for the jobs it starts), else the head started from the state folder.
    ///   - workers: the number of worker processes.
    ///   - stateDirectory: the folder with this machine's node certificate and the cluster token
    ///     (default: `$IOCOMPUTE_HOME`, else `~/.iocompute`).
    ///   - tokenFile: a file to read the cluster token from instead.
    ///   - resourcesPerWorker: what each worker offers and takes from its node (`[.cpu: 1]`). A
    ///     worker's BLAS (and OpenMP) start as many threads as it has CPUs, unless
    ///     `OPENBLAS_NUM_THREADS` (or `OMP_NUM_THREADS`) is set where its node agent runs.
    ///   - workerExecutable: the program the workers run (this one by default).
    ///   - workerArguments: their arguments (this process's by default).
    ///   - startTimeout: how long the workers have to start and connect; generous, because a
    ///     node fetches the executable first (in 512 KiB requests, slow for a large debug build
    ///     on a loaded machine: over 60 s was seen in CI).
    public static func connect(
        to address: String? = nil, workers: Int = 2, stateDirectory: String? = nil, tokenFile: String? = nil,
        resourcesPerWorker: ResourceSet = [.cpu: 1], objectStoreMemory: Int = 2 << 30, heartbeat: HeartbeatPolicy = HeartbeatPolicy(),
        workerExecutable: String? = nil, workerArguments: [String]? = nil, startTimeout: Duration = .seconds(300)
    ) -> ClusterConfiguration {
        let network = HostsNetwork(
            head: address, stateDirectory: stateDirectory, tokenFile: tokenFile, resourcesPerWorker: resourcesPerWorker,
            executable: workerExecutable, arguments: workerArguments, startTimeout: startTimeout)
        return ClusterConfiguration(
            mode: .network(network), workers: workers, resourcesPerWorker: resourcesPerWorker, objectStoreMemory: objectStoreMemory,
            spillDirectory: nil, routesThroughCodec: true, timelineCapacity: 100_000, heartbeat: heartbeat)
    }
}

extension ClusterConfiguration {
    /// `connect(workers:)` with `workers` when this program runs as a job submitted with `iocompute submit` (or as
    /// one of that job's workers), and `fallback` otherwise: one program that runs on a laptop
    /// and on a cluster.
    public static func submittedJob(workers: Int, otherwise fallback: ClusterConfiguration) -> ClusterConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let submitted = environment[DriverEnvironment.address] != nil || environment[LocalProcessNetwork.Variable.credentials] != nil
        return submitted ? .connect(workers: workers) : fallback
    }
}

/// Workers on the machines of a running cluster, started for this driver by their node agents.
struct HostsNetwork: ClusterNetwork {
    let head: String?
    let stateDirectory: String?
    let tokenFile: String?
    let resourcesPerWorker: ResourceSet
    let executable: String?
    let arguments: [String]?
    let startTimeout: Duration

    func runWorkerIfLaunched(registry: Registry) async {
        await WorkerProcess.runIfLaunched(registry: registry, transport: TCPTransport.Configuration())
    }

    func startWorkers(count: Int) async throws -> any ClusterLink {
        let state = StateDirectory(path: stateDirectory)
        guard let text = head ?? ProcessInfo.processInfo.environment[DriverEnvironment.address] ?? state.headAddress else {
            throw ClusterError.startFailed("no cluster to connect to: pass an address, set IOCOMPUTE_ADDRESS, or start a head here")
        }
        let head = try NodeAddress(parsing: text)
        let credentials = ClusterCredentials(node: try state.credentials(), token: try state.token(file: tokenFile))
        let ended = WorkerEnds()
        // The head started from this folder, or the one `credentials issue` recorded.
        let expectedHead = state.headName ?? (state.headAddress != nil ? credentials.node.node : nil)
        let control = try await ControlConnection.open(
            to: head, credentials: credentials, expectedHead: expectedHead,
            onMessage: { message in
                switch message {
                case .workerEnded(_, let peer, let attempt, let reason): ended.record(peer, attempt: attempt, reason)
                case .nodeLost(_, _, let peers): ended.lose(peers)
                default: break
                }
            })
        do {
            let executable = self.executable ?? LocalProcessNetwork.currentExecutable()
            let hash = try await ExecutableUpload.ensure(executable, on: control)
            // A submitted job's workers are filed under the job's name.
            let job = ProcessInfo.processInfo.environment[DriverEnvironment.job] ?? "job-" + UUID().uuidString.prefix(8).lowercased()
            let jobToken = ClusterToken.generate()
            let placements = PlacementBook()
            // A worker is admitted only from the node the head placed it on.
            let tls = try TransportTLS(credentials: credentials.node) { identity in
                placements.node(of: identity.peer.rawValue).map { NodeCredentials.certificate(identity.node, covers: $0) } ?? false
            }
            let peers = (1...max(count, 1)).map { UInt32($0) }
            let transport = TCPTransport(
                localPeer: .driver, token: jobToken, expectedPeers: Set(peers.map(PeerID.init)), configuration: .init(tls: tls))
            let port = try await transport.listen(host: "0.0.0.0", port: 0)
            // Nodes reach this program where the head does.
            let host = control.transport.localHost(of: .driver) ?? HostResources.primaryAddress
            let identity = NodeTLSIdentity(tls: try TransportTLS(credentials: credentials.node), host: host)
            let request = WorkerRequest(
                job: job, executable: hash, arguments: arguments ?? Array(CommandLine.arguments.dropFirst()), peers: peers,
                driverHost: host, driverPort: port, token: jobToken.hexadecimal,
                resources: Dictionary(uniqueKeysWithValues: resourcesPerWorker.amounts.map { ($0.key.rawValue, $0.value) }))
            let link = HostsLink(
                control: control, transport: transport, job: job, request: request, placements: placements, ended: ended,
                identity: identity, startTimeout: startTimeout)
            // Workers on a node the head declares dead are lost now, not after heartbeats give up.
            ended.onLoss { [weak link] peers in
                for peer in peers { link?.tcp.drop(PeerID(peer)) }
            }
            do {
                try await link.start(peers)
            } catch {
                await link.shutdown()
                throw error
            }
            return link
        } catch {
            await control.close()
            throw error
        }
    }
}

/// The driver's end of a job on a cluster of machines.
final class HostsLink: ClusterLink {
    let control: ControlConnection
    let tcp: TCPTransport
    let job: String
    let request: WorkerRequest
    let placements: PlacementBook
    let ended: WorkerEnds
    /// The driver's node TLS and address, for the connections collectives open.
    let identity: NodeTLSIdentity
    let startTimeout: Duration
    /// Sends the cluster's load to the head while the cluster runs.
    private let reporter = Mutex<Task<Void, Never>?>(nil)
    /// How often the driver tells the head its load.
    static let loadInterval = Duration.seconds(2)

    init(
        control: ControlConnection, transport: TCPTransport, job: String, request: WorkerRequest, placements: PlacementBook,
        ended: WorkerEnds, identity: NodeTLSIdentity, startTimeout: Duration
    ) {
        self.identity = identity
        self.ended = ended
        self.control = control
        self.tcp = transport
        self.job = job
        self.request = request
        self.placements = placements
        self.startTimeout = startTimeout
    }

    var transport: any Transport { tcp }
    var address: String { "\(request.driverHost):\(request.driverPort)" }
    var peerNetwork: PeerNetwork? {
        let host = identity.host
        return (try? ClusterToken(hexadecimal: request.token)).map { .tcp(token: $0, tls: identity.tls) { host } }
    }

    /// Has the head place and launch workers `peers`, and waits until each has connected.
    func start(_ peers: [UInt32]) async throws {
        var placing = request
        placing.peers = peers
        let placed: [WorkerPlacement]
        switch try await control.request({ .placeWorkers(request: $0, placing) }) {
        case .placed(_, let answer): placed = answer
        case .failed(_, let reason): throw ClusterError.startFailed("the head could not place the workers: \(reason)")
        default: throw ClusterError.startFailed("the head answered a placement with something else")
        }
        placements.record(placed)
        let attempt = ended.nextAttempt(for: peers)
        if case .failed(_, let reason) = try await control.request({ .launchWorkers(request: $0, job: job, peers: peers, attempt: attempt) }
        ) {
            throw ClusterError.startFailed("the head could not launch the workers: \(reason)")
        }
        let expected = Set(peers.map(PeerID.init))
        let deadline = ContinuousClock.now + startTimeout
        while !expected.isSubset(of: tcp.connectedPeers) {
            for peer in expected where !tcp.connectedPeers.contains(peer) {
                if let reason = ended.reason(peer.rawValue) {
                    throw ClusterError.startFailed("\(peer) on node \(placements.node(of: peer.rawValue) ?? "?") ended: \(reason)")
                }
            }
            guard ContinuousClock.now < deadline else {
                let missing = expected.subtracting(tcp.connectedPeers).sorted { $0.rawValue < $1.rawValue }
                throw ClusterError.startFailed("\(missing) did not connect within \(startTimeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func terminate(_ peer: PeerID) {
        try? control.send(.stopWorkers(job: job, peers: [peer.rawValue]))
        tcp.disconnect(peer)
    }

    func replace(_ peer: PeerID) async throws {
        try? control.send(.stopWorkers(job: job, peers: [peer.rawValue]))
        tcp.disconnect(peer)
        try await start([peer.rawValue])
    }

    func clusterStarted(status: @escaping @Sendable () -> ClusterStatus?) {
        let (control, job) = (control, job)
        let task = Task {
            while !Task.isCancelled, let status = status() {
                try? control.send(.jobLoad(job: job, JobLoad(status)))
                try? await Task.sleep(for: Self.loadInterval)
            }
        }
        reporter.withLock { $0 = task }
    }

    func shutdown() async {
        reporter.withLock { $0 }?.cancel()
        try? control.send(.stopJob(job: job))
        await tcp.shutdown()
        await control.close()
    }
}

/// Why workers ended, as their nodes reported it through the head.
final class WorkerEnds: Sendable {
    private struct Ends {
        var attempt = 0
        /// The attempt each peer is at now; reports about earlier ones are stale.
        var current: [UInt32: Int] = [:]
        var reasons: [UInt32: String] = [:]
    }

    private let ends = Mutex(Ends())
    private let lossHandler = Mutex<(@Sendable ([UInt32]) -> Void)?>(nil)

    func onLoss(_ handler: @escaping @Sendable ([UInt32]) -> Void) { lossHandler.withLock { $0 = handler } }
    func lose(_ peers: [UInt32]) { lossHandler.withLock { $0 }?(peers) }

    /// Records why `peer` ended, unless the report is about an earlier start of it.
    func record(_ peer: UInt32, attempt: Int, _ reason: String) {
        ends.withLock { ends in if ends.current[peer] == attempt { ends.reasons[peer] = reason } }
    }

    /// A new attempt number for starting `peers`, whose earlier ends are forgotten.
    func nextAttempt(for peers: [UInt32]) -> Int {
        ends.withLock { ends in
            ends.attempt += 1
            for peer in peers {
                ends.current[peer] = ends.attempt
                ends.reasons[peer] = nil
            }
            return ends.attempt
        }
    }

    func reason(_ peer: UInt32) -> String? { ends.withLock { $0.reasons[peer] } }
}

/// Which node the head put each worker on.
final class PlacementBook: Sendable {
    private let nodes = Mutex<[UInt32: String]>([:])

    func node(of peer: UInt32) -> String? { nodes.withLock { $0[peer] } }

    func record(_ placements: [WorkerPlacement]) {
        nodes.withLock { nodes in for placement in placements { nodes[placement.peer] = placement.node } }
    }
}

/// Puts an executable on the head, unless it is there already.
enum ExecutableUpload {
    /// Uploads `path` in parts of ``ControlMessage/maximumPart`` bytes and returns its SHA-256.
    static func ensure(_ path: String, on control: ControlConnection) async throws -> String {
        let (hash, size) = try ExecutableStore.digest(ofFile: path)
        guard case .size(_, let stored) = try await control.request({ .hasExecutable(request: $0, hash: hash) }) else {
            throw ControlError.malformed("the head answered an executable query with something else")
        }
        if stored == size { return hash }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TLSSetupError.fileProblem(path: path, reason: "cannot read it") }
        defer { try? handle.close() }
        var offset = 0
        while let chunk = try handle.read(upToCount: ControlMessage.maximumPart), !chunk.isEmpty {
            let at = offset
            try check(await control.request { .writeExecutable(request: $0, hash: hash, offset: at, bytes: chunk) })
            offset += chunk.count
        }
        try check(await control.request { .sealExecutable(request: $0, hash: hash, size: offset) })
        return hash
    }

    private static func check(_ answer: ControlMessage) throws {
        if case .failed(_, let reason) = answer { throw ControlError.refused(reason) }
    }
}
