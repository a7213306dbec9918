import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An object written to disk.
struct SpilledObject {
    let path: String
    let typeName: String
    let byteCount: Int
}

/// Writes objects to files in a private folder and reads them back.
final class SpillStore: Sendable {
    /// The folder, once there is one: the configured folder at once, a fresh temporary one at
    /// the first spill (a program that never spills, or exits without shutting its cluster
    /// down, leaves nothing behind).
    private let folder: Mutex<String?>

    /// A store in `directory`, or in a fresh folder under the temporary folder.
    init(directory: String?) throws(ClusterError) {
        if let directory, mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .invalidConfiguration("cannot create the spill folder \(directory): \(String(cString: strerror(errno)))")
        }
        folder = Mutex(directory)
    }

    /// The folder spilled objects go to, made the first time it is needed.
    private func directory(spilling id: ObjectID) throws(ClusterError) -> String {
        try folder.withLock { (folder) throws(ClusterError) -> String in
            if let folder { return folder }
            let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            var template = Array("\(base)/iocompute-spill-XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw .spillFailed(object: id, reason: "cannot create a spill folder under \(base): \(String(cString: strerror(errno)))")
            }
            folder = String(cString: made)
            return folder!
        }
    }

    /// Writes `payload` for `id`; returns where it went.
    func write(_ id: ObjectID, _ payload: Payload) throws(ClusterError) -> SpilledObject {
        let (typeName, bytes) = payload.encoded
        let path = "\(try directory(spilling: id))/\(id)"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .spillFailed(object: id, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var written = 0
        let failure: Int32 = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += count
            }
            return 0
        }
        guard failure == 0 else {
            unlink(path)
            throw .spillFailed(object: id, reason: String(cString: strerror(failure)))
        }
        return SpilledObject(path: path, typeName: typeName, byteCount: bytes.count)
    }

    /// Reads a spilled object back as bytes and removes its file.
    func restore(_ id: ObjectID, _ spilled: SpilledObject) throws(ClusterError) -> Payload {
        let descriptor = open(spilled.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .spillFailed(object: id, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: spilled.byteCount)
        var done = 0
        let failure: Int32 = bytes.withUnsafeMutableBytes { buffer in
            while done < buffer.count {
                let count = read(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if count == 0 { return EIO }
                done += count
            }
            return 0
        }
        guard failure == 0 else { throw .spillFailed(object: id, reason: String(cString: strerror(failure))) }
        unlink(spilled.path)
        return .bytes(typeName: spilled.typeName, bytes)
    }

    func remove(_ spilled: SpilledObject) { unlink(spilled.path) }

    /// Removes the folder and whatever is left in it.
    func removeAll() {
        guard let directory = folder.withLock({ $0 }) else { return }
        if let folder = opendir(directory) {
            while let entry = readdir(folder) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink("\(directory)/\(name)") }
            }
            closedir(folder)
        }
        rmdir(directory)
    }
}
