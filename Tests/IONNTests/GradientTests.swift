import IONN
import IOTensor
import Testing

@Suite("gradients against finite differences", .timeLimit(.minutes(3)))
struct GradientTests {
    typealias V = Variable<Double>

    @Test("arithmetic with broadcasting reduces gradients to each input's shape")
    func arithmetic() throws {
        let x = try GradientCheck.inputs([[3, 1, 4], [2, 4]], seed: 1)
        try GradientCheck.check(x) { v in try v[0] + v[1] }
        try GradientCheck.check(x) { v in try v[0] - v[1] }
        try GradientCheck.check(x) { v in try v[0] * v[1] }
        let positive = try GradientCheck.inputs([[3, 1, 4], [2, 4]], seed: 2, range: 0.5...2)
        try GradientCheck.check(positive) { v in try v[0] / v[1] }
        try GradientCheck.check(x) { v in try -v[0] * 3 + 2 - v[1] / 4 }
        try GradientCheck.check(x) { v in try 1 - v[0] * v[0] + (5 + v[1]) }
    }

    @Test("matmul: matrices, vectors, and batches whose leading axes broadcast")
    func matmul() throws {
        try GradientCheck.check(try GradientCheck.inputs([[3, 5], [5, 2]], seed: 3)) { v in try v[0].matmul(v[1]) }
        try GradientCheck.check(try GradientCheck.inputs([[2, 3, 4], [4, 5]], seed: 4)) { v in try v[0].matmul(v[1]) }
        try GradientCheck.check(try GradientCheck.inputs([[2, 1, 3, 4], [3, 4, 2]], seed: 5)) { v in try v[0].matmul(v[1]) }
        try GradientCheck.check(try GradientCheck.inputs([[4], [4, 3]], seed: 6)) { v in try v[0].matmul(v[1]) }
        try GradientCheck.check(try GradientCheck.inputs([[3, 4], [4]], seed: 7)) { v in try v[0].matmul(v[1]) }
        try GradientCheck.check(try GradientCheck.inputs([[4], [4]], seed: 8)) { v in try v[0].matmul(v[1]) }
    }

    @Test("linear: x·Wᵀ + b as one operation, with and without a bias, over leading batch axes")
    func linear() throws {
        try GradientCheck.check(try GradientCheck.inputs([[2, 3, 4], [5, 4], [5]], seed: 15)) { v in
            try v[0].linear(weight: v[1], bias: v[2])
        }
        try GradientCheck.check(try GradientCheck.inputs([[4], [5, 4]], seed: 16)) { v in try v[0].linear(weight: v[1], bias: nil) }
        #expect(throws: AutogradError.self) {
            try V(Tensor<Double>.zeros([2, 3])).linear(weight: V(Tensor<Double>.zeros([5, 4])), bias: nil)
        }
    }

    @Test("reductions: sums and means over everything or some axes, kept or dropped")
    func reductions() throws {
        let x = try GradientCheck.inputs([[2, 3, 4]], seed: 9)
        try GradientCheck.check(x) { v in v[0].sum() }
        try GradientCheck.check(x) { v in v[0].mean() }
        try GradientCheck.check(x) { v in try v[0].sum(alongAxes: [1]) }
        try GradientCheck.check(x) { v in try v[0].sum(alongAxes: [0, -1], keepingDimensions: true) }
        try GradientCheck.check(x) { v in try v[0].mean(alongAxes: [2]) }
        try GradientCheck.check(x) { v in try v[0].mean(alongAxes: [0, 1], keepingDimensions: true) }
    }

    @Test("elementwise functions and activations")
    func elementwise() throws {
        let x = try GradientCheck.inputs([[3, 5]], seed: 10)
        let positive = try GradientCheck.inputs([[3, 5]], seed: 11, range: 0.3...3)
        try GradientCheck.check(x) { v in v[0].exp() }
        try GradientCheck.check(positive) { v in v[0].log() }
        try GradientCheck.check(positive) { v in v[0].sqrt() }
        try GradientCheck.check(positive) { v in v[0].pow(2.5) }
        try GradientCheck.check(x) { v in v[0].squared() }
        try GradientCheck.check(x) { v in v[0].tanh() }
        try GradientCheck.check(x) { v in v[0].sigmoid() }
        try GradientCheck.check(x) { v in try v[0].gelu() }
        // relu away from its kink, where finite differences are exact.
        let away = try x[0].map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        try GradientCheck.check([away]) { v in v[0].relu() }
    }

    @Test("the softmax family, on inputs large enough that a naive softmax overflows")
    func softmaxFamily() throws {
        let x = try GradientCheck.inputs([[4, 6]], seed: 12)
        try GradientCheck.check(x) { v in try v[0].softmax(alongAxis: -1) }
        try GradientCheck.check(x) { v in try v[0].softmax(alongAxis: 0) }
        try GradientCheck.check(x) { v in try v[0].logSoftmax(alongAxis: 1) }
        try GradientCheck.check(x) { v in try v[0].logSumExp(alongAxis: 1) }
        try GradientCheck.check(x) { v in try v[0].logSumExp(alongAxis: 0, keepingDimensions: true) }
        let large = [x[0] * 400]
        let output = try withoutGradients { try V(large[0]).logSoftmax().value }
        let finite = output.scalars.allSatisfy { $0.isFinite }
        #expect(finite)
        try GradientCheck.check(large, tolerance: 1e-4) { v in try v[0].logSoftmax() }
    }

    @Test("shape operations pass gradients back through the inverse view")
    func shapes() throws {
        let x = try GradientCheck.inputs([[2, 3, 4]], seed: 13)
        try GradientCheck.check(x) { v in try v[0].reshaped([4, 6]).squared() }
        try GradientCheck.check(x) { v in try v[0].flattened(startAxis: 1).sigmoid() }
        try GradientCheck.check(x) { v in try v[0].transposed() * v[0].transposed() }
        try GradientCheck.check(x) { v in try v[0].permuted([2, 0, 1]).tanh() }
        try GradientCheck.check(x) { v in try v[0].unsqueezed(at: 1).squeezed(axis: 1).exp() }
    }

    @Test("a composite: a two-layer network's loss, every parameter checked")
    func composite() throws {
        let x = try GradientCheck.inputs([[5, 4], [4, 3], [3], [3, 2]], seed: 14)
        try GradientCheck.check(x) { v in
            let hidden = try (v[0].matmul(v[1]) + v[2]).tanh()
            return try hidden.matmul(v[3]).logSoftmax().mean()
        }
    }
}

extension Tensor where Scalar == Double {
    func map(_ transform: (Double) -> Double) throws -> Tensor { try Tensor(shape: shape, scalars: scalars.map(transform)) }
}
