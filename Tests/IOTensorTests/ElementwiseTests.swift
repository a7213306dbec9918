import Foundation
import IOTensor
import Testing

@Suite("Elementwise operations", .timeLimit(.minutes(3)))
struct ElementwiseTests {
    static let shapePairs: [([Int], [Int])] = [
        ([1], [1]), ([7], [7]), ([3, 5], [3, 5]), ([3, 5], [5]), ([3, 1], [1, 4]), ([2, 3, 5], [3, 1]),
        ([1, 13], [11, 1]), ([4, 1, 3], [2, 1]), ([], [6]), ([2, 1, 7, 1], [3, 1, 5]), ([65_537], [1]),
    ]

    @Test("binary arithmetic broadcasts like NumPy", arguments: shapePairs)
    func broadcasting(shapes: ([Int], [Int])) throws {
        let a = try Tensor<Double>.randomNormal(shapes.0, seed: 1)
        let b = try Tensor<Double>.randomUniform(shapes.1, lowerBound: 0.5, upperBound: 2, seed: 2)
        let cases: [(Tensor<Double>, (Double, Double) -> Double)] = [
            (try a + b, +), (try a - b, -), (try a * b, *), (try a / b, /),
            (try a.maximum(b), { Swift.max($0, $1) }), (try a.minimum(b), { Swift.min($0, $1) }),
            (try b.pow(a), { Foundation.pow($0, $1) }),
        ]
        for (index, (result, body)) in cases.enumerated() {
            let reference =
                index == 6
                ? referenceBroadcast(b.scalars, b.shape, a.scalars, a.shape, body)
                : referenceBroadcast(a.scalars, a.shape, b.scalars, b.shape, body)
            #expect(result.shape == reference.shape)
            expectClose(result.scalars, reference.values, relative: 1e-12, "case \(index)")
        }
    }

    @Test("float32 arithmetic matches a float64 reference")
    func float32() throws {
        let a = try Tensor<Float>.randomNormal([37, 41], seed: 3)
        let b = try Tensor<Float>.randomNormal([41], seed: 4)
        let reference = referenceBroadcast(doubles(a), a.shape, doubles(b), b.shape) { $0 * $1 + 1 }
        expectClose(doubles(try a * b + 1), reference.values, relative: 1e-6, absolute: 1e-6)
    }

    @Test("incompatible shapes throw an error that names both shapes")
    func mismatch() throws {
        let a = try Tensor<Float>.zeros([3, 4])
        let b = try Tensor<Float>.zeros([5])
        #expect(throws: TensorError.self) { try a + b }
        do {
            _ = try a * b
            Issue.record("expected a shape mismatch")
        } catch {
            #expect(error.description.contains("[3, 4]") && error.description.contains("[5]"))
        }
        var c = try Tensor<Float>.zeros([4])
        #expect(throws: TensorError.self) { try c += a }
    }

    @Test("operations on views read through their strides")
    func views() throws {
        let a = try Tensor<Float>.randomNormal([6, 9], seed: 5)
        let t = a.transposed()
        let sliced = try a.slice(alongAxis: 1, 1..<8, step: 3)
        let sum = try t + t
        expectClose(doubles(sum), doubles(t.contiguous()).map { $0 * 2 }, relative: 1e-6)
        expectClose(doubles(sliced.exp()), doubles(sliced.contiguous()).map { Foundation.exp($0) }, relative: 2e-6)
    }

    @Test("scalar operands on either side")
    func scalars() throws {
        let a = try Tensor<Double>(shape: [3], scalars: [1, 2, 4])
        #expect((a + 1).scalars == [2, 3, 5])
        #expect((1 - a).scalars == [0, -1, -3])
        #expect((a * 2).scalars == [2, 4, 8])
        #expect((8 / a).scalars == [8, 4, 2])
        #expect((-a).scalars == [-1, -2, -4])
        #expect(a.pow(2).scalars == [1, 4, 16])
        var b = a
        try b *= Tensor(scalar: 3)
        #expect(b.scalars == [3, 6, 12])
    }

    @Test("unary functions match the C library", arguments: [1, 3, 64, 1000, 40_009])
    func unary(count: Int) throws {
        let x = try Tensor<Double>.randomNormal([count], standardDeviation: 3, seed: UInt64(count))
        let values = x.scalars
        expectClose(x.exp().scalars, values.map { Foundation.exp($0) }, relative: 1e-14)
        expectClose(x.abs().log().scalars, values.map { Foundation.log(Swift.abs($0)) }, relative: 1e-14)
        expectClose(x.abs().sqrt().scalars, values.map { Swift.abs($0).squareRoot() }, relative: 1e-15)
        expectClose(x.tanh().scalars, values.map { Foundation.tanh($0) }, relative: 1e-14)
        expectClose(x.sigmoid().scalars, values.map { 1 / (1 + Foundation.exp(-$0)) }, relative: 1e-14)
        expectClose(x.relu().scalars, values.map { Swift.max($0, 0) })
        expectClose(x.squared().scalars, values.map { $0 * $0 }, relative: 1e-15)
        expectClose(x.clamped(to: -1...2).scalars, values.map { Swift.min(Swift.max($0, -1), 2) })
    }

    @Test("erf matches tabulated values, is odd, saturates, and float32 follows float64")
    func errorFunction() throws {
        // Abramowitz & Stegun, table 7.1.
        let table: [(Double, Double)] = [
            (0, 0), (0.5, 0.5204998778130465), (1, 0.8427007929497149), (2, 0.9953222650189527), (3, 0.9999779095030014),
        ]
        let x = try Tensor<Double>(shape: [table.count], scalars: table.map(\.0))
        expectClose(x.erf().scalars, table.map(\.1), relative: 1e-15)
        expectClose((-x).erf().scalars, table.map { -$0.1 }, relative: 1e-15)
        let edges = try Tensor<Double>(shape: [3], scalars: [.infinity, -.infinity, 40]).erf().scalars
        #expect(edges == [1, -1, 1])
        let wide = try Tensor<Double>.randomNormal([1001], standardDeviation: 2, seed: 5)
        let single = try Tensor<Float>(shape: [1001], scalars: wide.scalars.map { Float($0) })
        expectClose(single.erf().scalars.map(Double.init), single.scalars.map { Double($0) }.map { Foundation.erf($0) }, relative: 1e-6)
    }

    @Test("the vectorized float32 exp is accurate over the whole range and at its edges")
    func exp32() throws {
        var inputs: [Float] = (0..<20_000).map { -104 + Float($0) * 0.0097 }
        inputs += [0, -0.0, 1, -1, 88.7, 88.73, 89, -87.3, -87.4, 1000, -1000, .infinity, -.infinity, .nan]
        let result = Tensor(inputs).exp().scalars
        for (x, y) in zip(inputs, result) {
            let expected = Foundation.exp(Double(x))
            if x.isNaN {
                #expect(y.isNaN)
            } else if expected > Double(Float.greatestFiniteMagnitude) {
                #expect(y == .infinity, "exp(\(x))")
            } else if expected < Double(Float.leastNormalMagnitude) {
                #expect(y >= 0 && Double(y) < 1.2e-38, "exp(\(x)) = \(y)")
            } else {
                #expect(Swift.abs(Double(y) - expected) <= 3e-7 * expected, "exp(\(x)) = \(y), expected \(expected)")
            }
        }
    }

    @Test("integer arithmetic wraps and divides by zero to zero instead of trapping")
    func integers() throws {
        let a = try Tensor<Int32>(shape: [4], scalars: [Int32.max, Int32.min, 7, -7])
        let b = try Tensor<Int32>(shape: [4], scalars: [1, -1, 0, 2])
        #expect(try (a + b).scalars == [Int32.min, Int32.max, 7, -5])
        #expect(try (a / b).scalars == [Int32.max, Int32.min, 0, -3])
        #expect(try (a * b).scalars == [Int32.max, Int32.min, 0, -14])
        #expect(a.abs().scalars == [Int32.max, Int32.min, 7, 7])
        #expect(try Tensor<Int64>([2, 3, -2]).pow(Tensor<Int64>([10, 3, -1])).scalars == [1024, 27, 0])
        #expect((Tensor<UInt8>([250, 3]) + 10).scalars == [4, 13])
    }

    @Test("comparisons give masks and where selects by mask with broadcasting")
    func masks() throws {
        let a = try Tensor<Float>(shape: [2, 3], scalars: [1, 5, 3, -1, 0, 8])
        let threshold = try Tensor<Float>(shape: [3], scalars: [0, 5, 3])
        #expect(try (a .> threshold).scalars == [true, false, false, false, false, true])
        #expect(try (a .>= threshold).scalars == [true, true, true, false, false, true])
        #expect(try (a .== threshold).scalars == [false, true, true, false, false, false])
        #expect((a .< 1).scalars == [false, false, false, true, true, false])
        #expect((a .!= 0).trueCount == 5)
        let mask = a .> 2
        #expect(try Tensor.where(mask, a, Tensor(scalar: 0)).scalars == [0, 5, 3, 0, 0, 8])
        #expect(try mask.logicalAnd(a .< 6).scalars == [false, true, true, false, false, false])
        #expect(try mask.logicalOr(a .< 0).trueCount == 4)
        #expect(mask.logicalNot().trueCount == 3)
        #expect(throws: TensorError.self) { try Tensor.where(mask, a, Tensor<Float>.zeros([4])) }
    }

    @Test("maximum and minimum propagate NaN")
    func nanPropagation() throws {
        let a = Tensor<Double>([1, .nan, 3])
        let b = Tensor<Double>([.nan, 2, 1])
        #expect(try a.maximum(b).scalars.map(\.isNaN) == [true, true, false])
        #expect(try a.minimum(b).scalars.map(\.isNaN) == [true, true, false])
        #expect(throws: TensorError.self) { try a.clamped(lower: 2, upper: 1) }
    }
}
