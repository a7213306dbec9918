import Foundation
import IOTensor
import Testing

@Suite("Reductions", .timeLimit(.minutes(3)))
struct ReductionTests {
    /// A naive float64 reduction of `values` (shape `shape`) along `axis`.
    func reference(_ values: [Double], _ shape: [Int], axis: Int, _ body: ([Double]) -> Double) -> [Double] {
        let outer = shape[..<axis].reduce(1, *)
        let length = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        var result: [Double] = []
        for o in 0..<outer {
            for i in 0..<inner {
                result.append(body((0..<length).map { values[(o * length + $0) * inner + i] }))
            }
        }
        return result
    }

    static let cases: [([Int], Int)] = [
        ([1], 0), ([7], 0), ([5, 3], 0), ([5, 3], 1), ([2, 3, 4], 1), ([3, 1, 4099], 2), ([3, 2048, 5], 1), ([1, 70_001], 1),
    ]

    @Test("sum, max, min, argmax and argmin along an axis match naive loops", arguments: cases)
    func alongAxis(shape: [Int], axis: Int) throws {
        let t = try Tensor<Double>.randomNormal(shape, seed: UInt64(shape.reduce(1, *)))
        let values = t.scalars
        expectClose(
            try t.sum(alongAxis: axis).scalars, reference(values, shape, axis: axis) { $0.reduce(0, +) }, relative: 1e-12, absolute: 1e-10)
        expectClose(try t.max(alongAxis: axis).scalars, reference(values, shape, axis: axis) { $0.max()! })
        expectClose(try t.min(alongAxis: axis).scalars, reference(values, shape, axis: axis) { $0.min()! })
        #expect(
            try t.argmax(alongAxis: axis).scalars.map(Double.init)
                == reference(values, shape, axis: axis) { Double($0.firstIndex(of: $0.max()!)!) })
        #expect(
            try t.argmin(alongAxis: axis).scalars.map(Double.init)
                == reference(values, shape, axis: axis) { Double($0.firstIndex(of: $0.min()!)!) })
        var keptShape = shape
        keptShape[axis] = 1
        #expect(try t.sum(alongAxis: axis, keepingDimensions: true).shape == keptShape)
    }

    @Test("a float32 sum of ten million values stays accurate (pairwise summation)")
    func longSum() throws {
        let t = try Tensor<Float>.randomUniform([10_000_003], seed: 9)
        let exact = t.scalars.reduce(0.0) { $0 + Double($1) }
        let total = Double(t.sum().scalar)
        #expect(Swift.abs(total - exact) / exact < 1e-6)
        #expect(try Tensor<Int32>.ones([100_000]).sum().scalar == 100_000)
    }

    @Test("reductions over several axes and over everything")
    func multipleAxes() throws {
        let t = try Tensor<Double>.arange(24).reshaped([2, 3, 4])
        #expect(try t.sum(alongAxes: [0, 2]).scalars == [60, 92, 124])
        #expect(try t.sum(alongAxes: [-1, 0], keepingDimensions: true).shape == [1, 3, 1])
        #expect(t.sum().scalar == 276)
        #expect(try t.max().scalar == 23)
        #expect(try t.argmax().scalar == 23)
        #expect(try t.transposed().argmin(alongAxis: 0).scalars == Array(repeating: 0, count: 12))
        #expect(try t.mean().scalar == 11.5)
        #expect(throws: TensorError.self) { try t.sum(alongAxis: 3) }
        #expect(throws: TensorError.self) { try t.sum(alongAxes: [1, -2]) }
        #expect(throws: TensorError.self) { try Tensor<Float>.zeros([0]).max() }
        #expect(throws: TensorError.self) { try Tensor<Float>.zeros([2, 0]).argmax(alongAxis: 1) }
        #expect(try Tensor<Float>.zeros([0, 3]).sum(alongAxis: 0).scalars == [0, 0, 0])
    }

    @Test("variance and standard deviation match NumPy")
    func statistics() throws {
        let archive = try Safetensors.read(contentsOf: fixtures.appendingPathComponent("numpy_reference.safetensors").path)
        let tall: Tensor<Double> = try archive.tensor("tall")
        expectClose(
            try tall.variance(alongAxis: 0).scalars, try archive.tensor("variance_tall_axis0", as: Double.self).scalars, relative: 1e-12)
        expectClose(
            try tall.standardDeviation(alongAxis: 1, correction: 1).scalars,
            try archive.tensor("std_tall_axis1_ddof1", as: Double.self).scalars, relative: 1e-12)
    }

    @Test("softmax and log-softmax match NumPy and stay finite for huge logits")
    func softmax() throws {
        let archive = try Safetensors.read(contentsOf: fixtures.appendingPathComponent("numpy_reference.safetensors").path)
        let logits: Tensor<Float> = try archive.tensor("logits")
        expectClose(
            doubles(try logits.softmax()), doubles(try archive.tensor("softmax_logits", as: Float.self)), relative: 1e-5, absolute: 1e-7)
        expectClose(
            doubles(try logits.logSoftmax()), doubles(try archive.tensor("log_softmax_logits", as: Float.self)), relative: 1e-5,
            absolute: 1e-4)

        let huge = try Tensor<Float>(shape: [2, 3], scalars: [1000, 1001, 1002, -1000, -1e30, -.infinity])
        let probabilities = try huge.softmax()
        #expect(probabilities.scalars.allSatisfy { $0.isFinite })
        expectClose(doubles(try probabilities.sum(alongAxis: 1)), [1, 1], relative: 1e-6)
        #expect(try huge.logSoftmax().scalars[5] == -.infinity)

        // Along a leading axis, equal to the transpose of the row-wise result.
        let x = try Tensor<Double>.randomNormal([5, 7], seed: 4)
        expectClose(try x.softmax(alongAxis: 0).scalars, try x.transposed().softmax().transposed().contiguous().scalars, relative: 1e-12)
    }

    @Test("log-sum-exp is stable and matches the closed form")
    func logSumExp() throws {
        let x = try Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 1000, 1000, -.infinity])
        let result = try x.logSumExp(alongAxis: 1).scalars
        #expect(Swift.abs(result[0] - Foundation.log(Foundation.exp(1.0) + Foundation.exp(2.0) + Foundation.exp(3.0))) < 1e-12)
        #expect(Swift.abs(result[1] - (1000 + Foundation.log(2.0))) < 1e-9)
        let allNegativeInfinity = try Tensor<Double>(shape: [1, 2], scalars: [-.infinity, -.infinity]).logSumExp(alongAxis: 1)
        #expect(allNegativeInfinity.scalars == [-.infinity])
    }
}
