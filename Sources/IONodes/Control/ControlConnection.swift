import IORuntime
import IOTransportTCP
import Logging
import Synchronization

/// The credentials a process presents to the head: its node's certificate and the cluster token.
public struct ClusterCredentials: Sendable {
    public let node: NodeCredentials
    public let token: ClusterToken

    public init(node: NodeCredentials, token: ClusterToken) {
        self.node = node
        self.token = token
    }
}

/// A connection from a node agent or a command-line client to the head, over mutual TLS and the
/// token handshake. Messages the head pushes go to `onMessage`; ``request(_:timeout:)`` waits
/// for the answer to one request.
final class ControlConnection: Sendable {
    let transport: TCPTransport
    /// This end's peer ID: random, so that any number of clients can be connected at once.
    let peer: PeerID
    private let pending = Mutex<[UInt64: OneShot<ControlMessage>]>([:])
    private let nextRequest = Atomic<UInt64>(1)
    private let handler: Mutex<(@Sendable (ControlMessage) -> Void)?>
    /// Whether the head's identity has been checked; nothing it sends is acted on before.
    private let verified = Atomic<Bool>(false)
    private let logger = Logger(label: "iocompute.nodes")

    private init(transport: TCPTransport, peer: PeerID, onMessage: (@Sendable (ControlMessage) -> Void)?) {
        self.transport = transport
        self.peer = peer
        handler = Mutex(onMessage)
    }

    /// Connects to the head at `address`; `onLost` runs once if the connection later closes.
    ///
    /// With `expectedHead`, the head's certificate must name that node: any node of the cluster
    /// holds a certificate the authority signed, and one that posed as the head could order
    /// this node to run what it likes.
    static func open(
        to address: NodeAddress, credentials: ClusterCredentials, expectedHead: String? = nil, handshakeTimeout: Duration = .seconds(10),
        onMessage: (@Sendable (ControlMessage) -> Void)? = nil, onLost: @escaping @Sendable () -> Void = {}
    ) async throws -> ControlConnection {
        let tls = try TransportTLS(credentials: credentials.node)
        let peer = PeerID(UInt32.random(in: 0x1000_0000...0xFFFF_FFFE))
        let transport = TCPTransport(
            localPeer: peer, token: credentials.token, expectedPeers: [.driver],
            configuration: .init(maximumFrameSize: ControlMessage.maximumSize + 4096, handshakeTimeout: handshakeTimeout, tls: tls))
        let connection = ControlConnection(transport: transport, peer: peer, onMessage: onMessage)
        try await transport.register(peer) { [weak connection] frame, _ in connection?.receive(frame) }
        transport.onPeerLost { [weak connection] _ in
            connection?.failPending()
            onLost()
        }
        do {
            try await transport.connect(host: address.host, port: address.port)
            if let expectedHead, let named = transport.nodeName(of: .driver), named != expectedHead {
                throw ControlError.refused(
                    "the head at \(address) presents the certificate of node \(named), not of the head \(expectedHead)")
            }
        } catch {
            await transport.shutdown()
            throw error
        }
        connection.verified.store(true, ordering: .releasing)
        return connection
    }

    func send(_ message: ControlMessage) throws {
        try transport.send(message.frame(), from: peer, to: .driver)
    }

    /// Sends the request `make` builds with a fresh request number and returns the answer.
    func request(timeout: Duration = .seconds(30), _ make: (UInt64) -> ControlMessage) async throws -> ControlMessage {
        let number = nextRequest.wrappingAdd(1, ordering: .relaxed).oldValue
        let answer = OneShot<ControlMessage>()
        pending.withLock { $0[number] = answer }
        try send(make(number))
        let timer = Task {
            try await Task.sleep(for: timeout)
            answer.resume(throwing: ControlError.timedOut("the head did not answer within \(timeout)"))
        }
        defer { timer.cancel() }
        return try await answer.value { [weak self] in _ = self?.pending.withLock { $0.removeValue(forKey: number) } }
    }

    func close() async {
        failPending()
        await transport.shutdown()
    }

    private func receive(_ frame: WireFrame) {
        guard verified.load(ordering: .acquiring) else {
            logger.warning("dropped a message from the head before its identity was checked")
            return
        }
        let message: ControlMessage
        do {
            message = try ControlMessage(frame: frame)
        } catch {
            logger.error("the head sent \(error)")
            return
        }
        switch message {
        case .status(let request, _), .failed(let request, _), .done(let request), .size(let request, _), .bytes(let request, _),
            .placed(let request, _), .jobStarted(let request, _, _), .jobList(let request, _):
            if let answer = pending.withLock({ $0.removeValue(forKey: request) }) {
                answer.resume(returning: message)
                return
            }
        default: break
        }
        handler.withLock { $0 }?(message)
    }

    private func failPending() {
        for answer in pending.withLock({ pending in
            defer { pending = [:] }
            return Array(pending.values)
        }) {
            answer.resume(throwing: ControlError.disconnected)
        }
    }
}
