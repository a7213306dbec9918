import Foundation
import IOTensor
import Testing

/// The folder of committed fixtures (written by `Fixtures/make_fixtures.py`).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// The repository's `Examples/Data` folder.
let exampleData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Examples/Data")

/// A fresh temporary file path, removed by the caller.
func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("iotensor-\(UUID().uuidString)-\(name)").path
}

/// Expects every pair of values to agree within `absolute + relative × |expected|`, and NaN with NaN.
func expectClose(
    _ actual: [Double], _ expected: [Double], relative: Double = 1e-5, absolute: Double = 1e-6,
    _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, comment, sourceLocation: sourceLocation)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        if e.isNaN {
            #expect(a.isNaN, "element \(index): expected NaN, got \(a)", sourceLocation: sourceLocation)
        } else if e.isInfinite {
            #expect(a == e, "element \(index): expected \(e), got \(a)", sourceLocation: sourceLocation)
        } else if Swift.abs(a - e) > absolute + relative * Swift.abs(e) {
            Issue.record(
                "element \(index): \(a) differs from expected \(e)\(comment.map { " — \($0)" } ?? "")", sourceLocation: sourceLocation)
            return
        }
    }
}

func doubles<S: NumericScalar>(_ tensor: Tensor<S>) -> [Double] { tensor.scalars.map(\.doubleValue) }

/// Row-major strides of a shape, for reference loops.
func referenceStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in shape.indices.reversed() {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}

/// The multi-index of flat position `flat` in `shape`.
func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
    var remainder = flat
    return referenceStrides(shape).map { stride in
        let index = remainder / stride
        remainder -= index * stride
        return index
    }
}

/// A naive float64 reference for a broadcast binary operation.
func referenceBroadcast(_ a: [Double], _ shapeA: [Int], _ b: [Double], _ shapeB: [Int], _ body: (Double, Double) -> Double) -> (
    values: [Double], shape: [Int]
) {
    let rank = max(shapeA.count, shapeB.count)
    let paddedA = Array(repeating: 1, count: rank - shapeA.count) + shapeA
    let paddedB = Array(repeating: 1, count: rank - shapeB.count) + shapeB
    let shape = zip(paddedA, paddedB).map { max($0, $1) }
    let count = shape.reduce(1, *)
    let stridesA = referenceStrides(paddedA)
    let stridesB = referenceStrides(paddedB)
    var values: [Double] = []
    for flat in 0..<count {
        let index = multiIndex(flat, shape)
        var offsetA = 0
        var offsetB = 0
        for axis in 0..<rank {
            offsetA += (paddedA[axis] == 1 ? 0 : index[axis]) * stridesA[axis]
            offsetB += (paddedB[axis] == 1 ? 0 : index[axis]) * stridesB[axis]
        }
        values.append(body(a[offsetA], b[offsetB]))
    }
    return (values, shape)
}

/// Naive float64 matrix product of row-major `[m, k]` and `[k, n]`.
func referenceMatmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var total = 0.0
            for p in 0..<k { total += a[i * k + p] * b[p * n + j] }
            c[i * n + j] = total
        }
    }
    return c
}
