import CSharedMemory

/// Appends values to a byte buffer in IOCompute's wire format: little-endian fixed-width
/// integers and floats, lengths as unsigned LEB128 varints, byte blocks copied once.
public struct WireEncoder: Sendable {
    /// The bytes written so far (for an encoder writing into shared memory, those not yet
    /// handed on to it).
    public private(set) var bytes: [UInt8]
    /// Where an encoder writing into shared memory sends its bytes: small writes collect in
    /// `bytes` and go on in batches, large blocks are copied straight in.
    private let sink: WireSink?
    /// Bytes already handed to `sink`.
    private var flushed = 0

    /// An empty encoder; `reservingCapacity` avoids regrowth when the size is known.
    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
        sink = nil
        // A large encoding (a tensor on its way to another process) is written once into fresh
        // memory: with huge pages that costs a fifth of the time (4 KiB faults dominate here).
        if capacity >= 8 << 20 {
            bytes.withUnsafeMutableBufferPointer { buffer in
                if let base = buffer.baseAddress { _ = iocompute_advise_huge_pages(base, capacity) }
            }
        }
    }

    /// An encoder that writes through to `sink`; call ``finish()`` at the end.
    init(sink: WireSink) {
        bytes = []
        bytes.reserveCapacity(WireSink.batch)
        self.sink = sink
    }

    /// The number of bytes written so far: the position of the next byte in the encoding, which
    /// a value can use to align a block it writes (tensors align their elements to 64 bytes so
    /// that a reader mapping the encoding can use them in place).
    public var count: Int { flushed + bytes.count }

    /// Hands any collected bytes to the sink (no-op without one).
    mutating func finish() {
        guard let sink, !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { sink.append($0) }
        flushed += bytes.count
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends raw bytes: straight into the sink when they are many.
    private mutating func append(_ raw: UnsafeRawBufferPointer) {
        if let sink, raw.count >= WireSink.batch {
            finish()
            sink.append(raw)
            flushed += raw.count
        } else {
            bytes.append(contentsOf: raw)
        }
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
        append(raw)
    }

    /// Writes raw bytes with no length prefix that stay valid and unchanged for as long as
    /// `owner` lives (a tensor's elements in its buffer). An object sent to another machine in
    /// chunks is then read from them in place rather than first copied into an encoding of its
    /// own (see ``WireLendingSerializable``); everywhere else this is ``writeRawBytes(_:)``.
    public mutating func writeRawBytes(_ raw: UnsafeRawBufferPointer, keptAliveBy owner: any AnyObject & Sendable) {
        if let sink, raw.count >= WireSink.batch {
            finish()
            sink.append(raw, keptAliveBy: owner)
            flushed += raw.count
        } else {
            append(raw)
        }
    }

    /// Writes a length-prefixed block of bytes.
    public mutating func writeBlock(_ raw: UnsafeRawBufferPointer) {
        writeLength(raw.count)
        append(raw)
    }

    /// Writes a length-prefixed UTF-8 string.
    public mutating func write(_ value: String) {
        var copy = value
        copy.withUTF8 { writeBlock(UnsafeRawBufferPointer($0)) }
    }

    /// Appends any serializable value (`value.encode(to:)`).
    public mutating func encode<T: WireSerializable>(_ value: T) { value.encode(to: &self) }
}

/// Where an encoder writes when the encoding goes straight into memory of its own (a shared
/// memory segment) rather than into an array.
class WireSink: @unchecked Sendable {
    /// Writes at least this large skip the encoder's array.
    static let batch = 64 << 10

    /// Appends `raw` to the encoding.
    func append(_ raw: UnsafeRawBufferPointer) { fatalError("WireSink.append is abstract") }

    /// Appends `raw`, which stays valid and unchanged while `owner` lives: copied, unless the
    /// sink can keep a reference instead.
    func append(_ raw: UnsafeRawBufferPointer, keptAliveBy owner: any AnyObject & Sendable) { append(raw) }
}
