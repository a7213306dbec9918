/// Federated averaging (McMahan et al. 2017): the mean of the clients' parameters weighted by
/// their sample counts.
public struct FedAvg: AggregationStrategy {
    public var name: String { "FedAvg" }
    public var aggregatesWeightedMean: Bool { true }
    public var clientSettings: ClientSettings { ClientSettings() }

    public init() {}

    public mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters {
        guard !updates.isEmpty else { throw .notEnoughClients(needed: 1, available: 0) }
        return try global.replacingValues(
            VectorMath.weightedMean(updates.map(\.parameters.values), weights: updates.map { Double($0.sampleCount) }))
    }
}

/// FedProx (Li et al. 2020): FedAvg's aggregate, with clients adding μ/2·‖w − w_global‖² to
/// their loss (``ProximalTerm``) so that non-IID clients drift less.
public struct FedProx: AggregationStrategy {
    public var name: String { "FedProx" }
    public var aggregatesWeightedMean: Bool { true }
    public let proximalMu: Double
    public var clientSettings: ClientSettings { ClientSettings(proximalMu: proximalMu) }

    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` for a negative μ.
    public init(proximalMu: Double) throws(FederatedError) {
        guard proximalMu >= 0, proximalMu.isFinite else { throw .invalidConfiguration("FedProx needs μ ≥ 0, not \(proximalMu)") }
        self.proximalMu = proximalMu
    }

    public mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters {
        var average = FedAvg()
        return try average.aggregate(updates, global: global)
    }
}

/// FedAvg with server momentum (FedAvgM, Hsu et al. 2019): the pseudo-gradient
/// g = w_global − FedAvg(updates) feeds a momentum buffer m ← β·m + g (m = g in the first round),
/// and w ← w_global − η·m.
public struct FedAvgM: AggregationStrategy {
    public var name: String { "FedAvgM" }
    public var aggregatesWeightedMean: Bool { true }
    public var clientSettings: ClientSettings { ClientSettings() }
    public let serverLearningRate: Double
    public let momentum: Double
    private var buffer: [Double]?

    public init(serverLearningRate: Double = 1, momentum: Double = 0.9) throws(FederatedError) {
        guard serverLearningRate > 0, momentum >= 0, momentum < 1 else {
            throw .invalidConfiguration("FedAvgM needs η > 0 and 0 ≤ β < 1")
        }
        self.serverLearningRate = serverLearningRate
        self.momentum = momentum
    }

    public mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters {
        var average = FedAvg()
        let mean = try average.aggregate(updates, global: global).values
        let gradient = zip(global.values, mean).map { Double($0) - Double($1) }
        let next: [Double]
        if let buffer, buffer.count == gradient.count {
            next = zip(buffer, gradient).map { momentum * $0 + $1 }
        } else {
            next = gradient
        }
        buffer = next
        return try global.replacingValues(zip(global.values, next).map { Float(Double($0) - serverLearningRate * $1) })
    }
}
