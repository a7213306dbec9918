/// An n-dimensional array of scalars with value semantics.
///
/// A tensor is a shape, a set of strides and a shared, copy-on-write buffer. Views — a transpose,
/// a slice, a broadcast — share their source's buffer and cost nothing; operations write fresh,
/// row-major (C-order) results. Shape errors are thrown as ``TensorError`` naming both shapes.
///
/// ```swift
/// let a = try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let b = try a.matmul(a.transposed())      // [2, 2], the transpose is a BLAS flag, not a copy
/// let total = a.sum().scalar                 // 21
/// ```
public struct Tensor<Scalar: TensorScalar>: Sendable {
    var buffer: TensorBuffer
    /// The size of each dimension, outermost first.
    public internal(set) var shape: [Int]
    /// The distance in elements between neighbours along each dimension (0 for a broadcast one).
    var strides: [Int]
    /// The position of the first element in the buffer, in elements.
    var offset: Int

    init(buffer: TensorBuffer, shape: [Int], strides: [Int], offset: Int) {
        self.buffer = buffer
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A new contiguous tensor whose elements are not yet written.
    init(uninitializedShape shape: [Int]) {
        let count = Self.elementCount(shape)
        let buffer = TensorBuffer(byteCount: count * MemoryLayout<Scalar>.stride)
        buffer.base.bindMemory(to: Scalar.self, capacity: Swift.max(count, 1))
        self.init(buffer: buffer, shape: shape, strides: Self.contiguousStrides(shape), offset: 0)
    }

    /// A new contiguous tensor of `shape` whose elements `body` writes, row-major; `body` must
    /// initialize every element (as with `Array(unsafeUninitializedCapacity:)`).
    ///
    /// ```swift
    /// let squares = try Tensor<Float>(shape: [4]) { for i in $0.indices { $0[i] = Float(i * i) } }
    /// ```
    ///
    /// - Throws: ``TensorError/invalidShape(operation:shape:reason:)`` for a negative dimension, or
    ///   what `body` throws.
    public init<E: Error>(shape: [Int], initializingWith body: (UnsafeMutableBufferPointer<Scalar>) throws(E) -> Void) throws {
        try Self.validate(shape: shape, operation: "Tensor(shape:initializingWith:)")
        self.init(uninitializedShape: shape)
        try body(UnsafeMutableBufferPointer(start: basePointer, count: count))
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The number of elements: the product of the shape (1 for a scalar tensor).
    public var count: Int { Self.elementCount(shape) }

    /// The element type's dtype.
    public var dtype: DType { Scalar.dtype }

    /// Whether the elements lie in row-major order without gaps, so that they can be read as one
    /// buffer.
    public var isContiguous: Bool {
        var expected = 1
        for axis in shape.indices.reversed() where shape[axis] != 1 {
            if shape[axis] == 0 { return true }
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= Swift.max(shape[axis], 1)
        }
        return strides
    }

    /// Checks that `shape` describes a tensor this process could hold: no negative dimension, an
    /// element count and strides that do not overflow, and a byte size within the machine's memory (a larger
    /// request would otherwise end the process when the allocation fails).
    static func validate(shape: [Int], operation: String) throws(TensorError) {
        if let negative = shape.first(where: { $0 < 0 }) {
            throw .invalidShape(operation: operation, shape: shape, reason: "dimension \(negative) is negative")
        }
        var total = MemoryLayout<Scalar>.stride
        // The strides multiply the dimensions with zeros counted as ones, so a shape with no
        // elements can still overflow them ([0, 2^32, 2^32]): check that product too.
        var span = MemoryLayout<Scalar>.stride
        for dimension in shape {
            let product = total.multipliedReportingOverflow(by: dimension)
            let spanProduct = span.multipliedReportingOverflow(by: Swift.max(dimension, 1))
            if product.overflow || spanProduct.overflow {
                throw .invalidShape(operation: operation, shape: shape, reason: "the byte count or the strides overflow Int")
            }
            total = product.partialValue
            span = spanProduct.partialValue
        }
        if total > MemoryLimit.physicalBytes {
            throw .invalidShape(
                operation: operation, shape: shape,
                reason: "it needs \(total) bytes, more than this machine's \(MemoryLimit.physicalBytes) bytes of memory")
        }
    }

    /// Typed pointer to the first element of this view.
    var basePointer: UnsafeMutablePointer<Scalar> {
        buffer.base.assumingMemoryBound(to: Scalar.self) + offset
    }
}

// MARK: - Making tensors from scalars

extension Tensor {
    /// A tensor of the given shape holding `scalars` in row-major order.
    ///
    /// - Throws: ``TensorError/invalidShape(operation:shape:reason:)`` when the shape's element
    ///   count differs from `scalars.count` or a dimension is negative.
    public init(shape: [Int], scalars: [Scalar]) throws(TensorError) {
        try Self.validate(shape: shape, operation: "Tensor(shape:scalars:)")
        guard Self.elementCount(shape) == scalars.count else {
            throw .invalidShape(
                operation: "Tensor(shape:scalars:)", shape: shape,
                reason: "it holds \(Self.elementCount(shape)) elements but \(scalars.count) scalars were given")
        }
        self.init(uninitializedShape: shape)
        let destination = basePointer
        scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { destination.update(from: base, count: source.count) }
        }
    }

    /// A one-dimensional tensor holding `scalars`.
    public init(_ scalars: [Scalar]) {
        self.init(uninitializedShape: [scalars.count])
        let destination = basePointer
        scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { destination.update(from: base, count: source.count) }
        }
    }

    /// A scalar (rank 0) tensor.
    public init(scalar: Scalar) {
        self.init(uninitializedShape: [])
        basePointer.initialize(to: scalar)
    }

    /// A tensor of the given shape whose every element is `value`.
    public init(repeating value: Scalar, shape: [Int]) throws(TensorError) {
        try Self.validate(shape: shape, operation: "Tensor(repeating:shape:)")
        self.init(uninitializedShape: shape)
        Self.fill(basePointer, with: value, count: count)
    }

    /// Writes `value` to `count` elements from `base`. Scalars are plain bits, so the stores go
    /// as fixed-width integers: a loop on `Scalar` itself (or `update(repeating:count:)`) runs
    /// unspecialized when called from another module, one value-witness call per element.
    static func fill(_ base: UnsafeMutablePointer<Scalar>, with value: Scalar, count: Int) {
        let raw = UnsafeMutableRawPointer(base)
        func bits<Bits: FixedWidthInteger>(_: Bits.Type) -> Bits {
            Swift.withUnsafeBytes(of: value) { $0.loadUnaligned(as: Bits.self) }
        }
        switch (MemoryLayout<Scalar>.size, MemoryLayout<Scalar>.stride) {
        case (1, 1): fillBits(raw, bits(UInt8.self), count)
        case (2, 2): fillBits(raw, bits(UInt16.self), count)
        case (4, 4): fillBits(raw, bits(UInt32.self), count)
        case (8, 8): fillBits(raw, bits(UInt64.self), count)
        default: base.update(repeating: value, count: count)
        }
    }

    /// A contiguous tensor of the given shape whose elements `body` writes, in row-major order.
    ///
    /// - Throws: ``TensorError/invalidShape(operation:shape:reason:)`` for a negative dimension.
    public init(
        shape: [Int], initializingWith body: (UnsafeMutableBufferPointer<Scalar>) throws -> Void
    ) throws {
        try Self.validate(shape: shape, operation: "Tensor(shape:initializingWith:)")
        self.init(uninitializedShape: shape)
        try body(UnsafeMutableBufferPointer(start: basePointer, count: count))
    }
}

// MARK: - Reading and writing elements

extension Tensor {
    /// The elements in row-major order.
    public var scalars: [Scalar] {
        withUnsafeBufferPointer { Array($0) }
    }

    /// The only element of a tensor that holds exactly one (a scalar tensor, or a shape of ones).
    ///
    /// Reading it from a tensor of another size is a programming error and traps, as reading past
    /// the end of an `Array` does.
    public var scalar: Scalar {
        precondition(count == 1, "Tensor.scalar: the tensor has shape \(shape) and \(count) elements, not 1")
        return basePointer.pointee
    }

    /// The element at `indices`, one index per dimension (negative indices count from the end).
    ///
    /// An index outside its dimension is a programming error and traps, as with `Array`.
    public subscript(indices: Int...) -> Scalar {
        get { basePointer[elementOffset(indices)] }
        set {
            makeUniqueAndContiguous()
            basePointer[elementOffset(indices)] = newValue
        }
    }

    func elementOffset(_ indices: [Int]) -> Int {
        precondition(indices.count == rank, "Tensor subscript: \(indices.count) indices for a tensor of rank \(rank)")
        var position = 0
        for axis in 0..<rank {
            var index = indices[axis]
            if index < 0 { index += shape[axis] }
            precondition(
                index >= 0 && index < shape[axis],
                "Tensor subscript: index \(indices[axis]) is out of range for dimension \(axis) of shape \(shape)")
            position += index * strides[axis]
        }
        return position
    }

    /// Calls `body` with the elements in row-major order as one buffer, copying first only if
    /// this tensor is a non-contiguous view.
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<Scalar>) throws(E) -> R
    ) throws(E) -> R {
        if isContiguous {
            return try body(UnsafeBufferPointer(start: basePointer, count: count))
        }
        let copy = contiguous()
        return try body(UnsafeBufferPointer(start: copy.basePointer, count: copy.count))
    }

    /// Calls `body` with the elements as one mutable buffer in row-major order, after making this
    /// tensor the sole, contiguous owner of its buffer.
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Scalar>) throws(E) -> R
    ) throws(E) -> R {
        makeUniqueAndContiguous()
        return try body(UnsafeMutableBufferPointer(start: basePointer, count: count))
    }

    /// Calls `body` with the raw bytes of the elements in row-major order.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBufferPointer { (elements) throws(E) -> R in
            try body(UnsafeRawBufferPointer(elements))
        }
    }

    mutating func makeUniqueAndContiguous() {
        if !isKnownUniquelyReferenced(&buffer) || !isContiguous || buffer.isBorrowed {
            self = contiguous(forceCopy: true)
        }
        buffer.deviceMemory?.hostWillWrite()
    }

    /// A row-major copy of this tensor's elements, or `self` when it is already contiguous.
    public func contiguous() -> Tensor { contiguous(forceCopy: false) }

    func contiguous(forceCopy: Bool) -> Tensor {
        if isContiguous && !forceCopy { return self }
        if let result = DeviceDispatch.elementwise(.copy, dtype: Scalar.dtype, shape: shape, on: backend, [self], as: Scalar.self) {
            return result
        }
        var result = Tensor(uninitializedShape: shape)
        StridedCopy.copy(from: self, into: &result)
        return result
    }
}

extension Tensor: Equatable {
    /// Two tensors are equal when their shapes and elements are equal (element by element with
    /// `==`, so a NaN makes tensors unequal).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        return lhs.withUnsafeBufferPointer { a in
            rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) }
        }
    }
}

/// Stores `bits` `count` times from `raw`: outside `Tensor`'s generic context, so that each call
/// is specialized for its integer type (a vectorized loop) even where the tensor's is not.
private func fillBits<Bits: FixedWidthInteger>(_ raw: UnsafeMutableRawPointer, _ bits: Bits, _ count: Int) {
    for index in 0..<count { raw.storeBytes(of: bits, toByteOffset: index &* MemoryLayout<Bits>.stride, as: Bits.self) }
}
