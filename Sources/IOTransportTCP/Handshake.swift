import Crypto
import IORuntime

/// The first two frames each side of a connection sends: a hello, then a proof.
///
/// hello = magic "IOCP" (4 bytes) · protocol version (2) · the sender's peer ID (4) · a fresh
/// 32-byte random nonce.
///
/// proof = HMAC-SHA256(the sender's identity key, label · the sender's role · the dialer's hello
/// · the listener's hello), where a peer's identity key is HMAC-SHA256(cluster token,
/// "iocompute.peer/<id>") (``ClusterToken/identityKey(of:)``).
///
/// So each proof is bound to everything the connection agreed on: who dialed and who listened,
/// both peer IDs and both nonces. That closes the attacks a plain challenge–response leaves
/// open:
/// - *reflection*: a peer that echoes a node's own hello and then its own proof fails, because
///   the echoed proof carries the other role (and a hello carrying the node's own ID or nonce is
///   refused before any proof is sent);
/// - *replay*: a recorded proof is bound to nonces that will not come again;
/// - *impersonation by ID*: a proof made for one peer ID does not check for another, since each
///   ID has its own key.
/// Proofs are compared in constant time, and nothing else is read before both check out.
enum Handshake {
    static let magic: [UInt8] = Array("IOCP".utf8)
    static let version: UInt16 = 2
    static let label: [UInt8] = Array("iocompute-handshake-v2".utf8)
    static let helloSize = 4 + 2 + 4 + 32
    static let proofSize = 32
    /// Frames longer than this are refused before the handshake completes.
    static let maximumFrame = 64

    /// Which end of the connection a side is.
    enum Role: UInt8 {
        /// The side that connected.
        case dialer = 1
        /// The side that accepted.
        case listener = 2

        var other: Role { self == .dialer ? .listener : .dialer }
    }

    struct Hello: Equatable {
        let peer: PeerID
        let nonce: [UInt8]

        static func fresh(peer: PeerID) -> Hello {
            var generator = SystemRandomNumberGenerator()
            return Hello(peer: peer, nonce: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }

        var bytes: [UInt8] {
            var result = magic
            withUnsafeBytes(of: version.littleEndian) { result.append(contentsOf: $0) }
            withUnsafeBytes(of: peer.rawValue.littleEndian) { result.append(contentsOf: $0) }
            return result + nonce
        }

        init(peer: PeerID, nonce: [UInt8]) {
            self.peer = peer
            self.nonce = nonce
        }

        /// Parses a hello, saying what is wrong with one that is not.
        init(parsing bytes: [UInt8]) throws(TCPTransportError) {
            guard bytes.count == helloSize else { throw .handshakeFailed("a hello of \(bytes.count) bytes, expected \(helloSize)") }
            guard Array(bytes[0..<4]) == magic else { throw .handshakeFailed("not an IOCompute peer (bad magic number)") }
            let version = UInt16(bytes[4]) | UInt16(bytes[5]) << 8
            guard version == Handshake.version else {
                throw .handshakeFailed("protocol version \(version), this node speaks \(Handshake.version)")
            }
            let peer = UInt32(bytes[6]) | UInt32(bytes[7]) << 8 | UInt32(bytes[8]) << 16 | UInt32(bytes[9]) << 24
            self.init(peer: PeerID(peer), nonce: Array(bytes[10...]))
        }
    }

    /// Both hellos in a fixed order (the dialer's first), as both sides see them.
    struct Transcript {
        let dialer: Hello
        let listener: Hello

        init(ours: Hello, theirs: Hello, ourRole: Role) {
            dialer = ourRole == .dialer ? ours : theirs
            listener = ourRole == .dialer ? theirs : ours
        }

        /// What `role`'s proof authenticates.
        func message(provenBy role: Role) -> [UInt8] {
            label + [role.rawValue] + dialer.bytes + listener.bytes
        }

        /// The hello of the side in `role`.
        func hello(of role: Role) -> Hello { role == .dialer ? dialer : listener }
    }

    /// Why `theirs` must be refused before anything is proved to it, or `nil` when it may go on:
    /// a hello that repeats ours (an echo) or claims our own ID.
    static func refusal(ours: Hello, theirs: Hello) -> String? {
        if theirs.nonce == ours.nonce { return "the peer echoed this node's own hello" }
        if theirs.peer == ours.peer { return "the peer claims this node's own ID \(ours.peer)" }
        return nil
    }

    /// The proof that the side in `role` holds its identity key, over `transcript`.
    static func proof(token: ClusterToken, role: Role, transcript: Transcript) -> [UInt8] {
        let key = token.identityKey(of: transcript.hello(of: role).peer)
        return Array(HMAC<SHA256>.authenticationCode(for: transcript.message(provenBy: role), using: key))
    }

    /// Whether `proof` is the side in `role`'s, compared in constant time.
    static func verify(_ proof: [UInt8], token: ClusterToken, role: Role, transcript: Transcript) -> Bool {
        guard proof.count == proofSize else { return false }
        let key = token.identityKey(of: transcript.hello(of: role).peer)
        return HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: transcript.message(provenBy: role), using: key)
    }
}
