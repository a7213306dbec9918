// Slicing, selecting, gathering, concatenating, stacking and splitting.

extension Tensor {
    /// Elements `range` along `axis`, every `step`th one. A view.
    ///
    /// - Throws: ``TensorError/indexOutOfRange(operation:index:dimension:)`` when the range leaves
    ///   the dimension, ``TensorError/invalidArgument(operation:reason:)`` for a step below 1.
    public func slice(alongAxis axis: Int, _ range: Range<Int>, step: Int = 1) throws(TensorError) -> Tensor {
        let resolved = try normalizedAxis(axis, rank: rank, operation: "slice")
        guard step >= 1 else { throw .invalidArgument(operation: "slice", reason: "step \(step) must be at least 1") }
        guard range.lowerBound >= 0 && range.lowerBound <= shape[resolved] else {
            throw .indexOutOfRange(operation: "slice", index: range.lowerBound, dimension: shape[resolved])
        }
        guard range.upperBound <= shape[resolved] else {
            throw .indexOutOfRange(operation: "slice", index: range.upperBound, dimension: shape[resolved])
        }
        var newShape = shape
        var newStrides = strides
        newShape[resolved] = (range.count + step - 1) / step
        newStrides[resolved] = strides[resolved] * step
        return Tensor(buffer: buffer, shape: newShape, strides: newStrides, offset: offset + range.lowerBound * strides[resolved])
    }

    /// Slices the leading axes by the given ranges (`t.slice([0..<2, 1..<3])`). A view.
    public func slice(_ ranges: [Range<Int>]) throws(TensorError) -> Tensor {
        guard ranges.count <= rank else {
            throw .invalidArgument(operation: "slice", reason: "\(ranges.count) ranges for a tensor of rank \(rank)")
        }
        var result = self
        for (axis, range) in ranges.enumerated() { result = try result.slice(alongAxis: axis, range) }
        return result
    }

    /// The sub-tensor at `index` along `axis`, with that axis removed (negative indices count
    /// from the end). A view.
    public func select(_ index: Int, alongAxis axis: Int = 0) throws(TensorError) -> Tensor {
        let resolved = try normalizedAxis(axis, rank: rank, operation: "select")
        let position = index < 0 ? index + shape[resolved] : index
        guard position >= 0 && position < shape[resolved] else {
            throw .indexOutOfRange(operation: "select", index: index, dimension: shape[resolved])
        }
        return try slice(alongAxis: resolved, position..<(position + 1)).squeezed(axis: resolved)
    }

    /// The slices at `indices` along `axis`, in that order (NumPy's `take`, PyTorch's
    /// `index_select`).
    public func selecting(_ indices: [Int], alongAxis axis: Int = 0) throws(TensorError) -> Tensor {
        let resolved = try normalizedAxis(axis, rank: rank, operation: "selecting")
        var pieces: [Tensor] = []
        pieces.reserveCapacity(indices.count)
        for index in indices { pieces.append(try select(index, alongAxis: resolved)) }
        if pieces.isEmpty {
            var emptyShape = shape
            emptyShape[resolved] = 0
            return Tensor(uninitializedShape: emptyShape)
        }
        return try Tensor.stack(pieces, alongAxis: resolved)
    }

    /// Gathers along `axis` by index (PyTorch's `gather`): `out[i][j][k] = self[index[i][j][k]][j][k]`
    /// for axis 0, and likewise for the others. `indices` has this tensor's rank, and each of its
    /// other dimensions is at most this tensor's.
    ///
    /// - Throws: ``TensorError/indexOutOfRange(operation:index:dimension:)`` for an index outside the
    ///   axis, ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` for incompatible shapes.
    public func gathering(_ indices: Tensor<Int>, alongAxis axis: Int) throws(TensorError) -> Tensor {
        let resolved = try normalizedAxis(axis, rank: rank, operation: "gather")
        guard indices.rank == rank else {
            throw .shapeMismatch(operation: "gather", lhs: shape, rhs: indices.shape, reason: "the index tensor must have the same rank")
        }
        for dimension in 0..<rank where dimension != resolved && indices.shape[dimension] > shape[dimension] {
            throw .shapeMismatch(
                operation: "gather", lhs: shape, rhs: indices.shape,
                reason: "index dimension \(dimension) is larger than the input's")
        }
        if let result = try gatheringOnDevice(indices, axis: resolved) { return result }
        let index = indices.contiguous()
        let result = Tensor(uninitializedShape: indices.shape)
        let indexStrides = Tensor<Int>.contiguousStrides(indices.shape)
        let input = basePointer
        let output = result.basePointer
        let positions = index.basePointer
        let size = shape[resolved]
        for flat in 0..<indices.count {
            var remainder = flat
            var source = 0
            for dimension in 0..<rank {
                let coordinate = remainder / indexStrides[dimension]
                remainder -= coordinate * indexStrides[dimension]
                if dimension == resolved {
                    var chosen = positions[flat]
                    if chosen < 0 { chosen += size }
                    guard chosen >= 0 && chosen < size else {
                        throw .indexOutOfRange(operation: "gather", index: positions[flat], dimension: size)
                    }
                    source += chosen * strides[dimension]
                } else {
                    source += coordinate * strides[dimension]
                }
            }
            output[flat] = input[source]
        }
        return result
    }

    /// Joins tensors along an existing axis; all other dimensions must match.
    ///
    /// - Throws: ``TensorError/invalidArgument(operation:reason:)`` for an empty list,
    ///   ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` when the other dimensions differ.
    public static func concatenate(_ tensors: [Tensor], alongAxis axis: Int = 0) throws(TensorError) -> Tensor {
        guard let first = tensors.first else {
            throw .invalidArgument(operation: "concatenate", reason: "no tensors to join")
        }
        let resolved = try normalizedAxis(axis, rank: first.rank, operation: "concatenate")
        var total = 0
        for tensor in tensors {
            guard tensor.rank == first.rank,
                tensor.shape.indices.allSatisfy({ $0 == resolved || tensor.shape[$0] == first.shape[$0] })
            else {
                throw .shapeMismatch(
                    operation: "concatenate", lhs: first.shape, rhs: tensor.shape,
                    reason: "all dimensions but axis \(resolved) must match")
            }
            total += tensor.shape[resolved]
        }
        var resultShape = first.shape
        resultShape[resolved] = total
        if let result = concatenatedOnDevice(tensors, shape: resultShape, axis: resolved) { return result }
        let result = Tensor(uninitializedShape: resultShape)
        var start = 0
        for tensor in tensors {
            let length = tensor.shape[resolved]
            if length > 0 {
                let region = try result.slice(alongAxis: resolved, start..<(start + length))
                StridedCopy.assign(from: tensor, into: region)
            }
            start += length
        }
        return result
    }

    /// Joins tensors of one shape along a new axis at position `axis`.
    public static func stack(_ tensors: [Tensor], alongAxis axis: Int = 0) throws(TensorError) -> Tensor {
        guard let first = tensors.first else {
            throw .invalidArgument(operation: "stack", reason: "no tensors to stack")
        }
        for tensor in tensors where tensor.shape != first.shape {
            throw .shapeMismatch(operation: "stack", lhs: first.shape, rhs: tensor.shape, reason: "stacked tensors must have one shape")
        }
        var expanded: [Tensor] = []
        for tensor in tensors { expanded.append(try tensor.unsqueezed(at: axis)) }
        return try concatenate(expanded, alongAxis: axis)
    }

    /// Splits into `count` chunks along `axis`; the chunks have equal size except that the last
    /// may be smaller (PyTorch's `chunk`). Each chunk is a view.
    public func split(into count: Int, alongAxis axis: Int = 0) throws(TensorError) -> [Tensor] {
        let resolved = try normalizedAxis(axis, rank: rank, operation: "split")
        guard count >= 1 else { throw .invalidArgument(operation: "split", reason: "the chunk count \(count) must be at least 1") }
        let size = shape[resolved]
        let chunk = Swift.max(1, (size + count - 1) / count)
        return try split(sizes: stride(from: 0, to: size, by: chunk).map { Swift.min(chunk, size - $0) }, alongAxis: resolved)
    }

    /// Splits along `axis` into pieces of the given sizes, which must add up to the dimension.
    public func split(sizes: [Int], alongAxis axis: Int = 0) throws(TensorError) -> [Tensor] {
        let resolved = try normalizedAxis(axis, rank: rank, operation: "split")
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[resolved] else {
            throw .invalidArgument(
                operation: "split", reason: "sizes \(sizes) do not add up to dimension \(shape[resolved]) of shape \(shape)")
        }
        var pieces: [Tensor] = []
        var start = 0
        for size in sizes {
            pieces.append(try slice(alongAxis: resolved, start..<(start + size)))
            start += size
        }
        return pieces
    }
}

extension StridedCopy {
    /// Copies `source` into the view `destination` of the same shape. The destination must be a
    /// view of a buffer no other value sees yet (a result under construction).
    static func assign<Scalar>(from source: Tensor<Scalar>, into destination: Tensor<Scalar>) {
        let loop = StridedLoop(shape: source.shape, operandStrides: [destination.strides, source.strides])
        let to = UnsafeMutableRawPointer(destination.basePointer)
        let from = UnsafeRawPointer(source.basePointer)
        switch MemoryLayout<Scalar>.stride {
        case 1: assign(loop, from, to, as: UInt8.self)
        case 2: assign(loop, from, to, as: UInt16.self)
        case 4: assign(loop, from, to, as: UInt32.self)
        default: assign(loop, from, to, as: UInt64.self)
        }
    }

    private static func assign<Word: FixedWidthInteger>(
        _ loop: StridedLoop, _ from: UnsafeRawPointer, _ to: UnsafeMutableRawPointer, as: Word.Type
    ) {
        let source = SharedPointer(from.assumingMemoryBound(to: Word.self))
        let destination = SharedPointer(to.assumingMemoryBound(to: Word.self))
        let (toStep, fromStep) = (loop.innerStride(0), loop.innerStride(1))
        loop.run { _, offsets, length in
            let output = destination.base + offsets.a
            let input = source.base + offsets.b
            if toStep == 1 && fromStep == 1 {
                output.update(from: input, count: length)
            } else {
                for i in 0..<length { output[i * toStep] = input[i * fromStep] }
            }
        }
    }
}
