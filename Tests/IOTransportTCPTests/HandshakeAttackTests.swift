import ClusterTestSupport
import IORuntime
import NIOPosix
import Synchronization
import Testing

@_spi(Fuzzing) @testable import IOTransportTCP

#if canImport(Glibc)
    import Glibc
#endif

/// Attacks on the handshake and on the identity of peers, each of which must be refused while
/// the node goes on serving honest peers.
@Suite("TCP transport under attack", .timeLimit(.minutes(3)))
struct HandshakeAttackTests {
    /// A handshake timeout far longer than any of these tests, so that every refusal comes from
    /// the attack being seen through, never from a slow machine running out the clock.
    static let patient = TCPTransport.Configuration(handshakeTimeout: .seconds(60))

    @Test("a peer that echoes the node's own hello is refused before any proof is sent")
    func echoedHello() async throws {
        let head = try await Head(configuration: Self.patient)
        let peer = try RawPeer(port: head.port)
        let hello = try #require(await peer.readFrame())
        peer.send(framed(hello))
        #expect(await peer.readFrame() == nil, "no proof comes back, the connection closes")
        peer.close()
        #expect(head.transport.rejections.contains { $0.contains("echoed this node's own hello") })
        #expect(head.transport.connectedPeers.isEmpty)
        try await head.stillServes()
        await head.transport.shutdown()
    }

    @Test("a peer that claims the node's own ID is refused")
    func ownID() async throws {
        let head = try await Head(configuration: Self.patient)
        let peer = try RawPeer(port: head.port)
        _ = try #require(await peer.readFrame())
        peer.send(framed(Handshake.Hello.fresh(peer: .driver).bytes))
        #expect(await peer.closedByPeer())
        peer.close()
        #expect(head.transport.rejections.contains { $0.contains("own ID") })
        try await head.stillServes()
        await head.transport.shutdown()
    }

    /// The reflection attack on a challenge–response without roles: on two connections, the
    /// attacker gets the node to prove itself over the attacker's choice of nonces on one, and
    /// hands that proof back as its own on the other. Roles and identity keys in the proof stop it.
    @Test("a node's own proof, reflected from a second connection, does not authenticate")
    func reflectedProof() async throws {
        let head = try await Head(configuration: Self.patient)
        let first = try RawPeer(port: head.port)
        let second = try RawPeer(port: head.port)
        let hello1 = try Handshake.Hello(parsing: try #require(await first.readFrame()))
        let hello2 = try Handshake.Hello(parsing: try #require(await second.readFrame()))
        // On the first connection, a hello carrying the second connection's nonce: the node
        // answers with its proof over it.
        first.send(framed(Handshake.Hello(peer: PeerID(4), nonce: hello2.nonce).bytes))
        let nodeProof = try #require(await first.readFrame())
        #expect(nodeProof.count == Handshake.proofSize)
        // On the second, the first connection's nonce, and the node's own proof as ours.
        second.send(framed(Handshake.Hello(peer: PeerID(4), nonce: hello1.nonce).bytes))
        _ = await second.readFrame()  // the node's proof on this connection
        second.send(framed(nodeProof))
        #expect(await second.closedByPeer())
        first.close()
        second.close()
        #expect(head.transport.rejections.contains { $0.contains("failed authentication") })
        #expect(head.transport.connectedPeers.isEmpty)
        try await head.stillServes()
        await head.transport.shutdown()
    }

    @Test("a proof made with another peer's identity key does not authenticate")
    func proofForAnotherID() async throws {
        let head = try await Head(configuration: Self.patient)
        let peer = try RawPeer(port: head.port)
        let nodeHello = try Handshake.Hello(parsing: try #require(await peer.readFrame()))
        let claimed = Handshake.Hello.fresh(peer: PeerID(3))
        peer.send(framed(claimed.bytes))
        _ = await peer.readFrame()
        // A correct proof, but of peer 2 (over the same transcript): it must not pass for peer 3.
        let transcript = Handshake.Transcript(ours: claimed, theirs: nodeHello, ourRole: .dialer)
        let asPeer2 = Handshake.Transcript(
            ours: Handshake.Hello(peer: PeerID(2), nonce: claimed.nonce), theirs: nodeHello, ourRole: .dialer)
        #expect(
            Handshake.verify(
                Handshake.proof(token: head.token, role: .dialer, transcript: transcript), token: head.token, role: .dialer,
                transcript: transcript))
        peer.send(framed(Handshake.proof(token: head.token, role: .dialer, transcript: asPeer2)))
        #expect(await peer.closedByPeer())
        peer.close()
        #expect(head.transport.rejections.contains { $0.contains("worker-3 failed authentication") })
        await head.transport.shutdown()
    }

    @Test("an authenticated peer that sends a frame in another peer's name is dropped; the forged frame is not delivered")
    func forgedSource() async throws {
        let head = try await Head(configuration: Self.patient)
        let lost = Inbox()
        head.transport.onPeerLost { peer in lost.receive(WireFrame(kind: 0, payload: []), peer) }
        let liar = TCPTransport(localPeer: PeerID(1), token: head.token)
        try await liar.connect(host: "127.0.0.1", port: head.port)
        try liar.send(WireFrame(kind: 1, payload: [1]), from: PeerID(1), to: .driver)
        try await head.inbox.wait(for: 1)
        try liar.send(WireFrame(kind: 1, payload: [2]), from: PeerID(2), to: .driver)
        try await lost.wait(for: 1)
        #expect(lost.all.map(\.1) == [PeerID(1)])
        #expect(head.inbox.all.map(\.1) == [PeerID(1)], "only the honest frame arrived, from the authenticated peer")
        #expect(head.transport.rejections.contains { $0.contains("in the name of worker-2") })
        try await head.stillServes()
        await liar.shutdown()
        await head.transport.shutdown()
    }

    @Test("a second connection under an ID that is connected is refused; the first one keeps working")
    func duplicateID() async throws {
        let head = try await Head(configuration: Self.patient)
        let first = TCPTransport(localPeer: PeerID(1), token: head.token)
        try await first.connect(host: "127.0.0.1", port: head.port)
        while !head.transport.connectedPeers.contains(PeerID(1)) { try await Task.sleep(for: .milliseconds(2)) }
        // Even holding the token, a second process cannot take over worker 1's connection.
        let second = TCPTransport(localPeer: PeerID(1), token: head.token)
        await #expect(throws: TCPTransportError.self) { try await second.connect(host: "127.0.0.1", port: head.port) }
        #expect(head.transport.rejections.contains { $0.contains("worker-1 is already connected") })
        try first.send(WireFrame(kind: 1, payload: [7]), from: PeerID(1), to: .driver)
        try await head.inbox.wait(for: 1)
        #expect(head.inbox.all.first?.0.payload == [7])
        // Once the node lets it go (a replaced worker), the ID may connect again.
        head.transport.disconnect(PeerID(1))
        let third = TCPTransport(localPeer: PeerID(1), token: head.token)
        #expect(try await third.connect(host: "127.0.0.1", port: head.port) == .driver)
        for transport in [first, second, third] { await transport.shutdown() }
        await head.transport.shutdown()
    }

    @Test("a node that expects certain peers refuses any other ID")
    func unexpectedID() async throws {
        let token = ClusterToken.generate()
        let node = TCPTransport(localPeer: .driver, token: token, expectedPeers: [PeerID(1), PeerID(2)])
        let port = try await node.listen()
        let stranger = TCPTransport(localPeer: PeerID(3), token: token)
        await #expect(throws: TCPTransportError.self) { try await stranger.connect(host: "127.0.0.1", port: port) }
        #expect(node.rejections.contains { $0.contains("worker-3 is not a peer this node expects") })
        let expected = TCPTransport(localPeer: PeerID(2), token: token)
        #expect(try await expected.connect(host: "127.0.0.1", port: port) == .driver)
        for transport in [stranger, expected, node] { await transport.shutdown() }
    }

    @Test("connections past the cap on unfinished handshakes are closed at once")
    func handshakeCap() async throws {
        let head = try await Head(configuration: .init(handshakeTimeout: .seconds(30), maximumPendingHandshakes: 3))
        let silent = try (0..<3).map { _ in try RawPeer(port: head.port) }
        for peer in silent { _ = try #require(await peer.readFrame()) }  // each got its hello: counted
        let extra = try RawPeer(port: head.port)
        #expect(await extra.readFrame() == nil, "closed without a hello")
        extra.close()
        #expect(head.transport.rejections.contains { $0.contains("too many connections") })
        for peer in silent { peer.close() }
        // The closed ones free their places (once the head sees them close): an honest peer gets in again.
        while head.transport.pendingHandshakes > 0 { try await Task.sleep(for: .milliseconds(2)) }
        try await head.stillServes()
        await head.transport.shutdown()
    }

    @Test("without TLS, a transport refuses to listen anywhere but loopback")
    func loopbackOnly() async throws {
        let transport = TCPTransport(localPeer: .driver, token: ClusterToken.generate())
        await #expect(throws: TCPTransportError.insecureListener("0.0.0.0")) { try await transport.listen(host: "0.0.0.0") }
        #expect(try await transport.listen(host: "127.0.0.1") > 0)
        await transport.shutdown()
    }

    @Test("the fuzz seeds still drive the handshake: echo refused, honest worker in, forged source out")
    func fuzzSeeds() throws {
        let seeds = TransportFuzzing.seeds
        #expect(TransportFuzzing.feedConnection(try #require(seeds["worker-handshake"])))
        #expect(!TransportFuzzing.feedConnection(try #require(seeds["echo"])))
        #expect(!TransportFuzzing.feedConnection(try #require(seeds["forged-source"])))
        // A large frame spans reads and is parsed early (see FrameSplitter): the same rules hold.
        let large = WireFrame(kind: 6, payload: [UInt8](repeating: 3, count: 100_000))
        #expect(TransportFuzzing.feedConnection(TransportFuzzing.workerHandshake(then: [(1, large)])))
        #expect(!TransportFuzzing.feedConnection(TransportFuzzing.workerHandshake(then: [(2, large)])))
        // A large frame of the authenticated peer's is placed as it arrives; once the peer is
        // dropped (a forged frame just before, in the same read), nothing more of it is.
        let heartbeat = WireFrame(kind: 6, payload: withUnsafeBytes(of: UInt64(7).littleEndian, Array.init))
        #expect(TransportFuzzing.placements(feeding: TransportFuzzing.workerHandshake(then: [(1, large), (1, large)])) == 2)
        #expect(TransportFuzzing.placements(feeding: TransportFuzzing.workerHandshake(then: [(2, heartbeat), (1, large)])) == 0)
        // The committed copies are these bytes (regenerate with IOCOMPUTE_WRITE_SEEDS=1).
        let folder = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        for (name, bytes) in seeds {
            let path = "/\(folder)/Fuzz/Seeds/\(name)"
            if getenv("IOCOMPUTE_WRITE_SEEDS") != nil {
                let file = fopen(path, "wb")
                _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
                fclose(file)
            }
            #expect(Self.contents(of: path) == bytes, "Fuzz/Seeds/\(name) is stale")
        }
    }

    private static func contents(of path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }
}
