/// Adaptive federated optimization (Reddi et al. 2021): the server treats
/// Δ = FedAvg(updates) − w_global as a gradient step and applies an adaptive optimizer to it:
///
/// - m ← β₁·m + (1 − β₁)·Δ
/// - v ← v + Δ² (Adagrad), v − (1 − β₂)·Δ²·sign(v − Δ²) (Yogi), or β₂·v + (1 − β₂)·Δ² (Adam)
/// - w ← w_global + η·m / (√v + τ)
///
/// m and v start at zero, as in Flower's implementations; no bias correction.
public struct FedOpt: AggregationStrategy {
    /// The second-moment rule.
    public enum Rule: String, Sendable, Equatable {
        case adagrad, yogi, adam
    }

    public let rule: Rule
    /// η, the server learning rate.
    public let learningRate: Double
    public let beta1: Double
    public let beta2: Double
    /// τ, the adaptivity: how far v is from dividing by zero.
    public let tau: Double
    private var firstMoment: [Double]?
    private var secondMoment: [Double]?

    public var name: String {
        switch rule {
        case .adagrad: "FedAdagrad"
        case .yogi: "FedYogi"
        case .adam: "FedAdam"
        }
    }
    public var clientSettings: ClientSettings { ClientSettings() }
    public var aggregatesWeightedMean: Bool { true }

    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` unless η > 0, τ > 0 and
    ///   0 ≤ β₁, β₂ < 1.
    public init(_ rule: Rule, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.99, tau: Double) throws(FederatedError) {
        guard learningRate > 0, tau > 0, (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw .invalidConfiguration("a server optimizer needs η > 0, τ > 0 and 0 ≤ β₁, β₂ < 1")
        }
        self.rule = rule
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.tau = tau
    }

    /// FedAdagrad with Flower's defaults (η 0.1, τ 1e-9, β₁ 0).
    public static func adagrad(learningRate: Double = 0.1, tau: Double = 1e-9) throws(FederatedError) -> FedOpt {
        try FedOpt(.adagrad, learningRate: learningRate, beta1: 0, tau: tau)
    }

    /// FedYogi with Flower's defaults (η 0.01, τ 1e-3, β₁ 0.9, β₂ 0.99).
    public static func yogi(learningRate: Double = 0.01, tau: Double = 1e-3) throws(FederatedError) -> FedOpt {
        try FedOpt(.yogi, learningRate: learningRate, tau: tau)
    }

    /// FedAdam with Flower's defaults (η 0.1, τ 1e-9, β₁ 0.9, β₂ 0.99).
    public static func adam(learningRate: Double = 0.1, tau: Double = 1e-9) throws(FederatedError) -> FedOpt {
        try FedOpt(.adam, learningRate: learningRate, tau: tau)
    }

    public mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters {
        var average = FedAvg()
        let mean = try average.aggregate(updates, global: global).values
        let delta = zip(mean, global.values).map { Double($0) - Double($1) }
        var m = firstMoment.flatMap { $0.count == delta.count ? $0 : nil } ?? [Double](repeating: 0, count: delta.count)
        var v = secondMoment.flatMap { $0.count == delta.count ? $0 : nil } ?? [Double](repeating: 0, count: delta.count)
        var next = [Float](repeating: 0, count: delta.count)
        for index in delta.indices {
            let d = delta[index]
            let squared = d * d
            m[index] = beta1 * m[index] + (1 - beta1) * d
            switch rule {
            case .adagrad: v[index] += squared
            case .yogi:
                let difference = v[index] - squared
                v[index] -= (1 - beta2) * squared * (difference > 0 ? 1 : difference < 0 ? -1 : 0)
            case .adam: v[index] = beta2 * v[index] + (1 - beta2) * squared
            }
            next[index] = Float(Double(global.values[index]) + learningRate * m[index] / (v[index].squareRoot() + tau))
        }
        (firstMoment, secondMoment) = (m, v)
        return try global.replacingValues(next)
    }
}
