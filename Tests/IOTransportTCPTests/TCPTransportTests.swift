import ClusterTestSupport
import Dispatch
import IORuntime
import IOTransportTCP
import NIOPosix
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Collects the frames delivered to one endpoint.
final class Inbox: Sendable {
    private let frames = Mutex<[(WireFrame, PeerID)]>([])
    func receive(_ frame: WireFrame, _ source: PeerID) { frames.withLock { $0.append((frame, source)) } }
    var count: Int { frames.withLock { $0.count } }
    var all: [(WireFrame, PeerID)] { frames.withLock { $0 } }

    /// Waits until `count` frames arrived (the suite's time limit bounds it).
    func wait(for count: Int) async throws {
        while self.count < count { try await Task.sleep(for: .milliseconds(5)) }
    }
}

/// A listening head and a helper to check that it still serves an honest worker.
struct Head {
    let transport: TCPTransport
    let port: Int
    let inbox = Inbox()
    let token: ClusterToken

    init(configuration: TCPTransport.Configuration = .init(handshakeTimeout: .seconds(5))) async throws {
        token = ClusterToken.generate()
        transport = TCPTransport(localPeer: .driver, token: token, configuration: configuration)
        let inbox = self.inbox
        try await transport.register(.driver) { frame, source in inbox.receive(frame, source) }
        port = try await transport.listen()
    }

    /// Worker IDs for honest checks, a fresh one each time (a closed connection's ID may not be
    /// free again at once).
    private static let honestIDs = Atomic<UInt32>(100)

    /// Connects an honest worker, sends one frame, and checks that it arrives.
    func stillServes() async throws {
        let worker = Self.honestIDs.add(1, ordering: .relaxed).newValue
        let before = inbox.count
        let client = TCPTransport(localPeer: PeerID(worker), token: token)
        #expect(try await client.connect(host: "127.0.0.1", port: port) == .driver)
        try client.send(WireFrame(kind: 1, payload: [1, 2, 3]), from: PeerID(worker), to: .driver)
        try await inbox.wait(for: before + 1)
        #expect(inbox.count == before + 1)
        await client.shutdown()
    }
}

@Suite("TCP transport", .timeLimit(.minutes(3)))
struct TCPTransportTests {
    @Test("authenticated peers exchange frames both ways, in order, up to large payloads")
    func exchange() async throws {
        let head = try await Head()
        let worker = TCPTransport(localPeer: PeerID(1), token: head.token)
        let workerInbox = Inbox()
        try await worker.register(PeerID(1)) { frame, source in workerInbox.receive(frame, source) }
        #expect(try await worker.connect(host: "127.0.0.1", port: head.port) == .driver)
        for index in 0..<100 {
            try worker.send(WireFrame(kind: 3, metadata: ["n": "\(index)"], payload: [UInt8(index)]), from: PeerID(1), to: .driver)
        }
        let large = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try worker.send(WireFrame(kind: 3, payload: large), from: PeerID(1), to: .driver)
        try await head.inbox.wait(for: 101)
        let received = head.inbox.all
        #expect(received.count == 101)
        #expect(received.prefix(100).map { $0.0.metadata["n"] } == (0..<100).map { Optional("\($0)") })
        #expect(received.last?.0.payload == large)
        #expect(received.allSatisfy { $0.1 == PeerID(1) })
        // And back: the head reaches the worker over the same connection.
        try head.transport.send(WireFrame(kind: 1, payload: [42]), from: .driver, to: PeerID(1))
        try await workerInbox.wait(for: 1)
        #expect(workerInbox.all.first?.0.payload == [42])
        #expect(throws: TransportError.self) { try head.transport.send(WireFrame(kind: 1, payload: []), from: .driver, to: PeerID(77)) }
        await worker.shutdown()
        await head.transport.shutdown()
    }

    @Test("a Unix socket carries frames both ways after the handshake, and a wrong token is refused there too")
    func unixSocket() async throws {
        let head = try await Head()
        var template = Array("/tmp/iocompute-test-XXXXXX".utf8CString)
        let directory = String(cString: try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        defer { rmdir(directory) }
        let path = directory + "/head.sock"
        defer { unlink(path) }
        try await head.transport.listen(unixSocket: path)

        let intruder = TCPTransport(localPeer: PeerID(2), token: ClusterToken.generate())
        await #expect(throws: TCPTransportError.self) { try await intruder.connect(unixSocket: path) }
        #expect(head.transport.connectedPeers.isEmpty)

        let worker = TCPTransport(localPeer: PeerID(1), token: head.token)
        let workerInbox = Inbox()
        try await worker.register(PeerID(1)) { frame, source in workerInbox.receive(frame, source) }
        #expect(try await worker.connect(unixSocket: path) == .driver)
        for index in 0..<50 { try worker.send(WireFrame(kind: 3, payload: [UInt8(index)]), from: PeerID(1), to: .driver) }
        try await head.inbox.wait(for: 50)
        #expect(head.inbox.all.map { $0.0.payload } == (0..<50).map { [UInt8($0)] })
        try head.transport.send(WireFrame(kind: 1, payload: [42]), from: .driver, to: PeerID(1))
        try await workerInbox.wait(for: 1)
        #expect(workerInbox.all.first?.0.payload == [42])
        // The connection's event loop runs work handed to its delivery executor.
        let executor = try #require(worker.deliveryExecutor(for: .driver))
        #expect(worker.deliveryExecutor(for: .driver) === executor)
        #expect(worker.deliveryExecutor(for: PeerID(9)) == nil)
        let ranOnLoop = await Task(executorPreference: executor) { MultiThreadedEventLoopGroup.currentEventLoop != nil }.value
        #expect(ranOnLoop)
        await intruder.shutdown()
        await worker.shutdown()
        await head.transport.shutdown()
    }

    @Test("a peer with the wrong token is refused and the node keeps serving")
    func wrongToken() async throws {
        let head = try await Head()
        let intruder = TCPTransport(localPeer: PeerID(2), token: ClusterToken.generate())
        await #expect(throws: TCPTransportError.self) { try await intruder.connect(host: "127.0.0.1", port: head.port) }
        // Whichever side checks the other's proof first closes: the head either refused the
        // proof or saw the intruder leave mid-handshake.
        while head.transport.rejections.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
        #expect(head.transport.rejections.contains { $0.contains("wrong cluster token") || $0.contains("during the handshake") })
        #expect(head.transport.connectedPeers.isEmpty)
        try await head.stillServes()
        await intruder.shutdown()
        await head.transport.shutdown()
    }

    @Test(
        "random bytes, a bad version, an oversized length and silence are each dropped",
        arguments: ["garbage", "version", "oversized", "stall"])
    func hostilePeers(kind: String) async throws {
        let head = try await Head()
        let peer = try RawPeer(port: head.port)
        switch kind {
        case "garbage":
            var generator = SystemRandomNumberGenerator()
            peer.send(framed((0..<42).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        case "version":
            peer.send(framed(Array("IOCP".utf8) + [9, 0] + [1, 0, 0, 0] + Array(repeating: 7, count: 32)))
        case "oversized":
            peer.send([0xFF, 0xFF, 0xFF, 0x7F] + Array(repeating: 0, count: 1000))
        default:
            break  // connect and say nothing
        }
        #expect(await peer.closedByPeer(), "the head should close the connection")
        peer.close()
        let reasons = head.transport.rejections.joined(separator: " | ")
        switch kind {
        case "version": #expect(reasons.contains("protocol version 9"))
        case "oversized": #expect(reasons.contains("exceeds"))
        case "stall": #expect(reasons.contains("no handshake"))
        default: #expect(!reasons.isEmpty)
        }
        try await head.stillServes()
        await head.transport.shutdown()
    }

    @Test("a frame over the cap after the handshake drops that connection only")
    func oversizedAfterHandshake() async throws {
        let head = try await Head(configuration: .init(maximumFrameSize: 1 << 20, handshakeTimeout: .seconds(2)))
        let lost = Inbox()
        head.transport.onPeerLost { peer in lost.receive(WireFrame(kind: 0, payload: []), peer) }
        let big = TCPTransport(localPeer: PeerID(3), token: head.token, configuration: .init(maximumFrameSize: 8 << 20))
        try await big.connect(host: "127.0.0.1", port: head.port)
        try big.send(WireFrame(kind: 1, payload: Array(repeating: 1, count: 2 << 20)), from: PeerID(3), to: .driver)
        try await lost.wait(for: 1)
        #expect(lost.all.first?.1 == PeerID(3))
        #expect(head.inbox.count == 0)
        try await head.stillServes()
        await big.shutdown()
        await head.transport.shutdown()
    }

    @Test("the loss of a connected peer is reported")
    func peerLoss() async throws {
        let head = try await Head()
        let lost = Inbox()
        head.transport.onPeerLost { peer in lost.receive(WireFrame(kind: 0, payload: []), peer) }
        let worker = TCPTransport(localPeer: PeerID(5), token: head.token)
        try await worker.connect(host: "127.0.0.1", port: head.port)
        while !head.transport.connectedPeers.contains(PeerID(5)) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(head.transport.connectedPeers.contains(PeerID(5)))
        await worker.shutdown()
        try await lost.wait(for: 1)
        #expect(lost.all.map(\.1) == [PeerID(5)])
        await head.transport.shutdown()
    }

    @Test("tokens round-trip through hexadecimal and never print")
    func tokens() throws {
        let token = ClusterToken.generate()
        #expect(try ClusterToken(hexadecimal: token.hexadecimal).hexadecimal == token.hexadecimal)
        #expect(token.hexadecimal.count == 64)
        #expect(!"\(token)".contains(token.hexadecimal))
        #expect(throws: TCPTransportError.self) { try ClusterToken(hexadecimal: "abc") }
        #expect(throws: TCPTransportError.self) { try ClusterToken(bytes: [1, 2, 3]) }
        // Derived tokens: the same for the same purpose, different across purposes and tokens.
        let again = try ClusterToken(hexadecimal: token.hexadecimal)
        #expect(token.derived(for: "a").hexadecimal == again.derived(for: "a").hexadecimal)
        #expect(token.derived(for: "a").hexadecimal != token.derived(for: "b").hexadecimal)
        #expect(token.derived(for: "a").hexadecimal != ClusterToken.generate().derived(for: "a").hexadecimal)
        #expect(token.derived(for: "a").hexadecimal != token.hexadecimal)
    }

    @Test("a sender that waits for room goes at a stalled reader's pace instead of queueing everything")
    func backPressure() async throws {
        let configuration = TCPTransport.Configuration(handshakeTimeout: .seconds(5), writeBufferHighWaterMark: 256 << 10)
        let head = try await Head(configuration: configuration)
        // The reader has its own event loop, which it blocks on the first frame: it stops reading.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let gate = DispatchSemaphore(value: 0)
        let received = Atomic<Int>(0)
        let reader = TCPTransport(localPeer: PeerID(1), token: head.token, configuration: configuration, group: group)
        try await reader.register(PeerID(1)) { _, _ in
            if received.add(1, ordering: .relaxed).newValue == 1 { gate.wait() }
        }
        #expect(try await reader.connect(host: "127.0.0.1", port: head.port) == .driver)
        // The head registers the connection when its side of the handshake ends, a moment after
        // the reader's side does.
        while !head.transport.connectedPeers.contains(PeerID(1)) { try await Task.sleep(for: .milliseconds(5)) }
        // At most the kernel's loopback buffers (the most both ends may grow to) and the high-water
        // mark can hold frames while the reader stalls; send twice that.
        let frameBytes = 64 << 10
        let buffered = Self.largestSocketBuffer("tcp_rmem") + Self.largestSocketBuffer("tcp_wmem") + (256 << 10)
        // Half as much again: one machine let 45 MiB through against limits adding up to 36 MiB (the
        // kernel counts buffer memory, not payload, against them), so the bound is a sanity check
        // that the sender stopped long before the end of the stream, not a measure of the kernel.
        let mostWhileStalled = buffered * 3 / 2 / frameBytes + 16  // and what the reader took in before it stalled
        let frames = max(2000, 2 * mostWhileStalled)
        let frame = WireFrame(kind: 1, payload: [UInt8](repeating: 7, count: frameBytes))
        let sent = Atomic<Int>(0)
        let sender = Task {
            for _ in 0..<frames {
                try await head.transport.waitUntilWritable(to: PeerID(1))
                try head.transport.send(frame, from: .driver, to: PeerID(1))
                sent.add(1, ordering: .relaxed)
            }
        }
        // Held back by the socket buffers plus the high-water mark, not by the stream's length
        // (without waiting, all 2,000 frames queue at once). How much the kernel buffers on
        // loopback differs between machines, so the check is that the sender stops and stays
        // stopped, not at which frame.
        var whileStalled = -1
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(250))
            let now = sent.load(ordering: .relaxed)
            if now == whileStalled { break }
            whileStalled = now
        }
        try await Task.sleep(for: .milliseconds(250))
        #expect(sent.load(ordering: .relaxed) == whileStalled, "the sender kept going while the reader stalled")
        #expect(whileStalled > 0 && whileStalled <= mostWhileStalled, "\(whileStalled) frames went while the reader stalled")
        #expect(!head.transport.isWritable(to: PeerID(1)))
        gate.signal()
        try await sender.value
        while received.load(ordering: .relaxed) < frames { try await Task.sleep(for: .milliseconds(5)) }
        #expect(received.load(ordering: .relaxed) == frames)
        // Waiting on a peer that is not connected, or on a closed transport, is an error.
        await #expect(throws: TransportError.unknownPeer(PeerID(7))) { try await head.transport.waitUntilWritable(to: PeerID(7)) }
        await reader.shutdown()
        await head.transport.shutdown()
        await #expect(throws: TransportError.closed) { try await head.transport.waitUntilWritable(to: PeerID(1)) }
        try await group.shutdownGracefully()
    }
}

extension TCPTransportTests {
    /// The largest size the kernel lets a loopback socket buffer grow to (the third number of
    /// `/proc/sys/net/ipv4/<name>`), or 32 MiB where that cannot be read.
    static func largestSocketBuffer(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/\(name)", encoding: .utf8),
            let largest = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).last.flatMap({ Int($0) })
        else { return 32 << 20 }
        return largest
    }
}
