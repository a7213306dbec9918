// The device paths of gathering and concatenation: the result stays on the device of the
// operand that lives on one.

extension Tensor {
    /// `gathering(indices, alongAxis: axis)` on this tensor's device, or nil when it has none or
    /// its kernel failed. The indices are checked (and negative ones wrapped) on the host first,
    /// so that a bad index is the same typed error as on the CPU.
    func gatheringOnDevice(_ indices: Tensor<Int>, axis: Int) throws(TensorError) -> Tensor? {
        guard let backend else { return nil }
        let size = shape[axis]
        var checked = indices.contiguous().scalars
        for position in checked.indices {
            if checked[position] < 0 { checked[position] += size }
            guard checked[position] >= 0 && checked[position] < size else {
                throw .indexOutOfRange(operation: "gather", index: indices.contiguous().scalars[position], dimension: size)
            }
        }
        let normalized = try Tensor<Int>(shape: indices.shape, scalars: checked)
        return DeviceDispatch.run("gather", on: backend) { backend in
            let result = try Tensor.allocated(on: backend, shape: indices.shape, operation: "gather")
            try backend.gather(
                dtype: Scalar.dtype, input: try operand(on: backend, broadcastTo: shape),
                indices: try normalized.operand(on: backend, broadcastTo: normalized.shape), indexShape: indices.shape, axis: axis,
                output: result.outputStorage)
            return result
        }
    }

    /// `concatenate(tensors, alongAxis: axis)` into a tensor of `shape` on the device of the
    /// first of `tensors` that lives on one (the others move there), or nil.
    static func concatenatedOnDevice(_ tensors: [Tensor], shape: [Int], axis: Int) -> Tensor? {
        guard let backend = tensors.lazy.compactMap(\.backend).first else { return nil }
        return DeviceDispatch.run("concatenate", on: backend) { backend in
            let result = try Tensor.allocated(on: backend, shape: shape, operation: "concatenate")
            // Each piece is `rows` runs of its axis length × the inner size, spaced by the result's.
            let rows = shape[..<axis].reduce(1, *)
            let inner = shape[(axis + 1)...].reduce(1, *)
            var start = 0
            for tensor in tensors {
                let length = tensor.shape[axis] * inner
                if length > 0 && rows > 0 {
                    let piece = try tensor.contiguous().operand(on: backend, broadcastTo: tensor.shape)
                    try backend.copyRows(
                        dtype: Scalar.dtype, input: piece, rows: rows, length: length, output: result.outputStorage,
                        outputOffset: start * inner, outputStride: shape[axis] * inner)
                }
                start += tensor.shape[axis]
            }
            return result
        }
    }
}
