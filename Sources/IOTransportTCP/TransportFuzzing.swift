import IORuntime
import NIOCore
import NIOEmbedded
import Synchronization

/// The fuzz target's way into a connection: untrusted bytes fed to the real pipeline (frame
/// decoder and handshake) on an in-memory channel. Not API; kept behind an SPI.
///
/// The node under test listens as the driver with a fixed nonce (``nodeHello``), so that an
/// input can carry a complete handshake — and the fuzzer can go on from there into routed
/// frames — or replay the node's own hello and proof (the reflection attack).
@_spi(Fuzzing)
public enum TransportFuzzing {
    /// Feeds `bytes` to a fresh connection as if a peer had sent them; it must close the
    /// connection or wait for more, never trap. Returns whether the peer was authenticated.
    @discardableResult
    public static func feedConnection(_ bytes: [UInt8]) -> Bool { feed(bytes).authenticated }

    /// How many large frames of `bytes`, fed as by ``feedConnection(_:)``, were offered for
    /// placement.
    public static func placements(feeding bytes: [UInt8]) -> Int { feed(bytes).placed }

    private static func feed(_ bytes: [UInt8]) -> (authenticated: Bool, placed: Int) {
        let transport = TCPTransport(localPeer: .driver, token: fuzzToken)
        let channel = EmbeddedChannel()
        let rules = FrameRules(maximumLength: Handshake.maximumFrame)
        let placed = PlacementCount()
        do {
            // Large frames go to a placement that traps if the splitter breaks its contract.
            transport.registerPlacement(.driver) { head, _ in
                placed.offered.add(1, ordering: .relaxed)
                return CheckedPlacement(length: head.payloadLength)
            }
            try channel.pipeline.syncOperations.addHandler(
                FrameSplitter(rules: rules) { head, source, destination in transport.placement(for: head, from: source, to: destination) })
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(
                    localPeer: .driver, role: .listener, token: fuzzToken, rules: rules, maximumFrame: 1 << 20,
                    handshakeTimeout: .seconds(5), transport: transport, established: nil, hello: nodeHello))
            channel.pipeline.fireChannelActive()
            // In reads of at most 16 KiB, as TLS records arrive, so that large frames span reads.
            var offset = 0
            repeat {
                let end = min(offset + 16 << 10, bytes.count)
                var buffer = channel.allocator.buffer(capacity: end - offset)
                buffer.writeBytes(bytes[offset..<end])
                try channel.writeInbound(buffer)
                offset = end
            } while offset < bytes.count
        } catch {
            // A rejected peer: the handler closed the channel, which is the expected outcome.
        }
        let authenticated = !transport.connectedPeers.isEmpty
        // Let the handshake timeout fire, as a real event loop would: it closes a connection
        // that is still waiting for bytes, and releases what the scheduled task holds.
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        _ = try? channel.finish()
        return (authenticated, placed.offered.load(ordering: .relaxed))
    }

    /// Inputs worth starting from, by name (`Fuzz/Seeds` holds them; a test checks they still
    /// match the handshake):
    /// - `echo`: the node's own hello and its own proof sent back to it (must be refused);
    /// - `worker-handshake`: a correct handshake of worker 1 followed by a heartbeat;
    /// - `forged-source`: the same handshake, then a frame in worker 2's name (must be refused).
    public static var seeds: [String: [UInt8]] {
        let echoTranscript = Handshake.Transcript(ours: nodeHello, theirs: nodeHello, ourRole: .listener)
        let nodeProof = Handshake.proof(token: fuzzToken, role: .listener, transcript: echoTranscript)
        // A heartbeat (runtime message kind 6) with sequence number 7.
        let heartbeat = WireFrame(kind: 6, payload: withUnsafeBytes(of: UInt64(7).littleEndian, Array.init))
        return [
            "echo": framed(nodeHello.bytes) + framed(nodeProof),
            "worker-handshake": workerHandshake(then: [(1, heartbeat)]),
            "forged-source": workerHandshake(then: [(2, heartbeat)]),
        ]
    }

    /// A correct handshake of worker 1, then `frames` to the node, each in the name of `source`.
    public static func workerHandshake(then frames: [(source: UInt32, frame: WireFrame)]) -> [UInt8] {
        let worker = Handshake.Hello(peer: PeerID(1), nonce: Array(repeating: 0x5A, count: 32))
        let transcript = Handshake.Transcript(ours: worker, theirs: nodeHello, ourRole: .dialer)
        let workerProof = Handshake.proof(token: fuzzToken, role: .dialer, transcript: transcript)
        return framed(worker.bytes) + framed(workerProof) + frames.flatMap { framed(routed(from: $0.source, to: 0) + $0.frame.encoded()) }
    }

    private static func framed(_ bytes: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(bytes.count).littleEndian, Array.init) + bytes
    }

    private static func routed(from source: UInt32, to destination: UInt32) -> [UInt8] {
        withUnsafeBytes(of: source.littleEndian, Array.init) + withUnsafeBytes(of: destination.littleEndian, Array.init)
    }

    private static let nodeHello = Handshake.Hello(peer: .driver, nonce: Array(repeating: 0xA5, count: 32))
    private static let fuzzToken = try! ClusterToken(bytes: Array(repeating: 7, count: 32))
}

/// A placement that checks the splitter's side of the contract: the pieces add up to exactly
/// the payload's length, and `finish` comes once, after the last of them.
private final class CheckedPlacement: PayloadPlacement {
    private let length: Int
    private var written = 0
    private var finished = false

    init(length: Int) { self.length = length }

    func write(_ piece: UnsafeRawBufferPointer) {
        precondition(!finished && written + piece.count <= length, "a placement was written past its payload")
        written += piece.count
    }

    func finish() {
        precondition(!finished && written == length, "a placement finished with \(written) of \(length) bytes")
        finished = true
    }
}

/// How many frames of one fed connection were offered for placement.
private final class PlacementCount: Sendable {
    let offered = Atomic<Int>(0)
}
