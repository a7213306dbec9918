import Foundation
import IOTransportTCP

#if canImport(Glibc)
    import Glibc
#endif

/// The folder where a machine keeps what it needs to be a node (mode 0700): the cluster token,
/// the node's certificate and key, the authority's certificate, and — on the head only — the
/// authority's key. Also the process ID and address of the node running here, for
/// `iocompute stop` and `iocompute status`.
///
/// The default is `$IOCOMPUTE_HOME`, else `~/.iocompute`.
public struct StateDirectory: Sendable {
    public let path: String

    public init(path: String? = nil) {
        if let path {
            self.path = path
        } else if let home = ProcessInfo.processInfo.environment["IOCOMPUTE_HOME"], !home.isEmpty {
            self.path = home
        } else {
            self.path = (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.iocompute"
        }
    }

    var tokenFile: String { path + "/token" }
    var authorityKeyFile: String { path + "/authority-key.pem" }
    var processFile: String { path + "/node.pid" }
    var addressFile: String { path + "/head.address" }
    var headNameFile: String { path + "/head-name" }

    /// The node name of the cluster's head, as `credentials issue` recorded it (`nil` when not).
    public var headName: String? {
        (try? PrivateFile.read(headNameFile, requirePrivate: false))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Records the head's node name in the node folder at `folder`.
    public static func recordHeadName(_ name: String, in folder: String) throws {
        try PrivateFile.write(name + "\n", to: folder + "/head-name")
    }

    /// Creates the folder (0700) if it is missing.
    public func create() throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw TLSSetupError.fileProblem(path: path, reason: String(cString: strerror(errno)))
        }
    }

    // MARK: The token

    /// The cluster token from `file`, else from `IOCOMPUTE_TOKEN`, else from this folder.
    public func token(file: String? = nil) throws -> ClusterToken {
        let text: String
        if let file {
            text = try PrivateFile.read(file, requirePrivate: true)
        } else if let environment = ProcessInfo.processInfo.environment["IOCOMPUTE_TOKEN"], !environment.isEmpty {
            text = environment
        } else {
            text = try PrivateFile.read(tokenFile, requirePrivate: true)
        }
        do {
            return try ClusterToken(hexadecimal: text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw TLSSetupError.invalidCredentials("the cluster token does not parse: \(error)")
        }
    }

    /// The token as ``token(file:)`` finds it, or a new one written to this folder (0600) when
    /// there is none. The token is never printed.
    public func tokenCreatingIfMissing(file: String? = nil) throws -> ClusterToken {
        if file != nil || ProcessInfo.processInfo.environment["IOCOMPUTE_TOKEN"].map({ !$0.isEmpty }) == true
            || access(tokenFile, F_OK) == 0
        {
            return try token(file: file)
        }
        let token = ClusterToken.generate()
        try PrivateFile.write(token.hexadecimal + "\n", to: tokenFile)
        return token
    }

    // MARK: Certificates

    /// The node credentials kept here.
    public func credentials() throws -> NodeCredentials { try NodeCredentials.read(from: path) }

    /// Whether node credentials are kept here.
    public var hasCredentials: Bool { access(path + "/" + NodeCredentials.certificateFile, F_OK) == 0 }

    /// The cluster authority kept here (a head's), created on first use.
    public func authorityCreatingIfMissing() throws -> ClusterAuthority {
        if access(authorityKeyFile, F_OK) == 0 {
            return try ClusterAuthority(
                certificatePEM: try PrivateFile.read(path + "/" + NodeCredentials.authorityFile, requirePrivate: false),
                privateKeyPEM: try PrivateFile.read(authorityKeyFile, requirePrivate: true))
        }
        let authority = try ClusterAuthority.create()
        try PrivateFile.write(authority.privateKeyPEM, to: authorityKeyFile)
        try PrivateFile.write(authority.certificatePEM, to: path + "/" + NodeCredentials.authorityFile)
        return authority
    }

    /// The cluster authority of the head started from this folder.
    ///
    /// - Throws: `TLSSetupError.fileProblem` when this folder is not a head's.
    public func authorityFromHead() throws -> ClusterAuthority {
        guard access(authorityKeyFile, F_OK) == 0 else {
            throw TLSSetupError.fileProblem(
                path: authorityKeyFile, reason: "missing: certificates are issued on the head, from its state folder")
        }
        return try authorityCreatingIfMissing()
    }

    // MARK: The running node

    /// Records the running node's process ID (and, on a head, its address) in a file this
    /// process holds locked while it lives: the kernel releases the lock when the process ends,
    /// however it ends, so a stale file never blocks the next start.
    ///
    /// - Throws: `TLSSetupError.fileProblem` when another node runs from here.
    public func recordRunning() throws {
        let descriptor = open(processFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw TLSSetupError.fileProblem(path: processFile, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw TLSSetupError.fileProblem(path: processFile, reason: "another node runs from this folder")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        // The descriptor stays open (and locked) until the process exits.
    }

    /// Records the address of the head running from this folder.
    public func recordHeadAddress(_ address: String) throws {
        try PrivateFile.write(address + "\n", to: addressFile)
    }

    public func clearRunning() {
        unlink(processFile)
    }

    /// The process ID of the node running from this folder, if one runs.
    public var runningProcess: Int32? {
        let descriptor = open(processFile, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        // A shared lock is granted only when no running node holds the file.
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        return Int32(String(decoding: bytes.prefix(max(count, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The address of the head started from this folder, if one was.
    public var headAddress: String? {
        (try? PrivateFile.read(addressFile, requirePrivate: false))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
