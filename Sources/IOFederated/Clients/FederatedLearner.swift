import IORuntime

/// What a client does with the global parameters on its own data: train (`fit`) and evaluate.
/// A learner lives inside a ``FederatedClient`` actor on the node that holds its data, and only
/// parameters, counts and metrics ever leave it.
public protocol FederatedLearner {
    /// Trains from `parameters` for one round with `settings` (FedProx's μ); returns the new
    /// parameters, the number of examples they were trained on, and metrics such as "loss".
    nonisolated(nonsending) mutating func fit(_ parameters: ModelParameters, settings: ClientSettings, round: Int) async throws -> (
        parameters: ModelParameters, sampleCount: Int, metrics: [String: Double]
    )
    /// Evaluates `parameters` on the local held-out data.
    nonisolated(nonsending) func evaluate(_ parameters: ModelParameters) async throws -> ClientEvaluation
    /// The statistics of the local training features, for a federation-wide standardization
    /// (nil: the learner does not standardize).
    func featureStatistics() throws -> FeatureStatistics?
    /// Adopts the federation's merged statistics: standardizes local features with them.
    mutating func standardize(with statistics: FeatureStatistics) throws
}

extension FederatedLearner {
    public func featureStatistics() throws -> FeatureStatistics? { nil }
    public mutating func standardize(with statistics: FeatureStatistics) throws {}
}

/// A client's evaluation of the global parameters.
public struct ClientEvaluation: Sendable, Equatable, WireCodable {
    public var client: String
    public var loss: Double
    public var sampleCount: Int
    public var metrics: [String: Double]

    public init(client: String, loss: Double, sampleCount: Int, metrics: [String: Double] = [:]) {
        self.client = client
        self.loss = loss
        self.sampleCount = sampleCount
        self.metrics = metrics
    }
}

/// What a client is built from: its name, the learner to build (by name, from the
/// ``LearnerCatalog`` the cluster's registry holds) and the learner's options — where its data
/// is, which partition is its own. The data itself never travels.
public struct ClientConfiguration: Sendable, Equatable, WireCodable {
    public var name: String
    public var learner: String
    public var options: [String: String]
    public var seed: UInt64
    /// Local differential privacy the client applies whatever the server asks: a server that
    /// asks for none, or for less noise, gets this (the client keeps the stronger of the two).
    public var localPrivacy: LocalPrivacy?

    public init(name: String, learner: String, options: [String: String] = [:], seed: UInt64 = 0, localPrivacy: LocalPrivacy? = nil) {
        self.name = name
        self.learner = learner
        self.options = options
        self.seed = seed
        self.localPrivacy = localPrivacy
    }
}

/// Named factories of learners; every process of the cluster must register the same catalog.
///
/// ```swift
/// let catalog = LearnerCatalog().adding("hospital") { configuration in
///     try ClassifierLearner(configuration: configuration)
/// }
/// let registry = Registry().federatedClients(catalog)
/// ```
public struct LearnerCatalog: Sendable {
    public typealias Factory = @Sendable (ClientConfiguration) throws -> any FederatedLearner
    /// Builds a learner from data pinned to the client's node.
    public typealias DataFactory = @Sendable (ClientData) throws -> any FederatedLearner
    private var factories: [String: Factory] = [:]
    private var dataFactories: [String: DataFactory] = [:]

    public init() {}

    /// This catalog with `name` building learners with `factory`.
    public func adding(_ name: String, _ factory: @escaping Factory) -> LearnerCatalog {
        var copy = self
        copy.factories[name] = factory
        return copy
    }

    /// This catalog with `name` building learners from pinned ``ClientData`` with `factory`.
    public func addingDataLearner(_ name: String, _ factory: @escaping DataFactory) -> LearnerCatalog {
        var copy = self
        copy.dataFactories[name] = factory
        return copy
    }

    /// The learner `data.configuration` names, built from `data`.
    ///
    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` for a name the catalog holds no data
    ///   factory for.
    public func make(from data: ClientData) throws -> any FederatedLearner {
        guard let factory = dataFactories[data.configuration.learner] else {
            throw FederatedError.invalidConfiguration(
                "no learner \"\(data.configuration.learner)\" built from data in the catalog (it has \(dataFactories.keys.sorted()))")
        }
        return try factory(data)
    }

    /// The learner `configuration` names.
    ///
    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` for a name the catalog does not hold.
    public func make(_ configuration: ClientConfiguration) throws -> any FederatedLearner {
        guard let factory = factories[configuration.learner] else {
            throw FederatedError.invalidConfiguration(
                "no learner \"\(configuration.learner)\" in the catalog (it has \(factories.keys.sorted()))")
        }
        return try factory(configuration)
    }
}
