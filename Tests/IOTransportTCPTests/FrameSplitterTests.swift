import IORuntime
import NIOCore
import NIOEmbedded
import Testing

@testable import IOTransportTCP

@Suite("Splitting a stream into frames")
struct FrameSplitterTests {
    /// The frames the splitter passes on when `stream` arrives in reads of `pieceSize` bytes, as
    /// bytes again, and how many came parsed.
    func splitCounting(_ stream: [UInt8], in pieceSize: Int, limit: Int = 1 << 20) throws -> (frames: [[UInt8]], parsed: Int) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameSplitter(rules: FrameRules(maximumLength: limit)))
        try feed(stream, in: pieceSize, to: channel)
        let result = try readFrames(from: channel)
        _ = try channel.finish()
        return result
    }

    func feed(_ stream: [UInt8], in pieceSize: Int, to channel: EmbeddedChannel) throws {
        var offset = 0
        while offset < stream.count {
            let end = min(offset + pieceSize, stream.count)
            var buffer = channel.allocator.buffer(capacity: end - offset)
            buffer.writeBytes(stream[offset..<end])
            try channel.writeInbound(buffer)
            offset = end
        }
    }

    func readFrames(from channel: EmbeddedChannel) throws -> (frames: [[UInt8]], parsed: Int) {
        var frames: [[UInt8]] = []
        var parsed = 0
        while let frame = try channel.readInbound(as: IncomingFrame.self) {
            switch frame {
            case .bytes(var bytes): frames.append(bytes.readBytes(length: bytes.readableBytes)!)
            case .routed(let source, let destination, let frame):
                parsed += 1
                frames.append(Self.route(source, destination) + frame.encoded())
            }
        }
        return (frames, parsed)
    }

    func split(_ stream: [UInt8], in pieceSize: Int, limit: Int = 1 << 20) throws -> [[UInt8]] {
        try splitCounting(stream, in: pieceSize, limit: limit).frames
    }

    static func route(_ source: UInt32, _ destination: UInt32) -> [UInt8] {
        withUnsafeBytes(of: source.littleEndian, Array.init) + withUnsafeBytes(of: destination.littleEndian, Array.init)
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

    @Test("a large routed frame comes parsed, its payload whole; a malformed one comes as bytes")
    func largeRouted() throws {
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let good = Self.route(1, 0) + WireFrame(kind: 12, metadata: ["trace": "abc"], payload: payload).encoded()
        // A header that claims one byte more than the frame holds.
        var lying = Self.route(1, 0) + WireFrame(kind: 12, payload: payload).encoded()
        lying.removeLast()
        let random = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let frames = [good, lying, random, good]
        for pieceSize in [1000, 4096, 65_536, 70_001] {
            let (split, parsed) = try splitCounting(framed(frames), in: pieceSize)
            #expect(split == frames, "reads of \(pieceSize) bytes")
            #expect(parsed == 2, "reads of \(pieceSize) bytes")
        }
        // Whole within one read, it is parsed too (its payload may be placed); a smaller one
        // comes as a slice.
        #expect(try splitCounting(framed([good]), in: 1 << 20).parsed == 1)
        let small = Self.route(1, 0) + WireFrame(kind: 12, payload: [UInt8](repeating: 1, count: 60_000)).encoded()
        #expect(try splitCounting(framed([small]), in: 1 << 20).parsed == 0)
    }

    @Test("a large frame from the authenticated peer goes to its placement piece by piece; others come whole")
    func placement() throws {
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 5) }
        let placed = Self.route(1, 0) + WireFrame(kind: 12, payload: payload).encoded()
        // The placer declines other kinds; frames in another peer's name or with metadata are
        // never offered to it.
        let declined = Self.route(1, 0) + WireFrame(kind: 6, payload: payload).encoded()
        let forged = Self.route(2, 0) + WireFrame(kind: 12, payload: payload).encoded()
        let traced = Self.route(1, 0) + WireFrame(kind: 12, metadata: ["trace": "t"], payload: payload).encoded()
        let small = Self.route(1, 0) + WireFrame(kind: 12, payload: [1, 2, 3]).encoded()
        let stream = framed([placed, declined, small, forged, placed, traced])
        for pieceSize in [1000, 16_384, 65_536, 262_147] {
            let log = PlacementLog()
            let rules = FrameRules(maximumLength: 1 << 20)
            rules.peer = PeerID(1)
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(
                FrameSplitter(rules: rules) { head, source, destination in
                    #expect(source == PeerID(1) && destination == .driver)
                    guard head.kind == 12 else { return nil }
                    #expect(head.payloadLength == payload.count && payload.starts(with: head.payloadPrefix))
                    return RecordingPlacement(log: log)
                })
            try feed(stream, in: pieceSize, to: channel)
            #expect(log.payloads == [payload, payload], "reads of \(pieceSize) bytes")
            #expect(log.pieces > 2, "reads of \(pieceSize) bytes")
            #expect(try readFrames(from: channel).frames == [declined, small, forged, traced], "reads of \(pieceSize) bytes")
            _ = try channel.finish()
        }
        // Before the handshake no peer is known, and nothing is placed.
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            FrameSplitter(rules: FrameRules(maximumLength: 1 << 20)) { _, _, _ in
                Issue.record("a frame was placed before the handshake")
                return nil
            })
        try feed(framed([placed]), in: 4096, to: channel)
        #expect(try readFrames(from: channel).frames == [placed])
        _ = try channel.finish()
    }

    @Test("a length over the limit fails the connection before anything is buffered; at the limit it passes")
    func limit() throws {
        let atLimit = [UInt8](repeating: 9, count: 64)
        #expect(try split(framed([atLimit]), in: 7, limit: 64) == [atLimit])
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameSplitter(rules: FrameRules(maximumLength: 64)))
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

/// What the placements of one test saw.
final class PlacementLog {
    var payloads: [[UInt8]] = []
    var pieces = 0
}

/// Gathers a placed payload and logs it when it finishes.
final class RecordingPlacement: PayloadPlacement {
    let log: PlacementLog
    var bytes: [UInt8] = []
    var finished = false

    init(log: PlacementLog) { self.log = log }

    func write(_ piece: UnsafeRawBufferPointer) {
        #expect(!finished)
        bytes.append(contentsOf: piece)
        log.pieces += 1
    }

    func finish() {
        #expect(!finished)
        finished = true
        log.payloads.append(bytes)
    }
}
