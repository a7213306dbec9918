import Foundation
import IORuntime
import IOTensor
import Logging

/// The server of a federation: each round it samples clients, sends them the global parameters,
/// takes the answers that arrive before the deadline, screens them, and aggregates with its
/// strategy — in the clear, or through secure aggregation so that it sees only the sum. Clients
/// are ``FederatedClient`` actors anywhere on the cluster; the same code runs a simulation of
/// many clients in one process and a federation across processes and hosts.
///
/// ```swift
/// let server = FederatedServer(clients: clients, strategy: FedAvg(), initial: start)
/// let history = try await server.run(rounds: 20)
/// ```
public final class FederatedServer<Strategy: AggregationStrategy> {
    public let clients: [FederatedClient]
    public private(set) var strategy: Strategy
    public let configuration: FederatedConfiguration
    /// The current global parameters.
    public private(set) var global: ModelParameters
    public private(set) var history = FederatedHistory()
    private var random: SplitMix64
    private let federation = UUID().uuidString
    private let logger = Logger(label: "iocompute.federated.server")
    /// The clients' names, asked once.
    private var names: [String] = []

    public init(clients: [FederatedClient], strategy: Strategy, initial: ModelParameters, configuration: FederatedConfiguration = .init()) {
        self.clients = clients
        self.strategy = strategy
        self.configuration = configuration
        global = initial
        random = SplitMix64(seed: configuration.seed)
    }

    /// Runs `rounds` rounds (training, then evaluation when due); returns the history.
    ///
    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` for secure aggregation with a
    ///   strategy that needs each update, or fewer clients than a round needs.
    @discardableResult
    public func run(rounds: Int) async throws -> FederatedHistory {
        for _ in 0..<rounds {
            let record = try await fitRound()
            if configuration.evaluateEvery > 0, record.round % configuration.evaluateEvery == 0 {
                let (loss, accuracy) = try await evaluateRound()
                history.rounds[history.rounds.count - 1].evaluationLoss = loss
                history.rounds[history.rounds.count - 1].evaluationAccuracy = accuracy
            }
        }
        return history
    }

    /// One training round, recorded in ``history``; the global parameters change only when
    /// enough clients answered.
    @discardableResult
    public func fitRound() async throws -> RoundRecord {
        if names.isEmpty { names = try await clients.asyncMap { try await $0.name() } }
        let round = history.rounds.count + 1
        let sampled = try sample(fraction: configuration.fractionFit, minimum: configuration.minimumFitClients)
        let start = ContinuousClock.now
        var record: RoundRecord
        if let secure = configuration.secureAggregation {
            record = try await secureRound(round, sampled, secure)
        } else {
            record = try await plainRound(round, sampled)
        }
        record.seconds = (ContinuousClock.now - start).seconds
        if let epsilonReporter = strategy as? any PrivacyReporting { record.epsilon = epsilonReporter.epsilonSpent }
        history.rounds.append(record)
        return record
    }

    private func plainRound(_ round: Int, _ sampled: [Int]) async throws -> RoundRecord {
        var record = RoundRecord(round: round, strategy: strategy.name)
        record.sampled = sampled.map { names[$0] }
        let (global, settings) = (self.global, clientSettings)
        let targets = sampled.map { clients[$0] }
        let result = await DeadlineGather.gather(targets, deadline: configuration.roundDeadline) { _, client in
            try await client.fit(global, settings: settings, round: round)
        }
        note(result.failures, result.late, sampled, into: &record)
        // Answers are taken under the name of the client that was asked, whatever they claim.
        let answers = result.answers.sorted { $0.key < $1.key }.map { index, update in
            var named = update
            named.client = names[sampled[index]]
            return named
        }
        let (accepted, excluded) = Screening.screen(answers, against: global)
        record.excluded = excluded
        for exclusion in excluded { logger.warning("round \(round): excluded \(exclusion)") }
        guard accepted.count >= configuration.minimumFitClients else {
            logger.warning(
                "round \(round): \(accepted.count) usable answers, \(configuration.minimumFitClients) needed; global model unchanged")
            return record
        }
        self.global = try strategy.aggregate(accepted, global: global)
        record.aggregated = accepted.map(\.client)
        record.completed = true
        record.trainingLoss = Self.weightedMean(accepted.compactMap { u in u.metrics["loss"].map { ($0, u.sampleCount) } })
        record.localEpsilon = accepted.compactMap { $0.metrics["local_epsilon"] }.max()
        return record
    }

    /// What clients are told for their local training: the strategy's settings, with the
    /// federation's local differential privacy.
    private var clientSettings: ClientSettings {
        var settings = strategy.clientSettings
        if let privacy = configuration.localPrivacy { settings.localPrivacy = privacy }
        return settings
    }

    private func secureRound(_ round: Int, _ sampled: [Int], _ settings: SecureAggregationSettings) async throws -> RoundRecord {
        guard strategy.aggregatesWeightedMean else {
            throw FederatedError.invalidConfiguration("\(strategy.name) needs each update and cannot run on a secure aggregate")
        }
        var record = RoundRecord(round: round, strategy: strategy.name + "+SecAgg")
        record.sampled = sampled.map { names[$0] }
        let (global, clientSettings) = (self.global, self.clientSettings)
        let count = sampled.count
        let threshold = settings.threshold(clients: count)
        let label = "\(federation)-\(round)"
        let quantizer = try Quantizer(range: settings.range, clients: count)
        // Client i of the round is number i + 1.
        let rounds = (0..<count).map {
            SecureRound(
                label: label, client: $0 + 1, threshold: threshold, range: settings.range, clients: count,
                maxSampleCount: settings.maxSampleCount, degree: settings.neighbors)
        }
        let deadline = configuration.roundDeadline
        let members = sampled.map { clients[$0] }
        let fits = await DeadlineGather.gather(Array(zip(members, rounds)), deadline: deadline) { _, pair in
            try await pair.0.secureFit(global, settings: clientSettings, round: round, secure: pair.1)
        }
        note(fits.failures, fits.late, sampled, into: &record)
        var server = try SecureAggregationServer(
            threshold: threshold, quantizer: quantizer, vectorLength: global.values.count + 1, round: label, degree: settings.neighbors)
        // Keys are taken only under the number the client was given.
        let advertised = fits.answers.filter { $0.value.keys.client == $0.key + 1 }
        guard advertised.count >= threshold else {
            logger.warning("round \(round): \(advertised.count) clients advertised keys, \(threshold) needed; global model unchanged")
            return record
        }
        let roster = try server.register(advertised.values.map(\.keys))
        let sharing = advertised.keys.sorted()
        let shares = await DeadlineGather.gather(sharing.map { members[$0] }, deadline: deadline) { _, client in
            try await client.secureShare(roster: roster)
        }
        var batches: [Int: [EncryptedShares]] = [:]
        for (position, messages) in shares.answers { batches[sharing[position] + 1] = messages }
        let inboxes = try server.route(batches)
        let masking = batches.keys.sorted()
        let masked = await DeadlineGather.gather(masking, deadline: deadline) { _, number in
            try await members[number - 1].secureMask(received: inboxes[number] ?? [])
        }
        // A masked input counts only under the number of the client that sent it.
        let survivors = try server.collect(masked.answers.filter { $0.value.client == masking[$0.key] }.map(\.value))
        let unmasking = await DeadlineGather.gather(survivors, deadline: deadline) { _, number in
            try await members[number - 1].secureUnmask(survivors: survivors)
        }
        for (stage, positions, outcome) in [
            ("sharing keys", sharing, shares.failures.merging(shares.late.map { ($0, "late") }) { a, _ in a }),
            ("masking", masking.map { $0 - 1 }, masked.failures.merging(masked.late.map { ($0, "late") }) { a, _ in a }),
            ("unmasking", survivors.map { $0 - 1 }, unmasking.failures.merging(unmasking.late.map { ($0, "late") }) { a, _ in a }),
        ] {
            for (position, reason) in outcome {
                let name = names[sampled[positions[position]]]
                record.failed[name] = "dropped out while \(stage): \(reason)"
                logger.warning("round \(round): client \(name) dropped out while \(stage): \(reason)")
            }
        }
        let (sum, _) = try server.finish(unmasking.answers.filter { $0.value.client == survivors[$0.key] }.map(\.value))
        let weight = sum[global.values.count]
        guard weight > 0 else { throw FederatedError.secureAggregation("the secure sum carries no sample weight") }
        let mean = try global.replacingValues(global.values.indices.map { global.values[$0] + Float(sum[$0] / weight) })
        let aggregate = ClientUpdate(
            client: "secure-sum", parameters: mean, sampleCount: Swift.max(1, Int((weight * Double(settings.maxSampleCount)).rounded())))
        self.global = try strategy.aggregate([aggregate], global: global)
        record.aggregated = survivors.map { names[sampled[$0 - 1]] }
        record.completed = true
        let losses = fits.answers.filter { survivors.contains($0.key + 1) }.compactMap { $0.value.metrics["loss"].map { ($0, 1) } }
        record.trainingLoss = Self.weightedMean(losses)
        record.localEpsilon = fits.answers.filter { survivors.contains($0.key + 1) }.compactMap { $0.value.metrics["local_epsilon"] }
            .max()
        return record
    }

    /// Merges every client's feature statistics and has each client standardize its features
    /// with the result, so that all of them feed the model the same scale; only counts and sums
    /// leave the clients. Returns the merged statistics.
    ///
    /// - Throws: ``FederatedError/notEnoughClients(needed:available:)`` when no client holds
    ///   statistics, or a client's error.
    @discardableResult
    public func standardizeFeatures() async throws -> FeatureStatistics {
        var merged: FeatureStatistics?
        for client in clients {
            guard let statistics = try await client.featureStatistics() else { continue }
            merged = try merged.map { try $0.merged(with: statistics) } ?? statistics
        }
        guard let merged else { throw FederatedError.notEnoughClients(needed: 1, available: 0) }
        for client in clients { try await client.standardize(with: merged) }
        return merged
    }

    /// Evaluates the global parameters on a sample of clients; the sample-weighted loss and
    /// accuracy (nil when no client answered).
    public func evaluateRound() async throws -> (loss: Double?, accuracy: Double?) {
        if names.isEmpty { names = try await clients.asyncMap { try await $0.name() } }
        let sampled = try sample(fraction: configuration.fractionEvaluate, minimum: configuration.minimumEvaluateClients)
        let global = self.global
        let result = await DeadlineGather.gather(sampled.map { clients[$0] }, deadline: configuration.roundDeadline) { _, client in
            try await client.evaluate(global)
        }
        let answers = Array(result.answers.values).filter { $0.loss.isFinite && $0.sampleCount > 0 }
        return (
            Self.weightedMean(answers.map { ($0.loss, $0.sampleCount) }),
            Self.weightedMean(answers.compactMap { a in a.metrics["accuracy"].map { ($0, a.sampleCount) } })
        )
    }

    /// `fraction` of the clients (at least `minimum`), chosen with the seeded generator.
    private func sample(fraction: Double, minimum: Int) throws -> [Int] {
        let wanted = Swift.max(minimum, Int((fraction * Double(clients.count)).rounded(.up)))
        guard wanted <= clients.count, wanted > 0 else {
            throw FederatedError.notEnoughClients(needed: Swift.max(wanted, 1), available: clients.count)
        }
        var indices = Array(clients.indices)
        indices.shuffle(using: &random)
        return indices.prefix(wanted).sorted()
    }

    private func note(_ failures: [Int: String], _ late: [Int], _ sampled: [Int], into record: inout RoundRecord) {
        for (index, reason) in failures {
            record.failed[names[sampled[index]]] = reason
            logger.warning("round \(record.round): client \(names[sampled[index]]) failed: \(reason)")
        }
        record.late = late.map { names[sampled[$0]] }
    }

    static func weightedMean(_ values: [(Double, Int)]) -> Double? {
        let total = values.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return nil }
        return values.reduce(0.0) { $0 + $1.0 * Double($1.1) } / Double(total)
    }
}

/// A strategy that spends privacy and can say how much.
public protocol PrivacyReporting {
    /// ε spent so far.
    var epsilonSpent: Double { get }
}

extension CentralPrivacy: PrivacyReporting {
    /// ε spent so far for δ = 1e-5.
    public var epsilonSpent: Double { epsilon(delta: 1e-5) }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        results.reserveCapacity(count)
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
