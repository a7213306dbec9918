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
        for number in buckets.indices {
            let sum = try await reduce(number, parameters, in: group, extras: extras)
            if let riders = try assign(number, sum, to: parameters, extras: extras.count) { reducedExtras = riders }
        }
        return reducedExtras
    }

    /// ``allreduce(_:in:extras:)`` overlapped with the backward pass, as DDP does: `backward` runs
    /// the pass, calling the function it is given with each parameter whose gradient is complete;
    /// a bucket is summed as soon as all its parameters are, while the pass goes on. Every rank
    /// must see the same order (the same graph), and every rank must run a backward pass.
    func allreduce(
        _ parameters: [Variable<Scalar>], in group: CollectiveGroup, extras: [Scalar] = [],
        overlapping backward: (@escaping (Variable<Scalar>) -> Void) throws -> Void
    ) async throws -> [Scalar] {
        var bucketOf: [ObjectIdentifier: Int] = [:]
        for (number, bucket) in buckets.enumerated() {
            for index in bucket { bucketOf[ObjectIdentifier(parameters[index])] = number }
        }
        var remaining = buckets.map(\.count)
        let (ready, announce) = AsyncStream<Int>.makeStream()
        let shared = UncheckedParameters(parameters)
        let buckets = self
        // One task sums the buckets in the order they complete, the same on every rank.
        let reducer = Task { () -> [Int: Tensor<Scalar>] in
            var sums: [Int: Tensor<Scalar>] = [:]
            for await number in ready { sums[number] = try await buckets.reduce(number, shared.parameters, in: group, extras: extras) }
            return sums
        }
        do {
            try backward { variable in
                guard let number = bucketOf[ObjectIdentifier(variable)] else { return }
                remaining[number] -= 1
                if remaining[number] == 0 { announce.yield(number) }
            }
        } catch {
            announce.finish()
            reducer.cancel()
            throw error
        }
        // Buckets with a parameter that got no gradient (unused this step) go last, in order.
        for number in self.buckets.indices where remaining[number] > 0 { announce.yield(number) }
        announce.finish()
        var reducedExtras: [Scalar] = []
        for (number, sum) in try await reducer.value {
            if let riders = try assign(number, sum, to: parameters, extras: extras.count) { reducedExtras = riders }
        }
        return reducedExtras
    }

    /// The sum over the ranks of bucket `number`'s gradients (and of `extras`, after them, when it
    /// is the last bucket), flat.
    func reduce(_ number: Int, _ parameters: [Variable<Scalar>], in group: CollectiveGroup, extras: [Scalar]) async throws -> Tensor<Scalar>
    {
        let bucket = buckets[number]
        let riders = number == buckets.count - 1 ? extras : []
        let counts = bucket.map { parameters[$0].value.count }
        let total = counts.reduce(0, +) + riders.count
        let flat = try Tensor<Scalar>(shape: [total]) { flat in
            var offset = 0
            for (index, count) in zip(bucket, counts) {
                guard count > 0 else { continue }
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
        return total > 0 ? try await group.allreduce(flat, .sum) : flat
    }

    /// Hands bucket `number`'s sum back to its parameters as their gradients; returns the extras'
    /// sums when it is the last bucket (which carries them).
    func assign(_ number: Int, _ sum: Tensor<Scalar>, to parameters: [Variable<Scalar>], extras: Int) throws -> [Scalar]? {
        var offset = 0
        for index in buckets[number] {
            let count = parameters[index].value.count
            parameters[index].gradient = try sum.slice(alongAxis: 0, offset..<offset + count).reshaped(parameters[index].shape)
            offset += count
        }
        guard number == buckets.count - 1 else { return nil }
        return try sum.slice(alongAxis: 0, offset..<offset + extras).scalars
    }
}

/// Parameters handed to the task that sums buckets while the backward pass runs. Sound because
/// that task reads only gradients the pass has finished (it is told of each), and the pass writes
/// only gradients it has not finished.
private struct UncheckedParameters<Scalar: LinearAlgebraScalar>: @unchecked Sendable {
    let parameters: [Variable<Scalar>]
    init(_ parameters: [Variable<Scalar>]) { self.parameters = parameters }
}
