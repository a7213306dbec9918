#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file reads and atomic writes with POSIX calls, reporting failures as ``TensorIOError``.
enum FileAccess {
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// The bytes of the file at `path`.
    static func read(_ path: String) throws(TensorIOError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT { throw .fileNotFound(path: path) }
            throw .readFailed(path: path, reason: errorText(code))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .readFailed(path: path, reason: errorText(errno)) }
        if (status.st_mode & S_IFMT) == S_IFDIR { throw .readFailed(path: path, reason: "it is a directory") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(status.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .readFailed(path: path, reason: errorText(errno))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Writes `bytes` to `path` through a temporary file and a rename, so that a reader never
    /// sees a half-written file.
    static func write(_ bytes: [UInt8], to path: String) throws(TensorIOError) {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw .writeFailed(path: path, reason: errorText(errno)) }
        var written = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                written += count
            }
        }
        if failure == 0 && fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure != 0 {
            unlink(temporary)
            throw .writeFailed(path: path, reason: errorText(failure))
        }
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw .writeFailed(path: path, reason: errorText(code))
        }
    }
}
