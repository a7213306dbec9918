import Foundation
import IONN
import IOTensor
import Testing

@Suite("losses", .timeLimit(.minutes(3)))
struct LossTests {
    @Test("cross-entropy from logits: the value of −log softmax at the label, its gradient, bad labels")
    func crossEntropy() throws {
        let logits = try GradientCheck.inputs([[4, 5]], seed: 21)
        let labels = [0, 4, 2, 2]
        try GradientCheck.check(logits) { v in try Loss.crossEntropy(logits: v[0], labels: labels) }
        // Against the definition, term by term.
        let loss = try Loss.crossEntropy(logits: Variable(logits[0]), labels: labels).value.scalar
        let rows = logits[0].scalars
        var expected = 0.0
        for (row, label) in labels.enumerated() {
            let values = rows[(row * 5)..<(row * 5 + 5)]
            expected -= values[values.startIndex + label] - log(values.map { exp($0) }.reduce(0, +))
        }
        #expect(abs(loss - expected / 4) < 1e-12)
        // Stable for huge logits.
        let huge = try Loss.crossEntropy(logits: Variable(logits[0] * 1000), labels: labels).value.scalar
        #expect(huge.isFinite)
        #expect(throws: LossError.labelOutOfRange(label: 5, classes: 5)) {
            try Loss.crossEntropy(logits: Variable(logits[0]), labels: [0, 1, 5, 2])
        }
        #expect(throws: AutogradError.self) { try Loss.crossEntropy(logits: Variable(logits[0]), labels: [0, 1]) }
    }

    @Test("binary cross-entropy, mean squared error and Huber: values and gradients")
    func others() throws {
        let x = try GradientCheck.inputs([[3, 4]], seed: 22)
        let targets = try Tensor<Double>.randomUniform([3, 4], seed: 23)
        try GradientCheck.check(x) { v in try Loss.binaryCrossEntropy(logits: v[0], targets: targets) }
        try GradientCheck.check(x) { v in try Loss.meanSquaredError(v[0], targets) }
        try GradientCheck.check(x) { v in try Loss.huber(v[0], targets * 4, delta: 0.7) }
        let bce = try Loss.binaryCrossEntropy(logits: Variable(x[0]), targets: targets).value.scalar
        var expected = 0.0
        for (logit, y) in zip(x[0].scalars, targets.scalars) {
            let p: Double = 1 / (1 + exp(-logit))
            let term: Double = y * log(p) + (1 - y) * log(1 - p)
            expected -= term / 12
        }
        #expect(abs(bce - expected) < 1e-12)
        let extreme = try Loss.binaryCrossEntropy(logits: Variable(x[0] * 1000), targets: targets).value.scalar
        #expect(extreme.isFinite)
        let mse = try Loss.meanSquaredError(Variable(x[0]), targets).value.scalar
        #expect(abs(mse - zip(x[0].scalars, targets.scalars).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 12) < 1e-12)
        #expect(throws: AutogradError.self) { try Loss.meanSquaredError(Variable(x[0]), Tensor<Double>.zeros([4, 3])) }
    }
}
