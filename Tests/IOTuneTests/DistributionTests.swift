import Foundation
import Testing

@testable import IOTune

@Suite("search-space distributions")
struct DistributionTests {
    /// `count` draws from `distribution`, one stream.
    static func draws(_ distribution: Distribution, count: Int = 20_000, seed: UInt64 = 7) -> [ParameterValue] {
        var random = TuneRandom(seed: seed)
        return (0..<count).map { _ in distribution.sample(using: &random) }
    }

    static func floats(_ values: [ParameterValue]) -> [Double] {
        values.map { value -> Double in
            guard case .float(let x) = value else { Issue.record("\(value) is not a float"); return .nan }
            return x
        }
    }

    static func moments(_ values: [Double]) -> (mean: Double, variance: Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        return (mean, values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1))
    }

    @Test("uniform, log-uniform and normal draws have their definitions' moments and bounds")
    func continuousMoments() {
        // U(2, 5): mean 3.5, variance 9/12; the standard error of the mean is about 0.006.
        let uniform = Self.floats(Self.draws(.uniform(2, 5)))
        #expect(uniform.allSatisfy { 2 <= $0 && $0 < 5 })
        let (mean, variance) = Self.moments(uniform)
        #expect(abs(mean - 3.5) < 0.03 && abs(variance - 0.75) < 0.03)

        // log10 of LogU(1e-4, 1e-1) is U(-4, -1): mean -2.5, variance 9/12.
        let logs = Self.floats(Self.draws(.logUniform(1e-4, 1e-1))).map { log10($0) }
        #expect(logs.allSatisfy { -4 <= $0 && $0 <= -1 })
        let logMoments = Self.moments(logs)
        #expect(abs(logMoments.mean + 2.5) < 0.03 && abs(logMoments.variance - 0.75) < 0.03)

        // N(1, 2²): and about 95.45 % within two standard deviations.
        let normal = Self.floats(Self.draws(.normal(mean: 1, standardDeviation: 2)))
        let normalMoments = Self.moments(normal)
        #expect(abs(normalMoments.mean - 1) < 0.05 && abs(normalMoments.variance.squareRoot() - 2) < 0.05)
        let within = Double(normal.filter { abs($0 - 1) <= 4 }.count) / Double(normal.count)
        #expect(abs(within - 0.9545) < 0.006)
    }

    @Test("quantized ranges land on their steps, the ends getting half the mass of inner points")
    func quantized() {
        let values = Self.floats(Self.draws(.uniform(0, 1, step: 0.25)))
        let counts = Dictionary(grouping: values, by: { $0 }).mapValues { Double($0.count) / Double(values.count) }
        #expect(Set(counts.keys) == [0, 0.25, 0.5, 0.75, 1])
        for (value, share) in counts {
            let expected: Double = value == 0 || value == 1 ? 0.125 : 0.25
            #expect(abs(share - expected) < 0.012, "\(value)")
        }
        let logSteps = Self.floats(Self.draws(.logUniform(1, 100, step: 1)))
        #expect(logSteps.allSatisfy { $0 == $0.rounded() && 1 <= $0 && $0 <= 100 })
        let normalSteps = Self.floats(Self.draws(.normal(mean: 0, standardDeviation: 1, step: 0.5)))
        #expect(normalSteps.allSatisfy { ($0 / 0.5) == ($0 / 0.5).rounded() })
    }

    @Test("integers: every value of a range as likely, steps kept, log scales by their definition")
    func integers() {
        let dice = Self.draws(.integer(1...6)).map { value -> Int in
            guard case .int(let x) = value else { return -1 }
            return x
        }
        for face in 1...6 {
            let share = Double(dice.filter { $0 == face }.count) / Double(dice.count)
            #expect(abs(share - 1.0 / 6) < 0.012)
        }
        #expect(Set(Self.draws(.integer(0...10, step: 5), count: 500)) == [0, 5, 10])
        // Log scale over [0.5, 1000.5] rounded: P(x ≤ 10) = ln(10.5 / 0.5) / ln(1000.5 / 0.5).
        let wide = Self.draws(.integer(1...1000, log: true)).map { value -> Int in
            guard case .int(let x) = value else { return -1 }
            return x
        }
        #expect(wide.allSatisfy { (1...1000).contains($0) })
        let share = Double(wide.filter { $0 <= 10 }.count) / Double(wide.count)
        #expect(abs(share - log(10.5 / 0.5) / log(1000.5 / 0.5)) < 0.015)
    }

    @Test("choices are each as likely")
    func choices() {
        let picks = Self.draws(.choice(["adam", "sgd", 3]))
        for option: ParameterValue in ["adam", "sgd", 3] {
            let share = Double(picks.filter { $0 == option }.count) / Double(picks.count)
            #expect(abs(share - 1.0 / 3) < 0.012)
        }
    }

    @Test("a value depends only on the seed, the trial and the parameter's name")
    func seeds() {
        let space: SearchSpace = ["lr": .logUniform(1e-4, 1e-1), "width": .integer(16...256), "optimizer": .choice(["adam", "sgd"])]
        var first = RandomSearcher(seed: 42)
        var again = RandomSearcher(seed: 42)
        var other = RandomSearcher(seed: 43)
        let configurations = (0..<20).map { space.configuration(trial: $0, from: &first) }
        #expect(configurations == (0..<20).map { space.configuration(trial: $0, from: &again) })
        #expect(configurations != (0..<20).map { space.configuration(trial: $0, from: &other) })
        #expect(Set(configurations).count == 20)
        // Asking in another order, or one parameter alone, gives the same values.
        let reversed: SearchSpace = ["optimizer": .choice(["adam", "sgd"]), "width": .integer(16...256), "lr": .logUniform(1e-4, 1e-1)]
        #expect(reversed.configuration(trial: 5, from: &again) == configurations[5])
        #expect(again.suggest("width", .integer(16...256), trial: 7) == configurations[7].values["width"])
    }
}
