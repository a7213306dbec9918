import IOTensor
import IOTensorOpenCL
import Testing

/// Gathering and concatenation on the device equal the CPU, for elements of every width.
@Suite("Indexing on an OpenCL device", .serialized)
struct DeviceIndexingTests {
    let check: DeviceCheck

    init() throws { check = try DeviceCheck() }

    @Test("gather along each axis equals the CPU, negative indices included, for 1-, 4- and 8-byte elements")
    func gather() throws {
        let input = try Tensor<Float>.randomNormal([5, 7, 3], seed: 1)
        for axis in 0..<3 {
            let size = input.shape[axis]
            var indexShape = [4, 6, 3]
            indexShape[axis] = 9
            let count = indexShape.reduce(1, *)
            // Every index from -size to size - 1, repeated.
            let indices = try Tensor<Int>(shape: indexShape, scalars: (0..<count).map { ($0 * 7) % (2 * size) - size })
            try check.expectSame("gather float axis \(axis)", [input]) { try $0[0].gathering(indices, alongAxis: axis) }
            try check.expectSame(
                "gather double axis \(axis)", [try Tensor<Double>(shape: input.shape, scalars: input.scalars.map(Double.init))]
            ) { try $0[0].gathering(indices, alongAxis: axis) }
            try check.expectSame("gather bool axis \(axis)", [input .> 0]) { try $0[0].gathering(indices, alongAxis: axis) }
        }
        // A transposed view is gathered through its strides.
        try check.expectSame("gather from a view", [input]) {
            try $0[0].transposed().gathering(try Tensor<Int>(shape: [2, 1, 2], scalars: [0, 4, 6, 1]), alongAxis: 2)
        }
    }

    @Test("an index outside the axis is the CPU's typed error")
    func gatherErrors() throws {
        let onDevice = try Tensor<Float>.randomNormal([3, 4], seed: 2).to(check.device)
        #expect(throws: TensorError.indexOutOfRange(operation: "gather", index: 3, dimension: 3)) {
            try onDevice.gathering(try Tensor<Int>(shape: [1, 4], scalars: [0, 1, 3, 2]), alongAxis: 0)
        }
        #expect(throws: TensorError.indexOutOfRange(operation: "gather", index: -5, dimension: 4)) {
            try onDevice.gathering(try Tensor<Int>(shape: [3, 1], scalars: [0, -5, 1]), alongAxis: 1)
        }
    }

    @Test("concatenation along every axis equals the CPU; views and host pieces join device ones")
    func concatenate() throws {
        let a = try Tensor<Float>.randomNormal([3, 4, 5], seed: 3)
        let b = try Tensor<Float>.randomNormal([3, 4, 5], seed: 4)
        for axis in 0..<3 {
            var shape = [3, 4, 5]
            shape[axis] = 2
            let c = try Tensor<Float>.randomNormal(shape, seed: 5)
            try check.expectSame("concatenate axis \(axis)", [a, b, c]) { try Tensor.concatenate($0, alongAxis: axis) }
        }
        try check.expectSame("concatenate views", [a]) {
            try Tensor.concatenate([$0[0].transposed(), try $0[0].slice(alongAxis: 2, 0..<4).transposed()], alongAxis: 1)
        }
        let ints = try Tensor<Int64>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        try check.expectSame("concatenate and stack int64", [ints, ints * 10]) { try Tensor.stack($0, alongAxis: 1) }
        let mixed = try Tensor.concatenate([try a.to(check.device), b], alongAxis: 1)
        #expect(mixed.device == check.device)
        #expect(try mixed.to(.cpu) == (try Tensor.concatenate([a, b], alongAxis: 1)))
    }
}
