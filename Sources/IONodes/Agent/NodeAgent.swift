import IORuntime
import IOTransportTCP
import Logging
import Synchronization

/// The agent of one machine in a cluster: it joins the head with the machine's resources, sends
/// heartbeats, and joins again after a lost connection (a head restart, a cut link), until it
/// leaves.
public final class NodeAgent: Sendable {
    public let head: NodeAddress
    public let announcement: NodeAnnouncement
    let credentials: ClusterCredentials
    let heartbeatInterval: Duration
    /// The node name the head's certificate must give (`nil`: any node of the cluster).
    let expectedHead: String?
    /// Starts the workers the head orders here; `nil` for an agent that runs none.
    let launcher: WorkerLauncher?
    private let connection = Mutex<ControlConnection?>(nil)
    private let loop = Mutex<Task<Void, Never>?>(nil)
    private let leaving = Atomic<Bool>(false)
    private let logger = Logger(label: "iocompute.agent")

    private init(
        head: NodeAddress, announcement: NodeAnnouncement, credentials: ClusterCredentials, heartbeatInterval: Duration,
        launcher: WorkerLauncher?, expectedHead: String?
    ) {
        self.expectedHead = expectedHead
        self.launcher = launcher
        self.head = head
        self.announcement = announcement
        self.credentials = credentials
        self.heartbeatInterval = heartbeatInterval
    }

    /// Joins the head at `head` as `announcement` (whose name must be the one in the node's
    /// certificate) and keeps the node there until ``leave(reason:)``. With `workers`, the node
    /// starts the worker processes of jobs: executables are kept in `workers.store`, and workers
    /// connect to their driver with the certificate in `workers.credentialsFolder`. With
    /// `expectedHead`, the head's certificate must name that node (see `credentials issue`,
    /// which records it): another node of the cluster cannot pose as the head.
    ///
    /// - Throws: the connection's error (wrong token, certificate from another authority, no
    ///   head listening) or ``ControlError/refused(_:)`` when the head refuses the node.
    public static func join(
        head: NodeAddress, announcement: NodeAnnouncement, credentials: ClusterCredentials, heartbeatInterval: Duration = .seconds(1),
        workers: (store: ExecutableStore, credentialsFolder: String)? = nil, expectedHead: String? = nil
    ) async throws -> NodeAgent {
        let agent = NodeAgent(
            head: head, announcement: announcement, credentials: credentials, heartbeatInterval: heartbeatInterval,
            launcher: workers.map {
                WorkerLauncher(store: $0.store, credentialsFolder: $0.credentialsFolder, node: announcement.name, head: head)
            }, expectedHead: expectedHead)
        try await agent.connect()
        agent.loop.withLock { $0 = Task { [weak agent] in await agent?.run() } }
        return agent
    }

    /// Whether the agent is connected to the head now.
    public var isConnected: Bool { connection.withLock { $0 } != nil }

    /// Tells the head this node leaves (its work is recovered elsewhere) and disconnects.
    public func leave(reason: String = "the node was stopped") async {
        leaving.store(true, ordering: .relaxed)
        loop.withLock { $0 }?.cancel()
        launcher?.terminateAll()
        guard
            let connection = connection.withLock({ current in
                defer { current = nil }; return current
            })
        else { return }
        try? connection.send(.leaving(reason: reason))
        // The head reads the message before it sees the connection close: frames on one
        // connection arrive in order.
        await connection.close()
    }

    /// The worker processes running here, by job.
    public var runningWorkers: [String: Int] { launcher?.running ?? [:] }

    /// Connects and joins; throws when the head refuses or cannot be reached.
    private func connect() async throws {
        let answer = OneShot<String?>()
        let opened = try await ControlConnection.open(
            to: head, credentials: credentials, expectedHead: expectedHead,
            onMessage: { [weak self] message in
                switch message {
                case .joined(let refusal): answer.resume(returning: refusal)
                case .launch(let order): self?.launch(order)
                case .terminate(let job, let peers): self?.launcher?.terminate(job: job, peers: peers)
                case .launchDriver(let order): self?.launchDriver(order)
                case .stopDriver(let job): self?.launcher?.stopDriver(job: job)
                default: break
                }
            },
            onLost: { [weak self] in
                answer.resume(throwing: ControlError.disconnected)
                self?.connection.withLock { $0 = nil }
            })
        do {
            try opened.send(.join(announcement))
            let timer = Task {
                try await Task.sleep(for: .seconds(30))
                answer.resume(throwing: ControlError.timedOut("the head did not answer the join"))
            }
            defer { timer.cancel() }
            if let refusal = try await answer.value() { throw ControlError.refused(refusal) }
        } catch {
            await opened.close()
            throw error
        }
        connection.withLock { $0 = opened }
        logger.info("node \(announcement.name) joined the head at \(head)")
    }

    private func launch(_ order: LaunchOrder) {
        guard let launcher, let connection = connection.withLock({ $0 }) else {
            logger.warning("the head asked for worker-\(order.peer) of job \(order.job), but this node runs no workers")
            return
        }
        Task { await launcher.launch(order, over: connection) }
    }

    private func launchDriver(_ order: DriverOrder) {
        guard let launcher, let connection = connection.withLock({ $0 }) else {
            logger.warning("the head asked for the driver of job \(order.job), but this node runs no jobs")
            return
        }
        Task { await launcher.launchDriver(order, over: connection) }
    }

    /// Heartbeats while connected; joins again when the connection is lost.
    private func run() async {
        while !Task.isCancelled && !leaving.load(ordering: .relaxed) {
            if let current = connection.withLock({ $0 }) {
                try? current.send(.heartbeat(workers: runningWorkers.values.reduce(0, +)))
            } else {
                do {
                    try await connect()
                } catch {
                    logger.warning("could not join the head at \(head) again: \(error)")
                }
            }
            try? await Task.sleep(for: heartbeatInterval)
        }
    }
}
