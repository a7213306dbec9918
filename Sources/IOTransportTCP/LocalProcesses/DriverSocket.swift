import IORuntime

#if canImport(Glibc)
    import Glibc
#endif

/// The Unix domain socket a driver's local workers connect to, in a fresh directory that only
/// this user can enter (mode 0700, from `mkdtemp`): another user on the host cannot even reach
/// the socket, and the token handshake still authenticates every connection.
struct DriverSocket: Sendable {
    let directory: String

    var path: String { directory + "/driver.sock" }

    /// A fresh directory under `temporary` (`TMPDIR` by default), or under `/tmp` when that is
    /// unset or too long for a socket path, which holds at most 107 bytes.
    static func make(under temporary: String? = getenv("TMPDIR").map { String(cString: $0) }) throws -> DriverSocket {
        var base = temporary ?? "/tmp"
        if base.isEmpty || base.utf8.count > 64 { base = "/tmp" }
        var template = Array("\(base)/iocompute-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ClusterError.startFailed("cannot create a socket folder under \(base): \(String(cString: strerror(errno)))")
        }
        return DriverSocket(directory: String(cString: made))
    }

    /// Removes the socket and its directory.
    func remove() {
        unlink(path)
        rmdir(directory)
    }
}
