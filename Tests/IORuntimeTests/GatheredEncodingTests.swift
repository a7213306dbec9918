import IORuntimeTensor
import IOTensor
import Testing

@testable import IORuntime

@Suite("gathered encodings", .timeLimit(.minutes(1)))
struct GatheredEncodingTests {
    /// The chunks a holder cuts an encoding of `count` bytes into.
    static func chunkRanges(count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: ObjectTransfer.chunkSize).map { $0..<min($0 + ObjectTransfer.chunkSize, count) }
    }

    @Test("a tensor's chunks make its encoding, and those inside its elements are read from its own buffer")
    func tensorLendsItsElements() throws {
        let tensor = try Tensor<Float>.randomNormal([3, 100_001], seed: 5)
        let expected = tensor.wireEncoded()
        let gathered = GatheredEncoding(tensor)
        #expect(gathered.count == expected.count)
        #expect(Self.chunkRanges(count: gathered.count).flatMap { Array(gathered.chunk($0)) } == expected)

        // The elements are the encoding's last bytes: a chunk inside them points into the tensor.
        let elementsStart = expected.count - tensor.count * 4
        let elements = tensor.withUnsafeBytes { $0.baseAddress! }
        let inside = (elementsStart + 1000)..<(elementsStart + 1000 + ObjectTransfer.chunkSize)
        let address = gathered.chunk(inside).withUnsafeBytes { $0.baseAddress! }
        #expect(address == elements + 1000)
        // One that spans the shape and the first elements is copied, and still right.
        let spanning = (elementsStart - 5)..<(elementsStart + 7)
        #expect(Array(gathered.chunk(spanning)) == Array(expected[spanning]))
        #expect(gathered.chunk(0..<0).isEmpty)
    }

    @Test("lent elements stay readable after every other copy of the tensor is gone")
    func lentElementsOutliveTheTensor() throws {
        var gathered: GatheredEncoding?
        var expected: [UInt8] = []
        do {
            let tensor = try Tensor<Double>.randomUniform([200_000], lowerBound: -1, upperBound: 1, seed: 9)
            expected = tensor.wireEncoded()
            gathered = GatheredEncoding(AnyTensor(tensor))
        }
        // Fresh allocations of the same size would reuse a freed buffer.
        let scratch = try (0..<4).map { _ in try Tensor<Double>(repeating: 7, shape: [200_000]) }
        let encoding = try #require(gathered)
        #expect(Self.chunkRanges(count: encoding.count).flatMap { Array(encoding.chunk($0)) } == expected)
        withExtendedLifetime(scratch) {}
    }

    @Test("a value that lends nothing is gathered as copies, byte for byte its encoding")
    func valuesThatLendNothing() {
        let bytes = (0..<300_007).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let strings = (0..<5_000).map { "item \($0)" }
        for value in [bytes, strings] as [any WireSerializable] {
            let expected = value.wireEncoded()
            let gathered = GatheredEncoding(value)
            #expect(gathered.count == expected.count)
            #expect(Self.chunkRanges(count: gathered.count).flatMap { Array(gathered.chunk($0)) } == expected)
            let odd = (expected.count / 3)..<(expected.count * 2 / 3 + 1)
            #expect(Array(gathered.chunk(odd)) == Array(expected[odd]))
        }
    }

    @Test("a tensor put as a value arrives whole through chunks, checksums and all")
    func tensorThroughChunks() async throws {
        let tensor = try Tensor<Float>.randomNormal([700_003], seed: 11)
        let collector = ObjectTransferTests.ChunkCollector()
        let id = ObjectID(session: 1, sequence: 77)
        try await ObjectTransfer.sendChunks(of: id, payload: .value(tensor), through: collector, to: .driver)
        let chunks = collector.chunks.withLock { $0 }
        #expect(chunks.count == Self.chunkRanges(count: tensor.wireEncoded().count).count)
        var assembled: [UInt8] = []
        for chunk in chunks {
            #expect(chunk.offset == assembled.count && chunk.typeName == Tensor<Float>.wireTypeName)
            #expect(chunk.checksum == chunk.bytes.withUnsafeBytes { ObjectTransfer.checksum($0) })
            assembled += chunk.bytes
        }
        #expect(try Tensor<Float>(wireBytes: assembled) == tensor)
    }
}
