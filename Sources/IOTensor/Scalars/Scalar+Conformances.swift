import CTensorKernels
import Foundation

extension Bool: TensorScalar {
    public static var dtype: DType { .bool }
    public static var zeroValue: Bool { false }
}

extension UInt8: NumericScalar {
    public static var dtype: DType { .uint8 }
    public static var zeroValue: UInt8 { 0 }
    public static var numericKernels: NumericKernels<UInt8> { NumericKernels(routines: UInt8.self) }
}

extension Int32: NumericScalar {
    public static var dtype: DType { .int32 }
    public static var zeroValue: Int32 { 0 }
    public static var numericKernels: NumericKernels<Int32> { NumericKernels(routines: Int32.self) }
}

extension Int64: NumericScalar {
    public static var dtype: DType { .int64 }
    public static var zeroValue: Int64 { 0 }
    public static var numericKernels: NumericKernels<Int64> { NumericKernels(routines: Int64.self) }
}

extension Float: FloatingScalar {
    public static var dtype: DType { .float32 }
    public static var zeroValue: Float { 0 }
    public static var numericKernels: NumericKernels<Float> { NumericKernels(routines: Float.self) }
    public static var floatingKernels: FloatingKernels<Float> { FloatingKernels(routines: Float.self) }
    public init(converting value: Double) { self = Float(value) }
    public var doubleValue: Double { Double(self) }
    @inline(__always) public static func tensorPower(_ a: Float, _ b: Float) -> Float { powf(a, b) }
    @inline(__always) public static func tensorExp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func tensorLog(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func tensorTanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) public static func tensorErf(_ x: Float) -> Float { erff(x) }
    public static func tensorExp(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        iot_exp_f32(source, destination, count)
    }
}

extension Double: FloatingScalar {
    public static var dtype: DType { .float64 }
    public static var zeroValue: Double { 0 }
    public static var numericKernels: NumericKernels<Double> { NumericKernels(routines: Double.self) }
    public static var floatingKernels: FloatingKernels<Double> { FloatingKernels(routines: Double.self) }
    public init(converting value: Double) { self = value }
    public var doubleValue: Double { self }
    @inline(__always) public static func tensorPower(_ a: Double, _ b: Double) -> Double { Foundation.pow(a, b) }
    @inline(__always) public static func tensorExp(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) public static func tensorLog(_ x: Double) -> Double { Foundation.log(x) }
    @inline(__always) public static func tensorTanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) public static func tensorErf(_ x: Double) -> Double { Foundation.erf(x) }
    public static func tensorExp(
        _ source: UnsafePointer<Double>, _ destination: UnsafeMutablePointer<Double>, count: Int
    ) {
        for i in 0..<count { destination[i] = Foundation.exp(source[i]) }
    }
}

extension Int: NumericScalar {
    /// `Int` is 64 bits wide on every platform IOCompute supports, so it shares `Int64`'s dtype.
    public static var dtype: DType { .int64 }
    public static var zeroValue: Int { 0 }
    public static var numericKernels: NumericKernels<Int> { NumericKernels(routines: Int.self) }
}

// The kernel routines are internal conformances: tensor code reaches them through each type's
// public, opaque kernel table.
extension UInt8: NumericRoutines { typealias KernelScalar = UInt8 }
extension Int32: NumericRoutines { typealias KernelScalar = Int32 }
extension Int64: NumericRoutines { typealias KernelScalar = Int64 }
extension Int: NumericRoutines { typealias KernelScalar = Int }
extension Float: FloatingRoutines { typealias KernelScalar = Float }
extension Double: FloatingRoutines { typealias KernelScalar = Double }
