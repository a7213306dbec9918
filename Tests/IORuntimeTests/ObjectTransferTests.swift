import CChecksum
import Synchronization
import Testing

@testable import IORuntime

@Suite("object transfer", .timeLimit(.minutes(3)))
struct ObjectTransferTests {
    /// Chunks of `bytes` as a holder would send them.
    static func chunks(of bytes: [UInt8], id: ObjectID) async throws -> [ObjectChunk] {
        let collector = ChunkCollector()
        try await ObjectTransfer.sendChunks(of: id, typeName: "[UInt8]", bytes: bytes, through: collector, to: .driver)
        #expect(collector.waits.load(ordering: .relaxed) == collector.chunks.withLock { $0.count }, "each chunk waits for room")
        return collector.chunks.withLock { $0 }
    }

    /// Receives chunks as a connection would, through the codec.
    final class ChunkCollector: MessageSending, ChunkSending, Sendable {
        let chunks = Mutex<[ObjectChunk]>([])
        let waits = Atomic<Int>(0)
        func send(_ message: RuntimeMessage, from source: PeerID, to destination: PeerID) {}
        func waitUntilWritable(to destination: PeerID) async throws { waits.add(1, ordering: .relaxed) }
        func trySendChunk(_ chunk: ObjectChunk, to destination: PeerID) throws {
            // As a network transport sends it: the header, then the bytes as they are.
            let frame = WireFrame(kind: RuntimeMessage.Kind.objectChunk.rawValue, payload: chunk.encodedHeader + Array(chunk.bytes))
            guard case .objectChunk(let decoded) = try RuntimeMessage(frame: WireFrame(decoding: frame.encoded())) else { return }
            #expect(RuntimeMessage.objectChunk(chunk).frame().payload == frame.payload)
            #expect(decoded.checksum == chunk.checksum)
            chunks.withLock { $0.append(decoded) }
        }
    }

    @Test("CRC-32C matches the standard check value and a bitwise reference")
    func checksum() {
        let check = Array("123456789".utf8)
        #expect(check.withUnsafeBytes { ObjectTransfer.checksum($0) } == 0xE306_9283)
        var bytes: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        func reference(_ data: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in data {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            return ~crc
        }
        for length in [0, 1, 7, 8, 9, 63, 1000] {
            let slice = Array(bytes[0..<length])
            #expect(slice.withUnsafeBytes { ObjectTransfer.checksum($0) } == reference(slice))
        }
        bytes[500] ^= 1
        #expect(
            bytes.withUnsafeBytes { ObjectTransfer.checksum($0) }
                != reference(Array(bytes.indices).map { $0 == 500 ? bytes[$0] ^ 1 : bytes[$0] }))
    }

    @Test("CRC-32C over long runs (three interleaved streams) equals the table's, at every length and alignment around a block")
    func longChecksum() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let (block, short) = (3 * 4096, 3 * 512)
        bytes.withUnsafeBytes { raw in
            for start in [0, 1, 3, 8] {
                for length in [
                    short - 1, short, short + 1, 2 * short + 9, block - 1, block, block + 1, block + 8, block + short + 5, 2 * block + 7,
                    ObjectTransfer.chunkSize, 300_000 - 8,
                ] {
                    let piece = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    #expect(
                        ObjectTransfer.checksum(piece) == iocompute_crc32c_portable(0, piece.baseAddress, piece.count),
                        "\(length) bytes from \(start)")
                }
            }
            // Continuing from an earlier CRC is the CRC of the whole.
            let whole = iocompute_crc32c_portable(0, raw.baseAddress, raw.count)
            let first = iocompute_crc32c(0, raw.baseAddress, 100_003)
            #expect(iocompute_crc32c(first, raw.baseAddress! + 100_003, raw.count - 100_003) == whole)
        }
    }

    @Test("copying with the CRC copies every byte, touches nothing past the end, and gives the table's CRC")
    func checksumWhileCopying() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let (block, short) = (3 * 4096, 3 * 512)
        bytes.withUnsafeBytes { raw in
            for (start, target) in [(0, 0), (1, 0), (3, 5), (8, 1)] {
                for length in [
                    0, 1, 7, 9, short - 1, short, 2 * short + 3, block - 1, block, block + 13, block + short + 5, 2 * block + 7, 90_000,
                ] {
                    let source = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    var destination = [UInt8](repeating: 0xA5, count: target + length + 16)
                    let crc = destination.withUnsafeMutableBytes { out in
                        iocompute_crc32c_copy(7, out.baseAddress! + target, source.baseAddress, length)
                    }
                    #expect(crc == iocompute_crc32c_portable(7, source.baseAddress, length), "\(length) bytes from \(start)")
                    #expect(Array(destination[target..<(target + length)]) == Array(source), "\(length) bytes from \(start)")
                    #expect(destination[..<target].allSatisfy { $0 == 0xA5 } && destination[(target + length)...].allSatisfy { $0 == 0xA5 })
                }
            }
        }
    }

    /// How chunks reach a puller: decoded from a whole frame, or placed as a connection reads
    /// them (large frames over TCP), in pieces of the given size.
    enum Delivery: CustomTestStringConvertible, Sendable {
        case whole
        case placed(pieceSize: Int)

        var testDescription: String {
            switch self {
            case .whole: "whole frames"
            case .placed(let size): "placed in pieces of \(size) bytes"
            }
        }

        static let all: [Delivery] = [.whole, .placed(pieceSize: 1000), .placed(pieceSize: 65_536)]

        /// Hands `chunk` from `source` to `puller` this way. A chunk the puller does not place
        /// arrives whole, as a transport delivers a frame no placement took.
        func deliver(_ chunk: ObjectChunk, to puller: ObjectPuller, from source: PeerID) {
            guard case .placed(let pieceSize) = self else { return puller.receive(chunk, from: source) }
            let payload = chunk.encodedHeader + Array(chunk.bytes)
            let head = IncomingFrameHead(
                kind: RuntimeMessage.Kind.objectChunk.rawValue, payloadPrefix: Array(payload.prefix(500)), payloadLength: payload.count)
            guard let placement = puller.placement(for: head, from: source) else { return puller.receive(chunk, from: source) }
            placement.place(payload, inPiecesOf: pieceSize)
        }
    }

    @Test("a pull assembles chunks in any order, and every caller shares one request", arguments: Delivery.all)
    func assemblesAndDeduplicates(delivery: Delivery) async throws {
        let bytes = (0..<(ObjectTransfer.chunkSize * 2 + 12345)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let id = ObjectID(session: 1, sequence: 1)
        let requests = Atomic<Int>(0)
        let puller = ObjectPuller(request: { _, _, _ in requests.add(1, ordering: .relaxed) })
        async let first = puller.pull(id, from: PeerID(1))
        async let second = puller.pull(id, from: PeerID(1))
        try await waitUntil { puller.callers(of: id) == 2 }
        for chunk in try await Self.chunks(of: bytes, id: id).reversed() { delivery.deliver(chunk, to: puller, from: PeerID(1)) }
        let payloads = try await [first, second]
        for payload in payloads {
            guard case .shared(let typeName, let received) = payload else { Issue.record("not assembled bytes"); continue }
            #expect(typeName == "[UInt8]" && Array(received.bytes) == bytes && !received.isLoan)
            #expect(Int(bitPattern: received.bytes.baseAddress!) % 64 == 0, "aligned, so that tensors can borrow")
        }
        #expect(requests.load(ordering: .relaxed) == 1)
    }

    @Test("a redirected pull takes chunks only from its new holder, checks the size it was told, and fails only on its word")
    func redirects() async throws {
        let bytes = (0..<(ObjectTransfer.chunkSize + 100)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let id = ObjectID(session: 1, sequence: 9)
        let chunks = try await Self.chunks(of: bytes, id: id)
        let puller = ObjectPuller(request: { _, _, _ in })
        let pull = Task { try await puller.pull(id, from: .driver) }
        try await waitUntil { puller.isPulling(id) }
        // The driver says worker-2 holds it; a chunk from elsewhere, or a refusal from the
        // driver, no longer counts.
        #expect(puller.redirect(id, from: .driver, to: PeerID(2), expectedBytes: bytes.count))
        #expect(!puller.redirect(id, from: .driver, to: PeerID(3), expectedBytes: nil))
        puller.receive(chunks[0], from: .driver)
        puller.fail(id, ClusterError.objectLost(id), from: .driver)
        #expect(puller.progress(of: id)! == (PeerID(2), 0))
        // Worker-2 sends part of it, then stalls: back to the driver, starting over.
        puller.receive(chunks[0], from: PeerID(2))
        #expect(puller.progress(of: id)! == (PeerID(2), ObjectTransfer.chunkSize))
        #expect(puller.redirect(id, from: PeerID(2), to: .driver, expectedBytes: nil))
        puller.receive(chunks[1], from: PeerID(2))
        #expect(puller.progress(of: id)! == (.driver, 0))
        for chunk in chunks { puller.receive(chunk, from: .driver) }
        guard case .shared(_, let received) = try await pull.value else {
            Issue.record("not assembled")
            return
        }
        #expect(Array(received.bytes) == bytes)

        // A holder told to have 10 bytes that sends more fails the pull.
        let sized = ObjectID(session: 1, sequence: 10)
        let sizedPull = Task { try await puller.pull(sized, from: .driver) }
        try await waitUntil { puller.isPulling(sized) }
        #expect(puller.redirect(sized, from: .driver, to: PeerID(2), expectedBytes: 10))
        puller.receive(try await Self.chunks(of: bytes, id: sized)[0], from: PeerID(2))
        await #expect(throws: ClusterError.self) { try await sizedPull.value }
    }

    @Test("a chunk placed while its pull moves to another holder is dropped, its memory kept until it is done")
    func placementOutlivesItsPull() async throws {
        let bytes = (0..<(ObjectTransfer.chunkSize * 2)).map { UInt8(truncatingIfNeeded: $0 &* 5) }
        let id = ObjectID(session: 1, sequence: 11)
        let chunks = try await Self.chunks(of: bytes, id: id)
        let puller = ObjectPuller(request: { _, _, _ in })
        let pull = Task { try await puller.pull(id, from: PeerID(1)) }
        try await waitUntil { puller.isPulling(id) }
        func start(_ chunk: ObjectChunk, from source: PeerID) throws -> (any PayloadPlacement, [UInt8]) {
            let payload = chunk.encodedHeader + Array(chunk.bytes)
            let head = IncomingFrameHead(
                kind: RuntimeMessage.Kind.objectChunk.rawValue, payloadPrefix: payload, payloadLength: payload.count)
            return (try #require(puller.placement(for: head, from: source)), payload)
        }
        // Half of the first chunk from worker-1 is in when the pull moves to worker-2.
        let (stale, stalePayload) = try start(chunks[0], from: PeerID(1))
        stalePayload.withUnsafeBytes { stale.write(UnsafeRawBufferPointer(rebasing: $0[..<1000])) }
        #expect(puller.redirect(id, from: PeerID(1), to: PeerID(2), expectedBytes: bytes.count))
        // Worker-1's chunks are no longer placed, and the one under way counts for nothing.
        #expect(
            puller.placement(
                for: IncomingFrameHead(kind: 12, payloadPrefix: stalePayload, payloadLength: stalePayload.count), from: PeerID(1)) == nil)
        stalePayload.withUnsafeBytes { stale.write(UnsafeRawBufferPointer(rebasing: $0[1000...])) }
        stale.finish()
        #expect(puller.progress(of: id)! == (PeerID(2), 0))
        // Worker-2's chunks complete it.
        for chunk in chunks {
            let (placement, payload) = try start(chunk, from: PeerID(2))
            payload.withUnsafeBytes { placement.write($0) }
            placement.finish()
        }
        guard case .shared(_, let received) = try await pull.value else {
            Issue.record("not assembled")
            return
        }
        #expect(Array(received.bytes) == bytes)
    }

    @Test("a chunk sent without a checksum has it computed as its bytes are written into the frame")
    func checksumWhileSending() async throws {
        let transport = InProcessTransport()
        let frames = Mutex<[WireFrame]>([])
        try await transport.register(.driver) { frame, _ in frames.withLock { $0.append(frame) } }
        // Several blocks of three interleaved streams and a partial one.
        let bytes = (0..<(3 * 3 * 4096 * 3 + 1234)).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 3) }
        let id = ObjectID(session: 1, sequence: 13)
        let chunk = ObjectChunk(id: id, typeName: "[UInt8]", totalCount: bytes.count, offset: 0, checksum: nil, bytes: ArraySlice(bytes))
        try chunk.send(through: transport, from: PeerID(1), to: .driver)
        try await waitUntil { frames.withLock { !$0.isEmpty } }
        let frame = try #require(frames.withLock { $0.first })
        guard case .objectChunk(let decoded) = try RuntimeMessage(frame: frame) else {
            Issue.record("not a chunk")
            return
        }
        #expect(decoded.checksum == bytes.withUnsafeBytes { iocompute_crc32c_portable(0, $0.baseAddress, $0.count) })
        #expect(Array(decoded.bytes) == bytes && decoded.id == id && decoded.totalCount == bytes.count)
    }

    @Test("a chunk changed on its way fails its checksum, placed or whole", arguments: Delivery.all)
    func corruptedInFlight(delivery: Delivery) async throws {
        let bytes = (0..<(ObjectTransfer.chunkSize + 7)).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        let id = ObjectID(session: 1, sequence: 12)
        var chunks = try await Self.chunks(of: bytes, id: id)
        var flipped = Array(chunks[1].bytes)
        flipped[3] ^= 0x40
        chunks[1] = ObjectChunk(
            id: id, typeName: chunks[1].typeName, totalCount: chunks[1].totalCount, offset: chunks[1].offset,
            checksum: chunks[1].checksum, bytes: ArraySlice(flipped))
        let reason = try #require(try await failure(of: chunks, id: id, delivery: delivery))
        #expect(reason.contains("checksum"))
    }

    @Test("a corrupted chunk, a lost holder or a refusal fail the pull with a typed error")
    func failures() async throws {
        let bytes = [UInt8](repeating: 9, count: 1000)
        let puller = ObjectPuller(request: { _, _, _ in })
        let corrupt = ObjectID(session: 1, sequence: 2)
        let corrupted = Task { try await puller.pull(corrupt, from: PeerID(1)) }
        try await waitUntil { puller.isPulling(corrupt) }
        var chunk = try await Self.chunks(of: bytes, id: corrupt)[0]
        chunk = ObjectChunk(
            id: chunk.id, typeName: chunk.typeName, totalCount: chunk.totalCount, offset: 0, checksum: chunk.checksum ^ 1,
            bytes: chunk.bytes)
        puller.receive(chunk, from: PeerID(1))
        await #expect {
            try await corrupted.value
        } throws: { error in
            if case .transferFailed(let object, _) = error as? ClusterError { return object == corrupt }
            return false
        }

        let lost = ObjectID(session: 1, sequence: 3)
        let orphaned = Task { try await puller.pull(lost, from: PeerID(2)) }
        try await waitUntil { puller.isPulling(lost) }
        puller.peerLost(PeerID(2))
        await #expect(throws: HolderLost.self) { try await orphaned.value }

        let refusing = ObjectPuller(request: { id, _, _ in throw ClusterError.objectLost(id) })
        await #expect(throws: ClusterError.self) { try await refusing.pull(lost, from: PeerID(1)) }
    }

    /// A pull of `id` (expecting `expected` bytes when given) fed `chunks`, and the reason it failed.
    func failure(of chunks: [ObjectChunk], id: ObjectID, expected: Int? = nil, delivery: Delivery = .whole) async throws -> String? {
        let puller = ObjectPuller(request: { _, _, _ in })
        let pull = Task { try await puller.pull(id, from: PeerID(1), expectedBytes: expected) }
        try await waitUntil { puller.isPulling(id) }
        for chunk in chunks { delivery.deliver(chunk, to: puller, from: PeerID(1)) }
        if puller.isPulling(id) { puller.fail(id, ClusterError.shutDown) }
        do {
            _ = try await pull.value
            return nil
        } catch ClusterError.transferFailed(_, let reason) {
            return reason
        } catch {
            return "\(error)"
        }
    }

    /// `chunk` with some fields changed, its checksum made right again.
    func forged(_ chunk: ObjectChunk, totalCount: Int? = nil, offset: Int? = nil, bytes: ArraySlice<UInt8>? = nil) -> ObjectChunk {
        let bytes = bytes.map(ChunkBytes.init) ?? chunk.bytes
        return ObjectChunk(
            id: chunk.id, typeName: chunk.typeName, totalCount: totalCount ?? chunk.totalCount, offset: offset ?? chunk.offset,
            checksum: bytes.withUnsafeBytes { ObjectTransfer.checksum($0) }, bytes: bytes)
    }

    @Test("a holder's lies about chunks fail the pull, never trap or hand out unwritten memory", arguments: Delivery.all)
    func lyingHolder(delivery: Delivery) async throws {
        func failure(of chunks: [ObjectChunk], id: ObjectID, expected: Int? = nil) async throws -> String? {
            try await self.failure(of: chunks, id: id, expected: expected, delivery: delivery)
        }
        let bytes = (0..<(ObjectTransfer.chunkSize * 2 + 100)).map { UInt8(truncatingIfNeeded: $0) }
        let id = ObjectID(session: 1, sequence: 9)
        let chunks = try await Self.chunks(of: bytes, id: id)
        #expect(chunks.count == 3)
        // An honest transfer, for reference.
        #expect(try await failure(of: chunks, id: id, expected: bytes.count) == nil)
        // The first chunk twice in place of the second: the byte count adds up, the memory does not.
        let repeated = try #require(try await failure(of: [chunks[0], chunks[0], chunks[2]], id: id))
        #expect(repeated.contains("came twice"))
        // A size other than the owner's record of the object.
        let resized = try #require(try await failure(of: chunks, id: id, expected: bytes.count - 1))
        #expect(resized.contains("claim"))
        // A size no machine has (it would have been a failed allocation, which ended the process).
        let huge = try #require(try await failure(of: [forged(chunks[0], totalCount: Int.max)], id: id))
        #expect(huge.contains("claimed a size"))
        let negative = try #require(try await failure(of: [forged(chunks[0], totalCount: -5)], id: id))
        if case .whole = delivery {
            #expect(negative.contains("claimed a size"))
        } else {
            // Encoded, a negative length reads as 0, which the chunk's bytes do not fit.
            #expect(negative.contains("does not fit its 0 bytes"))
        }
        // A chunk off the grid, or longer than the room left.
        let shifted = try #require(try await failure(of: [forged(chunks[1], offset: chunks[1].offset + 1)], id: id))
        #expect(shifted.contains("does not fit"))
        let long = try #require(
            try await failure(of: [forged(chunks[2], bytes: ArraySlice(repeating: 0, count: ObjectTransfer.chunkSize))], id: id))
        #expect(long.contains("does not fit"))
        let past = try #require(try await failure(of: [forged(chunks[2], offset: Int.max - 10)], id: id))
        #expect(past.contains("does not fit"))
    }
}
