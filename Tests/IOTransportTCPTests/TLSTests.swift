import ClusterTestSupport
import IORuntime
import IOTransportTCP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A transport for `peer` with TLS from `credentials`.
private func node(
    _ peer: PeerID, _ credentials: NodeCredentials, token: ClusterToken,
    admits: (@Sendable (TransportTLS.PeerIdentity) -> Bool)? = nil
) throws -> TCPTransport {
    let tls = try TransportTLS(credentials: credentials, admits: admits)
    return TCPTransport(localPeer: peer, token: token, configuration: .init(handshakeTimeout: .seconds(10), tls: tls))
}

/// Waits until `transport` logged a refusal (the suite's time limit bounds it).
private func refusal(on transport: TCPTransport) async throws -> String {
    while transport.rejections.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
    return transport.rejections.joined(separator: " | ")
}

@Suite("mutual TLS between nodes", .timeLimit(.minutes(3)))
struct TLSTests {
    let authority: ClusterAuthority
    let token = ClusterToken.generate()

    init() throws { authority = try ClusterAuthority.create() }

    @Test("nodes whose certificates the cluster authority signed exchange frames and know each other's node names")
    func exchange() async throws {
        let head = try node(.driver, try authority.issue(node: "head", hosts: ["127.0.0.1", "head.example"]), token: token)
        let inbox = Inbox()
        try await head.register(.driver) { frame, source in inbox.receive(frame, source) }
        // With TLS a node may listen beyond loopback.
        let port = try await head.listen(host: "0.0.0.0", port: 0)
        let worker = try node(PeerID(1), try authority.issue(node: "node-b"), token: token)
        let workerInbox = Inbox()
        try await worker.register(PeerID(1)) { frame, source in workerInbox.receive(frame, source) }
        #expect(try await worker.connect(host: "127.0.0.1", port: port) == .driver)
        let large = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for index in 0..<20 { try worker.send(WireFrame(kind: 3, payload: [UInt8(index)]), from: PeerID(1), to: .driver) }
        try worker.send(WireFrame(kind: 3, payload: large), from: PeerID(1), to: .driver)
        try await inbox.wait(for: 21)
        #expect(inbox.all.prefix(20).map { $0.0.payload } == (0..<20).map { [UInt8($0)] })
        #expect(inbox.all.last?.0.payload == large)
        try head.send(WireFrame(kind: 1, payload: [9]), from: .driver, to: PeerID(1))
        try await workerInbox.wait(for: 1)
        #expect(head.nodeName(of: PeerID(1)) == "node-b")
        #expect(worker.nodeName(of: .driver) == "head")
        await worker.shutdown()
        await head.shutdown()
    }

    @Test("a certificate from another authority, an expired one, and a plain TCP peer are refused; the head keeps serving")
    func strangers() async throws {
        let head = try node(.driver, try authority.issue(node: "head"), token: token)
        let inbox = Inbox()
        try await head.register(.driver) { frame, source in inbox.receive(frame, source) }
        let port = try await head.listen(host: "127.0.0.1", port: 0)

        let otherAuthority = try ClusterAuthority.create()
        let stranger = try node(PeerID(1), try otherAuthority.issue(node: "node-b"), token: token)
        await #expect(throws: (any Error).self) { try await stranger.connect(host: "127.0.0.1", port: port) }
        #expect(head.connectedPeers.isEmpty)
        await stranger.shutdown()

        let expired = try node(PeerID(2), try authority.issue(node: "node-c", validity: .seconds(-60)), token: token)
        await #expect(throws: (any Error).self) { try await expired.connect(host: "127.0.0.1", port: port) }
        #expect(head.connectedPeers.isEmpty)
        await expired.shutdown()

        // A peer without TLS: its hello is not a TLS record.
        let plain = TCPTransport(localPeer: PeerID(3), token: token, configuration: .init(handshakeTimeout: .seconds(10)))
        await #expect(throws: (any Error).self) { try await plain.connect(host: "127.0.0.1", port: port) }
        await plain.shutdown()
        let noise = try RawPeer(port: port)
        noise.send([UInt8](repeating: 0x16, count: 64) + (0..<512).map { UInt8(truncatingIfNeeded: $0) })
        #expect(await noise.closedByPeer())
        noise.close()
        #expect(head.connectedPeers.isEmpty)
        _ = try await refusal(on: head)

        // The head still serves a node of its own cluster.
        let member = try node(PeerID(4), try authority.issue(node: "node-d"), token: token)
        #expect(try await member.connect(host: "127.0.0.1", port: port) == .driver)
        try member.send(WireFrame(kind: 1, payload: [1]), from: PeerID(4), to: .driver)
        try await inbox.wait(for: 1)
        await member.shutdown()
        await head.shutdown()
    }

    @Test("a node with the right certificate but the wrong token is refused")
    func wrongToken() async throws {
        let head = try node(.driver, try authority.issue(node: "head"), token: token)
        let port = try await head.listen(host: "127.0.0.1", port: 0)
        let impostor = try node(PeerID(1), try authority.issue(node: "node-b"), token: ClusterToken.generate())
        await #expect(throws: (any Error).self) { try await impostor.connect(host: "127.0.0.1", port: port) }
        #expect(head.connectedPeers.isEmpty)
        await impostor.shutdown()
        await head.shutdown()
    }

    @Test("the admission rule decides which node may speak as which peer")
    func admission() async throws {
        let head = try node(.driver, try authority.issue(node: "head"), token: token) { identity in
            identity.peer == PeerID(1) && identity.node == "node-b"
        }
        let port = try await head.listen(host: "127.0.0.1", port: 0)
        let wrongNode = try node(PeerID(1), try authority.issue(node: "node-c"), token: token)
        await #expect(throws: (any Error).self) { try await wrongNode.connect(host: "127.0.0.1", port: port) }
        #expect(try await refusal(on: head).contains("node node-c may not connect as worker-1"))
        await wrongNode.shutdown()
        let rightNode = try node(PeerID(1), try authority.issue(node: "node-b"), token: token)
        #expect(try await rightNode.connect(host: "127.0.0.1", port: port) == .driver)
        #expect(head.nodeName(of: PeerID(1)) == "node-b")
        await rightNode.shutdown()
        await head.shutdown()
    }

    @Test("credentials round-trip through PEM and files; bad ones give typed errors")
    func credentials() throws {
        let saved = try ClusterAuthority(certificatePEM: authority.certificatePEM, privateKeyPEM: authority.privateKeyPEM)
        let issued = try saved.issue(node: "node-b")
        _ = try TransportTLS(credentials: issued)
        #expect(throws: TLSSetupError.invalidNodeName("bad name")) { try authority.issue(node: "bad name") }
        #expect(throws: TLSSetupError.invalidNodeName("")) { try authority.issue(node: "") }

        // Another authority's key does not load with this certificate.
        let other = try ClusterAuthority.create()
        #expect(throws: TLSSetupError.self) {
            try ClusterAuthority(certificatePEM: authority.certificatePEM, privateKeyPEM: other.privateKeyPEM)
        }
        #expect(throws: TLSSetupError.self) { try ClusterAuthority(certificatePEM: "garbage", privateKeyPEM: "garbage") }
        // A node certificate presented with an authority that did not sign it.
        let mixed = NodeCredentials(
            node: issued.node, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM,
            authorityPEM: other.certificatePEM)
        #expect(throws: TLSSetupError.self) { try TransportTLS(credentials: mixed) }
        // A key that is not the certificate's.
        let stolen = NodeCredentials(
            node: issued.node, certificatePEM: issued.certificatePEM, privateKeyPEM: try authority.issue(node: "x").privateKeyPEM,
            authorityPEM: issued.authorityPEM)
        #expect(throws: TLSSetupError.self) { try TransportTLS(credentials: stolen) }

        var template = Array("/tmp/iocompute-tls-XXXXXX".utf8CString)
        let directory = String(cString: try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        defer {
            for name in ["node.pem", "node-key.pem", "authority.pem"] { unlink(directory + "/" + name) }
            rmdir(directory)
        }
        try issued.write(to: directory)
        var info = stat()
        #expect(stat(directory + "/node-key.pem", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try NodeCredentials.read(from: directory) == issued)
        chmod(directory + "/node-key.pem", 0o644)
        #expect(throws: TLSSetupError.self) { try NodeCredentials.read(from: directory) }
        #expect(throws: TLSSetupError.self) { try NodeCredentials.read(from: directory + "/missing") }
    }
}
