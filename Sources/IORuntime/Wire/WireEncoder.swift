/// Appends values to a byte buffer in IOCompute's wire format: little-endian fixed-width
/// integers and floats, lengths as unsigned LEB128 varints, byte blocks copied once.
public struct WireEncoder: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// An empty encoder; `reservingCapacity` avoids regrowth when the size is known.
    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Writes a fixed-width integer, little-endian.
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes a `Float` as its IEEE 754 bits.
    public mutating func write(_ value: Float) { write(value.bitPattern) }

    /// Writes a `Double` as its IEEE 754 bits.
    public mutating func write(_ value: Double) { write(value.bitPattern) }

    /// Writes a `Bool` as one byte.
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Writes a non-negative count as an unsigned LEB128 varint (one byte below 128).
    public mutating func writeLength(_ value: Int) {
        var remaining = UInt64(max(value, 0))
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    /// Writes raw bytes with no length prefix.
    public mutating func writeRawBytes(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }

    /// Writes a length-prefixed block of bytes.
    public mutating func writeBlock(_ raw: UnsafeRawBufferPointer) {
        writeLength(raw.count)
        bytes.append(contentsOf: raw)
    }

    /// Writes a length-prefixed UTF-8 string.
    public mutating func write(_ value: String) {
        var copy = value
        copy.withUTF8 { writeBlock(UnsafeRawBufferPointer($0)) }
    }

    /// Appends any serializable value (`value.encode(to:)`).
    public mutating func encode<T: WireSerializable>(_ value: T) { value.encode(to: &self) }
}
