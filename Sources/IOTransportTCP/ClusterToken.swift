import Crypto
import IORuntime
import Synchronization

/// The shared secret that nodes of one cluster prove they hold before anything else is read.
///
/// Generate one per cluster and hand it to every node out of band (an environment variable, a
/// file readable only by the cluster's user) — never on a command line, where other users can
/// read it. Its description is redacted so that it does not end up in logs.
public struct ClusterToken: Sendable, CustomStringConvertible {
    /// The secret's bytes (SymmetricKey is not Sendable in this swift-crypto; one is built per use).
    private let secret: [UInt8]

    var key: SymmetricKey { SymmetricKey(data: secret) }
    package var secretBytes: [UInt8] { secret }

    /// A fresh random 256-bit token.
    public static func generate() -> ClusterToken {
        ClusterToken(secret: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// The token from its bytes (at least 16).
    public init(bytes: [UInt8]) throws(TCPTransportError) {
        guard bytes.count >= 16 else { throw .invalidToken("a token needs at least 16 bytes, got \(bytes.count)") }
        secret = bytes
    }

    /// The token from its hexadecimal form (as ``hexadecimal`` writes it).
    public init(hexadecimal text: String) throws(TCPTransportError) {
        let characters = Array(text.utf8)
        guard characters.count % 2 == 0 else { throw .invalidToken("a hexadecimal token needs an even number of digits") }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: characters.count, by: 2) {
            guard let high = Self.nibble(characters[index]), let low = Self.nibble(characters[index + 1]) else {
                throw .invalidToken("not a hexadecimal digit")
            }
            bytes.append(high << 4 | low)
        }
        try self.init(bytes: bytes)
    }

    private init(secret: [UInt8]) { self.secret = secret }

    /// The token's hexadecimal form, to hand to other nodes.
    public var hexadecimal: String {
        secret.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    public var description: String { "ClusterToken(redacted)" }

    /// A token for one purpose, derived from this one (HMAC-SHA256 of `purpose` under this
    /// token): nodes that hold the cluster's token agree on it without it ever being sent, and
    /// knowing it reveals nothing of the cluster's token.
    public func derived(for purpose: String) -> ClusterToken {
        let code = HMAC<SHA256>.authenticationCode(for: Array(purpose.utf8), using: key)
        return ClusterToken(secret: Array(code))
    }

    /// The key with which peer `peer` proves its identity in a handshake: HMAC-SHA256 of
    /// "iocompute.peer/<id>" under this token. Each peer has its own, so a proof made for one
    /// ID never passes for another.
    func identityKey(of peer: PeerID) -> SymmetricKey {
        SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array("iocompute.peer/\(peer.rawValue)".utf8), using: key))
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// An error from the TCP transport.
public enum TCPTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A token is malformed.
    case invalidToken(String)
    /// The peer failed the handshake (wrong token, wrong protocol, or silence).
    case handshakeFailed(String)
    /// The connection closed.
    case connectionClosed
    /// A listener was asked for on a host other than loopback without TLS, where frames would
    /// cross a network in clear.
    case insecureListener(String)
    /// Nothing accepted the connection (nothing listens there, or the host is unreachable).
    case unreachable(address: String, reason: String)

    public var description: String {
        switch self {
        case .invalidToken(let reason): "invalid cluster token: \(reason)"
        case .handshakeFailed(let reason): "handshake failed: \(reason)"
        case .connectionClosed: "the connection closed"
        case .insecureListener(let host):
            "refusing to listen on \(host): without TLS this transport listens on loopback only (127.0.0.1, ::1, localhost)"
        case .unreachable(let address, let reason): "could not connect to \(address): \(reason)"
        }
    }
}
