/// A function that the cluster can run as a task, by name.
///
/// Compiled Swift cannot ship closures between processes, so every process of a cluster runs the
/// same binary, and a task names a function that binary registered. Arguments and the result are
/// typed end to end: `submit` checks each argument (a value or an ``ObjectRef``) against the
/// parameter types at compile time.
///
/// ```swift
/// let square = RemoteFunction("square") { (x: Int) async throws -> Int in x * x }
/// let registry = Registry().function(square)
/// ```
public struct RemoteFunction<each Argument: WireSerializable, Result: WireSerializable>: Sendable {
    // The only stored property is non-generic. Stored properties whose types depend on the
    // parameter pack (the typed closure) were read at wrong offsets from other modules with this
    // toolchain (a crash in `Registry.function` for a five-parameter function), so the typed body
    // lives only inside the erased closure.
    let erased: ErasedFunction

    /// The name the function is registered and submitted under.
    public var name: String { erased.name }

    /// The parameter and result types, as written in errors (`(Int, String) -> Double`); the
    /// registry checks submissions against it.
    public var signature: String { erased.signature }

    /// A function called `name` that runs `body`.
    public init(_ name: String, _ body: @escaping @Sendable (repeat each Argument) async throws -> Result) {
        var parameters: [String] = []
        for type in repeat (each Argument).self { parameters.append(type.wireTypeName) }
        let signature = "(" + parameters.joined(separator: ", ") + ") -> " + Result.wireTypeName
        erased = ErasedFunction(name: name, signature: signature) { payloads in
            var index = 0
            func next<Parameter: WireSerializable>(_ type: Parameter.Type) throws -> Parameter {
                defer { index += 1 }
                guard index < payloads.count else {
                    throw ClusterError.signatureMismatch(name: name, registered: signature, requested: "\(payloads.count) arguments")
                }
                return try payloads[index].value(as: Parameter.self)
            }
            return try await body(repeat try next((each Argument).self))
        }
    }
}

/// A registered function with its types erased: it takes argument payloads and returns its
/// result as a serializable value.
struct ErasedFunction: Sendable {
    let name: String
    let signature: String
    let invoke: @Sendable ([Payload]) async throws -> any WireSerializable
}

/// A value in flight: the value itself in process, its bytes after a trip through the codec, or
/// its bytes in memory that nobody writes and values may borrow (a mapping of a segment another
/// process on the host lent, or the buffer a pull assembled from chunks).
enum Payload: Sendable {
    case value(any WireSerializable)
    case bytes(typeName: String, [UInt8])
    case shared(typeName: String, SharedBytes)

    /// The value as `T`, decoding bytes when needed.
    func value<T: WireSerializable>(as type: T.Type) throws -> T {
        switch self {
        case .value(let value):
            guard let typed = value as? T else {
                throw WireError.typeMismatch(expected: T.wireTypeName, found: String(reflecting: Swift.type(of: value)))
            }
            return typed
        case .bytes(let typeName, let bytes):
            guard typeName == T.wireTypeName else { throw WireError.typeMismatch(expected: T.wireTypeName, found: typeName) }
            return try T(wireBytes: bytes)
        case .shared(let typeName, let shared):
            guard typeName == T.wireTypeName else { throw WireError.typeMismatch(expected: T.wireTypeName, found: typeName) }
            var decoder = WireDecoder(shared)
            let value = try T(from: &decoder)
            guard decoder.isAtEnd else {
                throw WireError.invalid(what: T.wireTypeName, reason: "\(decoder.remaining) bytes left after the value")
            }
            return value
        }
    }

    /// The bytes of this payload, encoding a value.
    var encoded: (typeName: String, bytes: [UInt8]) {
        switch self {
        case .value(let value): (wireTypeName(of: value), value.wireEncoded())
        case .bytes(let typeName, let bytes): (typeName, bytes)
        case .shared(let typeName, let shared): (typeName, shared.array)
        }
    }

    /// The wire type name of the value, without encoding it.
    var typeName: String {
        switch self {
        case .value(let value): wireTypeName(of: value)
        case .bytes(let typeName, _), .shared(let typeName, _): typeName
        }
    }

    /// The memory this payload holds, for the object store's accounting.
    var byteCount: Int {
        switch self {
        case .value(let value): value.wireByteCount
        case .bytes(_, let bytes): bytes.count
        case .shared(_, let shared): shared.bytes.count
        }
    }
}

/// The wire type name of an existential value.
func wireTypeName(of value: any WireSerializable) -> String {
    func name<T: WireSerializable>(_ value: T) -> String { T.wireTypeName }
    return name(value)
}
