import IONN
import IOTensor
import Testing

@Suite("convolution, pooling, normalization and embeddings", .timeLimit(.minutes(3)))
struct ConvolutionTests {
    /// A direct convolution, loop by loop: the reference for im2col + GEMM.
    static func directConvolution(_ x: Tensor<Double>, _ w: Tensor<Double>, _ b: Tensor<Double>, stride: Int, padding: Int) throws
        -> Tensor<Double>
    {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let (oh, ow) = ((h + 2 * padding - kh) / stride + 1, (wd + 2 * padding - kw) / stride + 1)
        let xs = x.scalars, ws = w.scalars, bs = b.scalars
        var out = [Double](repeating: 0, count: n * o * oh * ow)
        for i in 0..<n {
            for f in 0..<o {
                for y in 0..<oh {
                    for z in 0..<ow {
                        var sum = bs[f]
                        for ch in 0..<c {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let (iy, ix) = (y * stride - padding + ky, z * stride - padding + kx)
                                    guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                    sum += xs[((i * c + ch) * h + iy) * wd + ix] * ws[((f * c + ch) * kh + ky) * kw + kx]
                                }
                            }
                        }
                        out[((i * o + f) * oh + y) * ow + z] = sum
                    }
                }
            }
        }
        return try Tensor(shape: [n, o, oh, ow], scalars: out)
    }

    @Test("Conv2d equals a direct convolution for awkward sizes, strides and padding; gradients check")
    func convolution() throws {
        for (stride, padding, kernel) in [(1, 0, (3, 3)), (2, 1, (3, 2)), (3, 2, (1, 4))] {
            let layer = try Conv2d<Double>(3, 5, kernel: kernel, stride: stride, padding: padding, seed: 4)
            let x = try Tensor<Double>.randomNormal([2, 3, 7, 6], seed: 5)
            let output = try layer(Variable(x)).value
            let reference = try Self.directConvolution(x, layer.weight.value, layer.bias!.value, stride: stride, padding: padding)
            #expect(output.shape == reference.shape)
            #expect(try (output - reference).abs().max().scalar < 1e-12)
        }
        let inputs = try GradientCheck.inputs([[2, 2, 5, 4], [3, 2, 2, 3], [3]], seed: 6)
        try GradientCheck.check(inputs) { v in
            let (kh, kw) = (2, 3)
            let columns = try v[0].im2col(kernel: (kh, kw), stride: 2, padding: 1)
            let product = try columns.matmul(v[1].reshaped([3, 2 * kh * kw]).transposed()) + v[2]
            return try product.permuted([0, 2, 1])
        }
        #expect(throws: (any Error).self) { try Conv2d<Double>(4, 5, kernel: (3, 3), seed: 1)(Variable(Tensor.zeros([1, 3, 8, 8]))) }
        #expect(throws: (any Error).self) { try Conv2d<Double>(3, 5, kernel: (9, 9), seed: 1)(Variable(Tensor.zeros([1, 3, 8, 8]))) }
    }

    @Test("max and average pooling: values by hand, gradients by finite differences")
    func pooling() throws {
        let x = try Tensor<Double>(shape: [1, 1, 4, 4], scalars: (0..<16).map { Double(($0 * 7) % 16) })
        let maxed = try MaxPool2d<Double>(kernel: (2, 2))(Variable(x)).value.scalars
        let scalars = x.scalars
        let expectedMax = [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]].map { $0.map { scalars[$0] }.max()! }
        #expect(maxed == expectedMax)
        let averaged = try AvgPool2d<Double>(kernel: (2, 2))(Variable(x)).value.scalars
        let expectedMean = [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]].map { $0.map { scalars[$0] }.reduce(0, +) / 4 }
        #expect(averaged == expectedMean)
        // Distinct random values, so no ties move the maximum under a small step.
        let random = try GradientCheck.inputs([[2, 3, 5, 6]], seed: 7)
        try GradientCheck.check(random) { v in try v[0].maxPool2d(kernel: (2, 2), stride: 1) }
        try GradientCheck.check(random) { v in try v[0].maxPool2d(kernel: (3, 2), stride: 2, padding: 1) }
        try GradientCheck.check(random) { v in try v[0].avgPool2d(kernel: (2, 3), stride: 2, padding: 1) }
    }

    @Test("gather's gradient adds back into every picked position")
    func gather() throws {
        let x = try GradientCheck.inputs([[3, 4]], seed: 8)
        let indices = try Tensor<Int>(shape: [3, 2], scalars: [0, 0, 3, 1, 2, 2])
        try GradientCheck.check(x) { v in try v[0].gathering(indices, alongAxis: 1) }
        let rows = try Tensor<Int>(shape: [2, 4], scalars: [2, 0, 1, 2, 2, 2, 0, 1])
        try GradientCheck.check(x) { v in try v[0].gathering(rows, alongAxis: 0) }
        // Negative indices count from the end, in the gradient as in the values.
        let fromTheEnd = try Tensor<Int>(shape: [3, 2], scalars: [-1, 0, -4, -1, 2, -2])
        try GradientCheck.check(x) { v in try v[0].gathering(fromTheEnd, alongAxis: 1) }
    }

    @Test("LayerNorm and BatchNorm normalize; BatchNorm keeps running statistics for evaluation")
    func normalization() throws {
        let x = try Tensor<Double>.randomNormal([6, 5], mean: 3, standardDeviation: 2, seed: 9)
        let layerNorm = try LayerNorm<Double>(5)
        let normalized = try layerNorm(Variable(x)).value
        for row in 0..<6 {
            let values = try normalized.select(row, alongAxis: 0).scalars
            let mean = values.reduce(0, +) / 5
            #expect(abs(mean) < 1e-12 && abs(values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5 - 1) < 1e-4)
        }
        try GradientCheck.check(try GradientCheck.inputs([[4, 5], [5], [5]], seed: 10)) { v in
            let centered = try v[0] - v[0].mean(alongAxes: [-1], keepingDimensions: true)
            let variance = try centered.squared().mean(alongAxes: [-1], keepingDimensions: true)
            return try centered / (variance + 1e-5).sqrt() * v[1] + v[2]
        }

        let batchNorm = try BatchNorm1d<Double>(5)
        let trained = try batchNorm(Variable(x)).value
        let columnMeans = try trained.mean(alongAxis: 0).scalars
        #expect(columnMeans.allSatisfy { abs($0) < 1e-12 })
        let batchMean = try x.mean(alongAxis: 0)
        #expect(try (batchNorm.runningMean.value - batchMean * 0.1).abs().max().scalar < 1e-12)
        #expect(Set(batchNorm.stateDictionary().keys) == ["weight", "bias", "running_mean", "running_var"])
        batchNorm.eval()
        let evaluated = try batchNorm(Variable(x)).value
        let expected = try (x - batchNorm.runningMean.value) / (batchNorm.runningVariance.value + 1e-5).sqrt()
        #expect(try (evaluated - expected).abs().max().scalar < 1e-12)
        batchNorm.train()
        #expect(throws: (any Error).self) { try batchNorm(Variable(Tensor<Double>.zeros([1, 5]))) }
    }

    @Test("Embedding looks rows up by index; a repeated index gets both gradients; bad indices are typed errors")
    func embedding() throws {
        let table = try Embedding<Double>(6, 3, seed: 11)
        let indices = try Tensor<Int>(shape: [2, 2], scalars: [4, 0, 4, 5])
        let looked = try table(indices)
        #expect(looked.shape == [2, 2, 3])
        #expect(try looked.value.select(0, alongAxis: 0).select(0, alongAxis: 0) == table.weight.value.select(4, alongAxis: 0))
        try looked.sum().backward()
        let gradient = table.weight.gradient!
        #expect(try gradient.select(4, alongAxis: 0).scalars == [2, 2, 2])
        #expect(try gradient.select(1, alongAxis: 0).scalars == [0, 0, 0])
        #expect(throws: TensorError.self) { try table(Tensor<Int>(shape: [1], scalars: [6])) }
        #expect(throws: TensorError.self) { try table(Variable(Tensor<Double>(shape: [1], scalars: [1.5]))) }
    }
}
