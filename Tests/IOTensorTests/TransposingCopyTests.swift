import IOTensor
import Testing

/// `contiguous()` of views whose two innermost dimensions are transposed takes a tiled copy;
/// these check it element by element against the coordinates each element came from.
@Suite("Transposing copies", .timeLimit(.minutes(3)))
struct TransposingCopyTests {
    /// Shapes around the 16-element tile: 1, primes, exact multiples and one past them.
    static let matrixShapes: [[Int]] = [[1, 1], [1, 17], [17, 1], [16, 16], [15, 33], [33, 47], [64, 9], [2, 3]]

    /// The element at row-major `coordinates` of a tensor of `shape` whose value is its own index.
    static func index(_ coordinates: [Int], in shape: [Int]) -> Double {
        Double(zip(coordinates, shape).reduce(0) { $0 * $1.1 + $1.0 })
    }

    static func counting(_ shape: [Int]) throws -> Tensor<Double> {
        try Tensor<Double>(shape: shape, scalars: (0..<shape.reduce(1, *)).map(Double.init))
    }

    @Test("a transposed matrix copies into the transpose", arguments: matrixShapes)
    func matrix(shape: [Int]) throws {
        let copy = try Self.counting(shape).transposed().contiguous()
        #expect(copy.shape == [shape[1], shape[0]])
        for i in 0..<shape[1] {
            for j in 0..<shape[0] { #expect(copy[i, j] == Self.index([j, i], in: shape)) }
        }
    }

    @Test("batched transposes and channels-first permutations", arguments: [[3, 17, 5], [2, 64, 16], [4, 1, 33], [2, 3, 31, 19]])
    func batched(shape: [Int]) throws {
        let rank = shape.count
        var axes = Array(0..<rank)
        axes.swapAt(rank - 1, rank - 2)
        let copy = try Self.counting(shape).permuted(axes).contiguous()
        let copied = copy.scalars
        var position = 0
        // Walk the copy in row-major order; its coordinates, with the last two swapped, index the source.
        var coordinates = [Int](repeating: 0, count: rank)
        for _ in 0..<copied.count {
            var source = coordinates
            source.swapAt(rank - 1, rank - 2)
            #expect(copied[position] == Self.index(source, in: shape))
            position += 1
            var axis = rank - 1
            while axis >= 0 {
                coordinates[axis] += 1
                if coordinates[axis] < copy.shape[axis] { break }
                coordinates[axis] = 0
                axis -= 1
            }
        }
    }

    @Test("a transpose of a broadcast batch and of narrow element types")
    func broadcastAndTypes() throws {
        let row = try Self.counting([1, 20, 18]).broadcast(to: [3, 20, 18])
        let copy = row.transposed().contiguous()
        for b in 0..<3 {
            for i in 0..<18 {
                for j in 0..<20 { #expect(copy[b, i, j] == Self.index([0, j, i], in: [1, 20, 18])) }
            }
        }
        let bytes = try Tensor<UInt8>(shape: [19, 21], scalars: (0..<(19 * 21)).map { UInt8($0 % 251) })
        let transposedBytes = bytes.transposed().contiguous()
        for i in 0..<21 {
            for j in 0..<19 { #expect(transposedBytes[i, j] == UInt8((j * 21 + i) % 251)) }
        }
    }

    @Test("a large transpose split over threads matches the element-by-element copy")
    func large() throws {
        let a = try Tensor<Float>.randomNormal([1031, 1029], seed: 3)
        let copy = a.transposed().contiguous().scalars
        let source = a.scalars
        var mismatches = 0
        for i in 0..<1029 {
            for j in 0..<1031 where copy[i * 1031 + j] != source[j * 1029 + i] { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
