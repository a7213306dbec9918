/// Reads values written by ``WireEncoder`` from a byte buffer, checking every length against
/// what remains so that truncated or hostile input gives a ``WireError``, never a crash or a
/// huge allocation.
public struct WireDecoder: Sendable {
    private let bytes: [UInt8]
    /// Set instead of `bytes` for a decoder over memory it does not own (a shared-memory
    /// mapping), whose blocks values may borrow rather than copy.
    private let region: SharedBytes?
    /// The read position.
    public private(set) var position: Int
    private let end: Int

    /// A decoder over `bytes[range]` (all of `bytes` by default).
    public init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        region = nil
        position = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    /// A decoder over all of `region`.
    init(_ region: SharedBytes) {
        bytes = []
        self.region = region
        position = 0
        end = region.bytes.count
    }

    /// The number of unread bytes.
    public var remaining: Int { end - position }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { position == end }

    private mutating func take(_ count: Int, _ what: String) throws(WireError) -> Int {
        guard count >= 0, count <= remaining else { throw .truncated(what: what, needed: count, remaining: remaining) }
        let start = position
        position += count
        return start
    }

    /// Reads a little-endian fixed-width integer.
    public mutating func read<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        let start = try take(size, "\(T.self)")
        if let region { return T(littleEndian: region.bytes.loadUnaligned(fromByteOffset: start, as: T.self)) }
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { target in
            for index in 0..<size { target[index] = bytes[start + index] }
        }
        return T(littleEndian: value)
    }

    /// Reads a `Float`.
    public mutating func read(_ type: Float.Type = Float.self) throws(WireError) -> Float {
        Float(bitPattern: try read(UInt32.self))
    }

    /// Reads a `Double`.
    public mutating func read(_ type: Double.Type = Double.self) throws(WireError) -> Double {
        Double(bitPattern: try read(UInt64.self))
    }

    /// Reads a `Bool`; any byte other than 0 or 1 is invalid.
    public mutating func read(_ type: Bool.Type = Bool.self) throws(WireError) -> Bool {
        let byte = try read(UInt8.self)
        guard byte <= 1 else { throw .invalid(what: "Bool", reason: "byte \(byte) is neither 0 nor 1") }
        return byte == 1
    }

    /// Reads a varint count, rejecting counts above `Int.max` or longer than ten bytes.
    public mutating func readLength() throws(WireError) -> Int {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try read(UInt8.self)
            if shift == 63 && byte > 1 { throw .invalid(what: "length", reason: "varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            if shift > 63 { throw .invalid(what: "length", reason: "varint longer than 10 bytes") }
        }
        guard result <= UInt64(Int.max) else { throw .invalid(what: "length", reason: "\(result) exceeds Int.max") }
        return Int(result)
    }

    /// Calls `body` with the next `count` raw bytes.
    public mutating func readRawBytes<R>(count: Int, _ what: String = "bytes", _ body: (UnsafeRawBufferPointer) -> R) throws(WireError) -> R
    {
        let start = try take(count, what)
        if let region { return body(UnsafeRawBufferPointer(rebasing: region.bytes[start..<(start + count)])) }
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)])) }
    }

    /// The next `count` raw bytes in place, with the object that keeps them valid, when this
    /// decoder reads memory that values may borrow (a shared-memory mapping that nobody writes
    /// while the owner lives); nil, reading nothing, when it reads an ordinary array. A large
    /// tensor uses this to be decoded without copying its elements.
    public mutating func readBorrowedBytes(
        count: Int, _ what: String = "bytes"
    ) throws(WireError) -> (bytes: UnsafeRawBufferPointer, owner: any AnyObject & Sendable)? {
        guard let region else { return nil }
        let start = try take(count, what)
        return (UnsafeRawBufferPointer(rebasing: region.bytes[start..<(start + count)]), region)
    }

    /// Reads a length-prefixed block of bytes as a slice of the decoded buffer (no copy).
    public mutating func readBlockSlice() throws(WireError) -> ArraySlice<UInt8> {
        let count = try readLength()
        let start = try take(count, "byte block")
        if let region { return ArraySlice(region.bytes[start..<(start + count)]) }
        return bytes[start..<(start + count)]
    }

    /// Reads a length-prefixed block of bytes.
    public mutating func readBlock() throws(WireError) -> [UInt8] {
        let count = try readLength()
        let start = try take(count, "byte block")
        if let region { return Array(region.bytes[start..<(start + count)]) }
        return Array(bytes[start..<(start + count)])
    }

    /// Reads a length-prefixed UTF-8 string, rejecting invalid UTF-8.
    public mutating func read(_ type: String.Type = String.self) throws(WireError) -> String {
        let count = try readLength()
        let start = try take(count, "String")
        let text =
            if let region { String(validating: region.bytes[start..<(start + count)], as: UTF8.self) } else {
                String(validating: bytes[start..<(start + count)], as: UTF8.self)
            }
        guard let text else {
            throw .invalid(what: "String", reason: "not valid UTF-8")
        }
        return text
    }

    /// Reads any serializable value (`T(from:)`).
    public mutating func decode<T: WireSerializable>(_ type: T.Type = T.self) throws(WireError) -> T {
        try T(from: &self)
    }
}
