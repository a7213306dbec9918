/// The operations a group runs, tagged on every message so that ranks that call different ones
/// fail with ``CollectiveError/mismatch(group:reason:)`` instead of mixing their data.
enum CollectiveOperation: UInt8, Sendable, CustomStringConvertible {
    case allreduce = 1, reduceScatter, allgather, broadcast, barrier
    /// Point-to-point: a tensor sent to the next rank, or back to the previous one.
    case sendToNext, sendToPrevious

    var description: String {
        switch self {
        case .sendToNext: "send to the next rank"
        case .sendToPrevious: "send to the previous rank"
        case .allreduce: "allreduce"
        case .reduceScatter: "reduceScatter"
        case .allgather: "allgather"
        case .broadcast: "broadcast"
        case .barrier: "barrier"
        }
    }
}

/// One chunk of one step of one collective, from a rank to its ring neighbour.
///
/// Layout (little-endian): sequence (8 bytes), step (4), chunk (4), operation (1), element size
/// (1), 6 reserved zero bytes, then the chunk's element bytes — 24 bytes of header, so that the
/// elements stay 8-byte aligned within the message.
struct CollectiveMessage: Sendable {
    static let headerSize = 24

    /// The collective's number within its group (every rank counts the same).
    var sequence: UInt64
    var step: UInt32
    var chunk: UInt32
    var operation: CollectiveOperation
    var elementSize: UInt8
    /// The header followed by the elements.
    var bytes: [UInt8]

    var elementByteCount: Int { bytes.count - Self.headerSize }

    /// The 24 header bytes of a message.
    static func header(sequence: UInt64, step: Int, chunk: Int, operation: CollectiveOperation, elementSize: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: UInt32(step).littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: UInt32(chunk).littleEndian, toByteOffset: 12, as: UInt32.self)
            raw[16] = operation.rawValue
            raw[17] = UInt8(elementSize)
        }
        return bytes
    }

    /// A message whose elements are copied from `elements`.
    init(sequence: UInt64, step: Int, chunk: Int, operation: CollectiveOperation, elementSize: Int, elements: UnsafeRawBufferPointer) {
        self.sequence = sequence
        self.step = UInt32(step)
        self.chunk = UInt32(chunk)
        self.operation = operation
        self.elementSize = UInt8(elementSize)
        bytes = Self.header(sequence: sequence, step: step, chunk: chunk, operation: operation, elementSize: elementSize)
        bytes.append(contentsOf: elements)
    }

    /// Parses a message received from a peer.
    init(decoding bytes: [UInt8], group: String) throws(CollectiveError) {
        guard bytes.count >= Self.headerSize else {
            throw .malformedMessage(group: group, reason: "\(bytes.count) bytes, shorter than the \(Self.headerSize)-byte header")
        }
        let (sequence, step, chunk, code, elementSize) = bytes.withUnsafeBytes { raw in
            (
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self)), raw[16], raw[17]
            )
        }
        guard let operation = CollectiveOperation(rawValue: code) else {
            throw .malformedMessage(group: group, reason: "unknown operation code \(code)")
        }
        guard [1, 2, 4, 8].contains(elementSize), (bytes.count - Self.headerSize) % Int(elementSize) == 0 else {
            throw .malformedMessage(group: group, reason: "\(bytes.count - Self.headerSize) element bytes of size \(elementSize)")
        }
        self.sequence = sequence
        self.step = step
        self.chunk = chunk
        self.operation = operation
        self.elementSize = elementSize
        self.bytes = bytes
    }

    /// This message as step `step` (a chunk forwarded unchanged to the next rank).
    func restepped(_ step: Int) -> CollectiveMessage {
        var copy = self
        copy.step = UInt32(step)
        copy.bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(step).littleEndian, toByteOffset: 8, as: UInt32.self) }
        return copy
    }

    /// Calls `body` with the element bytes.
    func withElements<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { raw in try body(UnsafeRawBufferPointer(rebasing: raw[Self.headerSize...])) }
    }
}
