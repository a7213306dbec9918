/// A type that a ``Tensor`` can hold: `Bool`, `UInt8`, `Int32`, `Int64`, `Float` or `Double`.
///
/// The set is closed: each conforming type names its ``DType`` so that tensors can be type-erased
/// into ``AnyTensor``, written to safetensors files and sent over the wire as raw bytes.
public protocol TensorScalar: Sendable, Equatable, BitwiseCopyable {
    /// The dtype of this scalar type.
    static var dtype: DType { get }
    /// The value that fills a freshly made tensor (`0` or `false`).
    static var zeroValue: Self { get }
}

/// A scalar type with arithmetic and an order: `UInt8`, `Int32`, `Int64`, `Float`, `Double`.
///
/// Integer arithmetic in tensors wraps on overflow and yields `0` on division by zero, as NumPy
/// does, so that no input can trap the process.
public protocol NumericScalar: TensorScalar, Numeric, Comparable {
    /// The identity of `max` reductions (`-infinity` for floating point, `.min` for integers).
    static var lowestValue: Self { get }
    /// The identity of `min` reductions (`+infinity` for floating point, `.max` for integers).
    static var highestValue: Self { get }
    /// Converts from `Double`, rounding toward zero for integers and saturating at their bounds.
    init(converting value: Double)
    /// This value as a `Double`.
    var doubleValue: Double { get }

    /// Elementwise addition as tensors define it (wrapping for integers).
    static func tensorAdd(_ a: Self, _ b: Self) -> Self
    /// Elementwise subtraction as tensors define it (wrapping for integers).
    static func tensorSubtract(_ a: Self, _ b: Self) -> Self
    /// Elementwise multiplication as tensors define it (wrapping for integers).
    static func tensorMultiply(_ a: Self, _ b: Self) -> Self
    /// Elementwise division as tensors define it (integer division by zero gives zero).
    static func tensorDivide(_ a: Self, _ b: Self) -> Self
    /// Elementwise power.
    static func tensorPower(_ a: Self, _ b: Self) -> Self

    /// The CPU loops tensor operations run for this type. Opaque: an implementation detail of
    /// IOTensor, which alone can make one.
    static var numericKernels: NumericKernels<Self> { get }
}

/// A floating-point scalar type, `Float` or `Double`: the types with transcendental functions,
/// random numbers, and BLAS and LAPACK kernels.
public protocol FloatingScalar: NumericScalar, BinaryFloatingPoint {
    /// The exponential function eˣ.
    static func tensorExp(_ x: Self) -> Self
    /// The natural logarithm.
    static func tensorLog(_ x: Self) -> Self
    /// The hyperbolic tangent.
    static func tensorTanh(_ x: Self) -> Self
    /// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt.
    static func tensorErf(_ x: Self) -> Self

    /// Writes eˣ for `count` contiguous elements; vectorized where the type allows.
    static func tensorExp(
        _ source: UnsafePointer<Self>, _ destination: UnsafeMutablePointer<Self>, count: Int)

    /// The CPU loops floating-point tensor operations run for this type. Opaque: an implementation
    /// detail of IOTensor, which alone can make one.
    static var floatingKernels: FloatingKernels<Self> { get }
}

extension FloatingScalar {
    public static var lowestValue: Self { -.infinity }
    public static var highestValue: Self { .infinity }
    @inline(__always) public static func tensorAdd(_ a: Self, _ b: Self) -> Self { a + b }
    @inline(__always) public static func tensorSubtract(_ a: Self, _ b: Self) -> Self { a - b }
    @inline(__always) public static func tensorMultiply(_ a: Self, _ b: Self) -> Self { a * b }
    @inline(__always) public static func tensorDivide(_ a: Self, _ b: Self) -> Self { a / b }
}

extension FixedWidthInteger where Self: NumericScalar {
    public static var lowestValue: Self { .min }
    public static var highestValue: Self { .max }
    public init(converting value: Double) {
        if value.isNaN {
            self = 0
        } else if value <= Double(Self.min) {
            self = .min
        } else if value >= Double(Self.max) {
            self = .max
        } else {
            self = Self(value)
        }
    }
    public var doubleValue: Double { Double(self) }
    @inline(__always) public static func tensorAdd(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) public static func tensorSubtract(_ a: Self, _ b: Self) -> Self { a &- b }
    @inline(__always) public static func tensorMultiply(_ a: Self, _ b: Self) -> Self { a &* b }
    @inline(__always) public static func tensorDivide(_ a: Self, _ b: Self) -> Self {
        // Int.min / -1 overflows; NumPy wraps it to Int.min, and so do we.
        if b == 0 { return 0 }
        if Self.isSigned && b == (0 &- 1) { return 0 &- a }
        return a / b
    }
    @inline(__always) public static func tensorPower(_ a: Self, _ b: Self) -> Self {
        // Exponentiation by squaring with wrapping products; a negative exponent gives 0 unless
        // the base is ±1, as integer powers do in NumPy.
        if b < 0 {
            if a == 1 { return 1 }
            if Self.isSigned && a == (0 &- 1) { return (b & 1) == 0 ? 1 : a }
            return 0
        }
        var result: Self = 1
        var base = a
        var exponent = b
        while exponent > 0 {
            if exponent & 1 == 1 { result = result &* base }
            exponent >>= 1
            base = base &* base
        }
        return result
    }
}
