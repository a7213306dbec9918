import IOTensor
import Testing

@Suite("Shape operations", .timeLimit(.minutes(3)))
struct ShapeTests {
    let t = try! Tensor<Int>.arange(24).reshaped([2, 3, 4])

    @Test("reshape infers one dimension and rejects wrong counts")
    func reshape() throws {
        #expect(try t.reshaped([4, -1]).shape == [4, 6])
        #expect(try t.reshaped([24]).scalars == Array(0..<24))
        #expect(throws: TensorError.self) { try t.reshaped([5, 5]) }
        #expect(throws: TensorError.self) { try t.reshaped([-1, -1]) }
        #expect(throws: TensorError.self) { try t.reshaped([7, -1]) }
        // Reshaping a transposed view copies in row-major order first.
        #expect(try t.transposed().reshaped([-1]).scalars.prefix(4) == [0, 4, 8, 1])
        #expect(t.flattened().shape == [24])
        #expect(try t.flattened(startAxis: 1).shape == [2, 12])
    }

    @Test("permute, transpose and moving an axis are views in the new order")
    func permute() throws {
        let p = try t.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(p[3, 1, 2] == t[1, 2, 3])
        #expect(t.transposed().shape == [2, 4, 3])
        #expect(try t.movingAxis(0, to: -1).shape == [3, 4, 2])
        #expect(throws: TensorError.self) { try t.permuted([0, 0, 1]) }
        #expect(throws: TensorError.self) { try t.permuted([0, 1]) }
    }

    @Test("squeeze and unsqueeze add and remove unit axes")
    func squeeze() throws {
        let u = try t.unsqueezed(at: 1).unsqueezed(at: -1)
        #expect(u.shape == [2, 1, 3, 4, 1])
        #expect(try u.squeezed().shape == [2, 3, 4])
        #expect(try u.squeezed(axis: 1).shape == [2, 3, 4, 1])
        #expect(throws: TensorError.self) { try u.squeezed(axis: 0) }
        #expect(throws: TensorError.self) { try t.unsqueezed(at: 5) }
    }

    @Test("broadcast repeats along new and unit axes without copying")
    func broadcast() throws {
        let row = Tensor<Float>([1, 2, 3])
        let grid = try row.broadcast(to: [2, 3])
        #expect(grid.scalars == [1, 2, 3, 1, 2, 3])
        #expect(throws: TensorError.self) { try row.broadcast(to: [3, 2]) }
    }

    @Test("slices with steps, selection and selecting by indices")
    func slicing() throws {
        let s = try t.slice(alongAxis: 2, 1..<4, step: 2)
        #expect(s.shape == [2, 3, 2])
        #expect(s.scalars == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23])
        #expect(try t.slice([1..<2, 0..<2]).scalars == [12, 13, 14, 15, 16, 17, 18, 19])
        #expect(try t.select(-1, alongAxis: 1).scalars == [8, 9, 10, 11, 20, 21, 22, 23])
        #expect(try t.selecting([2, 0, 2], alongAxis: 1).select(0).scalars == [8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11])
        #expect(throws: TensorError.self) { try t.slice(alongAxis: 0, 0..<3) }
        #expect(throws: TensorError.self) { try t.select(2) }
        #expect(throws: TensorError.self) { try t.slice(alongAxis: 1, 0..<1, step: 0) }
        #expect(try t.slice(alongAxis: 1, 2..<2).count == 0)
    }

    @Test("gather picks one element per index along an axis, as PyTorch does")
    func gather() throws {
        let scores = try Tensor<Float>(shape: [3, 4], scalars: (0..<12).map(Float.init))
        let labels = try Tensor<Int>(shape: [3, 1], scalars: [3, 0, -1])
        #expect(try scores.gathering(labels, alongAxis: 1).scalars == [3, 4, 11])
        let rows = try Tensor<Int>(shape: [2, 4], scalars: [2, 1, 0, 2, 0, 0, 0, 0])
        #expect(try scores.gathering(rows, alongAxis: 0).scalars == [8, 5, 2, 11, 0, 1, 2, 3])
        #expect(throws: TensorError.self) { try scores.gathering(try Tensor<Int>(shape: [3, 1], scalars: [0, 4, 0]), alongAxis: 1) }
        #expect(throws: TensorError.self) { try scores.gathering(Tensor<Int>([0]), alongAxis: 1) }
    }

    @Test("concatenate, stack and split are inverse operations")
    func joinAndSplit() throws {
        let a = try Tensor<Double>.randomNormal([2, 3], seed: 1)
        let b = try Tensor<Double>.randomNormal([4, 3], seed: 2)
        let joined = try Tensor.concatenate([a, b.transposed().transposed(), a], alongAxis: 0)
        #expect(joined.shape == [8, 3])
        let pieces = try joined.split(sizes: [2, 4, 2])
        #expect(pieces[0] == a && pieces[1] == b && pieces[2] == a)
        #expect(try Tensor.concatenate([a, a], alongAxis: -1).shape == [2, 6])
        #expect(throws: TensorError.self) { try Tensor.concatenate([a, b], alongAxis: 1) }
        #expect(throws: TensorError.self) { try Tensor<Float>.concatenate([]) }

        let stacked = try Tensor.stack([a, a * 2, a * 3], alongAxis: 1)
        #expect(stacked.shape == [2, 3, 3])
        #expect(try stacked.select(2, alongAxis: 1) == a * 3)
        #expect(try Tensor.stack([a, a], alongAxis: -1).shape == [2, 3, 2])
        #expect(throws: TensorError.self) { try Tensor.stack([a, b]) }

        let chunks = try Tensor<Int>.arange(10).split(into: 3)
        #expect(chunks.map(\.scalars) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        #expect(throws: TensorError.self) { try a.split(sizes: [1, 2]) }
    }
}
