import Foundation
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// What a node presents and trusts on a TLS connection: its certificate and private key, and the
/// certificate of the cluster authority that signed it (``ClusterAuthority/issue(node:hosts:validity:)``).
public struct NodeCredentials: Sendable, Equatable {
    /// The node's name on the cluster, as its certificate's common name says.
    public let node: String
    public let certificatePEM: String
    public let privateKeyPEM: String
    /// The cluster authority's certificate: the only one this node trusts.
    public let authorityPEM: String

    public init(node: String, certificatePEM: String, privateKeyPEM: String, authorityPEM: String) {
        self.node = node
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
        self.authorityPEM = authorityPEM
    }

    /// Whether `name` can name a node: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "-")
            }
    }

    /// Whether a certificate for node `certified` lets its holder be node `name`: the same name,
    /// or, for a pool certificate, `certified.` followed by a member's name (a certificate named
    /// `pool` admits `pool.node-7`, as a Kubernetes StatefulSet's pods share one certificate).
    public static func certificate(_ certified: String, covers name: String) -> Bool {
        name == certified || (name.hasPrefix(certified + ".") && name.count > certified.count + 1 && isValidName(name))
    }

    package static let certificateFile = "node.pem"
    package static let keyFile = "node-key.pem"
    package static let authorityFile = "authority.pem"

    /// Writes the three files into `directory` (created with mode 0700 if missing), each with
    /// mode 0600.
    public func write(to directory: String) throws {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw TLSSetupError.fileProblem(path: directory, reason: String(cString: strerror(errno)))
        }
        for (name, contents) in [(Self.certificateFile, certificatePEM), (Self.keyFile, privateKeyPEM), (Self.authorityFile, authorityPEM)]
        {
            try PrivateFile.write(contents, to: directory + "/" + name)
        }
    }

    /// Reads the files ``write(to:)`` wrote.
    ///
    /// - Throws: ``TLSSetupError/fileProblem(path:reason:)`` for a missing file or a key file that
    ///   others can read; ``TLSSetupError/invalidCredentials(_:)`` when the certificate does not
    ///   parse or has no node name.
    public static func read(from directory: String) throws -> NodeCredentials {
        let key = try PrivateFile.read(directory + "/" + keyFile, requirePrivate: true)
        let certificate = try PrivateFile.read(directory + "/" + certificateFile, requirePrivate: false)
        let authority = try PrivateFile.read(directory + "/" + authorityFile, requirePrivate: false)
        let parsed: Certificate
        do {
            parsed = try Certificate(pemEncoded: certificate)
        } catch {
            throw TLSSetupError.invalidCredentials("\(directory)/\(certificateFile) does not parse: \(error)")
        }
        guard let node = parsed.subject.commonName else {
            throw TLSSetupError.invalidCredentials("\(directory)/\(certificateFile) names no node")
        }
        return NodeCredentials(node: node, certificatePEM: certificate, privateKeyPEM: key, authorityPEM: authority)
    }
}

extension DistinguishedName {
    /// The first common name, if any.
    var commonName: String? {
        for name in self {
            for attribute in name where attribute.type == .RDNAttributeType.commonName {
                if let text = String(attribute.value) { return text }
            }
        }
        return nil
    }
}

/// Reads and writes small secret files: keys and tokens.
public enum PrivateFile {
    /// Writes `contents` to `path` with mode 0600, replacing the file atomically (a reader sees
    /// the old file or the new one, never part of either, and never a moment of wider mode).
    public static func write(_ contents: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw TLSSetupError.fileProblem(path: path, reason: String(cString: strerror(errno))) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                unlink(temporary)
                throw TLSSetupError.fileProblem(path: path, reason: reason)
            }
            written += count
        }
        fsync(descriptor)
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw TLSSetupError.fileProblem(path: path, reason: reason)
        }
    }

    /// Reads `path`; with `requirePrivate`, refuses a file that its group or others can read or
    /// write (as ssh does with keys).
    public static func read(_ path: String, requirePrivate: Bool) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw TLSSetupError.fileProblem(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw TLSSetupError.fileProblem(path: path, reason: String(cString: strerror(errno)))
        }
        if requirePrivate && info.st_mode & 0o077 != 0 {
            throw TLSSetupError.fileProblem(
                path: path, reason: "others can read or write it (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard info.st_size <= 1 << 20 else { throw TLSSetupError.fileProblem(path: path, reason: "larger than 1 MiB") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + done, $0.count - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            done += count
        }
        return String(decoding: bytes.prefix(done), as: UTF8.self)
    }
}
