/// A reduction that collapses one axis.
public enum ReductionOperation: Sendable {
    case sum, maximum, minimum, argmax, argmin
}

/// One axis reduction over a contiguous input seen as `[outer, length, inner]`, writing
/// `[outer, inner]` values (or indices for `argmax` and `argmin`).
struct ReductionJob<Scalar>: @unchecked Sendable {
    // Unchecked: the pointers are read and written only while the owning tensors are alive, and
    // parallel chunks write disjoint output elements.
    let input: UnsafePointer<Scalar>
    let outer: Int
    let length: Int
    let inner: Int
    let values: UnsafeMutablePointer<Scalar>?
    let indices: UnsafeMutablePointer<Int>?
}

/// Contiguous runs shorter than this are reduced in one go; longer ones are summed pairwise, which
/// keeps the rounding error of a float sum growing like log(n), as NumPy's does.
private let pairwiseBlock = 2048

extension NumericRoutines where KernelScalar == Self {
    static func reduceKernel(_ operation: ReductionOperation, _ job: ReductionJob<Self>) {
        if job.inner == 1 {
            reduceRows(operation, job)
        } else {
            reduceColumns(operation, job)
        }
    }

    /// Each output reduces `length` contiguous elements.
    private static func reduceRows(_ operation: ReductionOperation, _ job: ReductionJob<Self>) {
        let threads = Parallel.threadCount
        if job.outer < threads && job.length >= Parallel.minimumParallelWork && operation != .argmax && operation != .argmin {
            // Few long rows (a whole-tensor sum): split each row across cores, then combine.
            for row in 0..<job.outer {
                let base = SharedPointer(job.input + row * job.length)
                var partials = [Self](repeating: .zero, count: threads)
                let length = job.length
                partials.withUnsafeMutableBufferPointer { buffer in
                    let slots = SharedPointer(buffer.baseAddress!)
                    Parallel.forEachChunk(threads, costPerElement: Parallel.minimumParallelWork) { chunks in
                        for chunk in chunks {
                            let start = length * chunk / threads
                            let end = length * (chunk + 1) / threads
                            slots.base[chunk] = reduceRun(operation, base.base + start, end - start)
                        }
                    }
                }
                job.values![row] = reduceRun(operation, partials, partials.count)
            }
            return
        }
        Parallel.forEachChunk(job.outer, costPerElement: job.length) { rows in
            for row in rows {
                let start = job.input + row * job.length
                switch operation {
                case .argmax, .argmin: job.indices![row] = argRun(operation == .argmax, start, job.length, stride: 1)
                default: job.values![row] = reduceRun(operation, start, job.length)
                }
            }
        }
    }

    private static func reduceRun(_ operation: ReductionOperation, _ values: [Self], _ count: Int) -> Self {
        values.withUnsafeBufferPointer { reduceRun(operation, $0.baseAddress!, count) }
    }

    /// Reduces `count` contiguous elements: pairwise for sums, with eight accumulators so that the
    /// loop vectorizes.
    static func reduceRun(_ operation: ReductionOperation, _ p: UnsafePointer<Self>, _ count: Int) -> Self {
        switch operation {
        case .sum:
            if count > pairwiseBlock {
                let half = count / 2
                return tensorAdd(reduceRun(.sum, p, half), reduceRun(.sum, p + half, count - half))
            }
            var s0 = Self.zero, s1 = Self.zero, s2 = Self.zero, s3 = Self.zero
            var s4 = Self.zero, s5 = Self.zero, s6 = Self.zero, s7 = Self.zero
            var i = 0
            while i + 8 <= count {
                s0 = tensorAdd(s0, p[i]); s1 = tensorAdd(s1, p[i + 1])
                s2 = tensorAdd(s2, p[i + 2]); s3 = tensorAdd(s3, p[i + 3])
                s4 = tensorAdd(s4, p[i + 4]); s5 = tensorAdd(s5, p[i + 5])
                s6 = tensorAdd(s6, p[i + 6]); s7 = tensorAdd(s7, p[i + 7])
                i += 8
            }
            while i < count { s0 = tensorAdd(s0, p[i]); i += 1 }
            return tensorAdd(tensorAdd(tensorAdd(s0, s1), tensorAdd(s2, s3)), tensorAdd(tensorAdd(s4, s5), tensorAdd(s6, s7)))
        case .maximum, .minimum:
            let isMax = operation == .maximum
            var best = isMax ? lowestValue : highestValue
            var sawNaN = false
            for i in 0..<count {
                let x = p[i]
                sawNaN = sawNaN || x != x
                best = isMax ? (x > best ? x : best) : (x < best ? x : best)
            }
            if sawNaN {
                for i in 0..<count where p[i] != p[i] { return p[i] }
            }
            return best
        case .argmax, .argmin:
            preconditionFailure("argmax and argmin write indices")
        }
    }

    /// The index of the first largest (or smallest) element of a strided run; a NaN counts as
    /// the extreme, as in NumPy.
    static func argRun(_ isMax: Bool, _ p: UnsafePointer<Self>, _ count: Int, stride: Int) -> Int {
        var bestIndex = 0
        var best = p[0]
        if best != best { return 0 }
        for i in 1..<max(count, 1) {
            let x = p[i * stride]
            if x != x { return i }
            if isMax ? x > best : x < best {
                best = x
                bestIndex = i
            }
        }
        return bestIndex
    }

    /// Each output reduces `length` elements `inner` apart: combine whole rows elementwise, which
    /// vectorizes along `inner`.
    private static func reduceColumns(_ operation: ReductionOperation, _ job: ReductionJob<Self>) {
        let blocksPerOuter = max(1, min(Parallel.threadCount, job.inner / 1024))
        let blockSize = (job.inner + blocksPerOuter - 1) / blocksPerOuter
        Parallel.forEachChunk(job.outer * blocksPerOuter, costPerElement: job.length * blockSize) { items in
            for item in items {
                let outer = item / blocksPerOuter
                let start = (item % blocksPerOuter) * blockSize
                let end = min(job.inner, start + blockSize)
                if start >= end { continue }
                let source = job.input + outer * job.length * job.inner + start
                let width = end - start
                switch operation {
                case .argmax, .argmin:
                    let destination = job.indices! + outer * job.inner + start
                    for k in 0..<width {
                        destination[k] = argRun(operation == .argmax, source + k, job.length, stride: job.inner)
                    }
                default:
                    let destination = job.values! + outer * job.inner + start
                    combineRows(operation, source, job.length, job.inner, destination, width)
                }
            }
        }
    }

    private static func combineRows(
        _ operation: ReductionOperation, _ source: UnsafePointer<Self>, _ length: Int, _ inner: Int,
        _ destination: UnsafeMutablePointer<Self>, _ width: Int
    ) {
        if length == 0 {
            destination.update(repeating: .zero, count: width)
            return
        }
        destination.update(from: source, count: width)
        for row in 1..<length {
            let r = source + row * inner
            switch operation {
            case .sum:
                for k in 0..<width { destination[k] = tensorAdd(destination[k], r[k]) }
            case .maximum:
                for k in 0..<width { let x = r[k]; let d = destination[k]; destination[k] = d != d || d > x ? d : x }
            case .minimum:
                for k in 0..<width { let x = r[k]; let d = destination[k]; destination[k] = d != d || d < x ? d : x }
            case .argmax, .argmin:
                preconditionFailure("argmax and argmin write indices")
            }
        }
    }
}
