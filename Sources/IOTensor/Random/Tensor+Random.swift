import Foundation

/// The distributions random tensors draw from.
enum RandomDistribution {
    case uniform(lower: Double, upper: Double)
    case normal(mean: Double, standardDeviation: Double)
    case bernoulli(probability: Double)
}

extension Tensor where Scalar: FloatingScalar {
    /// Values drawn uniformly from `[lowerBound, upperBound)`, reproducible from `seed` alone.
    ///
    /// Element `i` depends only on the seed and `i` (see the Philox generator), so the same call
    /// returns the same tensor on every machine, in every process and for any thread count.
    public static func randomUniform(
        _ shape: [Int], lowerBound: Scalar = 0, upperBound: Scalar = 1, seed: UInt64
    ) throws(TensorError) -> Tensor {
        guard lowerBound <= upperBound else {
            throw .invalidArgument(operation: "randomUniform", reason: "lower bound \(lowerBound) is above upper bound \(upperBound)")
        }
        return try random(shape, .uniform(lower: lowerBound.doubleValue, upper: upperBound.doubleValue), seed: seed)
    }

    /// Values drawn from a normal distribution (Box–Muller on Philox output), reproducible from `seed`.
    public static func randomNormal(
        _ shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1, seed: UInt64
    ) throws(TensorError) -> Tensor {
        guard standardDeviation >= 0 else {
            throw .invalidArgument(operation: "randomNormal", reason: "standard deviation \(standardDeviation) is negative")
        }
        return try random(shape, .normal(mean: mean.doubleValue, standardDeviation: standardDeviation.doubleValue), seed: seed)
    }

    /// Ones with probability `probability` and zeros otherwise, reproducible from `seed`.
    public static func randomBernoulli(_ shape: [Int], probability: Scalar, seed: UInt64) throws(TensorError) -> Tensor {
        guard probability >= 0 && probability <= 1 else {
            throw .invalidArgument(operation: "randomBernoulli", reason: "probability \(probability) is outside 0...1")
        }
        return try random(shape, .bernoulli(probability: probability.doubleValue), seed: seed)
    }

    static func random(_ shape: [Int], _ distribution: RandomDistribution, seed: UInt64) throws(TensorError) -> Tensor {
        try validate(shape: shape, operation: "random")
        let result = Tensor(uninitializedShape: shape)
        let generator = Philox4x32(seed: seed)
        let raw = UnsafeMutableRawPointer(result.basePointer)
        if Scalar.self == Float.self {
            RandomFill.fillFloats(SharedPointer(raw.assumingMemoryBound(to: Float.self)), result.count, distribution, generator)
        } else {
            RandomFill.fillDoubles(SharedPointer(raw.assumingMemoryBound(to: Double.self)), result.count, distribution, generator)
        }
        return result
    }
}

/// Fills buffers from Philox blocks: four floats or two doubles per block.
enum RandomFill {
    static func fillFloats(_ output: SharedPointer<Float>, _ count: Int, _ distribution: RandomDistribution, _ generator: Philox4x32) {
        let blocks = (count + 3) / 4
        Parallel.forEachChunk(blocks, costPerElement: 40) { range in
            for block in range {
                let (w0, w1, w2, w3) = generator.block(UInt64(block))
                var values: (Float, Float, Float, Float)
                switch distribution {
                case .uniform(let lower, let upper):
                    let (low, width) = (Float(lower), Float(upper - lower))
                    values = (
                        low + width * Philox4x32.unitFloat(w0), low + width * Philox4x32.unitFloat(w1),
                        low + width * Philox4x32.unitFloat(w2), low + width * Philox4x32.unitFloat(w3)
                    )
                case .normal(let mean, let deviation):
                    let (a, b) = boxMuller(Double((w0 >> 8) + 1) * 0x1p-24, Double(w1 >> 8) * 0x1p-24)
                    let (c, d) = boxMuller(Double((w2 >> 8) + 1) * 0x1p-24, Double(w3 >> 8) * 0x1p-24)
                    values = (
                        Float(mean + deviation * a), Float(mean + deviation * b),
                        Float(mean + deviation * c), Float(mean + deviation * d)
                    )
                case .bernoulli(let probability):
                    let p = Float(probability)
                    values = (
                        Philox4x32.unitFloat(w0) < p ? 1 : 0, Philox4x32.unitFloat(w1) < p ? 1 : 0,
                        Philox4x32.unitFloat(w2) < p ? 1 : 0, Philox4x32.unitFloat(w3) < p ? 1 : 0
                    )
                }
                let start = block * 4
                let slot = output.base + start
                slot[0] = values.0
                if start + 1 < count { slot[1] = values.1 }
                if start + 2 < count { slot[2] = values.2 }
                if start + 3 < count { slot[3] = values.3 }
            }
        }
    }

    static func fillDoubles(_ output: SharedPointer<Double>, _ count: Int, _ distribution: RandomDistribution, _ generator: Philox4x32) {
        let blocks = (count + 1) / 2
        Parallel.forEachChunk(blocks, costPerElement: 40) { range in
            for block in range {
                let (w0, w1, w2, w3) = generator.block(UInt64(block))
                let u = Philox4x32.unitDouble(w0, w1)
                let v = Philox4x32.unitDouble(w2, w3)
                var values: (Double, Double)
                switch distribution {
                case .uniform(let lower, let upper):
                    values = (lower + (upper - lower) * u, lower + (upper - lower) * v)
                case .normal(let mean, let deviation):
                    let (a, b) = boxMuller(1 - u, v)
                    values = (mean + deviation * a, mean + deviation * b)
                case .bernoulli(let probability):
                    values = (u < probability ? 1 : 0, v < probability ? 1 : 0)
                }
                let start = block * 2
                output.base[start] = values.0
                if start + 1 < count { output.base[start + 1] = values.1 }
            }
        }
    }

    /// Two independent standard normals from `u` in (0, 1] and `v` in [0, 1).
    @inline(__always)
    static func boxMuller(_ u: Double, _ v: Double) -> (Double, Double) {
        let radius = (-2 * Foundation.log(u)).squareRoot()
        let angle = 2 * Double.pi * v
        return (radius * Foundation.cos(angle), radius * Foundation.sin(angle))
    }
}
