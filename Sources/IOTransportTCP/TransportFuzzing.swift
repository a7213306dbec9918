import IORuntime
import NIOCore
import NIOEmbedded

/// The fuzz target's way into a connection: untrusted bytes fed to the real pipeline (frame
/// decoder and handshake) on an in-memory channel. Not API; kept behind an SPI.
@_spi(Fuzzing)
public enum TransportFuzzing {
    /// Feeds `bytes` to a fresh connection as if a peer had sent them; it must close the
    /// connection or wait for more, never trap.
    public static func feedConnection(_ bytes: [UInt8]) {
        let transport = TCPTransport(localPeer: .driver, token: fuzzToken)
        let channel = EmbeddedChannel()
        let limit = FrameLimit(Handshake.maximumFrame)
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder(limit: limit)))
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(
                    localPeer: .driver, token: fuzzToken, limit: limit, maximumFrame: 1 << 20, handshakeTimeout: .seconds(5),
                    transport: transport, established: nil))
            channel.pipeline.fireChannelActive()
            var buffer = channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            try channel.writeInbound(buffer)
        } catch {
            // A rejected peer: the handler closed the channel, which is the expected outcome.
        }
        // Let the handshake timeout fire, as a real event loop would: it closes a connection
        // that is still waiting for bytes, and releases what the scheduled task holds.
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        _ = try? channel.finish()
    }

    private static let fuzzToken = try! ClusterToken(bytes: Array(repeating: 7, count: 32))
}
