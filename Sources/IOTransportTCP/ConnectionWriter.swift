import NIOCore
import Synchronization

/// The sending side of one authenticated connection. Frames from any thread are queued in the
/// order `send` is called and written by the connection's event loop together, with one flush
/// (one `writev`) per batch: order holds whichever thread sends — NIO writes at once from its own
/// loop but later from other threads, which could put a later frame first — and a burst of small
/// frames costs one system call and one wake-up instead of one each.
final class ConnectionWriter: Sendable {
    let channel: any Channel
    /// The node name the peer's TLS certificate gave, if the connection is TLS.
    let node: String?
    private struct Pending {
        var frames: [ByteBuffer] = []
        var flushScheduled = false
    }
    private let pending = Mutex(Pending())

    init(channel: any Channel, node: String? = nil) {
        self.channel = channel
        self.node = node
    }

    /// Queues `frame`; the event loop writes it after every frame queued before it.
    func send(_ frame: ByteBuffer) {
        let schedules = pending.withLock { pending in
            pending.frames.append(frame)
            guard !pending.flushScheduled else { return false }
            pending.flushScheduled = true
            return true
        }
        if schedules { channel.eventLoop.execute { self.flush() } }
    }

    /// Writes everything queued so far, in order, and flushes once. Runs on the event loop.
    private func flush() {
        let frames = pending.withLock { pending in
            pending.flushScheduled = false
            defer { pending.frames.removeAll(keepingCapacity: true) }
            return pending.frames
        }
        var unflushed = 0
        for frame in frames {
            channel.write(frame, promise: nil)
            unflushed += frame.readableBytes
            if unflushed >= 64 << 10 {
                channel.flush()
                unflushed = 0
            }
        }
        if unflushed > 0 { channel.flush() }
    }
}
