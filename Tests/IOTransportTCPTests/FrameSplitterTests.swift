import NIOCore
import NIOEmbedded
import Testing

@testable import IOTransportTCP

@Suite("Splitting a stream into frames")
struct FrameSplitterTests {
    /// The frames `splitter` passes on when `stream` arrives in reads of `pieceSize` bytes.
    func split(_ stream: [UInt8], in pieceSize: Int, limit: Int = 1 << 20) throws -> [[UInt8]] {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameSplitter(limit: FrameLimit(limit)))
        var offset = 0
        while offset < stream.count {
            let end = min(offset + pieceSize, stream.count)
            var buffer = channel.allocator.buffer(capacity: end - offset)
            buffer.writeBytes(stream[offset..<end])
            try channel.writeInbound(buffer)
            offset = end
        }
        var frames: [[UInt8]] = []
        while var frame = try channel.readInbound(as: ByteBuffer.self) { frames.append(frame.readBytes(length: frame.readableBytes)!) }
        _ = try channel.finish()
        return frames
    }

    func framed(_ frames: [[UInt8]]) -> [UInt8] {
        frames.flatMap { withUnsafeBytes(of: UInt32($0.count).littleEndian, Array.init) + $0 }
    }

    @Test("frames of any length come out whole and in order, however the stream is cut")
    func anyCut() throws {
        func frames(_ lengths: [Int]) -> [[UInt8]] {
            lengths.enumerated().map { index, length in (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) } }
        }
        // Byte by byte and in small reads: prefixes and frames cut everywhere.
        let small = frames([0, 1, 3, 4, 5, 100, 0, 700, 2])
        for pieceSize in [1, 2, 3, 5, 64] {
            #expect(try split(framed(small), in: pieceSize) == small, "reads of \(pieceSize) bytes")
        }
        // Large frames across reads, and several frames within one.
        let large = frames([70_000, 0, 300_000, 2, 5, 262_144])
        let stream = framed(large)
        for pieceSize in [4093, 65_536, 262_147, stream.count] {
            #expect(try split(stream, in: pieceSize) == large, "reads of \(pieceSize) bytes")
        }
    }

    @Test("a length over the limit fails the connection before anything is buffered; at the limit it passes")
    func limit() throws {
        let atLimit = [UInt8](repeating: 9, count: 64)
        #expect(try split(framed([atLimit]), in: 7, limit: 64) == [atLimit])
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameSplitter(limit: FrameLimit(64)))
        var buffer = channel.allocator.buffer(capacity: 70)
        buffer.writeBytes(framed([[UInt8](repeating: 1, count: 65)]))
        #expect(throws: FrameTooLarge.self) { try channel.writeInbound(buffer) }
        // Nothing after the refusal is read.
        var more = channel.allocator.buffer(capacity: 8)
        more.writeBytes(framed([[1, 2, 3, 4]]))
        try channel.writeInbound(more)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        _ = try? channel.finish()
    }
}
