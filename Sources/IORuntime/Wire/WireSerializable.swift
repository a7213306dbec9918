import Synchronization

/// A value that IOCompute can send between processes and keep in its object store: task
/// arguments and results, actor-call arguments and results, objects put in the store.
///
/// Conform by writing the value's fields with ``WireEncoder`` and reading them back in the same
/// order. The wire format is binary and versioned by the frame that carries it; trivially
/// copyable arrays (numbers) are written as one block of bytes. Types that are `Codable` can
/// adopt ``WireCodable`` instead, which derives the conformance (convenient, not for hot paths).
///
/// ```swift
/// struct Point: WireSerializable {
///     var x: Double, y: Double
///     func encode(to encoder: inout WireEncoder) { encoder.write(x); encoder.write(y) }
///     init(from decoder: inout WireDecoder) throws(WireError) { x = try decoder.read(Double.self); y = try decoder.read(Double.self) }
/// }
/// ```
public protocol WireSerializable: TaskArgumentConvertible where ArgumentValue == Self {
    /// Appends this value's encoding.
    func encode(to encoder: inout WireEncoder)
    /// Reads a value written by ``encode(to:)``.
    init(from decoder: inout WireDecoder) throws(WireError)
    /// The name the wire uses for this type in messages and errors (the module-qualified type
    /// name by default).
    static var wireTypeName: String { get }
    /// About how many bytes this value holds, for the object store's memory accounting.
    var wireByteCount: Int { get }
}

extension WireSerializable {
    public static var wireTypeName: String { reflectedTypeNames.name(of: Self.self) }
    public var wireByteCount: Int { MemoryLayout<Self>.size }
    public var taskArgument: TaskArgument<Self> { .value(self) }

    /// This value's bytes.
    public func wireEncoded() -> [UInt8] {
        var encoder = WireEncoder(reservingCapacity: Swift.max(16, wireByteCount + 16))
        encode(to: &encoder)
        return encoder.bytes
    }

    /// Decodes a whole buffer as one value; trailing bytes are an error.
    public init(wireBytes bytes: [UInt8]) throws(WireError) {
        var decoder = WireDecoder(bytes)
        self = try Self(from: &decoder)
        guard decoder.isAtEnd else {
            throw .invalid(what: Self.wireTypeName, reason: "\(decoder.remaining) bytes left after the value")
        }
    }
}

/// Fixed-width numbers whose arrays travel as one block of little-endian bytes.
public protocol WireTrivialScalar: WireSerializable, BitwiseCopyable {}

/// `String(reflecting:)` of each type asked for, kept: every message names the types of its
/// values, and reflecting a name demangles it, which costs microseconds each time.
final class ReflectedTypeNames: Sendable {
    private let names = Mutex<[ObjectIdentifier: String]>([:])

    func name(of type: Any.Type) -> String {
        let key = ObjectIdentifier(type)
        if let name = names.withLock({ $0[key] }) { return name }
        let name = String(reflecting: type)
        names.withLock { $0[key] = name }
        return name
    }
}

let reflectedTypeNames = ReflectedTypeNames()
