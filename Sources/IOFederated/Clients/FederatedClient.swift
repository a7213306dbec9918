import Distributed
import IORuntime

/// A federated client: an actor that builds its learner — and with it, its data — on the node
/// where the cluster places it, and answers the server's rounds. Register clients with
/// `Registry.federatedClients(_:)`.
public distributed actor FederatedClient {
    public typealias ActorSystem = ClusterActorSystem

    private var learner: any FederatedLearner
    private let configuration: ClientConfiguration
    /// This round's secure-aggregation state: the protocol client and the vector it will mask.
    private var secure: (client: SecureAggregationClient, input: [Float])?
    /// Composes the privacy this client's updates spent under local differential privacy.
    private var localAccountant = RDPAccountant()

    public init(actorSystem: ClusterActorSystem, configuration: ClientConfiguration, catalog: LearnerCatalog) throws {
        self.init(actorSystem: actorSystem, configuration: configuration, learner: try catalog.make(configuration))
    }

    /// A client answering with `learner`, which was built on this node.
    public init(actorSystem: ClusterActorSystem, configuration: ClientConfiguration, learner: any FederatedLearner) {
        self.actorSystem = actorSystem
        self.configuration = configuration
        self.learner = learner
    }

    /// The client's name.
    public distributed func name() -> String { configuration.name }

    /// Trains from `parameters` and returns the new parameters — clipped and noised first when
    /// `settings` asks for local differential privacy, with the ε this client has spent so far
    /// (composed by its own ``RDPAccountant``, at the settings' δ) in the metrics as
    /// `local_epsilon`.
    public distributed func fit(_ parameters: ModelParameters, settings: ClientSettings, round: Int) async throws -> ClientUpdate {
        let (trained, sampleCount, metrics) = try await train(parameters, settings: settings, round: round)
        return ClientUpdate(client: configuration.name, parameters: trained, sampleCount: sampleCount, metrics: metrics)
    }

    /// One round of local training, privatized when `settings` ask for local DP.
    private func train(_ parameters: ModelParameters, settings: ClientSettings, round: Int) async throws -> (
        ModelParameters, Int, [String: Double]
    ) {
        var local = learner
        let result = try await local.fit(parameters, settings: settings, round: round)
        learner = local
        var (trained, metrics) = (result.parameters, result.metrics)
        // The client's own floor holds even when the server asks for less noise, or none.
        let requested = [settings.localPrivacy, configuration.localPrivacy].compactMap { $0 }
        if let privacy = requested.max(by: { $0.noiseMultiplier < $1.noiseMultiplier }) {
            var random = SystemRandomNumberGenerator()
            trained = try privacy.privatize(trained, global: parameters, using: &random)
            localAccountant.record(noiseMultiplier: privacy.noiseMultiplier, sampleRate: 1)
            metrics["local_epsilon"] = localAccountant.epsilon(delta: privacy.delta).epsilon
        }
        return (trained, result.sampleCount, metrics)
    }

    /// Evaluates `parameters` on the client's held-out data.
    public distributed func evaluate(_ parameters: ModelParameters) async throws -> ClientEvaluation {
        var evaluation = try await learner.evaluate(parameters)
        evaluation.client = configuration.name
        return evaluation
    }

    /// The statistics of the client's training features (counts and sums only).
    public distributed func featureStatistics() throws -> FeatureStatistics? { try learner.featureStatistics() }

    /// Standardizes the client's features with the federation's merged statistics.
    public distributed func standardize(with statistics: FeatureStatistics) throws { try learner.standardize(with: statistics) }

    // MARK: Secure aggregation

    /// Secure round 0: trains, keeps the weighted update to mask, and advertises fresh keys. The
    /// update never leaves the client; the metrics do.
    public distributed func secureFit(_ parameters: ModelParameters, settings: ClientSettings, round: Int, secure: SecureRound)
        async throws -> SecureFitReply
    {
        // Local DP applies under secure aggregation too: the noise is added before masking.
        let (trained, sampleCount, metrics) = try await train(parameters, settings: settings, round: round)
        guard trained.layout == parameters.layout else {
            throw FederatedError.shapeMismatch("the learner returned parameters of another layout")
        }
        let weight = Float(min(sampleCount, secure.maxSampleCount)) / Float(secure.maxSampleCount)
        let input = zip(trained.values, parameters.values).map { ($0 - $1) * weight } + [weight]
        let client = try SecureAggregationClient(
            client: secure.client, threshold: secure.threshold, quantizer: try secure.quantizer(), round: secure.label,
            degree: secure.degree)
        self.secure = (client, input)
        return SecureFitReply(client: configuration.name, keys: client.advertise(), metrics: metrics)
    }

    /// Secure round 1: this client's encrypted shares for the others on `roster`.
    public distributed func secureShare(roster: [AdvertisedKeys]) throws -> [EncryptedShares] {
        guard var state = secure else { throw FederatedError.secureAggregation("no secure round in progress") }
        let shares = try state.client.shareKeys(roster: roster)
        secure = state
        return shares
    }

    /// Secure round 2: the masked update, after taking the shares addressed to this client.
    public distributed func secureMask(received: [EncryptedShares]) throws -> MaskedInput {
        guard var state = secure else { throw FederatedError.secureAggregation("no secure round in progress") }
        let masked = try state.client.maskedInput(state.input, received: received)
        secure = (state.client, [])
        return masked
    }

    /// Secure round 3: the shares that remove the survivors' masks; ends the round.
    public distributed func secureUnmask(survivors: [Int]) throws -> UnmaskingShares {
        guard var state = secure else { throw FederatedError.secureAggregation("no secure round in progress") }
        defer { secure = nil }
        return try state.client.unmask(survivors: survivors)
    }
}

/// What the server tells a client for a secure round.
public struct SecureRound: Sendable, Equatable, WireCodable {
    /// Binds keys and masks to this round of this federation.
    public var label: String
    /// The client's number in the round, 1…n.
    public var client: Int
    public var threshold: Int
    /// Each masked value is clipped to ±range before quantization.
    public var range: Double
    /// How many clients the round may sum.
    public var clients: Int
    /// Sample counts are capped here and scaled to ≤ 1 before they weight the update.
    public var maxSampleCount: Int
    /// The degree of the masking graph (SecAgg+); `nil` for the complete graph.
    public var degree: Int?

    public init(label: String, client: Int, threshold: Int, range: Double, clients: Int, maxSampleCount: Int, degree: Int? = nil) {
        self.label = label
        self.client = client
        self.threshold = threshold
        self.range = range
        self.clients = clients
        self.maxSampleCount = maxSampleCount
        self.degree = degree
    }

    func quantizer() throws(FederatedError) -> Quantizer {
        guard maxSampleCount > 0 else { throw .invalidConfiguration("a secure round needs a positive sample-count cap") }
        return try Quantizer(range: range, clients: clients)
    }
}

/// A client's answer to secure round 0.
public struct SecureFitReply: Sendable, Equatable, WireCodable {
    public var client: String
    public var keys: AdvertisedKeys
    public var metrics: [String: Double]
}

extension Registry {
    /// This registry with ``FederatedClient`` actors building learners from `catalog`: from a
    /// ``ClientConfiguration`` (the learner loads its own data where it is built), or — under
    /// ``FederatedClient/fromPinnedData`` — from pinned ``ClientData`` on the worker that holds it
    /// (see `Cluster.spawnClient(on:options:)`).
    public func federatedClients(_ catalog: LearnerCatalog) -> Registry {
        actor(FederatedClient.self, arguments: ClientConfiguration.self) { system, configuration in
            try FederatedClient(actorSystem: system, configuration: configuration, catalog: catalog)
        }
        .actor(FederatedClient.self, arguments: ClientData.self, registeredAs: FederatedClient.fromPinnedData) { system, data in
            try FederatedClient(actorSystem: system, data: data, catalog: catalog)
        }
    }
}
