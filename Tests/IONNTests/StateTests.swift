import Foundation
import IONN
import IOTensor
import Testing

@Suite("saving and restoring", .timeLimit(.minutes(3)))
struct StateTests {
    func model(seed: UInt64) throws -> Sequential<Double> {
        Sequential([try Linear(4, 6, seed: seed), Tanh(), try Linear(6, 3, seed: seed + 10)])
    }

    func temporaryFile(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ionn-\(getpid())-\(name).safetensors").path
    }

    @Test("a saved model loads into another of the same shape and gives the same outputs")
    func roundTrip() throws {
        let saved = try model(seed: 1)
        let path = temporaryFile("model")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try saved.save(to: path)
        let restored = try model(seed: 2)
        let x = Variable(try Tensor<Double>.randomNormal([5, 4], seed: 3))
        #expect(try restored(x).value != saved(x).value)
        try restored.load(from: path)
        #expect(try restored(x).value == saved(x).value)
        #expect(Set(try Safetensors.read(contentsOf: path).tensors.keys) == ["0.weight", "0.bias", "2.weight", "2.bias"])
    }

    @Test("a missing, mis-shaped, unexpected or wrongly typed tensor is named, and nothing changes")
    func refusals() throws {
        let target = try model(seed: 1)
        let before = target.stateDictionary()
        var state = try model(seed: 2).stateDictionary()
        state["2.bias"] = nil
        #expect(throws: StateDictionaryError.missing(name: "2.bias")) { try target.loadStateDictionary(state) }
        state["2.bias"] = try Tensor<Double>.zeros([4])
        #expect(throws: StateDictionaryError.shapeMismatch(name: "2.bias", expected: [3], actual: [4])) {
            try target.loadStateDictionary(state)
        }
        state["2.bias"] = try Tensor<Double>.zeros([3])
        state["extra"] = try Tensor<Double>.zeros([1])
        #expect(throws: StateDictionaryError.unexpected(name: "extra")) { try target.loadStateDictionary(state) }
        #expect(target.stateDictionary() == before, "a refused load changes nothing")
        try target.loadStateDictionary(state, strict: false)
        #expect(target.stateDictionary()["2.bias"] == (try Tensor<Double>.zeros([3])))

        let path = temporaryFile("float")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let floats = Sequential<Float>([try Linear(4, 6, seed: 1), Tanh(), try Linear(6, 3, seed: 11)])
        try floats.save(to: path)
        #expect(throws: StateDictionaryError.self) { try target.load(from: path) }
        #expect(throws: (any Error).self) { try target.load(from: path + ".absent") }
    }

    @Test("training resumed from a saved model and optimizer continues exactly")
    func resume() throws {
        let x = try Tensor<Double>.randomNormal([16, 4], seed: 5)
        let labels = (0..<16).map { $0 % 3 }
        func train(_ model: Sequential<Double>, _ optimizer: any Optimizer<Double>, steps: Int) throws {
            for _ in 0..<steps {
                optimizer.zeroGradients()
                try Loss.crossEntropy(logits: model(Variable(x)), labels: labels).backward()
                try optimizer.step()
            }
        }
        for make in [
            { (p: [Variable<Double>]) -> any Optimizer<Double> in Adam(p, learningRate: 0.01) },
            { p in SGD(p, learningRate: 0.1, momentum: 0.9, nesterov: true) },
            { p in RMSProp(p, learningRate: 0.01, momentum: 0.5) },
        ] {
            let straight = try model(seed: 1)
            let straightOptimizer = make(straight.parameters)
            try train(straight, straightOptimizer, steps: 10)

            let first = try model(seed: 1)
            let firstOptimizer = make(first.parameters)
            try train(first, firstOptimizer, steps: 5)
            let (modelPath, optimizerPath) = (temporaryFile("resume-model"), temporaryFile("resume-optimizer"))
            defer { for path in [modelPath, optimizerPath] { try? FileManager.default.removeItem(atPath: path) } }
            try first.save(to: modelPath)
            try firstOptimizer.save(to: optimizerPath)

            let resumed = try model(seed: 99)
            try resumed.load(from: modelPath)
            let resumedOptimizer = make(resumed.parameters)
            try resumedOptimizer.load(from: optimizerPath)
            try train(resumed, resumedOptimizer, steps: 5)
            #expect(resumed.stateDictionary() == straight.stateDictionary(), "\(type(of: resumedOptimizer))")
        }
        let adam = Adam(try model(seed: 1).parameters)
        #expect(throws: StateDictionaryError.invalidOptimizerState("no step count")) { try adam.loadStateDictionary([:]) }
    }

    @Test("learning-rate schedules: step decay, warm-up, cosine annealing")
    func schedules() {
        let step = LearningRateSchedule.step(base: 0.1, stepSize: 10, factor: 0.5)
        #expect(step.rate(atStep: 9) == 0.1 && step.rate(atStep: 10) == 0.05 && step.rate(atStep: 25) == 0.025)
        let warm = LearningRateSchedule.linearWarmup(base: 1, warmupSteps: 4)
        #expect([0, 1, 3, 4, 100].map(warm.rate(atStep:)) == [0.25, 0.5, 1, 1, 1])
        let cosine = LearningRateSchedule.cosine(base: 1, totalSteps: 110, warmupSteps: 10, minimum: 0.1)
        #expect(cosine.rate(atStep: 4) == 0.5)
        #expect(abs(cosine.rate(atStep: 10) - 1) < 1e-12)
        #expect(abs(cosine.rate(atStep: 60) - 0.55) < 1e-12)
        #expect(abs(cosine.rate(atStep: 110) - 0.1) < 1e-12 && abs(cosine.rate(atStep: 500) - 0.1) < 1e-12)
    }

    @Test("RMSProp's first step, by hand, and convergence")
    func rmsProp() throws {
        let theta = Variable(try Tensor<Double>(shape: [2], scalars: [2, -1]), requiresGradient: true)
        try (theta.squared() * 0.5).sum().backward()
        try RMSProp([theta], learningRate: 0.01, alpha: 0.9).step()
        for (after, g) in zip(theta.value.scalars, [2.0, -1]) {
            #expect(abs((g - after) - 0.01 * g / (abs(g) * 0.1.squareRoot() + 1e-8)) < 1e-12)
        }
    }
}
