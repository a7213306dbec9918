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
    private let connection = Mutex<ControlConnection?>(nil)
    private let loop = Mutex<Task<Void, Never>?>(nil)
    private let leaving = Atomic<Bool>(false)
    private let logger = Logger(label: "iocompute.agent")

    private init(head: NodeAddress, announcement: NodeAnnouncement, credentials: ClusterCredentials, heartbeatInterval: Duration) {
        self.head = head
        self.announcement = announcement
        self.credentials = credentials
        self.heartbeatInterval = heartbeatInterval
    }

    /// Joins the head at `head` as `announcement` (whose name must be the one in the node's
    /// certificate) and keeps the node there until ``leave(reason:)``.
    ///
    /// - Throws: the connection's error (wrong token, certificate from another authority, no
    ///   head listening) or ``ControlError/refused(_:)`` when the head refuses the node.
    public static func join(
        head: NodeAddress, announcement: NodeAnnouncement, credentials: ClusterCredentials, heartbeatInterval: Duration = .seconds(1)
    ) async throws -> NodeAgent {
        let agent = NodeAgent(head: head, announcement: announcement, credentials: credentials, heartbeatInterval: heartbeatInterval)
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

    /// Connects and joins; throws when the head refuses or cannot be reached.
    private func connect() async throws {
        let answer = OneShot<String?>()
        let opened = try await ControlConnection.open(
            to: head, credentials: credentials,
            onMessage: { message in
                if case .joined(let refusal) = message { answer.resume(returning: refusal) }
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

    /// Heartbeats while connected; joins again when the connection is lost.
    private func run() async {
        while !Task.isCancelled && !leaving.load(ordering: .relaxed) {
            if let current = connection.withLock({ $0 }) {
                try? current.send(.heartbeat)
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
