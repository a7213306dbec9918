import IORuntime
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A `Transport` over TCP (SwiftNIO): one connection per pair of processes, authenticated by a
/// shared ``ClusterToken`` before any other byte is read.
///
/// Frames are length-prefixed and capped (``Configuration/maximumFrameSize``); Nagle's algorithm
/// is off (`TCP_NODELAY`) and writes issued together are flushed together. A peer that sends a
/// wrong token, another protocol version, garbage, an oversized frame, or nothing at all within
/// the handshake timeout is disconnected with a logged reason, and the node keeps serving
/// everyone else.
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

        public init(maximumFrameSize: Int = 256 << 20, handshakeTimeout: Duration = .seconds(5), writeBufferHighWaterMark: Int = 4 << 20) {
            self.maximumFrameSize = maximumFrameSize
            self.handshakeTimeout = handshakeTimeout
            self.writeBufferHighWaterMark = writeBufferHighWaterMark
        }
    }

    private struct State {
        var receivers: [PeerID: @Sendable (WireFrame, PeerID) -> Void] = [:]
        var connections: [PeerID: any Channel] = [:]
        var lostHandlers: [@Sendable (PeerID) -> Void] = []
        var servers: [any Channel] = []
        var rejections: [String] = []
        var isClosed = false
        /// Senders waiting for a connection to drain below its low-water mark.
        var writableWaiters: [PeerID: [CheckedContinuation<Void, any Error>]] = [:]
    }

    /// The peer this process speaks for in handshakes.
    public let localPeer: PeerID
    let token: ClusterToken
    let configuration: Configuration
    private let group: any EventLoopGroup
    private let state = Mutex(State())
    private let logger = Logger(label: "iocompute.transport.tcp")

    /// A transport for `localPeer`, authenticating with `token`.
    public init(
        localPeer: PeerID, token: ClusterToken, configuration: Configuration = Configuration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.localPeer = localPeer
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

    private func configure(_ channel: any Channel, established: EventLoopPromise<PeerID>?) -> EventLoopFuture<Void> {
        let limit = FrameLimit(Handshake.maximumFrame)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder(limit: limit)))
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(
                    localPeer: localPeer, token: token, limit: limit, maximumFrame: configuration.maximumFrameSize,
                    handshakeTimeout: handshakeTimeout, transport: self, established: established))
        }
    }

    /// Reads grow up to 1 MiB when data keeps coming (large objects), so that a transfer takes
    /// few system calls; they start small for the many small frames.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65536, maximum: 1 << 20)

    /// Accepts connections on `host:port` (port 0 picks a free one) and returns the port.
    public func listen(host: String = "127.0.0.1", port: Int = 0) async throws -> Int {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: waterMark)
            .childChannelOption(.recvAllocator, value: Self.receiveAllocator)
            .childChannelInitializer { [self] channel in configure(channel, established: nil) }
            .bind(host: host, port: port)
            .get()
        state.withLock { $0.servers.append(server) }
        return server.localAddress?.port ?? port
    }

    /// Connects to a listening node, completes the handshake, and returns the node's peer ID.
    ///
    /// - Throws: ``TCPTransportError/handshakeFailed(_:)`` when the node does not prove it holds
    ///   the token (or is not an IOCompute node).
    @discardableResult
    public func connect(host: String, port: Int) async throws -> PeerID {
        let promise = group.next().makePromise(of: PeerID.self)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: waterMark)
            .channelOption(.recvAllocator, value: Self.receiveAllocator)
            .channelInitializer { [self] channel in configure(channel, established: promise) }
            .connect(host: host, port: port)
            .get()
        do {
            return try await promise.futureResult.get()
        } catch {
            try? await channel.close()
            throw error
        }
    }

    // MARK: Transport

    public func register(_ peer: PeerID, receiver: @escaping @Sendable (WireFrame, PeerID) -> Void) async throws {
        try state.withLock { (state) throws(TransportError) in
            guard !state.isClosed else { throw .closed }
            state.receivers[peer] = receiver
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

    /// Hands the frame to a receiver on this node (`local` builds it), or writes the routing
    /// header, `header` and `parts` straight into the connection's outgoing buffer: one copy.
    private func send(
        header: [UInt8], payload parts: [UnsafeRawBufferPointer], from source: PeerID, to destination: PeerID, local: () -> WireFrame
    ) throws {
        let (receiver, channel) = try state.withLock { (state) throws(TransportError) in
            guard !state.isClosed else { throw .closed }
            return (state.receivers[destination], state.connections[destination])
        }
        if let receiver {
            receiver(local(), source)
            return
        }
        guard let channel else { throw TransportError.unknownPeer(destination) }
        let length = header.count + parts.reduce(0) { $0 + $1.count }
        guard length + 8 <= configuration.maximumFrameSize else {
            throw WireError.invalid(what: "frame", reason: "\(length) bytes exceed the \(configuration.maximumFrameSize)-byte frame cap")
        }
        var buffer = channel.allocator.buffer(capacity: length + 12)
        buffer.writeInteger(UInt32(length + 8), endianness: .little)
        buffer.writeInteger(source.rawValue, endianness: .little)
        buffer.writeInteger(destination.rawValue, endianness: .little)
        buffer.writeBytes(header)
        for part in parts { buffer.writeBytes(part) }
        channel.writeAndFlush(buffer, promise: nil)
    }

    public func onPeerLost(_ handler: @escaping @Sendable (PeerID) -> Void) {
        state.withLock { $0.lostHandlers.append(handler) }
    }

    /// Whether the connection to `peer` can take more writes without queueing past the high-water
    /// mark; a sender that checks it slows down for a slow reader instead of growing memory.
    public func isWritable(to peer: PeerID) -> Bool {
        state.withLock { $0.connections[peer] }?.isWritable ?? false
    }

    /// Returns once the connection to `peer` is writable again (below half the high-water mark);
    /// at once when it is, or when `peer` is on this node.
    public func waitUntilWritable(to peer: PeerID) async throws {
        enum Check { case ready, closed, unknown, wait }
        func check(_ state: State) -> Check {
            if state.isClosed { return .closed }
            if state.receivers[peer] != nil { return .ready }
            guard let channel = state.connections[peer] else { return .unknown }
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
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let now = state.withLock { state -> Check in
                let now = check(state)
                if now == .wait { state.writableWaiters[peer, default: []].append(continuation) }
                return now
            }
            switch now {
            case .wait: break
            case .ready: continuation.resume()
            case .closed: continuation.resume(throwing: TransportError.closed)
            case .unknown: continuation.resume(throwing: TransportError.unknownPeer(peer))
            }
        }
    }

    /// The peers connected and authenticated now.
    public var connectedPeers: Set<PeerID> { state.withLock { Set($0.connections.keys) } }

    /// Why connections were refused so far, oldest first (for operators and tests).
    public var rejections: [String] { state.withLock { $0.rejections } }

    public func shutdown() async {
        let (channels, waiters) = state.withLock { state -> ([any Channel], [CheckedContinuation<Void, any Error>]) in
            state.isClosed = true
            state.receivers = [:]
            defer {
                state.servers = []
                state.connections = [:]
                state.writableWaiters = [:]
            }
            return (state.servers + Array(state.connections.values), state.writableWaiters.values.flatMap { $0 })
        }
        for waiter in waiters { waiter.resume(throwing: TransportError.closed) }
        for channel in channels { try? await channel.close() }
    }

    // MARK: Called by connections

    func connectionEstablished(peer: PeerID, channel: any Channel) {
        let replaced = state.withLock { state in state.connections.updateValue(channel, forKey: peer) }
        if let replaced, replaced !== channel { replaced.close(promise: nil) }
        logger.info("connected to \(peer)")
    }

    func connectionLost(peer: PeerID, channel: any Channel) {
        let (handlers, waiters) = state.withLock { state -> ([@Sendable (PeerID) -> Void], [CheckedContinuation<Void, any Error>]) in
            guard state.connections[peer] === channel else { return ([], []) }
            state.connections[peer] = nil
            return (state.isClosed ? [] : state.lostHandlers, state.writableWaiters.removeValue(forKey: peer) ?? [])
        }
        for waiter in waiters { waiter.resume(throwing: TransportError.unknownPeer(peer)) }
        for handler in handlers { handler(peer) }
    }

    /// The connection to `peer` drained below its low-water mark: wakes the senders waiting.
    func connectionWritable(peer: PeerID, channel: any Channel) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard state.connections[peer] === channel else { return [] }
            return state.writableWaiters.removeValue(forKey: peer) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    func deliver(_ frame: WireFrame, from source: PeerID, to destination: PeerID) {
        guard let receiver = state.withLock({ $0.receivers[destination] }) else {
            logger.warning("a frame for \(destination), which is not on this node, was dropped")
            return
        }
        receiver(frame, source)
    }

    func recordRejection(_ reason: String) {
        state.withLock { state in
            state.rejections.append(reason)
            if state.rejections.count > 100 { state.rejections.removeFirst() }
        }
    }
}
