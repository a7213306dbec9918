import Synchronization

/// The identity of an object in the cluster: unique across processes and runs (a random
/// 64-bit session prefix and a per-session counter).
public struct ObjectID: Hashable, Sendable, CustomStringConvertible, WireSerializable {
    /// The session that created the object.
    public let session: UInt64
    /// The object's sequence number within its session.
    public let sequence: UInt64

    public init(session: UInt64, sequence: UInt64) {
        self.session = session
        self.sequence = sequence
    }

    public func encode(to encoder: inout WireEncoder) {
        encoder.write(session)
        encoder.write(sequence)
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        session = try decoder.read(UInt64.self)
        sequence = try decoder.read(UInt64.self)
    }

    public var description: String {
        let hex = String(session, radix: 16)
        return "obj-" + String(repeating: "0", count: 16 - hex.count) + hex + "-\(sequence)"
    }
}

/// Makes fresh IDs for objects and tasks.
final class IdentifierSource: Sendable {
    let session: UInt64
    private let counter = Atomic<UInt64>(0)

    init() {
        var generator = SystemRandomNumberGenerator()
        session = generator.next()
    }

    func nextObject() -> ObjectID {
        ObjectID(session: session, sequence: counter.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    func nextSequence() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }
}
