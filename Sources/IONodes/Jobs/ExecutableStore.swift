import Crypto
import Foundation
import IOTransportTCP

#if canImport(Glibc)
    import Glibc
#endif

/// Job executables kept by content: each under the hex SHA-256 of its bytes, written once, and
/// checked against that hash before it is stored. A node runs only an executable stored here, so
/// what runs is exactly what was submitted.
public struct ExecutableStore: Sendable {
    public let directory: String

    /// The largest executable accepted (1 GiB).
    public static let maximumSize = 1 << 30

    public init(directory: String) throws {
        self.directory = directory
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw TLSSetupError.fileProblem(path: directory, reason: String(cString: strerror(errno)))
        }
    }

    /// The hex SHA-256 of the file at `path`, and its size.
    public static func digest(ofFile path: String) throws -> (hash: String, size: Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TLSSetupError.fileProblem(path: path, reason: "cannot read it")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += chunk.count
        }
        return (hex(hasher.finalize()), size)
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `hash` names 32 bytes in lowercase hex (and so nothing else: no path).
    static func isValidHash(_ hash: String) -> Bool {
        hash.utf8.count == 64 && hash.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// The path of the stored executable `hash`, if it is stored.
    public func path(of hash: String) -> String? {
        guard Self.isValidHash(hash) else { return nil }
        let path = directory + "/" + hash
        return access(path, X_OK) == 0 ? path : nil
    }

    /// The part of the upload of `hash` received so far.
    private func partial(_ hash: String) -> String { directory + "/" + hash + ".part" }

    /// Writes `bytes` at `offset` of the upload of `hash`.
    func write(_ hash: String, offset: Int, bytes: [UInt8]) throws {
        guard Self.isValidHash(hash) else { throw ControlError.malformed("\"\(hash)\" is not a SHA-256") }
        guard offset >= 0, bytes.count <= Self.maximumSize, offset <= Self.maximumSize - bytes.count else {
            throw ControlError.malformed("an executable chunk at \(offset) of \(bytes.count) bytes passes the 1 GiB cap")
        }
        let descriptor = open(partial(hash), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw TLSSetupError.fileProblem(path: partial(hash), reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else {
            throw TLSSetupError.fileProblem(path: partial(hash), reason: String(cString: strerror(errno)))
        }
    }

    /// Checks the upload of `hash` (its size and its SHA-256) and stores it as an executable.
    ///
    /// - Throws: ``ControlError/refused(_:)`` when the bytes do not match: the upload is removed.
    func seal(_ hash: String, size: Int) throws {
        guard Self.isValidHash(hash) else { throw ControlError.malformed("\"\(hash)\" is not a SHA-256") }
        let part = partial(hash)
        let actual = try Self.digest(ofFile: part)
        guard actual.hash == hash, actual.size == size else {
            unlink(part)
            throw ControlError.refused("the executable's bytes do not match SHA-256 \(hash) (\(actual.size) bytes, \(actual.hash))")
        }
        chmod(part, 0o500)
        guard rename(part, directory + "/" + hash) == 0 else {
            throw TLSSetupError.fileProblem(path: part, reason: String(cString: strerror(errno)))
        }
    }

    /// Up to `length` bytes of the stored executable `hash` from `offset`.
    func read(_ hash: String, offset: Int, length: Int) throws -> [UInt8] {
        guard let path = path(of: hash) else { throw ControlError.refused("no executable \(hash) here") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TLSSetupError.fileProblem(path: path, reason: "cannot read it") }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(max(offset, 0)))
        return Array(try handle.read(upToCount: max(0, min(length, 1 << 20))) ?? Data())
    }

    /// The size of the stored executable `hash`.
    func size(of hash: String) -> Int? {
        guard let path = path(of: hash), let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return (attributes[.size] as? NSNumber)?.intValue
    }
}
