import IONN
import IOTensor
import IOTensorOpenCL
import Testing

/// Gathering and concatenation on the device equal the CPU, for elements of every width.
@Suite("Indexing on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
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

    @Test("scatter-add equals the CPU for floats and integers, and an embedding trains on the device")
    func scatterAdd() throws {
        let indices = try Tensor<Int>(shape: [9, 4, 3], scalars: (0..<108).map { ($0 * 7) % 10 - 5 })
        let values = try Tensor<Float>.randomNormal([9, 4, 3], seed: 6)
        try check.expectSame("scatter float", [values]) { try Tensor.scatterAdding($0[0], at: indices, alongAxis: 0, into: [5, 4, 3]) }
        let integers = try Tensor<Int32>(shape: [9, 4, 3], scalars: (0..<108).map { Int32($0 * 31 % 97) - 40 })
        try check.expectSame("scatter int32", [integers]) { try Tensor.scatterAdding($0[0], at: indices, alongAxis: 0, into: [5, 4, 3]) }
        // An embedding's backward is a scatter-add: its gradient stays on the device.
        let embedding = try Embedding<Float>(10, 6, seed: 7)
        try embedding.to(check.device)
        let words = try Tensor<Int>(shape: [4, 5], scalars: (0..<20).map { ($0 * 3) % 10 })
        let (_, reads) = try DeviceTransfers.counting {
            try embedding(words).sum().backward()
        }
        #expect(embedding.weight.gradient?.device == check.device)
        #expect(reads == 0, "\(reads) host reads")
        let counts: [Float] = try embedding.weight.gradient!.to(.cpu).sum(alongAxis: 1).scalars
        // Each word's row gets one 1 per occurrence in every one of its 6 columns.
        let occurrences: [Float] = (0..<10).map { word in
            let uses = (0..<20).filter { ($0 * 3) % 10 == word }.count
            return Float(6 * uses)
        }
        #expect(counts == occurrences)
    }
}
