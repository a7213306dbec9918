import IONN
import IOTensor
import Testing

@Suite("optimizers", .timeLimit(.minutes(3)))
struct OptimizerTests {
    /// θ with gradient θ (the loss ½θ²).
    func parameter(_ value: Double) throws -> Variable<Double> {
        let theta = Variable(try Tensor<Double>(shape: [1], scalars: [value]), requiresGradient: true)
        try (theta.squared() * 0.5).sum().backward()
        return theta
    }

    @Test("SGD: plain, momentum, Nesterov and weight decay follow PyTorch's rule step by step")
    func sgd() throws {
        let plain = try parameter(1)
        try SGD([plain], learningRate: 0.1).step()
        #expect(plain.value.scalars == [0.9])

        // Momentum 0.5 on ½θ²: v1 = 1, θ1 = 0.9; g2 = 0.9, v2 = 1.4, θ2 = 0.76.
        let heavy = try parameter(1)
        let momentum = SGD([heavy], learningRate: 0.1, momentum: 0.5)
        try momentum.step()
        momentum.zeroGradients()
        try (heavy.squared() * 0.5).sum().backward()
        try momentum.step()
        #expect(abs(heavy.value.scalars[0] - 0.76) < 1e-12)

        // Nesterov: θ1 = 1 − 0.1·(1 + 0.5·1) = 0.85.
        let nesterov = try parameter(1)
        try SGD([nesterov], learningRate: 0.1, momentum: 0.5, nesterov: true).step()
        #expect(abs(nesterov.value.scalars[0] - 0.85) < 1e-12)

        // Weight decay 0.1 adds 0.1·θ: θ1 = 1 − 0.1·1.1 = 0.89.
        let decayed = try parameter(1)
        try SGD([decayed], learningRate: 0.1, weightDecay: 0.1).step()
        #expect(abs(decayed.value.scalars[0] - 0.89) < 1e-12)
    }

    @Test("Adam's first step moves each weight by the learning rate; AdamW decays weights apart from the gradient")
    func adam() throws {
        let theta = Variable(try Tensor<Double>(shape: [3], scalars: [2, -3, 0.5]), requiresGradient: true)
        try (theta.squared() * 0.5).sum().backward()
        try Adam([theta], learningRate: 0.01).step()
        // m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε).
        for (after, before) in zip(theta.value.scalars, [2.0, -3, 0.5]) {
            #expect(abs((before - after) - 0.01 * before / (abs(before) + 1e-8)) < 1e-12)
        }
        let decayed = Variable(try Tensor<Double>(shape: [1], scalars: [2]), requiresGradient: true)
        try (decayed.squared() * 0.5).sum().backward()
        try Adam.adamW([decayed], learningRate: 0.01, weightDecay: 0.1).step()
        // θ ← θ(1 − ηλ) then the Adam step: 2·(1 − 0.001) − 0.01.
        #expect(abs(decayed.value.scalars[0] - (2 * 0.999 - 0.01 * 2 / (2 + 1e-8))) < 1e-12)
    }

    @Test("each optimizer drives a least-squares problem to its solution")
    func convergence() throws {
        let a = try Tensor<Double>.randomNormal([20, 3], seed: 31)
        let truth = try Tensor<Double>(shape: [3, 1], scalars: [1.5, -2, 0.5])
        let b = try a.matmul(truth)
        for make in [
            { (p: [Variable<Double>]) -> any Optimizer<Double> in SGD(p, learningRate: 0.05, momentum: 0.9) },
            { p in SGD(p, learningRate: 0.05, momentum: 0.9, nesterov: true) },
            { p in Adam(p, learningRate: 0.05) },
            { p in RMSProp(p, learningRate: 0.01) },
        ] {
            let x = Variable(try Tensor<Double>.zeros([3, 1]), requiresGradient: true)
            let optimizer = make([x])
            for _ in 0..<400 {
                optimizer.zeroGradients()
                try Loss.meanSquaredError(Variable(a).matmul(x), b).backward()
                try optimizer.step()
            }
            let error = try (x.value - truth).abs().max().scalar
            #expect(error < 1e-3, "\(type(of: optimizer)) ended \(error) away")
        }
    }

    @Test("clipping by global norm scales every gradient by the same factor")
    func clipping() throws {
        let a = Variable(try Tensor<Double>(shape: [2], scalars: [3, 0]), requiresGradient: true)
        let b = Variable(try Tensor<Double>(shape: [1], scalars: [4]), requiresGradient: true)
        a.gradient = a.value
        b.gradient = b.value
        let norm = try clipGradientNorm([a, b], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-12)
        #expect(abs(a.gradient!.scalars[0] - 0.6) < 1e-6 && abs(b.gradient!.scalars[0] - 0.8) < 1e-6)
        #expect(try clipGradientNorm([a, b], maxNorm: 10) < 1.0001, "under the cap: unchanged")
    }
}
