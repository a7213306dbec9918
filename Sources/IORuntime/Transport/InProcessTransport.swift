import Synchronization

/// A ``Transport`` between endpoints in one process.
///
/// Each frame is encoded to bytes and decoded again on delivery, so that everything crossing it
/// goes through the same codec as on a network; receivers are called on the sender's thread, in
/// send order.
public final class InProcessTransport: Transport {
    private struct State {
        var receivers: [PeerID: @Sendable (WireFrame, PeerID) -> Void] = [:]
        var lostHandlers: [@Sendable (PeerID) -> Void] = []
        var isClosed = false
    }

    private let state = Mutex(State())
    private let framesSent = Atomic<Int>(0)
    private let bytesSent = Atomic<Int>(0)

    public init() {}

    /// The number of frames and bytes sent so far.
    public var traffic: (frames: Int, bytes: Int) {
        (framesSent.load(ordering: .relaxed), bytesSent.load(ordering: .relaxed))
    }

    public func register(_ peer: PeerID, receiver: @escaping @Sendable (WireFrame, PeerID) -> Void) async throws {
        try state.withLock { (state) throws(TransportError) in
            guard !state.isClosed else { throw .closed }
            state.receivers[peer] = receiver
        }
    }

    public func send(_ frame: WireFrame, from source: PeerID, to destination: PeerID) throws {
        let receiver = try state.withLock { (state) throws(TransportError) -> @Sendable (WireFrame, PeerID) -> Void in
            guard !state.isClosed else { throw .closed }
            guard let receiver = state.receivers[destination] else { throw .unknownPeer(destination) }
            return receiver
        }
        let bytes = frame.encoded()
        framesSent.add(1, ordering: .relaxed)
        bytesSent.add(bytes.count, ordering: .relaxed)
        receiver(try WireFrame(decoding: bytes), source)
    }

    public func onPeerLost(_ handler: @escaping @Sendable (PeerID) -> Void) {
        state.withLock { $0.lostHandlers.append(handler) }
    }

    /// Reports `peer` as lost to every registered handler (for tests of failure handling).
    public func simulateLoss(of peer: PeerID) {
        let handlers = state.withLock { state in
            state.receivers[peer] = nil
            return state.lostHandlers
        }
        for handler in handlers { handler(peer) }
    }

    public func shutdown() async {
        state.withLock { state in
            state.isClosed = true
            state.receivers = [:]
        }
    }
}
