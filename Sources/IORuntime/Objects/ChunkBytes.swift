/// The bytes of one object chunk: a slice of the frame it arrived in, or — on the sending side —
/// a view of the object's memory, which the view's owner keeps valid, so that an object in
/// memory of its own goes out without being copied into an array first.
struct ChunkBytes: RandomAccessCollection, Sendable {
    private enum Storage: @unchecked Sendable {
        case slice(ArraySlice<UInt8>)
        /// `owner` keeps `view` valid; it is immutable from the moment it is shared.
        case view(UnsafeRawBufferPointer, owner: SharedBytes)
    }

    private let storage: Storage

    init(_ slice: ArraySlice<UInt8>) { storage = .slice(slice) }

    /// `bytes[range]`, read in place while the chunk lives.
    init(_ bytes: SharedBytes, range: Range<Int>) {
        storage = .view(UnsafeRawBufferPointer(rebasing: bytes.bytes[range]), owner: bytes)
    }

    var startIndex: Int { 0 }
    var endIndex: Int {
        switch storage {
        case .slice(let slice): slice.count
        case .view(let view, _): view.count
        }
    }

    subscript(position: Int) -> UInt8 {
        switch storage {
        case .slice(let slice): slice[slice.startIndex + position]
        case .view(let view, _): view[position]
        }
    }

    /// Calls `body` with the bytes in place.
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        switch storage {
        case .slice(let slice): return try slice.withUnsafeBytes(body)
        case .view(let view, let owner): return try withExtendedLifetime(owner) { try body(view) }
        }
    }
}
