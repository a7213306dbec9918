import Foundation
import IOFederated
import IONN
import IORuntime
import IOTensor
import Testing

/// Parameters of one 2×2 weight and a 1-element bias, holding `values`.
func parameters(_ values: [Float]) throws -> ModelParameters {
    try ModelParameters(layout: [.init(name: "bias", shape: [1]), .init(name: "weight", shape: [2, 2])], values: values)
}

func update(_ client: String, _ values: [Float], samples: Int = 1) throws -> ClientUpdate {
    ClientUpdate(client: client, parameters: try parameters(values), sampleCount: samples)
}

func expectClose(_ actual: [Float], _ expected: [Double], tolerance: Double = 1e-6, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        #expect(abs(Double(a) - e) <= tolerance * max(1, abs(e)), "element \(index): \(a), expected \(e)", sourceLocation: sourceLocation)
    }
}

@Suite("federated strategies against direct computations")
struct StrategyTests {
    let global: ModelParameters
    let updates: [ClientUpdate]

    init() throws {
        global = try parameters([0, 0, 0, 0, 0])
        updates = [
            try update("a", [1, 2, 3, 4, 5], samples: 10), try update("b", [3, 2, 1, 0, -1], samples: 30),
            try update("c", [2, 2, 2, 2, 2], samples: 60),
        ]
    }

    @Test("FedAvg weights each client by its sample count; FedProx aggregates the same and tells clients μ")
    func fedAvg() throws {
        var strategy = FedAvg()
        let expected = (0..<5).map { i in
            (Double(updates[0].parameters.values[i]) * 10 + Double(updates[1].parameters.values[i]) * 30
                + Double(updates[2].parameters.values[i]) * 60) / 100
        }
        expectClose(try strategy.aggregate(updates, global: global).values, expected)
        expectClose(try strategy.aggregate(updates, global: global).values, [2.2, 2.0, 1.8, 1.6, 1.4])
        var prox = try FedProx(proximalMu: 0.1)
        #expect(try prox.aggregate(updates, global: global) == (try strategy.aggregate(updates, global: global)))
        #expect(prox.clientSettings.proximalMu == 0.1)
        #expect(throws: FederatedError.self) { try FedProx(proximalMu: -1) }
        #expect(throws: FederatedError.notEnoughClients(needed: 1, available: 0)) { try strategy.aggregate([], global: global) }
    }

    @Test("FedProx's proximal term is μ/2·‖w − g‖² and its gradient μ·(w − g)")
    func proximalTerm() throws {
        let weight = Variable(try Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4]), requiresGradient: true)
        let bias = Variable(try Tensor<Float>(shape: [2], scalars: [-1, 0.5]), requiresGradient: true)
        let anchors = [try Tensor<Float>(shape: [2, 2], scalars: [0, 2, 5, 3]), try Tensor<Float>(shape: [2], scalars: [1, 0.5])]
        let term = try ProximalTerm.loss([weight, bias], global: anchors, mu: 0.2)
        // ‖w − g‖² = 1 + 0 + 4 + 1 + 4 + 0 = 10.
        #expect(abs(term.value.scalars[0] - 0.1 * 10) < 1e-6)
        try term.backward()
        expectClose(try #require(weight.gradient).scalars, [0.2, 0, -0.4, 0.2])
        expectClose(try #require(bias.gradient).scalars, [-0.4, 0])
        #expect(throws: FederatedError.self) { try ProximalTerm.loss([weight], global: anchors, mu: 0.1) }
    }

    @Test("FedAvgM keeps a momentum buffer of pseudo-gradients across rounds")
    func fedAvgM() throws {
        var strategy = try FedAvgM(serverLearningRate: 0.5, momentum: 0.9)
        let first = try strategy.aggregate(updates, global: global)
        // Round 1: m = g = w − avg; w1 = w − 0.5·m.
        let average: [Double] = [2.2, 2.0, 1.8, 1.6, 1.4]
        let m1 = average.map { 0 - $0 }
        let w1 = m1.map { 0 - 0.5 * $0 }
        expectClose(first.values, w1)
        let second = try strategy.aggregate(updates, global: first)
        let m2 = (0..<5).map { 0.9 * m1[$0] + (w1[$0] - average[$0]) }
        expectClose(second.values, (0..<5).map { w1[$0] - 0.5 * m2[$0] }, tolerance: 1e-5)
    }

    @Test("FedAdagrad, FedYogi and FedAdam follow Reddi et al.'s updates over two rounds", arguments: [FedOpt.Rule.adagrad, .yogi, .adam])
    func serverOptimizers(rule: FedOpt.Rule) throws {
        let (eta, beta1, beta2, tau) = (0.1, rule == .adagrad ? 0.0 : 0.9, 0.99, 1e-3)
        var strategy = try FedOpt(rule, learningRate: eta, beta1: beta1, beta2: beta2, tau: tau)
        var w = [Double](repeating: 0, count: 5)
        var (m, v) = ([Double](repeating: 0, count: 5), [Double](repeating: 0, count: 5))
        var current = global
        for round in 0..<2 {
            let shifted = try updates.map { u in
                try update(u.client, u.parameters.values.map { $0 + Float(round) }, samples: u.sampleCount)
            }
            let average = (0..<5).map { i in shifted.reduce(0.0) { $0 + Double($1.parameters.values[i]) * Double($1.sampleCount) } / 100 }
            for i in 0..<5 {
                let delta = average[i] - w[i]
                m[i] = beta1 * m[i] + (1 - beta1) * delta
                switch rule {
                case .adagrad: v[i] = v[i] + delta * delta
                case .yogi:
                    let squared = delta * delta
                    let sign: Double = v[i] > squared ? 1 : (v[i] < squared ? -1 : 0)
                    v[i] -= (1 - beta2) * squared * sign
                case .adam: v[i] = beta2 * v[i] + (1 - beta2) * delta * delta
                }
                w[i] += eta * m[i] / (v[i].squareRoot() + tau)
            }
            current = try strategy.aggregate(shifted, global: current)
            expectClose(current.values, w, tolerance: 1e-5)
        }
        #expect(throws: FederatedError.self) { try FedOpt(rule, learningRate: 0, tau: 1e-9) }
    }

    @Test("the coordinate-wise median and trimmed mean ignore an outlier")
    func medianAndTrimmedMean() throws {
        let honest = [
            try update("a", [1, 1, 1, 1, 1]), try update("b", [2, 2, 2, 2, 2]), try update("c", [3, 3, 3, 3, 3]),
            try update("d", [4, 4, 4, 4, 4]),
        ]
        let poisoned = honest + [try update("evil", [1000, -1000, 1000, -1000, 1000])]
        var median = CoordinateMedian()
        expectClose(try median.aggregate(poisoned, global: global).values, [3, 2, 3, 2, 3])
        expectClose(try median.aggregate(honest, global: global).values, [2.5, 2.5, 2.5, 2.5, 2.5])
        var trimmed = try TrimmedMean(trimFraction: 0.2)
        // One cut from each end of five: the mean of the middle three.
        expectClose(try trimmed.aggregate(poisoned, global: global).values, [3, 2, 3, 2, 3])
        var untrimmed = try TrimmedMean(trimFraction: 0)
        expectClose(try untrimmed.aggregate(honest, global: global).values, [2.5, 2.5, 2.5, 2.5, 2.5])
        #expect(throws: FederatedError.self) { try TrimmedMean(trimFraction: 0.5) }
    }

    @Test("Krum scores by the n − f − 2 nearest neighbours and keeps an honest update; Multi-Krum averages the best m")
    func krum() throws {
        let vectors: [[Float]] = [[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [1, 1, 0, 0, 0], [50, 50, 50, 50, 50]]
        let all = try vectors.enumerated().map { try update("c\($0.offset)", $0.element) }
        let strategy = try Krum(byzantine: 1)
        // n − f − 2 = 2 nearest: squared distances among the honest four are 1 (adjacent) or 2 (diagonal).
        let scores = try strategy.scores(all)
        #expect(Array(scores.prefix(4)) == [2, 2, 2, 2])
        #expect(scores[4] > 10_000)
        var krum = strategy
        expectClose(try krum.aggregate(all, global: global).values, [0, 0, 0, 0, 0])
        var multi = try Krum(byzantine: 1, keep: 4)
        #expect(multi.name == "MultiKrum")
        expectClose(try multi.aggregate(all, global: global).values, [0.5, 0.5, 0, 0, 0])
        #expect(throws: FederatedError.notEnoughClients(needed: 4, available: 3)) {
            try krum.aggregate(Array(all.prefix(3)), global: global)
        }
    }

    @Test("screening excludes other shapes, NaNs, empty clients and second answers, each with its reason")
    func screening() throws {
        let wrongShape = ClientUpdate(
            client: "shape", parameters: try ModelParameters(layout: [.init(name: "bias", shape: [5])], values: [1, 2, 3, 4, 5]),
            sampleCount: 3)
        let (accepted, excluded) = Screening.screen(
            [
                try update("good", [1, 2, 3, 4, 5]), wrongShape, try update("nan", [1, .nan, 3, 4, 5]),
                try update("inf", [1, 2, .infinity, 4, 5]), try update("empty", [1, 2, 3, 4, 5], samples: 0),
                try update("good", [9, 9, 9, 9, 9]),
            ], against: global)
        #expect(accepted.map(\.client) == ["good"])
        #expect(accepted[0].parameters.values == [1, 2, 3, 4, 5])
        #expect(excluded.map(\.client) == ["shape", "nan", "inf", "empty", "good"])
        #expect(excluded[1].reason.contains("NaN"))
    }

    @Test("parameters round-trip through the wire and a state dictionary; lying sizes are typed errors")
    func parametersOnTheWire() throws {
        let original = ClientUpdate(
            client: "hospital-3", parameters: try parameters([1, 2, 3, 4, 5]), sampleCount: 42, metrics: ["loss": 0.5])
        var encoder = WireEncoder()
        original.encode(to: &encoder)
        var decoder = WireDecoder(encoder.bytes)
        #expect(try ClientUpdate(from: &decoder) == original)
        let state = try original.parameters.stateDictionary()
        #expect(state["weight"]?.shape == [2, 2] && state["weight"]?.scalars == [2, 3, 4, 5])
        #expect(ModelParameters(state) == original.parameters)
        #expect(throws: FederatedError.self) { try ModelParameters(layout: [.init(name: "w", shape: [3])], values: [1]) }

        // A layout that claims more (or fewer) elements than the values sent.
        for shape in [[6], [2], [Int.max, 2], [-1]] {
            var lying = WireEncoder()
            lying.writeLength(1)
            lying.write("w")
            shape.encode(to: &lying)
            [Float](repeating: 1, count: 5).encode(to: &lying)
            var reader = WireDecoder(lying.bytes)
            #expect(throws: WireError.self, "shape \(shape)") { try ModelParameters(from: &reader) }
        }
    }

    @Test("client data round-trips through the wire; a label count that does not match the rows is a typed error")
    func clientDataOnTheWire() throws {
        let features = try Tensor<Float>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let data = ClientData(
            configuration: ClientConfiguration(name: "h", learner: "hospital", seed: 4),
            train: try LabeledData(features: features, labels: [0, 1, 1]), test: try LabeledData(features: features, labels: [1, 0, 0]))
        var encoder = WireEncoder()
        data.encode(to: &encoder)
        var decoder = WireDecoder(encoder.bytes)
        let decoded = try ClientData(from: &decoder)
        #expect(decoded.configuration == data.configuration && decoded.train.labels == [0, 1, 1] && decoded.test.labels == [1, 0, 0])
        #expect(decoded.train.features.scalars == features.scalars && decoded.test.features.shape == [3, 2])
        for labels in [[0, 1], [0, 1, 1, 0], [0, -1, 1]] {
            var lying = WireEncoder()
            data.configuration.encode(to: &lying)
            features.encode(to: &lying)
            labels.encode(to: &lying)
            features.encode(to: &lying)
            [1, 0, 0].encode(to: &lying)
            var reader = WireDecoder(lying.bytes)
            #expect(throws: WireError.self, "labels \(labels)") { try ClientData(from: &reader) }
        }
    }
}
