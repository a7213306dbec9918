import IOTensor

/// How a collective combines the ranks' values element by element.
public enum ReduceOperation: UInt8, Sendable, Equatable, CaseIterable {
    /// The sum over ranks.
    case sum
    /// The product over ranks.
    case product
    /// The smallest value over ranks.
    case minimum
    /// The largest value over ranks.
    case maximum
    /// The mean over ranks: the sum divided by the group's size (integer division for integers).
    case average
}

/// An element type that collectives can reduce: `Float`, `Double`, `Int32` and `Int64`.
///
/// The kernels are written per concrete type so that the reduction loops are specialised and
/// vectorised rather than dispatched through the generic `Numeric` witness on every element.
public protocol CollectiveScalar: NumericScalar {
    /// `target[i] = target[i] ⊕ source[i]` for `count` elements (`average` sums; the division by
    /// the group's size is ``divide(_:count:by:)``).
    static func combine(_ operation: ReduceOperation, into target: UnsafeMutablePointer<Self>, from source: UnsafeRawPointer, count: Int)
    /// `values[i] /= divisor` for `count` elements.
    static func divide(_ values: UnsafeMutablePointer<Self>, count: Int, by divisor: Int)
    /// `target[i] = first[i] ⊕ second[i]` for `count` elements, in one pass.
    static func combine(
        _ operation: ReduceOperation, into target: UnsafeMutablePointer<Self>, first: UnsafeRawPointer, second: UnsafeRawPointer, count: Int
    )
}

extension CollectiveScalar {
    public static func combine(
        _ operation: ReduceOperation, into target: UnsafeMutablePointer<Self>, first: UnsafeRawPointer, second: UnsafeRawPointer, count: Int
    ) {
        UnsafeMutableRawPointer(target).copyMemory(from: first, byteCount: count * MemoryLayout<Self>.stride)
        combine(operation, into: target, from: second, count: count)
    }
}

/// ``CollectiveScalar/combine(_:into:first:second:count:)`` for floating point: a sum in one pass,
/// the other operations as a copy and a combine.
@inline(__always)
private func combineLoop<Scalar: NumericScalar & BinaryFloatingPoint>(
    _ operation: ReduceOperation, _ target: UnsafeMutablePointer<Scalar>, _ first: UnsafeRawPointer, _ second: UnsafeRawPointer,
    _ count: Int
) {
    guard operation == .sum || operation == .average else {
        UnsafeMutableRawPointer(target).copyMemory(from: first, byteCount: count * MemoryLayout<Scalar>.stride)
        return combineLoop(operation, target, second, count)
    }
    let stride = MemoryLayout<Scalar>.stride
    for index in 0..<count {
        target[index] =
            first.loadUnaligned(fromByteOffset: index * stride, as: Scalar.self)
            + second.loadUnaligned(fromByteOffset: index * stride, as: Scalar.self)
    }
}

@inline(__always)
private func combineLoop<Scalar: NumericScalar>(
    _ operation: ReduceOperation, _ target: UnsafeMutablePointer<Scalar>, _ source: UnsafeRawPointer, _ count: Int
) {
    // The source may come from a byte buffer at any offset: read it unaligned.
    switch operation {
    case .sum, .average:
        for index in 0..<count {
            target[index] += source.loadUnaligned(fromByteOffset: index * MemoryLayout<Scalar>.stride, as: Scalar.self)
        }
    case .product:
        for index in 0..<count {
            target[index] *= source.loadUnaligned(fromByteOffset: index * MemoryLayout<Scalar>.stride, as: Scalar.self)
        }
    case .minimum:
        for index in 0..<count {
            let value = source.loadUnaligned(fromByteOffset: index * MemoryLayout<Scalar>.stride, as: Scalar.self)
            if value < target[index] { target[index] = value }
        }
    case .maximum:
        for index in 0..<count {
            let value = source.loadUnaligned(fromByteOffset: index * MemoryLayout<Scalar>.stride, as: Scalar.self)
            if value > target[index] { target[index] = value }
        }
    }
}

extension Float: CollectiveScalar {
    public static func combine(
        _ operation: ReduceOperation, into target: UnsafeMutablePointer<Float>, from source: UnsafeRawPointer, count: Int
    ) {
        combineLoop(operation, target, source, count)
    }
    public static func combine(
        _ operation: ReduceOperation, into target: UnsafeMutablePointer<Float>, first: UnsafeRawPointer, second: UnsafeRawPointer,
        count: Int
    ) {
        combineLoop(operation, target, first, second, count)
    }
    public static func divide(_ values: UnsafeMutablePointer<Float>, count: Int, by divisor: Int) {
        let scale = 1 / Float(divisor)
        for index in 0..<count { values[index] *= scale }
    }
}

extension Double: CollectiveScalar {
    public static func combine(
        _ operation: ReduceOperation, into target: UnsafeMutablePointer<Double>, from source: UnsafeRawPointer, count: Int
    ) {
        combineLoop(operation, target, source, count)
    }
    public static func combine(
        _ operation: ReduceOperation, into target: UnsafeMutablePointer<Double>, first: UnsafeRawPointer, second: UnsafeRawPointer,
        count: Int
    ) {
        combineLoop(operation, target, first, second, count)
    }
    public static func divide(_ values: UnsafeMutablePointer<Double>, count: Int, by divisor: Int) {
        let scale = 1 / Double(divisor)
        for index in 0..<count { values[index] *= scale }
    }
}

/// Integer sums and products wrap rather than trap, as in MPI and NCCL.
@inline(__always)
private func combineIntegers<Scalar: NumericScalar & FixedWidthInteger>(
    _ operation: ReduceOperation, _ target: UnsafeMutablePointer<Scalar>, _ source: UnsafeRawPointer, _ count: Int
) {
    let stride = MemoryLayout<Scalar>.stride
    switch operation {
    case .sum, .average:
        for index in 0..<count { target[index] &+= source.loadUnaligned(fromByteOffset: index * stride, as: Scalar.self) }
    case .product:
        for index in 0..<count { target[index] &*= source.loadUnaligned(fromByteOffset: index * stride, as: Scalar.self) }
    case .minimum, .maximum: combineLoop(operation, target, source, count)
    }
}

extension Int32: CollectiveScalar {
    public static func combine(
        _ operation: ReduceOperation, into target: UnsafeMutablePointer<Int32>, from source: UnsafeRawPointer, count: Int
    ) {
        combineIntegers(operation, target, source, count)
    }
    public static func divide(_ values: UnsafeMutablePointer<Int32>, count: Int, by divisor: Int) {
        for index in 0..<count { values[index] /= Int32(divisor) }
    }
}

extension Int64: CollectiveScalar {
    public static func combine(
        _ operation: ReduceOperation, into target: UnsafeMutablePointer<Int64>, from source: UnsafeRawPointer, count: Int
    ) {
        combineIntegers(operation, target, source, count)
    }
    public static func divide(_ values: UnsafeMutablePointer<Int64>, count: Int, by divisor: Int) {
        for index in 0..<count { values[index] /= Int64(divisor) }
    }
}
