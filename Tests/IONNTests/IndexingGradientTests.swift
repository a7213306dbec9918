import IONN
import IOTensor
import Testing

@Suite("indexing, joining and selection gradients", .timeLimit(.minutes(3)))
struct IndexingGradientTests {
    typealias V = Variable<Double>

    @Test("selecting, slicing (with steps), select and split send gradients back to their entries")
    func indexing() throws {
        let x = try GradientCheck.inputs([[5, 4, 3]], seed: 41)
        try GradientCheck.check(x) { v in try v[0].selecting([4, 0, 4, 2], alongAxis: 0) }
        try GradientCheck.check(x) { v in try v[0].slice(alongAxis: 1, 1..<4, step: 2) }
        try GradientCheck.check(x) { v in try v[0].select(2, alongAxis: -1) }
        try GradientCheck.check(x) { v in
            let parts = try v[0].split(sizes: [1, 3], alongAxis: 1)
            return try parts[0] * parts[1].sum(alongAxes: [1], keepingDimensions: true)
        }
        #expect(throws: TensorError.self) { try V(x[0]).split(sizes: [1, 1], alongAxis: 1) }
    }

    @Test("concatenate and broadcast")
    func joining() throws {
        let x = try GradientCheck.inputs([[2, 3], [4, 3], [1, 3]], seed: 42)
        try GradientCheck.check(x) { v in try V.concatenate([v[0], v[1], v[2]], alongAxis: 0).tanh() }
        try GradientCheck.check(try GradientCheck.inputs([[3, 1]], seed: 43)) { v in try v[0].broadcast(to: [2, 3, 4]) }
    }

    @Test("max and min along an axis, abs, clamp, elementwise maximum and minimum, variance")
    func selection() throws {
        let x = try GradientCheck.inputs([[4, 5]], seed: 44)
        try GradientCheck.check(x) { v in try v[0].max(alongAxis: 1) }
        try GradientCheck.check(x) { v in try v[0].min(alongAxis: 0, keepingDimensions: true) }
        try GradientCheck.check(x) { v in try v[0].abs() }
        try GradientCheck.check(x) { v in try v[0].clamped(lower: -0.5, upper: 0.7) }
        let pair = try GradientCheck.inputs([[4, 5], [5]], seed: 45)
        try GradientCheck.check(pair) { v in try v[0].maximum(v[1]) }
        try GradientCheck.check(pair) { v in try v[0].minimum(v[1]) }
        try GradientCheck.check(x) { v in try v[0].variance(alongAxes: [1], correction: 1) }
        // At a tie, each side of maximum gets half the gradient.
        let a = V(try Tensor(shape: [1], scalars: [2]), requiresGradient: true)
        let b = V(try Tensor(shape: [1], scalars: [2]), requiresGradient: true)
        try a.maximum(b).sum().backward()
        #expect(a.gradient?.scalars == [0.5] && b.gradient?.scalars == [0.5])
        let variance = try V(x[0]).variance(alongAxes: [1], correction: 1).value
        #expect(try (variance - x[0].variance(alongAxis: 1, correction: 1)).abs().max().scalar < 1e-12)
    }
}
