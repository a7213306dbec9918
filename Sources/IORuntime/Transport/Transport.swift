/// The identity of a process endpoint on a transport: the driver, or a worker.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    /// The driver: the process that started the cluster and owns its objects.
    public static let driver = PeerID(0)
    public var description: String { rawValue == 0 ? "driver" : "worker-\(rawValue)" }
}

/// Moves ``WireFrame``s between the endpoints of a cluster and reports the loss of a peer.
///
/// The runtime encodes its messages into frames and hands them to a transport; the transport
/// delivers each frame, in order per sender and receiver pair, to the receiver registered for the
/// destination. ``InProcessTransport`` does this within one process (and is what the in-process
/// cluster's codec test mode runs on); a network transport does it over sockets.
public protocol Transport: Sendable {
    /// Registers the function that receives frames addressed to `peer`.
    func register(_ peer: PeerID, receiver: @escaping @Sendable (WireFrame, _ from: PeerID) -> Void) async throws
    /// Sends `frame` from `source` to `destination`.
    func send(_ frame: WireFrame, from source: PeerID, to destination: PeerID) throws
    /// Registers the function told when a peer is lost.
    func onPeerLost(_ handler: @escaping @Sendable (PeerID) -> Void)
    /// Stops delivering frames and releases the transport's resources.
    func shutdown() async
    /// Returns once frames sent to `peer` would not queue past the transport's limit: a sender
    /// that awaits this before each large or frequent send slows down to its reader's pace
    /// instead of growing memory. Returns at once for a transport without such a limit.
    ///
    /// - Throws: when `peer` is not connected or the transport is closed.
    func waitUntilWritable(to peer: PeerID) async throws

    /// An executor on the thread that delivers `peer`'s frames and writes to it, or `nil` when the
    /// transport has none. Short work that answers `peer` runs there without waking a thread for
    /// the delivery or for the answer; work that may block must not.
    func deliveryExecutor(for peer: PeerID) -> (any TaskExecutor)?

    /// Sends a frame of `kind` (no metadata) whose payload is `parts` one after the other, read
    /// before this returns. A network transport copies them straight into its send buffer, so a
    /// large payload the caller holds is not first copied into a ``WireFrame``.
    func send(kind: UInt16, payload parts: [UnsafeRawBufferPointer], from source: PeerID, to destination: PeerID) throws

    /// Sends a frame of `kind` (no metadata) whose payload of `payloadLength` bytes `write` fills
    /// in place, before this returns: in a network transport's send buffer, so that a large
    /// payload is copied there once, and can be checksummed while it is copied.
    func send(
        kind: UInt16, payloadLength: Int, from source: PeerID, to destination: PeerID,
        writingPayload write: (UnsafeMutableRawBufferPointer) -> Void
    ) throws

    /// Registers `placer`, which may take large frames addressed to `peer` piece by piece as
    /// they arrive instead of their being delivered whole (see ``PayloadPlacement``). A transport
    /// that delivers frames whole anyway (in process) ignores it.
    func registerPlacement(_ peer: PeerID, placer: @escaping PayloadPlacer)
}

extension Transport {
    public func send(kind: UInt16, payload parts: [UnsafeRawBufferPointer], from source: PeerID, to destination: PeerID) throws {
        var payload: [UInt8] = []
        payload.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { payload.append(contentsOf: part) }
        try send(WireFrame(kind: kind, payload: payload), from: source, to: destination)
    }

    public func send(
        kind: UInt16, payloadLength: Int, from source: PeerID, to destination: PeerID,
        writingPayload write: (UnsafeMutableRawBufferPointer) -> Void
    ) throws {
        let payload = [UInt8](unsafeUninitializedCapacity: payloadLength) { buffer, count in
            write(UnsafeMutableRawBufferPointer(buffer))
            count = payloadLength
        }
        try send(WireFrame(kind: kind, payload: payload), from: source, to: destination)
    }

    public func waitUntilWritable(to peer: PeerID) async throws {}

    public func registerPlacement(_ peer: PeerID, placer: @escaping PayloadPlacer) {}

    public func deliveryExecutor(for peer: PeerID) -> (any TaskExecutor)? { nil }
}

/// An error from a transport.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No receiver is registered for the destination.
    case unknownPeer(PeerID)
    /// The transport has shut down.
    case closed

    public var description: String {
        switch self {
        case .unknownPeer(let peer): "no endpoint \(peer) on this transport"
        case .closed: "the transport is closed"
        }
    }
}
