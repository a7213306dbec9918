// Scatter-add onto zeros: the gradient of gathering, on the CPU or on the values' device.

extension Tensor where Scalar: NumericScalar {
    /// A tensor of `shape`, zero except that each element of `values` is added at its own
    /// coordinates with `axis` replaced by its entry of `indices` (PyTorch's `scatter_add` onto
    /// zeros): the gradient of ``gathering(_:alongAxis:)``. Positions picked several times get
    /// every contribution, added in the order of `values`' elements, on every device.
    ///
    /// ```swift
    /// let picked = try table.gathering(rows, alongAxis: 0)
    /// let gradient = try Tensor.scatterAdding(upstream, at: rows, alongAxis: 0, into: table.shape)
    /// ```
    ///
    /// - Throws: ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` when `values` and
    ///   `indices` differ in shape, or their rank or other dimensions do not fit `shape`;
    ///   ``TensorError/indexOutOfRange(operation:index:dimension:)`` for an index outside the axis
    ///   (negative ones count from the end, as in gathering).
    public static func scatterAdding(_ values: Tensor, at indices: Tensor<Int>, alongAxis axis: Int, into shape: [Int]) throws(TensorError)
        -> Tensor
    {
        let resolved = try normalizedAxis(axis, rank: shape.count, operation: "scatterAdding")
        guard values.shape == indices.shape else {
            throw .shapeMismatch(
                operation: "scatterAdding", lhs: values.shape, rhs: indices.shape, reason: "values and indices differ in shape")
        }
        guard indices.rank == shape.count,
            shape.indices.allSatisfy({ $0 == resolved || indices.shape[$0] <= shape[$0] })
        else {
            throw .shapeMismatch(
                operation: "scatterAdding", lhs: shape, rhs: indices.shape, reason: "the indices' dimensions must fit the result's")
        }
        // Each element's flat position in the result, checked on the host (indices come from there).
        let size = shape[resolved]
        let positions = indices.contiguous().scalars
        let indexStrides = contiguousStrides(indices.shape)
        let targetStrides = contiguousStrides(shape)
        var targets = [Int](repeating: 0, count: positions.count)
        for flat in positions.indices {
            var chosen = positions[flat]
            if chosen < 0 { chosen += size }
            guard chosen >= 0 && chosen < size else {
                throw .indexOutOfRange(operation: "scatterAdding", index: positions[flat], dimension: size)
            }
            var remainder = flat
            var target = 0
            for dimension in shape.indices {
                let coordinate = remainder / indexStrides[dimension]
                remainder -= coordinate * indexStrides[dimension]
                target += (dimension == resolved ? chosen : coordinate) * targetStrides[dimension]
            }
            targets[flat] = target
        }
        if let result = scatterAddingOnDevice(values, targets: targets, shape: shape) { return result }
        let source = values.contiguous()
        var result = Tensor(uninitializedShape: shape)
        result.withUnsafeMutableBufferPointer { sums in
            sums.initialize(repeating: 0)
            source.withUnsafeBufferPointer { elements in
                for (flat, target) in targets.enumerated() { sums[target] += elements[flat] }
            }
        }
        return result
    }

    /// The scatter on `values`' device as a gather: the sources of each result element listed
    /// (compressed rows, in the order of `values`), so that one work item sums each element's
    /// contributions and no two items write one element.
    private static func scatterAddingOnDevice(_ values: Tensor, targets: [Int], shape: [Int]) -> Tensor? {
        guard let backend = values.backend else { return nil }
        let count = elementCount(shape)
        var offsets = [Int](repeating: 0, count: count + 1)
        for target in targets { offsets[target + 1] += 1 }
        for position in 0..<count { offsets[position + 1] += offsets[position] }
        var next = Array(offsets.dropLast())
        var sources = [Int](repeating: 0, count: targets.count)
        for (flat, target) in targets.enumerated() {
            sources[next[target]] = flat
            next[target] += 1
        }
        return DeviceDispatch.run("scatterAdding", on: backend) { backend in
            let result = try Tensor.allocated(on: backend, shape: shape, operation: "scatterAdding")
            guard count > 0 else { return result }
            let source = values.contiguous()
            try backend.scatterAdd(
                dtype: Scalar.dtype, values: try source.operand(on: backend, broadcastTo: source.shape),
                offsets: try Tensor<Int>(offsets).operand(on: backend, broadcastTo: [offsets.count]),
                sources: try Tensor<Int>(sources).operand(on: backend, broadcastTo: [sources.count]), count: count,
                output: result.outputStorage)
            return result
        }
    }
}
