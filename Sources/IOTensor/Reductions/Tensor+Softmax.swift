// Numerically stable softmax and log-softmax.

extension FloatingRoutines where KernelScalar == Self {
    static func softmaxRowsKernel(
        _ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, rows: Int, length: Int, logarithm: Bool
    ) {
        let source = SharedPointer(input)
        let destination = SharedPointer(output)
        Parallel.forEachChunk(rows, costPerElement: length * 4) { range in
            for row in range {
                let x = source.base + row * length
                let y = destination.base + row * length
                let peak = reduceRun(.maximum, x, length)
                // A row of -∞ (or NaN) has no finite peak; shifting by 0 keeps the result NaN-free
                // for -∞ rows and NaN for NaN rows, as the closed form gives.
                let shift = peak.isFinite ? peak : 0
                for i in 0..<length { y[i] = x[i] - shift }
                tensorExp(y, y, count: length)
                let total = reduceRun(.sum, y, length)
                if logarithm {
                    let logTotal = tensorLog(total)
                    for i in 0..<length { y[i] = x[i] - shift - logTotal }
                } else {
                    let scale = 1 / total
                    for i in 0..<length { y[i] *= scale }
                }
            }
        }
    }
}

extension Tensor where Scalar: FloatingScalar {
    /// eˣ / Σ eˣ along `axis` (the last by default), computed after subtracting each slice's
    /// maximum so that large inputs do not overflow.
    ///
    /// - Throws: ``TensorError/invalidAxis(operation:axis:rank:)`` for an axis outside the rank.
    public func softmax(alongAxis axis: Int = -1) throws(TensorError) -> Tensor {
        try softmaxFamily(axis: axis, logarithm: false, name: "softmax")
    }

    /// log softmax along `axis` (the last by default): x − max − log Σ eˣ⁻ᵐᵃˣ, accurate where
    /// `softmax().log()` would underflow to -∞.
    public func logSoftmax(alongAxis axis: Int = -1) throws(TensorError) -> Tensor {
        try softmaxFamily(axis: axis, logarithm: true, name: "logSoftmax")
    }

    private func softmaxFamily(axis: Int, logarithm: Bool, name: String) throws(TensorError) -> Tensor {
        guard rank > 0 else { throw .invalidAxis(operation: name, axis: axis, rank: 0) }
        let resolved = try normalizedAxis(axis, rank: rank, operation: name)
        if resolved != rank - 1 {
            // Move the axis last, run the row kernel, and move it back.
            let moved = try movingAxis(resolved, to: rank - 1).softmaxFamily(axis: -1, logarithm: logarithm, name: name)
            return try moved.movingAxis(rank - 1, to: resolved).contiguous()
        }
        let source = contiguous()
        let length = shape[rank - 1]
        if let result = DeviceDispatch.run(
            name, on: backend,
            { backend in
                let result = try Tensor.allocated(on: backend, shape: shape, operation: name)
                if length > 0 && count > 0 {
                    let input = try source.operand(on: backend, broadcastTo: shape)
                    try backend.softmax(
                        dtype: Scalar.dtype, input: input.storage, inputOffset: input.offset, rows: count / length, length: length,
                        logarithm: logarithm, output: result.outputStorage)
                }
                return result
            })
        {
            return result
        }
        let result = Tensor(uninitializedShape: shape)
        if length > 0 {
            Scalar.floatingRoutines.softmaxRowsKernel(
                source.basePointer, result.basePointer, rows: count / length, length: length, logarithm: logarithm)
        }
        return result
    }
}
