/// A value's encoding as a list of pieces, for sending in chunks: the bytes the value lends
/// (``WireEncoder/writeRawBytes(_:keptAliveBy:)``) referenced where they are, everything else
/// copied into pieces of its own.
final class GatheredEncoding: WireSink, @unchecked Sendable {
    private var pieces: [SharedBytes] = []
    /// Where each piece starts in the encoding.
    private var starts: [Int] = []
    /// The encoding's length.
    private(set) var count = 0

    /// The encoding of `value`, gathered.
    init(_ value: any WireSerializable) {
        super.init()
        var encoder = WireEncoder(sink: self)
        value.encode(to: &encoder)
        encoder.finish()
    }

    override func append(_ raw: UnsafeRawBufferPointer) {
        guard let source = raw.baseAddress, !raw.isEmpty else { return }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: raw.count, alignment: 16)
        copy.copyMemory(from: source, byteCount: raw.count)
        let address = Int(bitPattern: copy)
        add(
            SharedBytes(bytes: UnsafeRawBufferPointer(start: copy, count: raw.count)) {
                UnsafeMutableRawPointer(bitPattern: address)?.deallocate()
            })
    }

    override func append(_ raw: UnsafeRawBufferPointer, keptAliveBy owner: any AnyObject & Sendable) {
        guard !raw.isEmpty else { return }
        add(SharedBytes(bytes: raw) { withExtendedLifetime(owner) {} })
    }

    private func add(_ piece: SharedBytes) {
        starts.append(count)
        pieces.append(piece)
        count += piece.bytes.count
    }

    /// The bytes at `range` of the encoding: read in place when one piece holds them all,
    /// copied from the pieces they span otherwise.
    func chunk(_ range: Range<Int>) -> ChunkBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "chunk \(range) outside an encoding of \(count) bytes")
        guard !range.isEmpty else { return ChunkBytes([]) }
        // The last piece that starts at or before the range.
        var low = 0
        var high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= range.lowerBound { low = middle } else { high = middle - 1 }
        }
        let first = low
        let offset = range.lowerBound - starts[first]
        if offset + range.count <= pieces[first].bytes.count {
            return ChunkBytes(pieces[first], range: offset..<(offset + range.count))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(range.count)
        var index = first
        while starts[index] < range.upperBound {
            let piece = pieces[index].bytes
            let from = max(range.lowerBound - starts[index], 0)
            let to = min(range.upperBound - starts[index], piece.count)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[from..<to]))
            index += 1
            if index == pieces.count { break }
        }
        return ChunkBytes(bytes[...])
    }
}
