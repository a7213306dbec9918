/// The element type of a tensor, as the runtime, the wire and safetensors files name it.
///
/// `Tensor<Scalar>` knows its element type statically; ``AnyTensor`` carries it as a `DType`
/// value so that tensors of any element type can be stored and sent side by side.
public enum DType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `Bool`, one byte per element (0 or 1).
    case bool = 0
    /// `UInt8`.
    case uint8 = 1
    /// `Int32`.
    case int32 = 2
    /// `Int64` (Swift's `Int` on 64-bit platforms).
    case int64 = 3
    /// `Float` (IEEE 754 binary32).
    case float32 = 4
    /// `Double` (IEEE 754 binary64).
    case float64 = 5

    /// The size of one element in bytes.
    public var byteCount: Int {
        switch self {
        case .bool, .uint8: 1
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    /// The name the Python `safetensors` package writes in a file's header (`"F32"`, `"I64"`, …).
    public var safetensorsName: String {
        switch self {
        case .bool: "BOOL"
        case .uint8: "U8"
        case .int32: "I32"
        case .int64: "I64"
        case .float32: "F32"
        case .float64: "F64"
        }
    }

    /// Finds the dtype that a safetensors header names, or `nil` for a dtype IOCompute does not hold
    /// (such as `"BF16"`).
    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else {
            return nil
        }
        self = match
    }

    public var description: String {
        switch self {
        case .bool: "bool"
        case .uint8: "uint8"
        case .int32: "int32"
        case .int64: "int64"
        case .float32: "float32"
        case .float64: "float64"
        }
    }
}
