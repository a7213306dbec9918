/// What happened in one round: who was asked, who answered in time, who was left out and why,
/// and the metrics.
public struct RoundRecord: Sendable, Equatable {
    public var round: Int
    /// The strategy's name, with "+SecAgg" when the round was securely aggregated.
    public var strategy: String
    public var sampled: [String] = []
    /// Clients whose answers were aggregated.
    public var aggregated: [String] = []
    /// Clients that answered after the deadline (their answers were discarded).
    public var late: [String] = []
    /// Clients whose call failed (lost, or an error), with the reason.
    public var failed: [String: String] = [:]
    /// Answers excluded by screening (wrong shapes, NaNs), with the reason.
    public var excluded: [Exclusion] = []
    /// Whether the global parameters changed: false when too few clients answered.
    public var completed = false
    /// The sample-weighted mean of the clients' training loss.
    public var trainingLoss: Double?
    /// The sample-weighted evaluation loss and accuracy, when the round evaluated.
    public var evaluationLoss: Double?
    public var evaluationAccuracy: Double?
    /// ε spent so far for the strategy's δ, under central differential privacy.
    public var epsilon: Double?
    /// Under local differential privacy: the largest ε any aggregated client reports having
    /// spent so far (each composes its own rounds with an RDP accountant, at the settings' δ).
    public var localEpsilon: Double?
    public var seconds = 0.0

    public init(round: Int, strategy: String) {
        self.round = round
        self.strategy = strategy
    }
}

/// Every round of a federation, in order.
public struct FederatedHistory: Sendable, Equatable {
    public var rounds: [RoundRecord] = []

    public init() {}

    /// The last evaluated accuracy.
    public var finalAccuracy: Double? { rounds.last { $0.evaluationAccuracy != nil }?.evaluationAccuracy }
}

/// How a federation runs its rounds (Flower's names in parentheses).
public struct FederatedConfiguration: Sendable, Equatable {
    /// The fraction of available clients asked to train each round (`fraction_fit`).
    public var fractionFit = 1.0
    /// At least this many are asked, and a round aggregates only when at least this many answer
    /// in time (`min_fit_clients`).
    public var minimumFitClients = 2
    /// The fraction asked to evaluate (`fraction_evaluate`), at least `minimumEvaluateClients`.
    public var fractionEvaluate = 1.0
    public var minimumEvaluateClients = 1
    /// Evaluate after every this many rounds (0: never).
    public var evaluateEvery = 1
    /// Answers later than this after a round's calls start are discarded.
    public var roundDeadline: Duration = .seconds(60)
    /// Client sampling is seeded: the same seed samples the same clients.
    public var seed: UInt64 = 0
    /// Aggregate with secure aggregation (strategies of the FedAvg family only).
    public var secureAggregation: SecureAggregationSettings?
    /// Local differential privacy: every client clips and noises its update before it leaves
    /// (under secure aggregation too), and reports the ε it has spent
    /// (``RoundRecord/localEpsilon``).
    public var localPrivacy: LocalPrivacy?

    public init() {}
}

/// Secure aggregation's settings for a federation.
public struct SecureAggregationSettings: Sendable, Equatable {
    /// The fraction of a round's clients whose shares rebuild a mask (at least 2): dropouts up to
    /// the rest are tolerated, and fewer colluding clients learn nothing.
    public var thresholdFraction: Double
    /// Each masked value of the weighted update is clipped to ±range.
    public var range: Double
    /// Sample counts are capped here to weight updates.
    public var maxSampleCount: Int
    /// SecAgg+: each client masks and shares with this many neighbours in a random graph
    /// (``SecureAggregationGraph``) rather than with every other client; the threshold fraction
    /// then applies to a neighbourhood. `nil`: the complete graph of Bonawitz et al.
    public var neighbors: Int?

    public init(thresholdFraction: Double = 0.5, range: Double = 8, maxSampleCount: Int = 10_000, neighbors: Int? = nil) {
        self.thresholdFraction = thresholdFraction
        self.range = range
        self.maxSampleCount = maxSampleCount
        self.neighbors = neighbors
    }

    /// The shares needed to rebuild a secret among `clients`: the fraction of a client's
    /// neighbourhood (itself and its neighbours), at least 2.
    func threshold(clients: Int) -> Int {
        let group = neighbors.map { Swift.min(clients, 2 * (($0 + 1) / 2) + 1) } ?? clients
        return Swift.max(2, Int((thresholdFraction * Double(group)).rounded(.up)))
    }
}
