import IORuntime
import NIOCore
import NIOSSL
import Synchronization
import X509

/// Mutual TLS 1.3 for a ``TCPTransport``: the node presents its certificate, and a peer must
/// present one signed by the same cluster authority, whichever side dials. The token handshake
/// still runs inside the TLS session, so a peer needs both a certificate and the cluster token.
///
/// A peer's identity is its certificate's node name (see ``TCPTransport/nodeName(of:)``); set
/// ``admits`` to decide which node may speak as which peer.
public struct TransportTLS: Sendable {
    /// This node's name, from its certificate.
    public let node: String
    let serverContext: NIOSSLContext
    let clientContext: NIOSSLContext
    /// Whether the node named by a verified certificate may connect as `peer`; `nil` admits
    /// every node the authority signed.
    public var admits: (@Sendable (_ peer: PeerIdentity) -> Bool)?

    /// A peer as its handshake and its certificate name it.
    public struct PeerIdentity: Sendable, Equatable {
        public let peer: PeerID
        public let node: String
    }

    /// TLS with `credentials`.
    ///
    /// - Throws: ``TLSSetupError/invalidCredentials(_:)`` when a certificate or the key does not
    ///   parse, the key is not the certificate's, or the certificate was not signed by the
    ///   authority it carries.
    public init(credentials: NodeCredentials, admits: (@Sendable (_ peer: PeerIdentity) -> Bool)? = nil) throws {
        let certificate: NIOSSLCertificate
        let key: NIOSSLPrivateKey
        let authority: NIOSSLCertificate
        do {
            certificate = try NIOSSLCertificate(bytes: Array(credentials.certificatePEM.utf8), format: .pem)
            key = try NIOSSLPrivateKey(bytes: Array(credentials.privateKeyPEM.utf8), format: .pem)
            authority = try NIOSSLCertificate(bytes: Array(credentials.authorityPEM.utf8), format: .pem)
        } catch {
            throw TLSSetupError.invalidCredentials("the node's certificate, key or authority does not parse: \(error)")
        }
        try Self.check(credentials)
        var server = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: [.certificate(certificate)], privateKey: .privateKey(key), trustRoots: .certificates([authority]))
        server.minimumTLSVersion = .tlsv13
        var client = TLSConfiguration.makeClientConfiguration()
        client.minimumTLSVersion = .tlsv13
        client.certificateChain = [.certificate(certificate)]
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates([authority])
        // Nodes are reached by address and known by the name in their certificate, which the
        // transport checks after the handshake; the authority is this cluster's alone.
        client.certificateVerification = .noHostnameVerification
        do {
            serverContext = try NIOSSLContext(configuration: server)
            clientContext = try NIOSSLContext(configuration: client)
        } catch {
            throw TLSSetupError.invalidCredentials("the key does not match the certificate: \(error)")
        }
        node = credentials.node
        self.admits = admits
    }

    /// Checks that the authority signed the node's certificate and that it names the node.
    private static func check(_ credentials: NodeCredentials) throws {
        let certificate: Certificate
        let authority: Certificate
        do {
            certificate = try Certificate(pemEncoded: credentials.certificatePEM)
            authority = try Certificate(pemEncoded: credentials.authorityPEM)
        } catch {
            throw TLSSetupError.invalidCredentials("\(error)")
        }
        guard certificate.issuer == authority.subject, authority.publicKey.isValidSignature(certificate.signature, for: certificate)
        else {
            throw TLSSetupError.invalidCredentials("the node's certificate was not signed by the authority it came with")
        }
        guard certificate.subject.commonName == credentials.node else {
            throw TLSSetupError.invalidCredentials(
                "the certificate names \(certificate.subject.commonName ?? "no node"), not \(credentials.node)")
        }
    }

    /// The node name in a certificate a TLS handshake verified.
    static func nodeName(of certificate: NIOSSLCertificate) -> String? {
        guard let bytes = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: bytes) else { return nil }
        return parsed.subject.commonName
    }
}

/// A process's place on a cluster of machines: its node's TLS, and the address other machines
/// reach it at. Connections that higher layers open between a cluster's processes (collectives)
/// listen on every interface and dial with it.
public struct NodeTLSIdentity: Sendable {
    public let tls: TransportTLS
    public let host: String

    public init(tls: TransportTLS, host: String) {
        self.tls = tls
        self.host = host
    }
}
