import IOTensor

extension Tensor where Scalar: LinearAlgebraScalar {
    /// This gradient summed back to `shape`, the shape of an input that broadcasting stretched to
    /// this one: leading axes the input lacked, and axes where it had size 1, are summed away.
    func reduced(toShape target: [Int]) throws -> Tensor {
        guard shape != target else { return self }
        var result = self
        let extra = rank - target.count
        if extra > 0 { result = try result.sum(alongAxes: Array(0..<extra)) }
        let stretched = target.indices.filter { target[$0] == 1 && result.shape[$0] != 1 }
        if !stretched.isEmpty { result = try result.sum(alongAxes: stretched, keepingDimensions: true) }
        return result.shape == target ? result : try result.reshaped(target)
    }
}

/// The shape two shapes broadcast to (NumPy rules), for operations that build their own outputs.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var shape = [Int](repeating: 1, count: rank)
    for axis in 0..<rank {
        let x = axis - (rank - a.count) >= 0 ? a[axis - (rank - a.count)] : 1
        let y = axis - (rank - b.count) >= 0 ? b[axis - (rank - b.count)] : 1
        guard x == y || x == 1 || y == 1 else { return nil }
        shape[axis] = x == 1 ? y : x
    }
    return shape
}
