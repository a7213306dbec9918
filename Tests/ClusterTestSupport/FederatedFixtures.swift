import Foundation
import IOFederated
import IONN
import IORuntime
import IOTensor

/// Federated clients for the multi-process tests: each builds its own synthetic data (two
/// Gaussian classes, drawn from its seed) inside the process that hosts it, and reports that
/// process's id with its evaluation.
public enum FederatedFixtures {
    /// Two classes in 4 dimensions, centred at ±0.8, `count` rows from `seed`.
    public static func blobs(count: Int, seed: UInt64) throws -> LabeledData<Float> {
        var random = SplitMix64(seed: seed)
        var features: [Float] = []
        var labels: [Int] = []
        for row in 0..<count {
            let label = row % 2
            labels.append(label)
            for _ in 0..<4 { features.append(Float(random.standardNormal()) + (label == 1 ? 0.8 : -0.8)) }
        }
        return try LabeledData(features: try Tensor(shape: [count, 4], scalars: features), labels: labels)
    }

    struct ProcessReportingLearner: FederatedLearner {
        var base: ClassifierLearner

        mutating func fit(_ parameters: ModelParameters, settings: ClientSettings, round: Int) async throws -> (
            parameters: ModelParameters, sampleCount: Int, metrics: [String: Double]
        ) {
            try await base.fit(parameters, settings: settings, round: round)
        }

        func evaluate(_ parameters: ModelParameters) async throws -> ClientEvaluation {
            var evaluation = try base.evaluate(parameters)
            evaluation.metrics["pid"] = Double(getpid())
            return evaluation
        }
    }

    public static let catalog = LearnerCatalog().adding("blobs") { configuration in
        ProcessReportingLearner(
            base: try ClassifierLearner(
                name: configuration.name, train: try blobs(count: 120, seed: configuration.seed),
                test: try blobs(count: 60, seed: configuration.seed &+ 1000), classes: 2, epochs: 1, batchSize: 16, learningRate: 0.1,
                seed: configuration.seed))
    }
    .addingDataLearner(
        "blobs",
        { data in
            ProcessReportingLearner(
                base: try ClassifierLearner(
                    name: data.configuration.name, train: data.train, test: data.test, classes: 2, epochs: 1, batchSize: 16,
                    learningRate: 0.1, seed: data.configuration.seed))
        })

    /// Two rounds of FedAvg over `clients` from a fixed start, evaluated after the second: the
    /// server and its history.
    public static func twoRounds(_ clients: [FederatedClient]) async throws -> (FederatedServer<FedAvg>, FederatedHistory) {
        let initial = try ClassifierLearner.initialParameters(features: 4, classes: 2, hiddenSizes: [], seed: 3)
        var configuration = FederatedConfiguration()
        configuration.evaluateEvery = 2
        let server = FederatedServer(clients: clients, strategy: FedAvg(), initial: initial, configuration: configuration)
        return (server, try await server.run(rounds: 2))
    }

    /// Loads a client's blobs on the worker that runs it (its "own disk"), for pinning there.
    public static let loadBlobs = RemoteFunction("federated.loadBlobs") { (configuration: ClientConfiguration) async throws -> ClientData in
        ClientData(
            configuration: configuration, train: try blobs(count: 120, seed: configuration.seed),
            test: try blobs(count: 60, seed: configuration.seed &+ 1000))
    }
}
