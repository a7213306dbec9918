import Foundation
import IORuntime

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP client that speaks whatever bytes a test gives it.
///
/// Its reads block, so they run on a thread of their own: blocking a thread of the Swift
/// cooperative pool (two on a 2-core machine) would stall every other test in the process.
public struct RawPeer: Sendable {
    public let descriptor: Int32

    public init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TransportError.closed }
        // Long enough that a loaded machine (the whole suite runs in parallel, worker processes
        // training beside it) still sees the other side close; a healthy run returns at once.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads one length-prefixed frame's body; `nil` when the other side closed (or nothing
    /// came within the receive timeout).
    public func readFrame() async -> [UInt8]? {
        await onOwnThread { readFrameBlocking() }
    }

    private func readFrameBlocking() -> [UInt8]? {
        guard let prefix = read(exactly: 4) else { return nil }
        let length = Int(UInt32(prefix[0]) | UInt32(prefix[1]) << 8 | UInt32(prefix[2]) << 16 | UInt32(prefix[3]) << 24)
        return read(exactly: length)
    }

    /// Reads `count` bytes; `nil` when the other side closed first.
    public func read(exactly count: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while bytes.count < count {
            let got = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, count - bytes.count, 0) }
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { return nil }
            bytes += buffer[0..<got]
        }
        return bytes
    }

    /// Reads until the other side closes (true) or the receive timeout passes (false).
    public func closedByPeer() async -> Bool {
        await onOwnThread { closedByPeerBlocking() }
    }

    private func closedByPeerBlocking() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 && errno == EINTR { continue }  // a signal (a debugger attaching), not an answer
            if count < 0 { return errno == ECONNRESET }
        }
    }

    public func close() { _ = Glibc.close(descriptor) }
}

public func framed(_ body: [UInt8]) -> [UInt8] {
    withUnsafeBytes(of: UInt32(body.count).littleEndian) { Array($0) } + body
}
