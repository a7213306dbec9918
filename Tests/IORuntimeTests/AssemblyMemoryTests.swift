import Testing

@testable import IORuntime

/// A value that claims fewer bytes than it encodes.
private struct Understated: WireSerializable {
    var bytes: [UInt8]
    func encode(to encoder: inout WireEncoder) { encoder.encode(bytes) }
    init(bytes: [UInt8]) { self.bytes = bytes }
    init(from decoder: inout WireDecoder) throws(WireError) { bytes = try [UInt8](from: &decoder) }
    var wireByteCount: Int { AssemblyMemory.minimumBytes }
}

@Suite("Memory kept for large transfers")
struct AssemblyMemoryTests {
    // Sizes no other test uses, so that tests running alongside never take these regions.
    let megabytes = 1 << 20

    @Test("a region given back is reused for the next object of the same rounded size, and only for that")
    func reuse() throws {
        let first = try #require(AssemblyMemory.take(37 * megabytes + 5))
        #expect(Int(bitPattern: first) % (2 << 20) == 0, "2 MiB aligned, for huge pages")
        AssemblyMemory.give(first, count: 37 * megabytes + 5)
        // 38 MiB rounds up to the same 38 MiB region; 41 MiB does not fit in it.
        let other = try #require(AssemblyMemory.take(41 * megabytes))
        #expect(other != first)
        let again = try #require(AssemblyMemory.take(38 * megabytes))
        #expect(again == first)
        AssemblyMemory.give(again, count: 38 * megabytes)
        AssemblyMemory.give(other, count: 41 * megabytes)
    }

    @Test("no more than the limit is kept; small and oversized regions are freed at once")
    func limit() throws {
        let half = AssemblyMemory.limitBytes / 2 + 2 * megabytes + 3
        let regions = try (0..<3).map { _ in try #require(AssemblyMemory.take(half)) }
        for region in regions { AssemblyMemory.give(region, count: half) }
        #expect(AssemblyMemory.keptBytes <= AssemblyMemory.limitBytes)
        let small = try #require(AssemblyMemory.take(1000))
        AssemblyMemory.give(small, count: 1000)
        #expect(AssemblyMemory.take(-1) == nil)
    }

    @Test("a large value is encoded into kept memory exactly as into an array; one that understates its size falls back")
    func encode() throws {
        let value = (0..<(3 * megabytes)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let encoded = try #require(AssemblyMemory.encode(value))
        #expect(Array(encoded.bytes) == value.wireEncoded())
        #expect(AssemblyMemory.encode([UInt8](repeating: 1, count: 1000)) == nil, "small values go to an array")
        #expect(AssemblyMemory.encode(Understated(bytes: value)) == nil)
        // Sending it reads the kept memory in place, chunk by chunk.
        let chunk = ChunkBytes(encoded, range: 5..<(5 + ObjectTransfer.chunkSize))
        #expect(chunk.count == ObjectTransfer.chunkSize)
        #expect(chunk.withUnsafeBytes { Array($0) } == Array(value.wireEncoded()[5..<(5 + ObjectTransfer.chunkSize)]))
        #expect(chunk[0] == encoded.bytes[5])
    }
}
