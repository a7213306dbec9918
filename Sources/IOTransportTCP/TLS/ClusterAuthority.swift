import Crypto
import Foundation
import SwiftASN1
import X509

/// The certificate authority of one cluster. It signs one certificate per node, and nodes
/// accept TLS connections only from peers whose certificate it signed: a machine on the same
/// network without such a certificate cannot even reach the token handshake.
///
/// ```swift
/// let authority = try ClusterAuthority.create()
/// let head = try authority.issue(node: "head", hosts: ["10.0.0.1"])
/// let transport = TCPTransport(localPeer: .driver, token: token,
///                              configuration: .init(tls: try TransportTLS(credentials: head)))
/// ```
///
/// Keys are ECDSA P-256. The authority's private key signs certificates only; keep it on the
/// head (``NodeCredentials/write(to:)`` writes files with mode 0600).
public struct ClusterAuthority: Sendable {
    /// The authority's self-signed certificate, which every node trusts.
    public let certificate: Certificate
    private let key: Certificate.PrivateKey

    /// A new authority named `name`, valid for `validity` from now.
    public static func create(
        name: String = "IOCompute cluster authority", validity: Duration = .seconds(10 * 365 * 86_400)
    ) throws -> ClusterAuthority {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let subject = try DistinguishedName {
            OrganizationName("IOCompute")
            CommonName(name)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now - 300, notValidAfter: now + validity.timeInterval, issuer: subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            },
            issuerPrivateKey: key)
        return ClusterAuthority(certificate: certificate, key: key)
    }

    /// The authority saved as PEM by ``certificatePEM`` and ``privateKeyPEM``.
    ///
    /// - Throws: ``TLSSetupError/invalidCredentials(_:)`` when either does not parse, or the key
    ///   is not the certificate's.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
            key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
        } catch {
            throw TLSSetupError.invalidCredentials("the cluster authority does not parse: \(error)")
        }
        guard certificate.publicKey == key.publicKey else {
            throw TLSSetupError.invalidCredentials("the authority's private key does not belong to its certificate")
        }
    }

    private init(certificate: Certificate, key: Certificate.PrivateKey) {
        self.certificate = certificate
        self.key = key
    }

    public var certificatePEM: String { (try? certificate.serializeAsPEM().pemString) ?? "" }
    public var privateKeyPEM: String { (try? key.serializeAsPEM().pemString) ?? "" }

    /// A certificate for node `node` (its identity on the cluster), usable to accept and to make
    /// connections, with `hosts` (names or IP addresses) as its subject alternative names.
    ///
    /// - Throws: ``TLSSetupError/invalidNodeName(_:)`` for a name outside `[A-Za-z0-9._-]{1,64}`.
    public func issue(node: String, hosts: [String] = [], validity: Duration = .seconds(365 * 86_400)) throws -> NodeCredentials {
        guard NodeCredentials.isValidName(node) else { throw TLSSetupError.invalidNodeName(node) }
        let nodeKey = P256.Signing.PrivateKey()
        let now = Date()
        let names = hosts.map { host -> GeneralName in
            if let address = IPAddressBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: address.bytes[...])) }
            return .dnsName(host)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(nodeKey.publicKey),
            notValidBefore: now - 300, notValidAfter: now + validity.timeInterval, issuer: self.certificate.subject,
            subject: try DistinguishedName {
                OrganizationName("IOCompute")
                CommonName(node)
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: key)
        return NodeCredentials(
            node: node, certificatePEM: try certificate.serializeAsPEM().pemString, privateKeyPEM: nodeKey.pemRepresentation,
            authorityPEM: try self.certificate.serializeAsPEM().pemString)
    }
}

/// Why TLS could not be set up.
public enum TLSSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A certificate or key that does not parse or does not match.
    case invalidCredentials(String)
    /// A node name outside `[A-Za-z0-9._-]{1,64}`.
    case invalidNodeName(String)
    /// A credentials file that could not be read or written, or is readable by others.
    case fileProblem(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidCredentials(let reason): "invalid TLS credentials: \(reason)"
        case .invalidNodeName(let name): "\"\(name)\" is not a node name (1 to 64 of A-Z a-z 0-9 . _ -)"
        case .fileProblem(let path, let reason): "\(path): \(reason)"
        }
    }
}

/// The four or sixteen bytes of a textual IP address.
struct IPAddressBytes {
    let bytes: [UInt8]

    init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let parts = components
        return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) * 1e-18
    }
}
