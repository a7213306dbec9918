import IONN
import IOTensor

/// The parameters' gradients summed over a group's ranks, bucket by bucket, as PyTorch's DDP
/// does: the gradients of consecutive parameters are copied into one flat tensor of about
/// `bucketBytes`, each flat tensor is allreduced, and the sums are handed back as the parameters'
/// gradients. Few large collectives move data far faster than one small collective per parameter.
struct GradientBuckets<Scalar: LinearAlgebraScalar & CollectiveScalar> {
    /// Parameter indices of each bucket, in order.
    let buckets: [[Int]]

    init(parameters: [Variable<Scalar>], bucketBytes: Int) {
        let limit = max(1, bucketBytes / MemoryLayout<Scalar>.stride)
        var buckets: [[Int]] = []
        var current: [Int] = []
        var filled = 0
        for (index, parameter) in parameters.enumerated() {
            if !current.isEmpty && filled + parameter.value.count > limit {
                buckets.append(current)
                (current, filled) = ([], 0)
            }
            current.append(index)
            filled += parameter.value.count
        }
        if !current.isEmpty || buckets.isEmpty { buckets.append(current) }
        self.buckets = buckets
    }

    /// Replaces every parameter's gradient by its sum over the ranks (a missing gradient counts as
    /// zeros) and returns the sums of `extras`, which ride along in the last bucket (a step's loss,
    /// say) so that they cost no collective of their own.
    func allreduce(_ parameters: [Variable<Scalar>], in group: CollectiveGroup, extras: [Scalar] = []) async throws -> [Scalar] {
        var reducedExtras: [Scalar] = []
        for (number, bucket) in buckets.enumerated() {
            let riders = number == buckets.count - 1 ? extras : []
            let counts = bucket.map { parameters[$0].value.count }
            let total = counts.reduce(0, +) + riders.count
            guard total > 0 else { continue }
            let flat = try Tensor<Scalar>(shape: [total]) { flat in
                var offset = 0
                for (index, count) in zip(bucket, counts) {
                    let target = flat.baseAddress! + offset
                    if let gradient = parameters[index].gradient {
                        gradient.contiguous().withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: count) }
                    } else {
                        target.update(repeating: 0, count: count)
                    }
                    offset += count
                }
                for (position, value) in riders.enumerated() { flat[offset + position] = value }
            }
            let sum = try await group.allreduce(flat, .sum)
            var offset = 0
            for (index, count) in zip(bucket, counts) {
                parameters[index].gradient = try sum.slice(alongAxis: 0, offset..<offset + count).reshaped(parameters[index].shape)
                offset += count
            }
            if !riders.isEmpty { reducedExtras = try sum.slice(alongAxis: 0, offset..<total).scalars }
        }
        return reducedExtras
    }
}
