import Crypto
import IORuntime

/// The first two frames each side of a connection sends: a hello, then a proof.
///
/// hello = magic "IOCP" (4 bytes) · protocol version (2) · the sender's peer ID (4) · a fresh
/// 32-byte random nonce. proof = HMAC-SHA256(token, label · the receiver's nonce · the sender's
/// nonce · the sender's peer ID). Each side proves it holds the token against a nonce the other
/// just chose, so a recorded handshake cannot be replayed, and checks the other's proof in
/// constant time. Nothing else is read before both proofs check out.
enum Handshake {
    static let magic: [UInt8] = Array("IOCP".utf8)
    static let version: UInt16 = 1
    static let label: [UInt8] = Array("iocompute-handshake-v1".utf8)
    static let helloSize = 4 + 2 + 4 + 32
    static let proofSize = 32
    /// Frames longer than this are refused before the handshake completes.
    static let maximumFrame = 64

    struct Hello {
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

    /// The proof that `prover` holds `token`, bound to both nonces.
    static func proof(token: ClusterToken, verifierNonce: [UInt8], proverNonce: [UInt8], prover: PeerID) -> [UInt8] {
        var message = label + verifierNonce + proverNonce
        withUnsafeBytes(of: prover.rawValue.littleEndian) { message.append(contentsOf: $0) }
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: token.key))
    }

    /// Whether `proof` is valid, compared in constant time.
    static func verify(_ proof: [UInt8], token: ClusterToken, verifierNonce: [UInt8], proverNonce: [UInt8], prover: PeerID) -> Bool {
        var message = label + verifierNonce + proverNonce
        withUnsafeBytes(of: prover.rawValue.littleEndian) { message.append(contentsOf: $0) }
        return HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: message, using: token.key)
    }
}
