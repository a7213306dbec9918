import Foundation
import IOFederated
import IONN
import IORuntime
import IOTensor
import Testing

/// The breast-cancer data with log1p features, split 80/20 with a fixed seed.
func breastCancer() throws -> (train: LabeledData<Float>, test: LabeledData<Float>) {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples/Data/breast_cancer.csv")
    let table = try CSV.read(contentsOf: file.standardized.path, as: Float.self, headerLines: 1)
    let (rows, columns) = (table.shape[0], table.shape[1])
    let scalars = table.scalars
    let features = try Tensor<Float>(
        shape: [rows, columns - 1],
        scalars: (0..<rows).flatMap { row in (0..<(columns - 1)).map { Foundation.log1p(scalars[row * columns + $0]) } })
    let labels = (0..<rows).map { Int(scalars[$0 * columns + columns - 1]) }
    return try LabeledData(features: features, labels: labels).shuffledSplit(trainFraction: 0.8, seed: 7)
}

/// A learner that misbehaves on purpose: hangs, throws, or returns NaNs or another shape.
struct MisbehavingLearner: FederatedLearner {
    let mode: String

    func fit(_ parameters: ModelParameters, settings: ClientSettings, round: Int) async throws -> (
        parameters: ModelParameters, sampleCount: Int, metrics: [String: Double]
    ) {
        switch mode {
        case "hang":
            try await Task.sleep(for: .seconds(600))
            return (parameters, 1, [:])
        case "nan": return (try parameters.replacingValues(parameters.values.map { _ in .nan }), 50, [:])
        case "shape": return (try ModelParameters(layout: [.init(name: "w", shape: [3])], values: [1, 2, 3]), 50, [:])
        case "poison":
            // Large values of scattered signs, claiming many samples.
            let values = parameters.values.indices.map { Float(($0 &* 2_654_435_761) % 7 < 3 ? 1e3 : -1e3) }
            return (try parameters.replacingValues(values), 100, [:])
        default: throw FederatedError.invalidConfiguration("this client always fails")
        }
    }

    func evaluate(_ parameters: ModelParameters) async throws -> ClientEvaluation {
        ClientEvaluation(client: mode, loss: .nan, sampleCount: 0)
    }
}

/// Loads hospital `part`'s rows on the worker that runs it: its label-skewed share of the
/// training rows and a fifth of the test rows.
let loadHospital = RemoteFunction("hospital.load") { (configuration: ClientConfiguration) async throws -> ClientData in
    let (train, test) = try breastCancer()
    let part = Int(configuration.options["part"] ?? "0") ?? 0
    return ClientData(
        configuration: configuration, train: try train.subset(Partitioning.labelSkewed(labels: train.labels, parts: 5)[part]),
        test: try test.subset(Partitioning.even(count: test.count, parts: 5)[part]))
}

/// Hospitals learning from their pinned rows, and misbehaving clients.
let federationCatalog = LearnerCatalog()
    .addingDataLearner(
        "hospital",
        { data in
            try ClassifierLearner(
                name: data.configuration.name, train: data.train, test: data.test, classes: 2,
                hiddenSizes: data.configuration.options["hidden"].map { [Int($0)!] } ?? [], epochs: 2, batchSize: 16, learningRate: 0.05,
                seed: data.configuration.seed)
        }
    )
    .adding("misbehaving") { configuration in MisbehavingLearner(mode: configuration.options["mode"] ?? "fail") }

func withFederation(
    extra: [String] = [], hidden: Int? = nil, codec: Bool = false, _ body: (Cluster, [FederatedClient]) async throws -> Void
) async throws {
    let cluster = try await Cluster.start(
        .inProcess(workers: 2, resourcesPerWorker: [.cpu: 4], routesThroughCodec: codec),
        registry: Registry().federatedClients(federationCatalog).function(loadHospital))
    do {
        // Each hospital's rows are loaded on a worker and pinned there; its client is built there.
        var clients: [FederatedClient] = []
        for part in 0..<5 {
            var options = ["part": "\(part)"]
            if let hidden { options["hidden"] = "\(hidden)" }
            let configuration = ClientConfiguration(name: "hospital-\(part)", learner: "hospital", options: options, seed: 1)
            let rows = try await cluster.loadClientData(loadHospital, configuration, on: part % 2)
            await #expect(throws: ClusterError.self, "the rows never reach the server") { try await rows.get() }
            clients.append(try await cluster.spawnClient(on: rows))
        }
        for mode in extra {
            clients.append(
                try await cluster.spawn(
                    FederatedClient.self, with: ClientConfiguration(name: mode, learner: "misbehaving", options: ["mode": mode])))
        }
        // The hospitals standardize their features with statistics merged across the federation.
        let statistics = try await FederatedServer(clients: clients, strategy: FedAvg(), initial: try RoundTests.initial())
            .standardizeFeatures()
        #expect(statistics.count == 455)
        try await body(cluster, clients)
    } catch {
        await cluster.shutdown()
        throw error
    }
    await cluster.shutdown()
}

@Suite("federated rounds on the cluster", .timeLimit(.minutes(3)))
struct RoundTests {
    static func initial() throws -> ModelParameters {
        try ClassifierLearner.initialParameters(features: 30, classes: 2, hiddenSizes: [], seed: 3)
    }

    @Test("the label skew keeps every row exactly once and gives each hospital another class mix")
    func partitions() throws {
        let labels = (0..<100).map { $0 % 3 == 0 ? 1 : 0 }
        let parts = Partitioning.labelSkewed(labels: labels, parts: 5)
        #expect(parts.flatMap { $0 }.sorted() == Array(0..<100))
        let ratios = parts.map { part in Double(part.filter { labels[$0] == 1 }.count) / Double(part.count) }
        #expect(Set(ratios.map { ($0 * 100).rounded() }).count >= 4, "class ratios \(ratios)")
    }

    @Test("FedAvg over five skewed hospitals (through the codec) comes within 3 points of centralized training")
    func fedAvgMatchesCentralized() async throws {
        let (train, test) = try breastCancer()
        var central = try ClassifierLearner(
            name: "central", train: train, test: test, classes: 2, epochs: 2, batchSize: 16, learningRate: 0.05, seed: 1)
        try central.standardize(with: try #require(try central.featureStatistics()))
        var learner = central
        var parameters = try Self.initial()
        for round in 1...10 { parameters = try await learner.fit(parameters, settings: ClientSettings(), round: round).parameters }
        let centralAccuracy = try central.evaluate(parameters).metrics["accuracy"]!

        try await withFederation(codec: true) { _, clients in
            var configuration = FederatedConfiguration()
            configuration.minimumFitClients = 5
            configuration.evaluateEvery = 5
            let server = FederatedServer(clients: clients, strategy: FedAvg(), initial: try Self.initial(), configuration: configuration)
            let history = try await server.run(rounds: 10)
            #expect(history.rounds.allSatisfy { $0.completed && $0.aggregated.count == 5 })
            let accuracy = try #require(history.finalAccuracy)
            #expect(accuracy >= centralAccuracy - 0.03, "federated \(accuracy), centralized \(centralAccuracy)")
            #expect(accuracy > 0.85)
            #expect(history.rounds[4].evaluationLoss != nil && history.rounds[3].evaluationLoss == nil)
        }
    }

    @Test("a hanging client is cut at the deadline, a failing one recorded, NaNs and wrong shapes excluded; the round completes")
    func dropoutsAndBadUpdates() async throws {
        try await withFederation(extra: ["hang", "fail", "nan", "shape"]) { _, clients in
            var configuration = FederatedConfiguration()
            configuration.minimumFitClients = 5
            configuration.evaluateEvery = 0
            // The hanging client never answers; the deadline only has to outlast the others'
            // milliseconds of work on a loaded machine (a CI run once took 35 s for this test).
            configuration.roundDeadline = .seconds(30)
            let server = FederatedServer(clients: clients, strategy: FedAvg(), initial: try Self.initial(), configuration: configuration)
            let record = try await server.fitRound()
            #expect(record.completed)
            #expect(record.sampled.count == 9)
            #expect(Set(record.aggregated) == Set((0..<5).map { "hospital-\($0)" }))
            #expect(record.late == ["hang"])
            #expect(record.failed.keys.sorted() == ["fail"])
            #expect(Set(record.excluded.map(\.client)) == ["nan", "shape"])
            #expect(server.global.isFinite)

            // With only misbehaving clients asked, too few answer and the model stays as it was.
            let before = server.global
            var strict = configuration
            strict.minimumFitClients = 3
            let lonely = FederatedServer(clients: Array(clients.suffix(3)), strategy: FedAvg(), initial: before, configuration: strict)
            let failed = try await lonely.fitRound()
            #expect(!failed.completed && lonely.global == before)
        }
    }

    @Test("a secure round gives FedAvg's result without the server seeing an update, and survives a dropout")
    func secureAggregationRound() async throws {
        try await withFederation(extra: ["fail"]) { _, clients in
            var plainConfiguration = FederatedConfiguration()
            plainConfiguration.evaluateEvery = 0
            let hospitals = Array(clients.prefix(5))
            let plain = FederatedServer(
                clients: hospitals, strategy: FedAvg(), initial: try Self.initial(), configuration: plainConfiguration)
            _ = try await plain.fitRound()

            var secureConfiguration = plainConfiguration
            secureConfiguration.secureAggregation = SecureAggregationSettings(thresholdFraction: 0.6, range: 4, maxSampleCount: 1000)
            // The same five hospitals plus one that fails: it drops out before sharing anything.
            let secure = FederatedServer(
                clients: clients, strategy: FedAvg(), initial: try Self.initial(), configuration: secureConfiguration)
            let record = try await secure.fitRound()
            #expect(record.completed && record.strategy == "FedAvg+SecAgg")
            #expect(record.aggregated.count == 5 && record.failed.keys.sorted() == ["fail"])
            let difference = zip(secure.global.values, plain.global.values).map { abs($0 - $1) }.max() ?? 1
            #expect(difference < 1e-4, "secure and plain FedAvg differ by \(difference)")

            // SecAgg+: a ring of degree 2 (each client masks with two neighbours) gives the same.
            var sparseConfiguration = secureConfiguration
            sparseConfiguration.secureAggregation?.neighbors = 2
            let sparse = FederatedServer(
                clients: clients, strategy: FedAvg(), initial: try Self.initial(), configuration: sparseConfiguration)
            let sparseRecord = try await sparse.fitRound()
            #expect(sparseRecord.completed && sparseRecord.aggregated.count == 5, "\(sparseRecord)")
            let sparseDifference = zip(sparse.global.values, plain.global.values).map { abs($0 - $1) }.max() ?? 1
            #expect(sparseDifference < 1e-4, "SecAgg+ and plain FedAvg differ by \(sparseDifference)")

            let robust = FederatedServer(
                clients: hospitals, strategy: try Krum(byzantine: 1), initial: try Self.initial(), configuration: secureConfiguration)
            await #expect(throws: FederatedError.self) { _ = try await robust.fitRound() }
        }
    }

    @Test("with a poisoned client Krum keeps the model, FedAvg does not; central DP reports ε")
    func poisoningAndPrivacy() async throws {
        try await withFederation(extra: ["poison"]) { _, clients in
            var configuration = FederatedConfiguration()
            configuration.evaluateEvery = 1
            let fedAvg = FederatedServer(clients: clients, strategy: FedAvg(), initial: try Self.initial(), configuration: configuration)
            let krum = FederatedServer(
                clients: clients, strategy: try Krum(byzantine: 1), initial: try Self.initial(), configuration: configuration)
            let poisoned = try await fedAvg.run(rounds: 3)
            let defended = try await krum.run(rounds: 3)
            #expect(try #require(defended.finalAccuracy) > 0.85)
            let (bad, good) = (try #require(poisoned.finalAccuracy), try #require(defended.finalAccuracy))
            #expect(bad < good - 0.1, "FedAvg \(bad), Krum \(good)")

            let private_ = FederatedServer(
                clients: Array(clients.prefix(5)),
                strategy: try CentralPrivacy(
                    FedAvg(), noiseMultiplier: 1.0, clippingNorm: 5, population: 5, source: SplitMix64(seed: 2)),
                initial: try Self.initial(), configuration: configuration)
            let history = try await private_.run(rounds: 2)
            let epsilons = history.rounds.compactMap(\.epsilon)
            #expect(epsilons.count == 2 && epsilons[1] > epsilons[0] && epsilons[0] > 0)
        }
    }

    @Test(
        "local DP: clients noise their updates, plainly and under secure aggregation, and report ε composed over their rounds; a client's own floor holds"
    )
    func localPrivacy() async throws {
        try await withFederation { cluster, clients in
            let privacy = try LocalPrivacy(clippingNorm: 1, epsilon: 1, delta: 1e-5)
            /// ε after `rounds` rounds of this mechanism, from a fresh accountant.
            func spent(after rounds: Int) -> Double {
                var accountant = RDPAccountant()
                accountant.record(noiseMultiplier: privacy.noiseMultiplier, sampleRate: 1, steps: rounds)
                return accountant.epsilon(delta: privacy.delta).epsilon
            }
            var configuration = FederatedConfiguration()
            configuration.evaluateEvery = 0
            let plain = FederatedServer(clients: clients, strategy: FedAvg(), initial: try Self.initial(), configuration: configuration)
            try await plain.run(rounds: 2)
            #expect(plain.history.rounds.allSatisfy { $0.localEpsilon == nil })

            configuration.localPrivacy = privacy
            let noised = FederatedServer(clients: clients, strategy: FedAvg(), initial: try Self.initial(), configuration: configuration)
            try await noised.run(rounds: 2)
            let reported = noised.history.rounds.compactMap(\.localEpsilon)
            #expect(reported.count == 2 && abs(reported[0] - spent(after: 1)) < 1e-9 && abs(reported[1] - spent(after: 2)) < 1e-9)
            // Noise of σ ≈ 4.8 per coordinate, averaged over 5 clients, moves the model visibly.
            let moved = zip(noised.global.values, plain.global.values).map { abs($0 - $1) }.max() ?? 0
            #expect(moved > 0.1, "local DP changed the model by at most \(moved)")

            // Under secure aggregation the clients noise before masking, and their accountants go on.
            configuration.secureAggregation = SecureAggregationSettings(thresholdFraction: 0.6, range: 8, maxSampleCount: 1000)
            let secure = FederatedServer(clients: clients, strategy: FedAvg(), initial: try Self.initial(), configuration: configuration)
            let record = try await secure.fitRound()
            #expect(record.completed && abs((record.localEpsilon ?? 0) - spent(after: 3)) < 1e-9)

            // A client configured with its own privacy noises its update when the server asks for none.
            let rows = try await cluster.loadClientData(
                loadHospital,
                ClientConfiguration(name: "careful", learner: "hospital", options: ["part": "0"], seed: 1, localPrivacy: privacy), on: 0)
            let careful = try await cluster.spawnClient(on: rows)
            let global = try Self.initial()
            let update = try await careful.fit(global, settings: ClientSettings(), round: 1)
            #expect(abs((update.metrics["local_epsilon"] ?? 0) - spent(after: 1)) < 1e-9)
            let honest = try await clients[0].fit(global, settings: ClientSettings(), round: 1)
            #expect(honest.metrics["local_epsilon"] == nil)
            let gap = zip(update.parameters.values, honest.parameters.values).map { abs($0 - $1) }.max() ?? 0
            #expect(gap > 0.5, "the careful client's update differs from the same rows' plain one by at most \(gap)")
        }
    }
}
