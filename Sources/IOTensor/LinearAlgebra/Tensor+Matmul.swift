// Matrix products on BLAS. A transposed view reaches `cblas_?gemm` as a transpose flag with its
// leading dimension, never as a copy.

/// How a strided matrix view is handed to BLAS: as stored or transposed, with its leading dimension.
struct BLASMatrix {
    let transposed: Bool
    let leadingDimension: Int

    /// The BLAS description of a `rows`×`columns` view with the given strides, or `nil` when the
    /// view is neither row- nor column-contiguous (a strided slice) and must be copied first.
    init?(rows: Int, columns: Int, rowStride: Int, columnStride: Int) {
        if columnStride == 1 || columns == 1 {
            let leading = rows == 1 ? Swift.max(columns, 1) : rowStride
            if leading >= Swift.max(columns, 1) {
                transposed = false
                leadingDimension = leading
                return
            }
        }
        if rowStride == 1 || rows == 1 {
            let leading = columns == 1 ? Swift.max(rows, 1) : columnStride
            if leading >= Swift.max(rows, 1) {
                transposed = true
                leadingDimension = leading
                return
            }
        }
        return nil
    }
}

func blasInt(_ value: Int, operation: String) throws(TensorError) -> Int32 {
    guard let narrowed = Int32(exactly: value) else {
        throw .invalidArgument(operation: operation, reason: "dimension \(value) exceeds the 32-bit range of BLAS and LAPACK")
    }
    return narrowed
}

extension Tensor where Scalar: LinearAlgebraScalar {
    /// The matrix product, with NumPy's `matmul` rules: two matrices give a matrix; leading
    /// (batch) dimensions broadcast; a vector operand is treated as a row (on the left) or a column
    /// (on the right) and that dimension is dropped from the result; two vectors give their dot
    /// product.
    ///
    /// - Throws: ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` when the inner dimensions
    ///   differ or the batch dimensions do not broadcast.
    public func matmul(_ other: Tensor) throws(TensorError) -> Tensor {
        guard rank >= 1 && other.rank >= 1 else {
            throw .shapeMismatch(operation: "matmul", lhs: shape, rhs: other.shape, reason: "scalars have no matrix product")
        }
        if rank == 1 && other.rank == 1 { return try Tensor(scalar: dot(other)) }
        let onDevice = backend != nil || other.backend != nil
        if rank == 2 && other.rank == 1 && !onDevice {
            return try Tensor.matrixVector(self, other, transposingMatrix: false, originalShapes: (shape, other.shape))
        }
        if rank == 1 && other.rank == 2 && !onDevice {
            // v·B = Bᵀ·v
            return try Tensor.matrixVector(other, self, transposingMatrix: true, originalShapes: (shape, other.shape))
        }
        let left = rank == 1 ? try unsqueezed(at: 0) : self
        let right = other.rank == 1 ? try other.unsqueezed(at: 1) : other
        var product = try Tensor.batchedProduct(left, right, originalShapes: (shape, other.shape))
        if rank == 1 { product = try product.squeezed(axis: -2) }
        if other.rank == 1 { product = try product.squeezed(axis: -1) }
        return product
    }

    /// `self.matmul(other) + addend` in one pass over the result: the addend (a bias row, or any
    /// tensor that broadcasts to the product's shape) is written into the result first and BLAS
    /// accumulates onto it (β = 1), which saves the separate addition and the zeroing pass that
    /// BLAS makes for β = 0. Both operands must have rank ≥ 2; other shapes take the two-step path.
    ///
    /// - Throws: ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` as ``matmul(_:)`` does,
    ///   or when `addend` does not broadcast to the product's shape.
    public func matmul(_ other: Tensor, adding addend: Tensor) throws(TensorError) -> Tensor {
        guard rank >= 2 && other.rank >= 2 else { return try matmul(other) + addend }
        return try Tensor.batchedProduct(self, other, originalShapes: (shape, other.shape), accumulatingOnto: addend)
    }

    /// op(matrix)·vector through `cblas_?gemv`, where op transposes when `transposingMatrix` is set.
    private static func matrixVector(
        _ matrix: Tensor, _ vector: Tensor, transposingMatrix: Bool, originalShapes: ([Int], [Int])
    ) throws(TensorError) -> Tensor {
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        let inner = transposingMatrix ? rows : columns
        let length = transposingMatrix ? columns : rows
        guard vector.shape[0] == inner else {
            throw .shapeMismatch(
                operation: "matmul", lhs: originalShapes.0, rhs: originalShapes.1,
                reason: "inner dimensions \(inner) and \(vector.shape[0]) differ")
        }
        if length == 0 || inner == 0 { return try Tensor.zeros([length]) }
        BLASRuntime.prepare()
        let (stored, layout) = try matrix.blasReady()
        // BLAS sees the matrix as stored: the view itself, or its transpose when the view is
        // column-contiguous. Transposing for v·B and for that storage cancel out.
        let storedRows = layout.transposed ? columns : rows
        let storedColumns = layout.transposed ? rows : columns
        let x = vector.strides[0] >= 1 ? vector : vector.contiguous(forceCopy: true)
        let result = Tensor(uninitializedShape: [length])
        Scalar.lapack.gemv(
            transpose: transposingMatrix != layout.transposed, m: try blasInt(storedRows, operation: "matmul"),
            n: try blasInt(storedColumns, operation: "matmul"), alpha: 1, a: stored.basePointer,
            lda: Int32(layout.leadingDimension), x: x.basePointer, incx: try blasInt(x.strides[0], operation: "matmul"),
            beta: 0, y: result.basePointer, incy: 1)
        return result
    }

    /// The batched product; with `addend`, the product plus `addend` broadcast to its shape.
    private static func batchedProduct(
        _ a: Tensor, _ b: Tensor, originalShapes: ([Int], [Int]), accumulatingOnto addend: Tensor? = nil
    ) throws(TensorError) -> Tensor {
        BLASRuntime.prepare()
        let (m, k) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (k2, n) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        guard k == k2 else {
            throw .shapeMismatch(
                operation: "matmul", lhs: originalShapes.0, rhs: originalShapes.1,
                reason: "inner dimensions \(k) and \(k2) differ")
        }
        let batchShape = try broadcastShapes(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)), operation: "matmul")
        let (m32, n32, k32) = (
            try blasInt(m, operation: "matmul"), try blasInt(n, operation: "matmul"), try blasInt(k, operation: "matmul")
        )
        let resultShape = batchShape + [m, n]
        if let addend {
            let common = try broadcastShapes(addend.shape, resultShape, operation: "matmul")
            guard common == resultShape else {
                throw .shapeMismatch(
                    operation: "matmul", lhs: resultShape, rhs: addend.shape, reason: "the addend does not broadcast to the product's shape"
                )
            }
        }
        if let result = DeviceDispatch.run(
            "matmul", on: a.backend ?? b.backend ?? addend?.backend,
            { backend in
                try productOnDevice(a, b, addend: addend, m: m, n: n, k: k, batchShape: batchShape, on: backend)
            })
        {
            return result
        }
        let result: Tensor
        if let addend {
            result = try addend.broadcast(to: resultShape).contiguous(forceCopy: true)
        } else {
            // With β = 0 BLAS writes C without reading it, so the output need not be zeroed first.
            result = Tensor(uninitializedShape: resultShape)
        }
        if m == 0 || n == 0 || k == 0 { return addend == nil ? try Tensor.zeros(resultShape) : result }

        let left = try a.broadcast(to: batchShape + [m, k]).blasReady()
        let right = try b.broadcast(to: batchShape + [k, n]).blasReady()
        let batches = batchShape.reduce(1, *)
        let output = result.basePointer
        for batch in 0..<batches {
            var offsetA = 0
            var offsetB = 0
            var remainder = batch
            for axis in stride(from: batchShape.count - 1, through: 0, by: -1) {
                let position = remainder % batchShape[axis]
                remainder /= batchShape[axis]
                offsetA += position * left.tensor.strides[axis]
                offsetB += position * right.tensor.strides[axis]
            }
            Scalar.lapack.gemm(
                transposeA: left.layout.transposed, transposeB: right.layout.transposed, m: m32, n: n32, k: k32,
                alpha: 1, a: left.tensor.basePointer + offsetA, lda: Int32(left.layout.leadingDimension),
                b: right.tensor.basePointer + offsetB, ldb: Int32(right.layout.leadingDimension), beta: addend == nil ? 0 : 1,
                c: output + batch * m * n, ldc: n32)
        }
        return result
    }

    /// The batched product (plus `addend`) on a device. The kernel reads every operand through its
    /// strides, so transposed and broadcast views need no copy; batch dimensions that collapse to
    /// one stride per operand take one launch, others one launch per batch.
    private static func productOnDevice(
        _ a: Tensor, _ b: Tensor, addend: Tensor?, m: Int, n: Int, k: Int, batchShape: [Int], on backend: any DeviceBackend
    ) throws -> Tensor {
        let resultShape = batchShape + [m, n]
        let initial = addend ?? (k == 0 ? Tensor(scalar: 0) : nil)
        let result =
            try initial.map {
                try backend.run(
                    .copy, dtype: Scalar.dtype, shape: resultShape, operands: [$0.operand(on: backend, broadcastTo: resultShape)],
                    as: Scalar.self)
            }
            ?? allocated(on: backend, shape: resultShape, operation: "matmul")
        if result.count == 0 || k == 0 { return result }
        let left = try a.operand(on: backend, broadcastTo: batchShape + [m, k])
        let right = try b.operand(on: backend, broadcastTo: batchShape + [k, n])
        let batchRank = batchShape.count
        let loop = StridedLoop(
            shape: batchShape.isEmpty ? [1] : batchShape,
            operandStrides: batchShape.isEmpty
                ? [[0], [0]] : [Array(left.strides.prefix(batchRank)), Array(right.strides.prefix(batchRank))])
        func matrix(_ operand: DeviceOperand, offset: Int, batchStride: Int) -> DeviceMatrix {
            DeviceMatrix(
                storage: operand.storage, offset: offset, rowStride: operand.strides[batchRank],
                columnStride: operand.strides[batchRank + 1],
                batchStride: batchStride)
        }
        let output = result.outputStorage
        if loop.shape.count == 1 {
            try backend.matrixProduct(
                MatrixProduct(
                    batch: loop.count, m: m, n: n, k: k, a: matrix(left, offset: left.offset, batchStride: loop.strides[0][0]),
                    b: matrix(right, offset: right.offset, batchStride: loop.strides[1][0]),
                    c: DeviceMatrix(storage: output, offset: 0, rowStride: n, columnStride: 1, batchStride: m * n),
                    accumulate: initial != nil),
                dtype: Scalar.dtype)
            return result
        }
        var thrown: (any Error)?
        loop.forEachSegment(in: 0..<loop.count) { start, offsets, length in
            guard thrown == nil else { return }
            do {
                try backend.matrixProduct(
                    MatrixProduct(
                        batch: length, m: m, n: n, k: k, a: matrix(left, offset: left.offset + offsets.a, batchStride: loop.innerStride(0)),
                        b: matrix(right, offset: right.offset + offsets.b, batchStride: loop.innerStride(1)),
                        c: DeviceMatrix(storage: output, offset: start * m * n, rowStride: n, columnStride: 1, batchStride: m * n),
                        accumulate: initial != nil),
                    dtype: Scalar.dtype)
            } catch { thrown = error }
        }
        if let thrown { throw thrown }
        return result
    }

    /// This tensor (rank ≥ 2) with its last two axes in a layout BLAS accepts, copying only when
    /// they are neither row- nor column-contiguous.
    private func blasReady() throws(TensorError) -> (tensor: Tensor, layout: BLASMatrix) {
        let (rows, columns) = (shape[rank - 2], shape[rank - 1])
        if let layout = BLASMatrix(rows: rows, columns: columns, rowStride: strides[rank - 2], columnStride: strides[rank - 1]),
            layout.leadingDimension <= Int(Int32.max)
        {
            return (self, layout)
        }
        let copy = contiguous()
        return (copy, BLASMatrix(rows: rows, columns: columns, rowStride: columns, columnStride: 1)!)
    }

    /// The dot product of two vectors of one length (`cblas_?dot`).
    public func dot(_ other: Tensor) throws(TensorError) -> Scalar {
        guard rank == 1 && other.rank == 1 && shape == other.shape else {
            throw .shapeMismatch(operation: "dot", lhs: shape, rhs: other.shape, reason: "dot takes two vectors of one length")
        }
        let n = try blasInt(count, operation: "dot")
        BLASRuntime.prepare()
        guard n > 0 else { return 0 }
        return Scalar.lapack.dot(
            n: n, x: basePointer, incx: Int32(truncatingIfNeeded: strides[0]),
            y: other.basePointer, incy: Int32(truncatingIfNeeded: other.strides[0]))
    }

    /// The outer product of two vectors: `[m] ⊗ [n] → [m, n]`.
    public func outer(_ other: Tensor) throws(TensorError) -> Tensor {
        guard rank == 1 && other.rank == 1 else {
            throw .shapeMismatch(operation: "outer", lhs: shape, rhs: other.shape, reason: "outer takes two vectors")
        }
        return try unsqueezed(at: 1).matmul(other.unsqueezed(at: 0))
    }
}
