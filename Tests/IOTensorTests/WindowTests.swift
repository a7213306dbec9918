import IOTensor
import Testing

/// Sliding-window operations against loops written from their definitions, and the gradients
/// against the adjoint identity ⟨op(x), y⟩ = ⟨x, gradient(y)⟩ that makes them gradients.
@Suite("Sliding windows", .timeLimit(.minutes(3)))
struct WindowTests {
    struct Geometry: CustomTestStringConvertible, Sendable {
        let shape: [Int]
        let kernel: (Int, Int)
        let stride: Int
        let padding: Int
        var testDescription: String { "\(shape) kernel \(kernel) stride \(stride) padding \(padding)" }
    }

    static let geometries: [Geometry] = [
        Geometry(shape: [2, 1, 8, 8], kernel: (3, 3), stride: 1, padding: 1),
        Geometry(shape: [1, 3, 7, 5], kernel: (2, 3), stride: 2, padding: 0),
        Geometry(shape: [3, 2, 5, 6], kernel: (3, 2), stride: 2, padding: 1),
        Geometry(shape: [1, 1, 1, 1], kernel: (1, 1), stride: 1, padding: 0),
        Geometry(shape: [2, 4, 4, 4], kernel: (3, 3), stride: 1, padding: 2),
    ]

    /// Input element (n, c, y, x), or 0 outside the input.
    static func element(_ x: [Double], _ shape: [Int], _ n: Int, _ c: Int, _ y: Int, _ column: Int) -> Double {
        guard y >= 0, y < shape[2], column >= 0, column < shape[3] else { return 0 }
        return x[((n * shape[1] + c) * shape[2] + y) * shape[3] + column]
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    @Test("im2col lays each window out as a row; col2im is its adjoint", arguments: geometries)
    func patches(geometry g: Geometry) throws {
        let window = try Window2D(g.shape, kernel: g.kernel, stride: g.stride, padding: g.padding)
        let x = try Tensor<Double>.randomNormal(g.shape, seed: 1)
        let columns = try x.im2col(window)
        #expect(columns.shape == [g.shape[0], window.positions, window.patch])
        let (input, output) = (x.scalars, columns.scalars)
        var expected: [Double] = []
        for n in 0..<g.shape[0] {
            for oy in 0..<window.outputHeight {
                for ox in 0..<window.outputWidth {
                    for c in 0..<g.shape[1] {
                        for ky in 0..<g.kernel.0 {
                            for kx in 0..<g.kernel.1 {
                                expected.append(
                                    Self.element(
                                        input, g.shape, n, c, oy * g.stride - g.padding + ky, ox * g.stride - g.padding + kx))
                            }
                        }
                    }
                }
            }
        }
        #expect(output == expected)
        let y = try Tensor<Double>.randomNormal(columns.shape, seed: 2)
        let back = try y.col2im(window)
        #expect(back.shape == g.shape)
        let (lhs, rhs) = (Self.dot(output, y.scalars), Self.dot(input, back.scalars))
        #expect(Swift.abs(lhs - rhs) <= 1e-12 * Swift.max(1, Swift.abs(lhs)))
    }

    @Test("max and average pooling equal their definitions; their gradients are adjoints", arguments: geometries)
    func pooling(geometry g: Geometry) throws {
        let window = try Window2D.pooling(g.shape, kernel: g.kernel, stride: g.stride, padding: g.padding)
        let x = try Tensor<Double>.randomNormal(g.shape, seed: 3)
        let (values, winners) = try x.maxPool2d(kernel: g.kernel, stride: g.stride, padding: g.padding)
        let average = try x.avgPool2d(kernel: g.kernel, stride: g.stride, padding: g.padding)
        let pooledShape = [g.shape[0], g.shape[1], window.outputHeight, window.outputWidth]
        #expect(values.shape == pooledShape && winners.shape == pooledShape && average.shape == pooledShape)
        let input = x.scalars
        var (maxima, means): ([Double], [Double]) = ([], [])
        for n in 0..<g.shape[0] {
            for c in 0..<g.shape[1] {
                for oy in 0..<window.outputHeight {
                    for ox in 0..<window.outputWidth {
                        var (best, sum) = (-Double.infinity, 0.0)
                        for ky in 0..<g.kernel.0 {
                            for kx in 0..<g.kernel.1 {
                                let (y, column) = (oy * g.stride - g.padding + ky, ox * g.stride - g.padding + kx)
                                guard y >= 0, y < g.shape[2], column >= 0, column < g.shape[3] else { continue }
                                let value = Self.element(input, g.shape, n, c, y, column)
                                best = Swift.max(best, value)
                                sum += value
                            }
                        }
                        maxima.append(best)
                        means.append(sum / Double(g.kernel.0 * g.kernel.1))
                    }
                }
            }
        }
        #expect(values.scalars == maxima)
        #expect(zip(winners.scalars, maxima).allSatisfy { input[$0.0] == $0.1 }, "each winner holds its window's maximum")
        #expect(zip(average.scalars, means).allSatisfy { Swift.abs($0.0 - $0.1) <= 1e-12 })
        let y = try Tensor<Double>.randomNormal(pooledShape, seed: 4)
        let maxGradient = try Tensor.maxPool2dGradient(
            y, winners: winners, inputShape: g.shape, kernel: g.kernel, stride: g.stride, padding: g.padding)
        let averageGradient = try Tensor.avgPool2dGradient(y, inputShape: g.shape, kernel: g.kernel, stride: g.stride, padding: g.padding)
        for (pooled, gradient) in [(values, maxGradient), (average, averageGradient)] {
            let (lhs, rhs) = (Self.dot(pooled.scalars, y.scalars), Self.dot(input, gradient.scalars))
            #expect(Swift.abs(lhs - rhs) <= 1e-12 * Swift.max(1, Swift.abs(lhs)))
        }
    }

    @Test("inputs of the wrong shape and windows that do not fit are typed errors")
    func errors() throws {
        let window = try Window2D([1, 2, 5, 5], kernel: (3, 3))
        #expect(throws: TensorError.self) { try Tensor<Float>.zeros([1, 3, 5, 5]).im2col(window) }
        #expect(try Tensor<Float>.zeros([1, 9, 18]).col2im(window).shape == [1, 2, 5, 5])
        #expect(throws: TensorError.self) { try Tensor<Float>.zeros([1, 9, 17]).col2im(window) }
        #expect(throws: TensorError.self) { try Window2D([1, 1, 2, 2], kernel: (3, 3)) }
        #expect(throws: TensorError.self) { try Window2D([1, 1, 4, 4], kernel: (2, 2), stride: 0) }
        #expect(throws: TensorError.self) { try Tensor<Float>.zeros([4, 4]).maxPool2d(kernel: (2, 2)) }
        let (_, winners) = try Tensor<Float>.zeros([1, 1, 4, 4]).maxPool2d(kernel: (2, 2))
        #expect(throws: TensorError.self) {
            try Tensor.maxPool2dGradient(Tensor<Float>.zeros([1, 1, 3, 3]), winners: winners, inputShape: [1, 1, 4, 4], kernel: (2, 2))
        }
    }
}

@Suite("Scatter-add", .timeLimit(.minutes(3)))
struct ScatterTests {
    @Test("scatter-add is the adjoint of gathering along each axis, negative indices and repeats included")
    func adjoint() throws {
        let shape = [4, 5, 3]
        let x = try Tensor<Double>.randomNormal(shape, seed: 1)
        for axis in 0..<3 {
            var indexShape = [3, 4, 2]
            indexShape[axis] = 7
            let count = indexShape.reduce(1, *)
            let indices = try Tensor<Int>(shape: indexShape, scalars: (0..<count).map { ($0 * 5) % (2 * shape[axis]) - shape[axis] })
            let y = try Tensor<Double>.randomNormal(indexShape, seed: 2)
            let gathered = try x.gathering(indices, alongAxis: axis)
            let scattered = try Tensor.scatterAdding(y, at: indices, alongAxis: axis, into: shape)
            let (lhs, rhs) = (
                zip(gathered.scalars, y.scalars).reduce(0) { $0 + $1.0 * $1.1 },
                zip(x.scalars, scattered.scalars).reduce(0) { $0 + $1.0 * $1.1 }
            )
            #expect(
                Swift.abs(lhs - rhs) <= 1e-12 * Swift.max(1, Swift.abs(lhs)), "axis \(axis): ⟨gather(x), y⟩ \(lhs), ⟨x, scatter(y)⟩ \(rhs)")
        }
        // Every value lands somewhere: the totals agree, integers exactly.
        let ones = try Tensor<Int>(repeating: 1, shape: [6, 1])
        let rows = try Tensor<Int>(shape: [6, 1], scalars: [0, 2, 2, -1, 0, 2])
        #expect(try Tensor.scatterAdding(ones, at: rows, alongAxis: 0, into: [3, 2]).scalars == [2, 0, 0, 0, 4, 0])
    }

    @Test("mismatched shapes and indices outside the axis are typed errors")
    func errors() throws {
        let values = try Tensor<Float>.zeros([2, 2])
        #expect(throws: TensorError.indexOutOfRange(operation: "scatterAdding", index: 3, dimension: 3)) {
            try Tensor.scatterAdding(values, at: try Tensor<Int>(shape: [2, 2], scalars: [0, 1, 3, 2]), alongAxis: 0, into: [3, 2])
        }
        #expect(throws: TensorError.self) {
            try Tensor.scatterAdding(values, at: try Tensor<Int>(shape: [4], scalars: [0, 1, 1, 2]), alongAxis: 0, into: [3, 2])
        }
        #expect(throws: TensorError.self) {
            try Tensor.scatterAdding(values, at: try Tensor<Int>(shape: [2, 2], scalars: [0, 1, 1, 0]), alongAxis: 0, into: [3, 1])
        }
    }
}
