import IOTensor

extension Dataset {
    /// The rows in batches of `size` (the last may be shorter), each stacked into a
    /// `[rows, columns]` tensor, as they stream: the input of a training or inference step.
    ///
    /// - Throws (when iterated): ``DataError/shapeMismatch(_:)`` for a row whose length differs
    ///   from its batch's first row.
    public func tensorBatches<Scalar: TensorScalar>(
        size: Int, progress: DatasetProgress? = nil
    ) -> AsyncThrowingMapSequence<DatasetBatches<Element>, Tensor<Scalar>> where Element == [Scalar] {
        batches(size: size, progress: progress).map { rows in
            let width = rows.first?.count ?? 0
            var scalars: [Scalar] = []
            scalars.reserveCapacity(rows.count * width)
            for (index, row) in rows.enumerated() {
                guard row.count == width else {
                    throw DataError.shapeMismatch("row \(index) of a batch has \(row.count) values, its first row \(width)")
                }
                scalars.append(contentsOf: row)
            }
            do {
                return try Tensor<Scalar>(shape: [rows.count, width], scalars: scalars)
            } catch {
                throw DataError.shapeMismatch("\(error)")
            }
        }
    }
}
