/// A tensor whose element type is known only at run time: a dtype, a shape and row-major bytes.
///
/// This is the form the runtime stores, the wire carries and safetensors files hold. Converting a
/// contiguous `Tensor` to an `AnyTensor` and back shares the buffer; nothing is copied.
///
/// ```swift
/// let erased = AnyTensor(try Tensor<Float>.randomNormal([3, 4], seed: 1))
/// let back = try erased.tensor(as: Float.self)       // same buffer
/// ```
public struct AnyTensor: Sendable, Equatable, CustomStringConvertible {
    /// The element type.
    public let dtype: DType
    /// The size of each dimension.
    public let shape: [Int]
    let buffer: TensorBuffer
    /// Offset of the first element in bytes.
    let byteOffset: Int

    /// The tensor's elements, erased. Shares the buffer when `tensor` is contiguous.
    public init<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) {
        let source = tensor.contiguous()
        dtype = Scalar.dtype
        shape = source.shape
        buffer = source.buffer
        byteOffset = source.offset * MemoryLayout<Scalar>.stride
    }

    /// A tensor of `dtype` and `shape` whose elements are copied from `bytes` (row-major,
    /// little-endian, as on every platform IOCompute supports).
    ///
    /// - Throws: ``TensorError/invalidShape(operation:shape:reason:)`` when the byte count does not
    ///   match the shape.
    public init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) throws(TensorError) {
        let count = try Self.elementCount(dtype: dtype, shape: shape, bytes: bytes, operation: "AnyTensor")
        let buffer = TensorBuffer(byteCount: bytes.count)
        if bytes.count > 0, let source = bytes.baseAddress {
            buffer.base.copyMemory(from: source, byteCount: bytes.count)
        }
        self.init(dtype: dtype, shape: shape, binding: buffer, count: count)
    }

    /// A tensor of `dtype` and `shape` over `bytes` without copying them: memory that `owner`
    /// keeps valid (a shared-memory mapping that another process filled, say) and that nobody
    /// writes while `owner` lives. The tensor and its copies never write to it either; the first
    /// write makes a private copy. Memory not aligned for `dtype` is copied instead.
    ///
    /// - Throws: ``TensorError/invalidShape(operation:shape:reason:)`` when the byte count does not
    ///   match the shape, or a `bool` tensor holds a byte other than 0 or 1.
    public init(
        dtype: DType, shape: [Int], borrowing bytes: UnsafeRawBufferPointer, owner: any AnyObject & Sendable
    ) throws(TensorError) {
        guard let base = bytes.baseAddress, Int(bitPattern: base) % dtype.byteCount == 0 else {
            try self.init(dtype: dtype, shape: shape, bytes: bytes)
            return
        }
        let count = try Self.elementCount(dtype: dtype, shape: shape, bytes: bytes, operation: "AnyTensor(borrowing:)")
        let buffer = TensorBuffer(borrowing: UnsafeMutableRawPointer(mutating: base), byteCount: bytes.count, owner: owner)
        self.init(dtype: dtype, shape: shape, binding: buffer, count: count)
    }

    /// Checks that `bytes` holds the elements of `shape` (and, for `bool`, only 0 and 1, the
    /// only bytes a Swift `Bool` may hold) and returns their number.
    private static func elementCount(
        dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, operation: String
    ) throws(TensorError) -> Int {
        try Tensor<UInt8>.validate(shape: shape, operation: operation)
        let count = shape.reduce(1, *)
        let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow, expected == bytes.count else {
            throw .invalidShape(
                operation: operation, shape: shape, reason: "\(bytes.count) bytes do not hold \(count) elements of \(dtype)")
        }
        if dtype == .bool, bytes.contains(where: { $0 > 1 }) {
            throw .invalidShape(operation: operation, shape: shape, reason: "a bool element is neither 0 nor 1")
        }
        return count
    }

    private init(dtype: DType, shape: [Int], binding buffer: TensorBuffer, count: Int) {
        switch dtype {
        case .bool: buffer.base.bindMemory(to: Bool.self, capacity: Swift.max(count, 1))
        case .uint8: buffer.base.bindMemory(to: UInt8.self, capacity: Swift.max(count, 1))
        case .int32: buffer.base.bindMemory(to: Int32.self, capacity: Swift.max(count, 1))
        case .int64: buffer.base.bindMemory(to: Int64.self, capacity: Swift.max(count, 1))
        case .float32: buffer.base.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        case .float64: buffer.base.bindMemory(to: Double.self, capacity: Swift.max(count, 1))
        }
        self.dtype = dtype
        self.shape = shape
        self.buffer = buffer
        self.byteOffset = 0
    }

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The size of the elements in bytes.
    public var byteCount: Int { count * dtype.byteCount }

    /// Calls `body` with the elements' bytes in row-major order.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: buffer.base + byteOffset, count: byteCount))
    }

    /// The typed tensor, sharing this one's buffer.
    ///
    /// - Throws: ``TensorError/dtypeMismatch(operation:expected:actual:)`` when `Scalar` is not
    ///   this tensor's dtype.
    public func tensor<Scalar: TensorScalar>(as type: Scalar.Type) throws(TensorError) -> Tensor<Scalar> {
        guard Scalar.dtype == dtype, MemoryLayout<Scalar>.stride == dtype.byteCount else {
            throw .dtypeMismatch(operation: "AnyTensor.tensor(as:)", expected: Scalar.dtype, actual: dtype)
        }
        return Tensor(
            buffer: buffer, shape: shape, strides: Tensor<Scalar>.contiguousStrides(shape),
            offset: byteOffset / MemoryLayout<Scalar>.stride)
    }

    public static func == (lhs: AnyTensor, rhs: AnyTensor) -> Bool {
        guard lhs.dtype == rhs.dtype && lhs.shape == rhs.shape else { return false }
        return lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.elementsEqual(b) } }
    }

    public var description: String { "AnyTensor(\(dtype), shape: \(shape))" }
}

extension Tensor {
    /// The typed view of an erased tensor; shares its buffer.
    ///
    /// - Throws: ``TensorError/dtypeMismatch(operation:expected:actual:)`` for another dtype.
    public init(_ erased: AnyTensor) throws(TensorError) {
        self = try erased.tensor(as: Scalar.self)
    }
}
