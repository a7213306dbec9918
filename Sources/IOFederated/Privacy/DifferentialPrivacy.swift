import Foundation

/// The pieces of differentially private federated averaging (McMahan et al. 2018): clip each
/// client's update Δ = w_client − w_global to an L2 norm, and add Gaussian noise.
public enum UpdateClipping {
    /// `parameters` moved towards `global` so that ‖parameters − global‖₂ ≤ `norm`; the factor
    /// applied to the update (1 when it was already short enough).
    public static func clip(_ parameters: ModelParameters, towards global: ModelParameters, norm: Double) throws(FederatedError) -> (
        parameters: ModelParameters, factor: Double
    ) {
        guard parameters.layout == global.layout else { throw .shapeMismatch("an update of another layout than the global model") }
        var squared = 0.0
        for index in global.values.indices {
            let difference = Double(parameters.values[index]) - Double(global.values[index])
            squared += difference * difference
        }
        let length = squared.squareRoot()
        let factor = length > norm ? norm / length : 1
        guard factor < 1 else { return (parameters, 1) }
        let values = global.values.indices.map { index in
            Float(Double(global.values[index]) + (Double(parameters.values[index]) - Double(global.values[index])) * factor)
        }
        return (try global.replacingValues(values), factor)
    }
}

/// Gaussian noise from a random source: Box–Muller pairs.
struct GaussianNoise<Source: RandomNumberGenerator> {
    var source: Source
    private var spare: Double?

    init(source: Source) { self.source = source }

    mutating func next(standardDeviation: Double) -> Double {
        if let spare {
            self.spare = nil
            return spare * standardDeviation
        }
        // 53 random bits in (0, 1].
        let u1 = (Double(source.next() >> 11) + 1) / 9_007_199_254_740_992
        let u2 = Double(source.next() >> 11) / 9_007_199_254_740_992
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        spare = radius * Foundation.sin(2 * .pi * u2)
        return radius * Foundation.cos(2 * .pi * u2) * standardDeviation
    }
}

/// Central differential privacy around any strategy (DP-FedAvg with fixed clipping, as Flower's
/// `DifferentialPrivacyServerSideFixedClipping`): the server clips every update to
/// `clippingNorm`, aggregates with `base`, and adds Gaussian noise of standard deviation
/// `noiseMultiplier · clippingNorm / m` (m the number of updates) to each element; every round is
/// recorded in ``accountant`` with the sampling rate the round reports.
///
/// The noise comes from the system's cryptographic generator unless a generator is given (tests
/// give a seeded one).
public struct CentralPrivacy<Base: AggregationStrategy, Source: RandomNumberGenerator & Sendable>: AggregationStrategy {
    public var base: Base
    public let noiseMultiplier: Double
    public let clippingNorm: Double
    /// How many clients exist in all; a round of m updates samples m / population of them.
    public let population: Int
    public private(set) var accountant = RDPAccountant()
    private var noise: GaussianNoise<Source>

    public var name: String { "DP(\(base.name))" }
    public var clientSettings: ClientSettings { base.clientSettings }
    /// Central DP clips each update first, so it needs them one by one.
    public var aggregatesWeightedMean: Bool { false }

    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` unless the noise multiplier is ≥ 0
    ///   and the clipping norm and population positive.
    public init(_ base: Base, noiseMultiplier: Double, clippingNorm: Double, population: Int, source: Source) throws(FederatedError) {
        guard noiseMultiplier >= 0, clippingNorm > 0, population > 0 else {
            throw .invalidConfiguration("central DP needs a noise multiplier ≥ 0, a positive clipping norm and population")
        }
        self.base = base
        self.noiseMultiplier = noiseMultiplier
        self.clippingNorm = clippingNorm
        self.population = population
        noise = GaussianNoise(source: source)
    }

    public mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters {
        guard !updates.isEmpty else { throw .notEnoughClients(needed: 1, available: 0) }
        let clipped = try updates.map { update throws(FederatedError) -> ClientUpdate in
            var copy = update
            copy.parameters = try UpdateClipping.clip(update.parameters, towards: global, norm: clippingNorm).parameters
            return copy
        }
        var aggregate = try base.aggregate(clipped, global: global)
        let deviation = noiseMultiplier * clippingNorm / Double(updates.count)
        if deviation > 0 {
            for index in aggregate.values.indices { aggregate.values[index] += Float(noise.next(standardDeviation: deviation)) }
        }
        accountant.record(noiseMultiplier: noiseMultiplier, sampleRate: min(1, Double(updates.count) / Double(population)))
        return aggregate
    }

    /// ε spent so far for `delta`.
    public func epsilon(delta: Double) -> Double { accountant.epsilon(delta: delta).epsilon }
}

extension GaussianNoise: Sendable where Source: Sendable {}

extension CentralPrivacy where Source == SystemRandomNumberGenerator {
    /// Central DP with noise from the system's cryptographic generator.
    public init(_ base: Base, noiseMultiplier: Double, clippingNorm: Double, population: Int) throws(FederatedError) {
        try self.init(base, noiseMultiplier: noiseMultiplier, clippingNorm: clippingNorm, population: population, source: .init())
    }
}

/// Local differential privacy on the client (as Flower's `LocalDpMod`): the client clips its
/// update to `clippingNorm` and adds Gaussian noise calibrated so that each round is
/// (ε, δ)-DP by the classic Gaussian mechanism, σ = C·√(2 ln(1.25/δ)) / ε, before the update
/// leaves the client. The server never sees an un-noised update.
public struct LocalPrivacy: Sendable, Equatable, Codable {
    public let clippingNorm: Double
    public let epsilon: Double
    public let delta: Double

    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` unless C > 0, 0 < ε ≤ 1 (where the
    ///   classic Gaussian mechanism's bound holds) and 0 < δ < 1.
    public init(clippingNorm: Double, epsilon: Double, delta: Double) throws(FederatedError) {
        guard clippingNorm > 0, epsilon > 0, epsilon <= 1, delta > 0, delta < 1 else {
            throw .invalidConfiguration("local DP needs C > 0, 0 < ε ≤ 1 and 0 < δ < 1")
        }
        self.clippingNorm = clippingNorm
        self.epsilon = epsilon
        self.delta = delta
    }

    private enum CodingKeys: String, CodingKey { case clippingNorm, epsilon, delta }

    /// Decodes and checks the settings as ``init(clippingNorm:epsilon:delta:)`` does, so that a
    /// message cannot ask a client for no noise.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            clippingNorm: try container.decode(Double.self, forKey: .clippingNorm),
            epsilon: try container.decode(Double.self, forKey: .epsilon),
            delta: try container.decode(Double.self, forKey: .delta))
    }

    /// The noise's standard deviation.
    public var standardDeviation: Double { clippingNorm * (2 * Foundation.log(1.25 / delta)).squareRoot() / epsilon }

    /// The noise's standard deviation over the clipping norm (the update's L2 sensitivity, as in
    /// Flower's `LocalDpMod`): what a client's ``RDPAccountant`` composes over its rounds.
    public var noiseMultiplier: Double { standardDeviation / clippingNorm }

    /// `parameters` with their update clipped and noised, from `source`.
    public func privatize<Source: RandomNumberGenerator>(_ parameters: ModelParameters, global: ModelParameters, using source: inout Source)
        throws(FederatedError) -> ModelParameters
    {
        var clipped = try UpdateClipping.clip(parameters, towards: global, norm: clippingNorm).parameters
        var noise = GaussianNoise(source: source)
        for index in clipped.values.indices { clipped.values[index] += Float(noise.next(standardDeviation: standardDeviation)) }
        source = noise.source
        return clipped
    }
}
