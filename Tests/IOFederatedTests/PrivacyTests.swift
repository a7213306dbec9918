import Foundation
import IOFederated
import IORuntime
import IOTensor
import Testing

struct OpacusCase: Decodable {
    let sampleRate: Double
    let noiseMultiplier: Double
    let steps: Int
    let delta: Double
    let epsilon: Double
    let order: Double
    let probeOrders: [Double]
    let probeRDP: [Double]
}

@Suite("differential privacy: the RDP accountant, clipping and noise")
struct PrivacyTests {
    static func opacusCases() throws -> [OpacusCase] {
        struct File: Decodable { let cases: [OpacusCase] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/opacus_rdp.json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    @Test("ε and the RDP at integer and fractional orders equal Opacus 1.6's for every recorded setting")
    func accountantMatchesOpacus() throws {
        let cases = try Self.opacusCases()
        #expect(cases.count >= 7)
        for reference in cases {
            var accountant = RDPAccountant()
            accountant.record(noiseMultiplier: reference.noiseMultiplier, sampleRate: reference.sampleRate, steps: reference.steps)
            let (epsilon, order) = accountant.epsilon(delta: reference.delta)
            let label = "q \(reference.sampleRate), σ \(reference.noiseMultiplier), \(reference.steps) steps"
            #expect(
                abs(epsilon - reference.epsilon) <= 1e-9 * max(1, reference.epsilon), "\(label): ε \(epsilon), Opacus \(reference.epsilon)")
            #expect(order == reference.order, "\(label): order \(order), Opacus \(reference.order)")
            for (probe, expected) in zip(reference.probeOrders, reference.probeRDP) {
                let actual = RDPAccountant.rdp(sampleRate: reference.sampleRate, noiseMultiplier: reference.noiseMultiplier, order: probe)
                #expect(abs(actual - expected) <= 1e-9 * max(1e-12, abs(expected)), "\(label), α \(probe): \(actual), Opacus \(expected)")
            }
        }
    }

    @Test("rounds add up: ε grows with rounds, is 0 before any and infinite without noise")
    func accountantComposes() {
        var accountant = RDPAccountant()
        #expect(accountant.epsilon(delta: 1e-5).epsilon == 0)
        var previous = 0.0
        for _ in 0..<5 {
            accountant.record(noiseMultiplier: 1.0, sampleRate: 0.1, steps: 20)
            let epsilon = accountant.epsilon(delta: 1e-5).epsilon
            #expect(epsilon > previous)
            previous = epsilon
        }
        #expect(accountant.history.count == 1 && accountant.history[0].steps == 100)
        var once = RDPAccountant()
        once.record(noiseMultiplier: 1.0, sampleRate: 0.1, steps: 100)
        #expect(once.epsilon(delta: 1e-5).epsilon == previous)
        var noiseless = RDPAccountant()
        noiseless.record(noiseMultiplier: 0, sampleRate: 0.1)
        #expect(noiseless.epsilon(delta: 1e-5).epsilon == .infinity)
    }

    @Test("clipping shortens long updates to the norm and leaves short ones alone")
    func clipping() throws {
        let global = try parameters([1, 1, 1, 1, 1])
        let long = try parameters([4, 5, 1, 1, 1])  // update (3, 4, 0, 0, 0): norm 5
        let (clipped, factor) = try UpdateClipping.clip(long, towards: global, norm: 2)
        #expect(abs(factor - 0.4) < 1e-12)
        expectClose(clipped.values, [2.2, 2.6, 1, 1, 1])
        let (same, one) = try UpdateClipping.clip(long, towards: global, norm: 10)
        #expect(same == long && one == 1)
        let other = try ModelParameters(layout: [.init(name: "w", shape: [5])], values: [1, 2, 3, 4, 5])
        #expect(throws: FederatedError.self) { _ = try UpdateClipping.clip(other, towards: global, norm: 1) }
    }

    @Test("central DP adds noise of σ·C/m to the aggregate of clipped updates and accounts for each round")
    func centralNoise() throws {
        let size = 20_000
        let layout = [ModelParameters.Slot(name: "w", shape: [size])]
        let global = try ModelParameters(layout: layout, values: [Float](repeating: 0, count: size))
        var random = SplitMix64(seed: 1)
        let updates = try (0..<4).map { client in
            ClientUpdate(
                client: "c\(client)",
                parameters: try ModelParameters(layout: layout, values: (0..<size).map { _ in Float(Double(random.next() % 1000) / 1e5) }),
                sampleCount: 1)
        }
        var strategy = try CentralPrivacy(
            FedAvg(), noiseMultiplier: 1.2, clippingNorm: 0.5, population: 40, source: SplitMix64(seed: 9))
        let noisy = try strategy.aggregate(updates, global: global)
        var plain = FedAvg()
        let clipped = try updates.map { u in
            ClientUpdate(
                client: u.client, parameters: try UpdateClipping.clip(u.parameters, towards: global, norm: 0.5).parameters, sampleCount: 1)
        }
        let expectedMean = try plain.aggregate(clipped, global: global).values
        let noise = zip(noisy.values, expectedMean).map { Double($0) - Double($1) }
        let mean = noise.reduce(0, +) / Double(size)
        let deviation = (noise.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(size - 1)).squareRoot()
        let expected = 1.2 * 0.5 / 4
        #expect(abs(deviation - expected) < 0.03 * expected, "noise deviation \(deviation), expected \(expected)")
        #expect(abs(mean) < 5 * expected / Double(size).squareRoot())
        #expect(strategy.accountant.history == [RDPAccountant.Entry(noiseMultiplier: 1.2, sampleRate: 0.1, steps: 1)])
        _ = try strategy.aggregate(updates, global: global)
        var reference = RDPAccountant()
        reference.record(noiseMultiplier: 1.2, sampleRate: 0.1, steps: 2)
        #expect(strategy.epsilon(delta: 1e-5) == reference.epsilon(delta: 1e-5).epsilon)
    }

    @Test("local DP clips and adds noise of C·√(2 ln(1.25/δ))/ε before the update leaves the client")
    func localNoise() throws {
        let size = 20_000
        let layout = [ModelParameters.Slot(name: "w", shape: [size])]
        let global = try ModelParameters(layout: layout, values: [Float](repeating: 0, count: size))
        let update = try ModelParameters(layout: layout, values: [Float](repeating: 1, count: size))  // norm √20000
        let privacy = try LocalPrivacy(clippingNorm: 1, epsilon: 0.5, delta: 1e-5)
        var random = SplitMix64(seed: 3)
        let private_ = try privacy.privatize(update, global: global, using: &random)
        let clippedValue = 1 / Double(size).squareRoot()
        let noise = private_.values.map { Double($0) - clippedValue }
        let deviation = (noise.map { $0 * $0 }.reduce(0, +) / Double(size)).squareRoot()
        let expected = (2 * log(1.25 / 1e-5)).squareRoot() / 0.5
        #expect(abs(privacy.standardDeviation - expected) < 1e-12)
        #expect(abs(deviation - expected) < 0.03 * expected, "noise deviation \(deviation), expected \(expected)")
        #expect(throws: FederatedError.self) { try LocalPrivacy(clippingNorm: 1, epsilon: 2, delta: 1e-5) }
        // Settings that arrive in a message are checked the same way: no message turns the noise off.
        #expect(throws: FederatedError.self) {
            try JSONDecoder().decode(LocalPrivacy.self, from: Data(#"{"clippingNorm":1,"epsilon":1e9,"delta":1e-5}"#.utf8))
        }
        let sent = ClientSettings(proximalMu: 0.1, localPrivacy: privacy)
        var encoder = WireEncoder()
        sent.encode(to: &encoder)
        var decoder = WireDecoder(encoder.bytes)
        #expect(try ClientSettings(from: &decoder) == sent)
    }
}
