/// Binary arithmetic that tensors apply element by element.
public enum BinaryOperation: Sendable {
    case add, subtract, multiply, divide, power, maximum, minimum
}

/// Elementwise comparisons, which produce `Bool` masks.
public enum ComparisonOperation: Sendable {
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
}

/// Unary operations defined for every numeric scalar.
public enum UnaryOperation: Sendable {
    case negate, absolute, relu, square
}

/// Unary operations defined for floating-point scalars.
public enum FloatingUnaryOperation: Sendable {
    case exp, log, sqrt, tanh, sigmoid, erf
}

/// Runs `body` over one segment with the stride patterns that matter for speed unrolled, so that
/// the contiguous and broadcast-scalar cases compile to SIMD loops.
@inline(__always)
func binarySegment<T, R>(
    _ a: UnsafePointer<T>, _ strideA: Int, _ b: UnsafePointer<T>, _ strideB: Int,
    _ out: UnsafeMutablePointer<R>, _ count: Int, _ body: (T, T) -> R
) {
    if strideA == 1 && strideB == 1 {
        for i in 0..<count { out[i] = body(a[i], b[i]) }
    } else if strideA == 1 && strideB == 0 {
        let y = b[0]
        for i in 0..<count { out[i] = body(a[i], y) }
    } else if strideA == 0 && strideB == 1 {
        let x = a[0]
        for i in 0..<count { out[i] = body(x, b[i]) }
    } else {
        for i in 0..<count { out[i] = body(a[i * strideA], b[i * strideB]) }
    }
}

@inline(__always)
func unarySegment<T, R>(
    _ a: UnsafePointer<T>, _ strideA: Int, _ out: UnsafeMutablePointer<R>, _ count: Int, _ body: (T) -> R
) {
    if strideA == 1 {
        for i in 0..<count { out[i] = body(a[i]) }
    } else {
        for i in 0..<count { out[i] = body(a[i * strideA]) }
    }
}

// The default implementations below are generic, but each conforming type's witness table calls
// them with a concrete `Self`, so the compiler emits one specialized, vectorized copy per scalar
// type. Generic tensor code calls them through the scalar's kernel table and so runs specialized
// loops even when it was called from another module.
extension NumericRoutines where KernelScalar == Self {
    static func binaryKernel(
        _ operation: BinaryOperation, _ a: UnsafePointer<Self>, _ strideA: Int,
        _ b: UnsafePointer<Self>, _ strideB: Int, _ out: UnsafeMutablePointer<Self>, _ count: Int
    ) {
        switch operation {
        case .add: binarySegment(a, strideA, b, strideB, out, count) { tensorAdd($0, $1) }
        case .subtract: binarySegment(a, strideA, b, strideB, out, count) { tensorSubtract($0, $1) }
        case .multiply: binarySegment(a, strideA, b, strideB, out, count) { tensorMultiply($0, $1) }
        case .divide: binarySegment(a, strideA, b, strideB, out, count) { tensorDivide($0, $1) }
        case .power: binarySegment(a, strideA, b, strideB, out, count) { tensorPower($0, $1) }
        // NaN propagates through maximum and minimum, as in NumPy and PyTorch.
        case .maximum: binarySegment(a, strideA, b, strideB, out, count) { $0 != $0 || $0 > $1 ? $0 : $1 }
        case .minimum: binarySegment(a, strideA, b, strideB, out, count) { $0 != $0 || $0 < $1 ? $0 : $1 }
        }
    }

    static func compareKernel(
        _ operation: ComparisonOperation, _ a: UnsafePointer<Self>, _ strideA: Int,
        _ b: UnsafePointer<Self>, _ strideB: Int, _ out: UnsafeMutablePointer<Bool>, _ count: Int
    ) {
        switch operation {
        case .equal: binarySegment(a, strideA, b, strideB, out, count) { $0 == $1 }
        case .notEqual: binarySegment(a, strideA, b, strideB, out, count) { $0 != $1 }
        case .less: binarySegment(a, strideA, b, strideB, out, count) { $0 < $1 }
        case .lessOrEqual: binarySegment(a, strideA, b, strideB, out, count) { $0 <= $1 }
        case .greater: binarySegment(a, strideA, b, strideB, out, count) { $0 > $1 }
        case .greaterOrEqual: binarySegment(a, strideA, b, strideB, out, count) { $0 >= $1 }
        }
    }

    static func unaryKernel(
        _ operation: UnaryOperation, _ a: UnsafePointer<Self>, _ strideA: Int,
        _ out: UnsafeMutablePointer<Self>, _ count: Int
    ) {
        switch operation {
        case .negate: unarySegment(a, strideA, out, count) { tensorSubtract(.zero, $0) }
        case .absolute: unarySegment(a, strideA, out, count) { $0 < .zero ? tensorSubtract(.zero, $0) : $0 }
        case .relu: unarySegment(a, strideA, out, count) { $0 < .zero ? .zero : $0 }
        case .square: unarySegment(a, strideA, out, count) { tensorMultiply($0, $0) }
        }
    }

    static func clampKernel(
        _ a: UnsafePointer<Self>, _ strideA: Int, lower: Self, upper: Self,
        _ out: UnsafeMutablePointer<Self>, _ count: Int
    ) {
        unarySegment(a, strideA, out, count) { $0 < lower ? lower : ($0 > upper ? upper : $0) }
    }
}

extension FloatingRoutines where KernelScalar == Self {
    static func floatingUnaryKernel(
        _ operation: FloatingUnaryOperation, _ a: UnsafePointer<Self>, _ strideA: Int,
        _ out: UnsafeMutablePointer<Self>, _ count: Int
    ) {
        switch operation {
        case .exp:
            if strideA == 1 {
                tensorExp(a, out, count: count)
            } else {
                unarySegment(a, strideA, out, count) { tensorExp($0) }
            }
        case .log: unarySegment(a, strideA, out, count) { tensorLog($0) }
        case .sqrt: unarySegment(a, strideA, out, count) { $0.squareRoot() }
        case .tanh: unarySegment(a, strideA, out, count) { tensorTanh($0) }
        case .erf: unarySegment(a, strideA, out, count) { tensorErf($0) }
        case .sigmoid:
            // 1 / (1 + e^-x) saturates cleanly: e^-x overflows to +inf for very negative x and
            // the result is 0, never NaN.
            unarySegment(a, strideA, out, count) { 1 / (1 + tensorExp(-$0)) }
        }
    }
}
