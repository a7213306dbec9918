import IORuntime
import IOTransportTCP
import Logging
import Synchronization

/// The head of a cluster of machines: it accepts node agents whose certificate the cluster
/// authority signed and that hold the cluster token, keeps the table of nodes — alive, dead or
/// left, with their resources — and answers `iocompute status`.
///
/// A node is dead when its connection closes or when it has not been heard from for
/// ``HeadConfiguration/nodeTimeout``; a node that joins again under the same name is alive
/// again (its new connection replaces any old one).
public final class HeadNode: Sendable {
    public let configuration: HeadConfiguration
    let transport: TCPTransport
    /// The port the head listens on.
    public let port: Int
    let nodes = Mutex<[String: NodeRecord]>([:])
    /// The jobs with workers placed, by name.
    let jobs = Mutex<[String: JobRecord]>([:])
    /// The executables of submitted jobs.
    let executables: ExecutableStore
    /// The jobs submitted to the head, by name.
    let submissions = Mutex<[String: Submission]>([:])
    private let started = ContinuousClock.now
    private let watcher = Mutex<Task<Void, Never>?>(nil)
    let logger = Logger(label: "iocompute.head")

    struct NodeRecord {
        var announcement: NodeAnnouncement
        var state: NodeStatus.State
        var reason: String?
        var lastHeard: ContinuousClock.Instant
        var peer: PeerID?
        var joins: Int
        var workers = 0
    }

    private init(configuration: HeadConfiguration, transport: TCPTransport, port: Int) throws {
        executables = try ExecutableStore(directory: configuration.storeDirectory)
        self.configuration = configuration
        self.transport = transport
        self.port = port
    }

    /// Starts a head listening on `configuration.host:port` with mutual TLS.
    public static func start(_ configuration: HeadConfiguration) async throws -> HeadNode {
        let tls = try TransportTLS(credentials: configuration.credentials.node)
        let transport = TCPTransport(
            localPeer: .driver, token: configuration.credentials.token,
            configuration: .init(maximumFrameSize: ControlMessage.maximumSize + 4096, handshakeTimeout: .seconds(10), tls: tls))
        let port: Int
        do {
            port = try await transport.listen(host: configuration.host, port: configuration.port)
        } catch {
            await transport.shutdown()
            throw error
        }
        let head: HeadNode
        do {
            head = try HeadNode(configuration: configuration, transport: transport, port: port)
        } catch {
            await transport.shutdown()
            throw error
        }
        try await transport.register(.driver) { [weak head] frame, source in head?.receive(frame, from: source) }
        transport.onPeerLost { [weak head] peer in head?.lost(peer, reason: "its connection closed") }
        head.watcher.withLock { $0 = Task { [weak head] in await head?.watchHeartbeats() } }
        head.logger.info("head listening on \(configuration.host):\(port)")
        return head
    }

    /// The nodes and their states now.
    public func snapshot() -> ClusterSnapshot {
        let now = ContinuousClock.now
        let jobs = jobs.withLock { $0 }
        let used = usedResources(jobs)
        let nodes = nodes.withLock { nodes in
            nodes.values.map { record in
                NodeStatus(
                    announcement: record.announcement, state: record.state, reason: record.reason,
                    silentFor: (now - record.lastHeard).seconds, used: used[record.announcement.name] ?? [:], joins: record.joins,
                    workers: record.state == .alive ? record.workers : 0)
            }
        }
        return ClusterSnapshot(
            head: "\(configuration.host):\(port)", nodes: nodes.sorted { $0.announcement.name < $1.announcement.name },
            uptime: (now - started).seconds,
            jobs: jobs.mapValues { job in job.placements.sorted { $0.key < $1.key }.map { WorkerPlacement(peer: $0.key, node: $0.value) } },
            loads: jobs.compactMapValues(\.load))
    }

    public func shutdown() async {
        watcher.withLock { $0 }?.cancel()
        await transport.shutdown()
    }

    // MARK: Messages

    func receive(_ frame: WireFrame, from source: PeerID) {
        let message: ControlMessage
        do {
            message = try ControlMessage(frame: frame)
        } catch {
            logger.warning("\(source) sent \(error); disconnecting it")
            transport.disconnect(source)
            return
        }
        switch message {
        case .join(let announcement): join(announcement, from: source)
        case .heartbeat(let workers): heard(from: source, workers: workers)
        case .leaving(let reason): left(source, reason: reason)
        case .statusRequest(let request): reply(.status(request: request, snapshot()), to: source)
        case .hasExecutable, .writeExecutable, .sealExecutable, .readExecutable: serveExecutables(message, to: source)
        case .placeWorkers, .launchWorkers, .stopJob, .stopWorkers, .workerEnded, .jobLoad: handleJobs(message, from: source)
        case .submitJob, .jobOutput, .jobEnded, .listJobs, .readLog, .stopSubmitted: handleSubmissions(message, from: source)
        case .joined, .status, .failed, .done, .size, .bytes, .placed, .launch, .terminate, .jobStarted, .launchDriver, .jobList,
            .stopDriver, .nodeLost:
            logger.warning("\(source) sent the head a message only the head sends; disconnecting it")
            transport.disconnect(source)
        }
    }

    func reply(_ message: ControlMessage, to peer: PeerID) {
        do {
            try transport.send(message.frame(), from: .driver, to: peer)
        } catch {
            logger.warning("could not answer \(peer): \(error)")
        }
    }

    private func join(_ announced: NodeAnnouncement, from source: PeerID) {
        var announcement = announced
        // A node that does not say where it is reached is reached where it connected from.
        if announcement.host.isEmpty { announcement.host = transport.remoteHost(of: source) ?? "" }
        // A node is who its certificate says: it may only join under that name.
        guard let certified = transport.nodeName(of: source), NodeCredentials.certificate(certified, covers: announcement.name) else {
            let certified = transport.nodeName(of: source) ?? "none"
            reply(.joined(refusal: "the certificate names node \(certified), which does not cover \(announcement.name)"), to: source)
            logger.warning("refused node \(announcement.name) from \(source): its certificate names \(certified)")
            return
        }
        let now = ContinuousClock.now
        let replaced = nodes.withLock { nodes -> PeerID? in
            var record =
                nodes[announcement.name]
                ?? NodeRecord(announcement: announcement, state: .alive, reason: nil, lastHeard: now, peer: nil, joins: 0)
            let old = record.peer
            record.announcement = announcement
            record.state = .alive
            record.reason = nil
            record.lastHeard = now
            record.peer = source
            record.joins += 1
            nodes[announcement.name] = record
            return old == source ? nil : old
        }
        if let replaced { transport.disconnect(replaced) }
        reply(.joined(refusal: nil), to: source)
        logger.info("node \(announcement.name) joined from \(source) with \(announcement.resources)")
    }

    private func heard(from source: PeerID, workers: Int) {
        let now = ContinuousClock.now
        nodes.withLock { nodes in
            guard let name = nodes.first(where: { $0.value.peer == source })?.key else { return }
            nodes[name]?.lastHeard = now
            nodes[name]?.workers = max(0, workers)
        }
    }

    private func left(_ source: PeerID, reason: String) {
        nodes.withLock { nodes in
            guard let name = nodes.first(where: { $0.value.peer == source })?.key else { return }
            nodes[name]?.state = .left
            nodes[name]?.reason = reason
            nodes[name]?.peer = nil
        }
    }

    private func lost(_ peer: PeerID, reason: String) {
        let name = nodes.withLock { nodes -> String? in
            guard let name = nodes.first(where: { $0.value.peer == peer })?.key else { return nil }
            nodes[name]?.peer = nil
            if nodes[name]?.state == .alive {
                nodes[name]?.state = .dead
                nodes[name]?.reason = reason
            }
            return name
        }
        if let name {
            logger.warning("node \(name) lost: \(reason)")
            tellDrivers(nodeLost: name)
        }
        forgetFollower(peer)
        // A driver that goes ends its job.
        for job in jobs.withLock({ jobs in jobs.filter { $0.value.driver == peer }.map(\.key) }) { stop(job, reason: "its driver left") }
    }

    /// Marks dead the nodes not heard from within the timeout, until the head shuts down.
    private func watchHeartbeats() async {
        let timeout = configuration.nodeTimeout
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            let now = ContinuousClock.now
            let silent = nodes.withLock { nodes -> [(String, PeerID?)] in
                var silent: [(String, PeerID?)] = []
                for (name, record) in nodes where record.state == .alive && now - record.lastHeard > timeout {
                    nodes[name]?.state = .dead
                    nodes[name]?.reason = "not heard from for \(timeout)"
                    silent.append((name, record.peer))
                    nodes[name]?.peer = nil
                }
                return silent
            }
            for (name, peer) in silent {
                logger.warning("node \(name) declared dead: not heard from for \(timeout)")
                if let peer { transport.disconnect(peer) }
                tellDrivers(nodeLost: name)
            }
        }
    }
}

/// How a head runs.
public struct HeadConfiguration: Sendable {
    public var credentials: ClusterCredentials
    /// The address to listen on (`0.0.0.0` for every interface).
    public var host: String
    /// The port (0 picks a free one).
    public var port: Int
    /// How often nodes send heartbeats and the head checks them.
    public var heartbeatInterval: Duration
    /// How long a node may stay silent before it is declared dead.
    public var nodeTimeout: Duration
    /// Where the head keeps job executables.
    public var storeDirectory: String

    public init(
        credentials: ClusterCredentials, storeDirectory: String, host: String = "0.0.0.0", port: Int = 6380,
        heartbeatInterval: Duration = .seconds(1), nodeTimeout: Duration = .seconds(10)
    ) {
        self.storeDirectory = storeDirectory
        self.credentials = credentials
        self.host = host
        self.port = port
        self.heartbeatInterval = heartbeatInterval
        self.nodeTimeout = nodeTimeout
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
