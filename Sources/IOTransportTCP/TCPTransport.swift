import IORuntime
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A `Transport` over TCP (SwiftNIO): one connection per pair of processes, authenticated by a
/// shared ``ClusterToken`` before any other byte is read.
///
/// Frames are length-prefixed and capped (``Configuration/maximumFrameSize``); Nagle's algorithm
/// is off (`TCP_NODELAY`) and writes issued together are flushed together. A peer that sends a
/// wrong token, another protocol version, garbage, an oversized frame, or nothing at all within
/// the handshake timeout is disconnected with a logged reason, and the node keeps serving
/// everyone else. So is a peer that echoes this node's own handshake, claims an ID that is
/// already connected or not among ``expectedPeers``, or sends a frame in another peer's name:
/// a frame's source is always the peer that authenticated on its connection.
///
/// With ``Configuration/tls`` every TCP connection is mutual TLS 1.3 between nodes whose
/// certificates one ``ClusterAuthority`` signed, and the token handshake runs inside it; such a
/// transport may listen on any address. Without TLS it listens on loopback only. Unix sockets
/// (``listen(unixSocket:)``) stay on this host and carry the token handshake alone. At most
/// ``Configuration/maximumPendingHandshakes`` connections may be in their handshake at once, and
/// rejections are logged at most ten times a minute (``rejections`` keeps the latest hundred).
///
/// ```swift
/// let token = ClusterToken.generate()
/// let head = TCPTransport(localPeer: .driver, token: token)
/// let port = try await head.listen(host: "127.0.0.1", port: 0)
/// let worker = TCPTransport(localPeer: PeerID(1), token: token)
/// try await worker.connect(host: "127.0.0.1", port: port)
/// ```
public final class TCPTransport: Transport {
    /// Limits and timeouts.
    public struct Configuration: Sendable {
        /// The largest frame accepted or sent, in bytes.
        public var maximumFrameSize: Int
        /// How long a new connection may take to complete the handshake.
        public var handshakeTimeout: Duration
        /// Outbound bytes queued on a connection above which it stops being writable (see
        /// ``isWritable(to:)`` and ``waitUntilWritable(to:)``).
        public var writeBufferHighWaterMark: Int

        /// How many accepted connections may be in their handshake at once; more are closed at once.
        public var maximumPendingHandshakes: Int
        /// Mutual TLS for TCP connections (`nil`: plain TCP, loopback only).
        public var tls: TransportTLS?

        public init(
            maximumFrameSize: Int = 256 << 20, handshakeTimeout: Duration = .seconds(5), writeBufferHighWaterMark: Int = 4 << 20,
            maximumPendingHandshakes: Int = 64, tls: TransportTLS? = nil
        ) {
            self.tls = tls
            self.maximumFrameSize = maximumFrameSize
            self.handshakeTimeout = handshakeTimeout
            self.writeBufferHighWaterMark = writeBufferHighWaterMark
            self.maximumPendingHandshakes = maximumPendingHandshakes
        }
    }

    private struct State {
        var receivers: [PeerID: @Sendable (WireFrame, PeerID) -> Void] = [:]
        var placers: [PeerID: PayloadPlacer] = [:]
        var connections: [PeerID: ConnectionWriter] = [:]
        var lostHandlers: [@Sendable (PeerID) -> Void] = []
        var servers: [any Channel] = []
        var rejections: [String] = []
        /// Rejections logged in the current minute, and when that minute began.
        var rejectionsLogged = 0
        var rejectionWindowStart = ContinuousClock.now
        var pendingHandshakes = 0
        var isClosed = false
        /// Senders waiting for a connection to drain below its low-water mark.
        var writableWaiters: [PeerID: [OneShot<Void>]] = [:]
        /// The executors ``deliveryExecutor(for:)`` handed out, one per event loop.
        var loopExecutors: [EventLoopTaskExecutor] = []
    }

    /// The peer this process speaks for in handshakes.
    public let localPeer: PeerID
    /// The peers that may connect (`nil`: any but this node's own ID).
    public let expectedPeers: Set<PeerID>?
    let token: ClusterToken
    let configuration: Configuration
    private let group: any EventLoopGroup
    private let state = Mutex(State())
    private let logger = Logger(label: "iocompute.transport.tcp")

    /// A transport for `localPeer`, authenticating with `token`.
    public init(
        localPeer: PeerID, token: ClusterToken, expectedPeers: Set<PeerID>? = nil, configuration: Configuration = Configuration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.localPeer = localPeer
        self.expectedPeers = expectedPeers
        self.token = token
        self.configuration = configuration
        self.group = group
    }

    private var handshakeTimeout: TimeAmount {
        let parts = configuration.handshakeTimeout.components
        return .nanoseconds(parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000)
    }

    /// Writes queue up to the high mark before a connection stops being writable, and it becomes
    /// writable again below half of it.
    private var waterMark: ChannelOptions.Types.WriteBufferWaterMark {
        .init(low: configuration.writeBufferHighWaterMark / 2, high: configuration.writeBufferHighWaterMark)
    }

    private func configure(_ channel: any Channel, established: EventLoopPromise<PeerID>?, tls: TransportTLS?) -> EventLoopFuture<Void> {
        let role: Handshake.Role = established == nil ? .listener : .dialer
        let rules = FrameRules(maximumLength: Handshake.maximumFrame)
        return channel.eventLoop.makeCompletedFuture {
            if let tls {
                switch role {
                case .listener: try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.serverContext))
                case .dialer:
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.clientContext, serverHostname: nil))
                }
            }
            try channel.pipeline.syncOperations.addHandler(
                FrameSplitter(rules: rules) { [weak self] head, source, destination in
                    self?.placement(for: head, from: source, to: destination)
                })
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(
                    localPeer: localPeer, role: role, token: token, rules: rules, maximumFrame: configuration.maximumFrameSize,
                    handshakeTimeout: handshakeTimeout, transport: self, established: established))
        }
    }

    /// Reads grow up to 1 MiB when data keeps coming (large objects), so that a transfer takes
    /// few system calls; they start small for the many small frames.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65536, maximum: 1 << 20)

    /// Accepts connections on `host:port` (port 0 picks a free one) and returns the port.
    ///
    /// - Throws: ``TCPTransportError/insecureListener(_:)`` for a host that is not loopback when
    ///   the transport has no ``Configuration/tls``: frames would travel in clear.
    public func listen(host: String = "127.0.0.1", port: Int = 0) async throws -> Int {
        guard Self.isLoopback(host) || configuration.tls != nil else { throw TCPTransportError.insecureListener(host) }
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: waterMark)
            .childChannelOption(.recvAllocator, value: Self.receiveAllocator)
            .childChannelInitializer { [self] channel in configure(channel, established: nil, tls: configuration.tls) }
            .bind(host: host, port: port)
            .get()
        state.withLock { $0.servers.append(server) }
        return server.localAddress?.port ?? port
    }

    /// Accepts connections on a Unix domain socket at `path`, for processes on this host: a round
    /// trip costs about two thirds of one over loopback TCP. The caller keeps `path` in a directory
    /// only it can enter; the handshake authenticates every connection all the same.
    public func listen(unixSocket path: String) async throws {
        let server = try await ServerBootstrap(group: group)
            .childChannelOption(.writeBufferWaterMark, value: waterMark)
            .childChannelOption(.recvAllocator, value: Self.receiveAllocator)
            .childChannelInitializer { [self] channel in configure(channel, established: nil, tls: nil) }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        state.withLock { $0.servers.append(server) }
    }

    /// Connects to a node listening on the Unix domain socket at `path`, completes the handshake,
    /// and returns the node's peer ID.
    @discardableResult
    public func connect(unixSocket path: String) async throws -> PeerID {
        try await dial(tls: nil, address: path) { bootstrap in bootstrap.connect(unixDomainSocketPath: path) }
    }

    /// Connects to a listening node, completes the handshake, and returns the node's peer ID.
    ///
    /// - Throws: ``TCPTransportError/handshakeFailed(_:)`` when the node does not prove it holds
    ///   the token (or is not an IOCompute node).
    @discardableResult
    public func connect(host: String, port: Int) async throws -> PeerID {
        try await dial(tls: configuration.tls, address: "\(host):\(port)") { bootstrap in
            bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port)
        }
    }

    /// Opens a connection with `connect` and waits for its handshake to name the peer.
    private func dial(
        tls: TransportTLS?, address: String, _ connect: (ClientBootstrap) -> EventLoopFuture<any Channel>
    ) async throws -> PeerID {
        let promise = group.next().makePromise(of: PeerID.self)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.writeBufferWaterMark, value: waterMark)
            .channelOption(.recvAllocator, value: Self.receiveAllocator)
            .channelInitializer { [self] channel in configure(channel, established: promise, tls: tls) }
        let channel: any Channel
        do {
            channel = try await connect(bootstrap).get()
        } catch {
            // The handshake never started: its promise must not be left behind unfulfilled.
            promise.fail(error)
            throw TCPTransportError.unreachable(address: address, reason: Self.reason(error))
        }
        do {
            return try await promise.futureResult.get()
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// The short reason in a connection error (NIO's wraps the system's in a list of attempts).
    private static func reason(_ error: any Error) -> String {
        if let failures = error as? NIOConnectionError {
            let attempts = failures.connectionErrors.map(\.error) + (failures.dnsAError.map { [$0] } ?? [])
            return attempts.first.map(reason) ?? "\(error)"
        }
        if let system = error as? IOError { return String(cString: strerror(system.errnoCode)).lowercased() }
        return "\(error)"
    }

    /// Whether `host` names the loopback interface.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    // MARK: Transport

    public func register(_ peer: PeerID, receiver: @escaping @Sendable (WireFrame, PeerID) -> Void) async throws {
        try state.withLock { (state) throws(TransportError) in
            guard !state.isClosed else { throw .closed }
            state.receivers[peer] = receiver
        }
    }

    public func registerPlacement(_ peer: PeerID, placer: @escaping PayloadPlacer) {
        state.withLock { state in
            guard !state.isClosed else { return }
            state.placers[peer] = placer
        }
    }

    public func send(_ frame: WireFrame, from source: PeerID, to destination: PeerID) throws {
        try frame.payload.withUnsafeBytes { payload in
            try send(header: frame.encodedHeader(), payload: [payload], from: source, to: destination) { frame }
        }
    }

    /// Sends a frame of `kind` (no metadata) whose payload is `parts` one after the other, copied
    /// straight into the connection's buffer: for large payloads that live in memory the caller
    /// owns, which would otherwise be copied into a `WireFrame` first. `parts` are read before
    /// this returns.
    public func send(kind: UInt16, payload parts: [UnsafeRawBufferPointer], from source: PeerID, to destination: PeerID) throws {
        let header = WireFrame.encodedHeader(kind: kind, payloadLength: parts.reduce(0) { $0 + $1.count })
        try send(header: header, payload: parts, from: source, to: destination) {
            WireFrame(kind: kind, payload: parts.flatMap { Array($0) })
        }
    }

    public func send(
        kind: UInt16, payloadLength: Int, from source: PeerID, to destination: PeerID,
        writingPayload write: (UnsafeMutableRawBufferPointer) -> Void
    ) throws {
        let header = WireFrame.encodedHeader(kind: kind, payloadLength: payloadLength)
        try send(header: header, payloadLength: payloadLength, from: source, to: destination) {
            let payload = [UInt8](unsafeUninitializedCapacity: payloadLength) { buffer, count in
                write(UnsafeMutableRawBufferPointer(buffer))
                count = payloadLength
            }
            return WireFrame(kind: kind, payload: payload)
        } writingPayload: { buffer in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: payloadLength) { room in
                write(UnsafeMutableRawBufferPointer(rebasing: room[..<payloadLength]))
                return payloadLength
            }
        }
    }

    /// Hands the frame to a receiver on this node (`local` builds it), or writes the routing
    /// header, `header` and `parts` straight into the connection's outgoing buffer: one copy.
    private func send(
        header: [UInt8], payload parts: [UnsafeRawBufferPointer], from source: PeerID, to destination: PeerID, local: () -> WireFrame
    ) throws {
        try send(header: header, payloadLength: parts.reduce(0) { $0 + $1.count }, from: source, to: destination, local: local) { buffer in
            for part in parts { buffer.writeBytes(part) }
        }
    }

    /// Hands the frame to a receiver on this node (`local` builds it), or writes the routing
    /// header and `header` into a buffer for the connection, and `writingPayload` the payload
    /// of `payloadLength` bytes after them.
    private func send(
        header: [UInt8], payloadLength: Int, from source: PeerID, to destination: PeerID, local: () -> WireFrame,
        writingPayload: (inout ByteBuffer) -> Void
    ) throws {
        let (receiver, connection) = try state.withLock { (state) throws(TransportError) in
            guard !state.isClosed else { throw .closed }
            return (state.receivers[destination], state.connections[destination])
        }
        if let receiver {
            receiver(local(), source)
            return
        }
        guard let connection else { throw TransportError.unknownPeer(destination) }
        let channel = connection.channel
        let length = header.count + payloadLength
        guard length + 8 <= configuration.maximumFrameSize else {
            throw WireError.invalid(what: "frame", reason: "\(length) bytes exceed the \(configuration.maximumFrameSize)-byte frame cap")
        }
        var buffer = channel.allocator.buffer(capacity: length + 12)
        buffer.writeInteger(UInt32(length + 8), endianness: .little)
        buffer.writeInteger(source.rawValue, endianness: .little)
        buffer.writeInteger(destination.rawValue, endianness: .little)
        buffer.writeBytes(header)
        writingPayload(&buffer)
        connection.send(buffer)
    }

    public func onPeerLost(_ handler: @escaping @Sendable (PeerID) -> Void) {
        state.withLock { $0.lostHandlers.append(handler) }
    }

    /// Whether the connection to `peer` can take more writes without queueing past the high-water
    /// mark; a sender that checks it slows down for a slow reader instead of growing memory.
    public func isWritable(to peer: PeerID) -> Bool {
        state.withLock { $0.connections[peer] }?.channel.isWritable ?? false
    }

    /// Returns once the connection to `peer` is writable again (below half the high-water mark);
    /// at once when it is, or when `peer` is on this node.
    public func waitUntilWritable(to peer: PeerID) async throws {
        enum Check { case ready, closed, unknown, wait }
        func check(_ state: State) -> Check {
            if state.isClosed { return .closed }
            if state.receivers[peer] != nil { return .ready }
            guard let channel = state.connections[peer]?.channel else { return .unknown }
            return channel.isWritable ? .ready : .wait
        }
        func fail(_ check: Check) throws {
            switch check {
            case .closed: throw TransportError.closed
            case .unknown: throw TransportError.unknownPeer(peer)
            case .ready, .wait: break
            }
        }
        let first = state.withLock { check($0) }
        guard first == .wait else { return try fail(first) }
        let waiter = OneShot<Void>()
        let now = state.withLock { state -> Check in
            let now = check(state)
            if now == .wait { state.writableWaiters[peer, default: []].append(waiter) }
            return now
        }
        guard now == .wait else { return try fail(now) }
        // A cancelled sender stays listed until the connection drains or closes; waking it
        // then is a no-op.
        try await waiter.value()
    }

    /// An executor on the event loop of the connection to `peer` (one per loop), or `nil` when
    /// `peer` is not connected.
    public func deliveryExecutor(for peer: PeerID) -> (any TaskExecutor)? {
        state.withLock { state -> EventLoopTaskExecutor? in
            guard let loop = state.connections[peer]?.channel.eventLoop else { return nil }
            if let existing = state.loopExecutors.first(where: { $0.loop === loop }) { return existing }
            let executor = EventLoopTaskExecutor(loop: loop)
            state.loopExecutors.append(executor)
            return executor
        }
    }

    /// The node name in the certificate `peer` presented, when it is connected over TLS.
    public func nodeName(of peer: PeerID) -> String? {
        state.withLock { $0.connections[peer]?.node }
    }

    /// The IP address `peer` connected from or was dialed at, when connected over TCP.
    public func remoteHost(of peer: PeerID) -> String? {
        state.withLock { $0.connections[peer]?.channel.remoteAddress?.ipAddress }
    }

    /// This end's IP address on the TCP connection to `peer`: the interface that reaches it.
    public func localHost(of peer: PeerID) -> String? {
        state.withLock { $0.connections[peer]?.channel.localAddress?.ipAddress }
    }

    /// The peers connected and authenticated now.
    public var connectedPeers: Set<PeerID> { state.withLock { Set($0.connections.keys) } }

    /// Why connections were refused so far, oldest first (for operators and tests).
    public var rejections: [String] { state.withLock { $0.rejections } }

    public func shutdown() async {
        let (channels, waiters) = state.withLock { state -> ([any Channel], [OneShot<Void>]) in
            state.isClosed = true
            state.receivers = [:]
            state.placers = [:]
            defer {
                state.servers = []
                state.connections = [:]
                state.writableWaiters = [:]
            }
            return (state.servers + state.connections.values.map(\.channel), state.writableWaiters.values.flatMap { $0 })
        }
        for waiter in waiters { waiter.resume(throwing: TransportError.closed) }
        for channel in channels { try? await channel.close() }
    }

    // MARK: Called by connections

    /// Why a peer that says it is `peer` may not go on with its handshake, or `nil`. `node` is
    /// the name in its TLS certificate ("" for none), `nil` on a connection without TLS.
    func refusal(of peer: PeerID, node: String? = nil) -> String? {
        if let expectedPeers, !expectedPeers.contains(peer) { return "\(peer) is not a peer this node expects" }
        if let node {
            guard !node.isEmpty else { return "\(peer)'s certificate names no node" }
            if let admits = configuration.tls?.admits, !admits(TransportTLS.PeerIdentity(peer: peer, node: node)) {
                return "node \(node) may not connect as \(peer)"
            }
        }
        return state.withLock { $0.connections[peer] } == nil ? nil : "\(peer) is already connected"
    }

    /// Records an authenticated connection, or says why it is refused: a second connection for
    /// a peer never replaces the first (disconnect the first to let a new process in).
    func connectionEstablished(peer: PeerID, channel: any Channel, node: String? = nil) -> String? {
        let refusal = state.withLock { state -> String? in
            if state.isClosed { return "the transport is closed" }
            if state.connections[peer] != nil { return "\(peer) is already connected" }
            state.connections[peer] = ConnectionWriter(channel: channel, node: node)
            return nil
        }
        if refusal == nil { logger.info("connected to \(peer)\(node.map { " (node \($0), TLS)" } ?? "")") }
        return refusal
    }

    /// Closes the connection to `peer` as if the peer had closed it: the peer-lost handlers run.
    /// For a peer known to be gone before its connection says so (its machine was cut off).
    public func drop(_ peer: PeerID) {
        state.withLock { $0.connections[peer]?.channel }?.close(promise: nil)
    }

    /// Closes the connection to `peer` now and forgets it, so that a new process may connect
    /// under the same ID (a replaced worker). Peer-lost handlers do not run for it.
    public func disconnect(_ peer: PeerID) {
        let (channel, waiters) = state.withLock { state -> ((any Channel)?, [OneShot<Void>]) in
            (state.connections.removeValue(forKey: peer)?.channel, state.writableWaiters.removeValue(forKey: peer) ?? [])
        }
        for waiter in waiters { waiter.resume(throwing: TransportError.unknownPeer(peer)) }
        channel?.close(promise: nil)
    }

    /// A connection began its handshake; false when too many are in theirs already.
    func handshakeStarted() -> Bool {
        state.withLock { state in
            guard state.pendingHandshakes < configuration.maximumPendingHandshakes else { return false }
            state.pendingHandshakes += 1
            return true
        }
    }

    /// How many connections are in their handshake now.
    var pendingHandshakes: Int { state.withLock { $0.pendingHandshakes } }

    /// A connection's handshake ended (it succeeded, failed, or the connection closed).
    func handshakeEnded() {
        state.withLock { $0.pendingHandshakes -= 1 }
    }

    func connectionLost(peer: PeerID, channel: any Channel) {
        let (handlers, waiters) = state.withLock { state -> ([@Sendable (PeerID) -> Void], [OneShot<Void>]) in
            guard state.connections[peer]?.channel === channel else { return ([], []) }
            state.connections[peer] = nil
            return (state.isClosed ? [] : state.lostHandlers, state.writableWaiters.removeValue(forKey: peer) ?? [])
        }
        for waiter in waiters { waiter.resume(throwing: TransportError.unknownPeer(peer)) }
        for handler in handlers { handler(peer) }
    }

    /// The connection to `peer` drained below its low-water mark: wakes the senders waiting.
    func connectionWritable(peer: PeerID, channel: any Channel) {
        let waiters = state.withLock { state -> [OneShot<Void>] in
            guard state.connections[peer]?.channel === channel else { return [] }
            return state.writableWaiters.removeValue(forKey: peer) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Where a large frame from `source` to `destination` goes as it arrives, if the receiver
    /// registered a placer that takes it.
    func placement(for head: IncomingFrameHead, from source: PeerID, to destination: PeerID) -> (any PayloadPlacement)? {
        guard let placer = state.withLock({ $0.placers[destination] }) else { return nil }
        return placer(head, source)
    }

    func deliver(_ frame: WireFrame, from source: PeerID, to destination: PeerID) {
        guard let receiver = state.withLock({ $0.receivers[destination] }) else {
            logger.warning("a frame for \(destination), which is not on this node, was dropped")
            return
        }
        receiver(frame, source)
    }

    /// Keeps `reason` for ``rejections`` and logs it, at most ten times a minute (a peer that
    /// keeps knocking cannot flood the log); the count of those left out is logged with the next.
    func recordRejection(_ reason: String) {
        let (log, skipped) = state.withLock { state -> (Bool, Int) in
            state.rejections.append(reason)
            if state.rejections.count > 100 { state.rejections.removeFirst() }
            let now = ContinuousClock.now
            var skipped = 0
            if now - state.rejectionWindowStart > .seconds(60) {
                skipped = max(0, state.rejectionsLogged - 10)
                state.rejectionWindowStart = now
                state.rejectionsLogged = 0
            }
            state.rejectionsLogged += 1
            return (state.rejectionsLogged <= 10, skipped)
        }
        if skipped > 0 { logger.warning("\(skipped) more connections were refused in the last minute") }
        if log { logger.warning("\(reason)") }
    }
}
