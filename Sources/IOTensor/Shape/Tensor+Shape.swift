// Views and rearrangements: reshape, transpose and permute, squeeze and unsqueeze, broadcast,
// flatten. Views share the buffer and cost O(rank); only `reshaped` of a non-contiguous tensor
// copies.

extension Tensor {
    /// The same elements in a new shape; one dimension may be `-1` and is then inferred.
    ///
    /// - Throws: ``TensorError/invalidShape(operation:shape:reason:)`` when the element counts differ
    ///   or more than one dimension is `-1`.
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        if inferred.count > 1 {
            throw .invalidShape(operation: "reshape", shape: newShape, reason: "only one dimension can be -1")
        }
        if let position = inferred.first {
            let known = newShape.enumerated().filter { $0.offset != position }.map(\.element)
            try Tensor.validate(shape: known, operation: "reshape")
            let product = known.reduce(1, *)
            guard product > 0, count % product == 0 else {
                throw .shapeMismatch(
                    operation: "reshape", lhs: shape, rhs: newShape, reason: "\(count) elements cannot fill the target shape")
            }
            resolved[position] = count / product
        }
        try Tensor.validate(shape: resolved, operation: "reshape")
        guard Tensor.elementCount(resolved) == count else {
            throw .shapeMismatch(
                operation: "reshape", lhs: shape, rhs: newShape,
                reason: "\(count) elements cannot take a shape of \(Tensor.elementCount(resolved))")
        }
        let source = contiguous()
        return Tensor(buffer: source.buffer, shape: resolved, strides: Tensor.contiguousStrides(resolved), offset: source.offset)
    }

    /// A one-dimensional view of every element in row-major order.
    public func flattened() -> Tensor { reshapedUnchecked([count]) }

    /// Merges the axes `startAxis...endAxis` into one (PyTorch's `flatten(start_dim, end_dim)`).
    public func flattened(startAxis: Int, endAxis: Int = -1) throws(TensorError) -> Tensor {
        guard rank > 0 else { return reshapedUnchecked([1]) }
        let start = try normalizedAxis(startAxis, rank: rank, operation: "flatten")
        let end = try normalizedAxis(endAxis, rank: rank, operation: "flatten")
        guard start <= end else {
            throw .invalidArgument(operation: "flatten", reason: "start axis \(startAxis) comes after end axis \(endAxis)")
        }
        let merged = shape[start...end].reduce(1, *)
        return try reshaped(Array(shape[..<start]) + [merged] + Array(shape[(end + 1)...]))
    }

    func reshapedUnchecked(_ newShape: [Int]) -> Tensor {
        let source = contiguous()
        return Tensor(buffer: source.buffer, shape: newShape, strides: Tensor.contiguousStrides(newShape), offset: source.offset)
    }

    /// The axes reordered: axis `i` of the result is axis `axes[i]` of this tensor. A view.
    ///
    /// - Throws: ``TensorError/invalidArgument(operation:reason:)`` unless `axes` is a permutation
    ///   of `0..<rank`.
    public func permuted(_ axes: [Int]) throws(TensorError) -> Tensor {
        guard axes.count == rank else {
            throw .invalidArgument(operation: "permute", reason: "\(axes.count) axes given for a tensor of rank \(rank)")
        }
        let resolved = try axes.map { (axis) throws(TensorError) -> Int in try normalizedAxis(axis, rank: rank, operation: "permute") }
        guard Set(resolved).count == rank else {
            throw .invalidArgument(operation: "permute", reason: "\(axes) is not a permutation of the axes")
        }
        return Tensor(buffer: buffer, shape: resolved.map { shape[$0] }, strides: resolved.map { strides[$0] }, offset: offset)
    }

    /// The last two axes swapped (the matrix transpose; a vector or scalar is returned as is). A view.
    public func transposed() -> Tensor {
        guard rank >= 2 else { return self }
        var newShape = shape
        var newStrides = strides
        newShape.swapAt(rank - 1, rank - 2)
        newStrides.swapAt(rank - 1, rank - 2)
        return Tensor(buffer: buffer, shape: newShape, strides: newStrides, offset: offset)
    }

    /// Axis `source` moved to position `destination`, the others keeping their order. A view.
    public func movingAxis(_ source: Int, to destination: Int) throws(TensorError) -> Tensor {
        let from = try normalizedAxis(source, rank: rank, operation: "movingAxis")
        let to = try normalizedAxis(destination, rank: rank, operation: "movingAxis")
        var order = Array(0..<rank)
        order.remove(at: from)
        order.insert(from, at: to)
        return try permuted(order)
    }

    /// Removes the axis `axis`, which must have size 1, or every size-1 axis when `nil`. A view.
    public func squeezed(axis: Int? = nil) throws(TensorError) -> Tensor {
        var keep = Array(0..<rank)
        if let axis {
            let resolved = try normalizedAxis(axis, rank: rank, operation: "squeeze")
            guard shape[resolved] == 1 else {
                throw .invalidArgument(operation: "squeeze", reason: "axis \(axis) has size \(shape[resolved]), not 1 (shape \(shape))")
            }
            keep.remove(at: resolved)
        } else {
            keep = keep.filter { shape[$0] != 1 }
        }
        return Tensor(buffer: buffer, shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] }, offset: offset)
    }

    /// Inserts an axis of size 1 at position `axis` (which may be `rank`, or negative). A view.
    public func unsqueezed(at axis: Int) throws(TensorError) -> Tensor {
        let resolved = try normalizedAxis(axis, rank: rank + 1, operation: "unsqueeze")
        var newShape = shape
        var newStrides = strides
        newShape.insert(1, at: resolved)
        newStrides.insert(0, at: resolved)
        return Tensor(buffer: buffer, shape: newShape, strides: newStrides, offset: offset)
    }

    /// This tensor repeated along new or size-1 axes to `targetShape`, NumPy-style. A view: the
    /// repeated axes have stride 0.
    public func broadcast(to targetShape: [Int]) throws(TensorError) -> Tensor {
        let common = try broadcastShapes(shape, targetShape, operation: "broadcast")
        guard common == targetShape else {
            throw .shapeMismatch(operation: "broadcast", lhs: shape, rhs: targetShape, reason: "the tensor cannot grow to the target shape")
        }
        return Tensor(buffer: buffer, shape: targetShape, strides: broadcastStrides(to: targetShape), offset: offset)
    }
}
