import Foundation
import Testing

@testable import IOTune

@Suite("TPE")
struct TPETests {
    @Test("kernels sit at the observations with Optuna's widths, weights and prior")
    func kernels() throws {
        // Observations 1 and 4 on [0, 10], prior at 5: sorted neighbours give widths 3, 3 and
        // (outermost looking inward) 1, clipped below at 10 / min(100, 1 + 3) = 2.5; the prior
        // spans the range.
        let estimator = ParzenEstimator(numeric: .init(low: 0, high: 10), observations: [1, 4])
        guard case .numeric(_, let mus, let sigmas, let weights) = estimator.model else {
            Issue.record("not numeric")
            return
        }
        #expect(mus == [1, 4, 5] && sigmas == [3, 3, 10] && weights.allSatisfy { abs($0 - 1.0 / 3) < 1e-12 })
        // Optuna's weights: the last 25 observations count fully, older ones ramp up from 1/n.
        let ramp = ParzenEstimator.observationWeights(30)
        #expect(ramp.count == 30 && ramp.suffix(25).allSatisfy { $0 == 1 })
        #expect(abs(ramp[0] - 1.0 / 30) < 1e-12 && ramp[4] == 1 && ramp[0] < ramp[1] && ramp[1] < ramp[2])
        #expect(ParzenEstimator.observationWeights(3) == [1, 1, 1] && TPESearcher.goodCount(9) == 1)
        #expect(TPESearcher.goodCount(11) == 2 && TPESearcher.goodCount(1000) == 25)
    }

    @Test("densities integrate to one; stepped and categorical probabilities sum to one")
    func normalized() {
        let continuous = ParzenEstimator(numeric: .init(low: -2, high: 3), observations: [-1.5, 0, 0.1, 2.9])
        let width = 5.0 / 20_000
        let integral = (0..<20_000).reduce(0.0) { $0 + exp(continuous.logDensity(-2 + (Double($1) + 0.5) * width)) * width }
        #expect(abs(integral - 1) < 1e-3)
        let stepped = ParzenEstimator(numeric: .init(low: 0, high: 10, step: 2), observations: [2, 2, 8])
        let mass = stride(from: 0.0, through: 10, by: 2).reduce(0.0) { $0 + exp(stepped.logDensity($1)) }
        #expect(abs(mass - 1) < 1e-9)
        var random = TuneRandom(seed: 1)
        #expect((0..<200).allSatisfy { _ in [0, 2, 4, 6, 8, 10].contains(stepped.sample(using: &random)) })
        let categorical = ParzenEstimator(categories: 3, observations: [0, 0, 2])
        let probabilities = (0..<3).map { exp(categorical.logDensity(Double($0))) }
        // Prior 1/3 each plus one per observation, over 4.
        #expect(zip(probabilities, [7.0 / 12, 1.0 / 12, 4.0 / 12]).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    /// The Branin function on [-5, 10] × [0, 15]; its minimum is 0.397887.
    static func branin(_ x1: Double, _ x2: Double) -> Double {
        let b = 5.1 / (4 * Double.pi * Double.pi)
        let c = 5 / Double.pi
        let t = 1 / (8 * Double.pi)
        let term = x2 - b * x1 * x1 + c * x1 - 6
        return term * term + 10 * (1 - t) * cos(x1) + 10
    }

    /// The best Branin value `searcher` finds in `trials` trials run one after another.
    static func bestBranin(_ searcher: inout some Searcher, trials: Int) -> Double {
        let space: SearchSpace = ["x1": .uniform(-5, 10), "x2": .uniform(0, 15)]
        var best = Double.infinity
        for trial in 0..<trials {
            let configuration = space.configuration(trial: trial, from: &searcher)
            let value = branin(try! configuration.float("x1"), try! configuration.float("x2"))
            best = min(best, value)
            searcher.observe(TrialResult(trial: trial, configuration: configuration, value: value, state: .completed))
        }
        return best
    }

    @Test("TPE beats random search on Branin with the same budget, over several seeds")
    func branin() {
        var tpeBests: [Double] = []
        var randomBests: [Double] = []
        for seed in 0..<7 as Range<UInt64> {
            var tpe = TPESearcher(seed: seed)
            var random = RandomSearcher(seed: seed)
            tpeBests.append(Self.bestBranin(&tpe, trials: 60))
            randomBests.append(Self.bestBranin(&random, trials: 60))
        }
        let tpeMedian = tpeBests.sorted()[3]
        let randomMedian = randomBests.sorted()[3]
        #expect(tpeMedian < randomMedian, "TPE \(tpeBests), random \(randomBests)")
        #expect(tpeMedian < 0.8, "TPE \(tpeBests)")
    }

    @Test("TPE learns which choice and which integers are best, and replays from its seed")
    func choicesAndIntegers() {
        let space: SearchSpace = ["optimizer": .choice(["adam", "sgd", "rmsprop"]), "layers": .integer(1...8)]
        func run(seed: UInt64) -> [Configuration] {
            var searcher = TPESearcher(seed: seed)
            return (0..<50).map { trial in
                let configuration = space.configuration(trial: trial, from: &searcher)
                let penalty: Double = try! configuration.choice("optimizer") == "sgd" ? 0 : 1
                let value = penalty + abs(Double(try! configuration.int("layers")) - 3) / 4
                searcher.observe(TrialResult(trial: trial, configuration: configuration, value: value, state: .completed))
                return configuration
            }
        }
        let configurations = run(seed: 11)
        let late = configurations.suffix(20)
        #expect(late.filter { $0.values["optimizer"] == "sgd" }.count >= 12, "\(late.map(\.description))")
        #expect(late.filter { [2, 3, 4].contains($0.values["layers"]) }.count >= 12, "\(late.map(\.description))")
        #expect(run(seed: 11) == configurations)
        // Errored trials and missing values teach nothing.
        var searcher = TPESearcher(seed: 1, startupTrials: 1)
        searcher.observe(TrialResult(trial: 0, configuration: Configuration(["x": 0.5]), value: nil, state: .errored))
        let value = searcher.suggest("x", .uniform(0, 1), trial: 1)
        #expect(value == RandomSearcher(seed: 1).suggest("x", .uniform(0, 1), trial: 1))
    }
}
