import IORuntime
import Testing

@testable import IOTransportTCP

#if canImport(Glibc)
    import Glibc
#endif

@Suite("the driver's Unix socket", .timeLimit(.minutes(1)))
struct DriverSocketTests {
    @Test("it lives in a fresh folder only its user can enter, and leaves nothing behind")
    func privateFolder() async throws {
        let socket = try DriverSocket.make()
        let other = try DriverSocket.make()
        #expect(socket.directory != other.directory)
        other.remove()
        var info = stat()
        #expect(stat(socket.directory, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
        #expect(socket.path.utf8.count < 108)

        let transport = TCPTransport(localPeer: .driver, token: ClusterToken.generate())
        try await transport.listen(unixSocket: socket.path)
        #expect(stat(socket.path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK)
        await transport.shutdown()
        socket.remove()
        #expect(stat(socket.directory, &info) != 0 && errno == ENOENT)
    }

    @Test("a TMPDIR too long for a socket path falls back to /tmp")
    func longTemporaryFolder() throws {
        let socket = try DriverSocket.make(under: "/" + String(repeating: "x", count: 120))
        defer { socket.remove() }
        #expect(socket.directory.hasPrefix("/tmp/iocompute-"))
    }
}
