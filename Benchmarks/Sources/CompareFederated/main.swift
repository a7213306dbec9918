import CompareSupport
// The IOCompute half of `compare federated`: rounds of federated averaging with 100 simulated
// clients, against Flower's simulation engine (`Peers/federated_flower.py`), printed as
// `NAME VALUE UNIT` lines with VALUE higher-is-better.
//
// Each client holds 1/100 of the digits training rows (80 % of Examples/Data/digits.csv.gz,
// dealt round-robin) and trains a 64-32-10 ReLU MLP for one epoch of minibatches of 32 with SGD
// (learning rate 0.05) per round; every client trains every round; no evaluation rounds.
//
// - rounds_fedavg: rounds per second in the steady state, (R − 1) / (time of round R − time of
//   round 1) over R = 6 rounds, on the in-process cluster (2 workers); Flower runs the same
//   clients in its simulation engine (Ray backend, one CPU per client).
// - rounds_fedavg_secagg: the same rounds through secure aggregation (Bonawitz et al.: X25519
//   masks, Shamir shares, threshold 50 %); no Flower row.
// - rounds_fedavg_secagg_plus: the same through SecAgg+ (Bell et al. 2020): each client masks
//   and shares with 16 neighbours on a random graph (threshold 50 % of a neighbourhood).
// - secagg_slowdown_inverse, secagg_plus_slowdown_inverse: plain rounds/s ÷ secure rounds/s,
//   inverted so higher is better (1 would be no overhead); the paper reports 1.73× computation at
//   2¹⁰ clients.
import Foundation
import IOCompute

let clients = 100
let rounds = 6
guard let path = ["Examples/Data/digits.csv.gz", "../Examples/Data/digits.csv.gz"].first(where: FileManager.default.fileExists) else {
    print("Examples/Data/digits.csv.gz not found from \(FileManager.default.currentDirectoryPath)")
    exit(1)
}
let table = try CSV.read(contentsOf: path, as: Float.self)
let digits = try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16)
let (train, _) = try digits.shuffledSplit(trainFraction: 0.8, seed: 2026)
let parts = Partitioning.even(count: train.count, parts: clients)
let catalog = LearnerCatalog().adding("digits") { configuration in
    let part = Int(configuration.options["part"]!)!
    let rows = try train.subset(parts[part])
    return try ClassifierLearner(
        name: configuration.name, train: rows, test: rows, classes: 10, hiddenSizes: [32], epochs: 1, batchSize: 32, learningRate: 0.05,
        seed: UInt64(part))
}
TensorBackend.setBLASThreads(1)
let cluster = try await Cluster.start(.inProcess(workers: 2), registry: Registry().federatedClients(catalog))
func spawnClients() async throws -> [FederatedClient] {
    var members: [FederatedClient] = []
    for part in 0..<clients {
        members.append(
            try await cluster.spawn(
                FederatedClient.self, with: ClientConfiguration(name: "client-\(part)", learner: "digits", options: ["part": "\(part)"]),
                options: ActorOptions(placement: .spread)))
    }
    return members
}
let members = try await spawnClients()
let initial = try ClassifierLearner.initialParameters(features: 64, classes: 10, hiddenSizes: [32], seed: 1)

/// Steady-state rounds per second: plain, or through secure aggregation on the complete graph
/// (`neighbors` nil) or on a sparse one.
func roundsPerSecond(secure: Bool, neighbors: Int? = nil) async throws -> Double {
    var configuration = FederatedConfiguration()
    configuration.evaluateEvery = 0
    configuration.minimumFitClients = clients
    if secure {
        configuration.secureAggregation = SecureAggregationSettings(
            thresholdFraction: 0.5, range: 4, maxSampleCount: 1000, neighbors: neighbors)
    }
    let server = FederatedServer(clients: members, strategy: FedAvg(), initial: initial, configuration: configuration)
    var ends: [ContinuousClock.Instant] = []
    for _ in 0..<rounds {
        let record = try await server.fitRound()
        guard record.completed else { throw FederatedError.notEnoughClients(needed: clients, available: record.aggregated.count) }
        ends.append(.now)
    }
    return Double(rounds - 1) / ((ends[rounds - 1] - ends[0]) / .seconds(1))
}

var plain: Double?
var secure: Double?
var securePlus: Double?
for caller in callers() {
    let suffix = rowSuffix(caller)
    if wanted("rounds_fedavg") || wanted("secagg_slowdown_inverse") {
        let rate =
            caller == "main"
            ? try await roundsPerSecond(secure: false) : try await Task.detached { try await roundsPerSecond(secure: false) }.value
        report("rounds_fedavg\(suffix)", rate, "rounds/s")
        if caller != "main" { plain = rate }
    }
    if wanted("rounds_fedavg_secagg") || wanted("secagg_slowdown_inverse") {
        let rate =
            caller == "main"
            ? try await roundsPerSecond(secure: true) : try await Task.detached { try await roundsPerSecond(secure: true) }.value
        report("rounds_fedavg_secagg\(suffix)", rate, "rounds/s")
        if caller != "main" { secure = rate }
    }
    if wanted("rounds_fedavg_secagg_plus") || wanted("secagg_plus_slowdown_inverse") {
        let rate =
            caller == "main"
            ? try await roundsPerSecond(secure: true, neighbors: 16)
            : try await Task.detached { try await roundsPerSecond(secure: true, neighbors: 16) }.value
        report("rounds_fedavg_secagg_plus\(suffix)", rate, "rounds/s")
        if caller != "main" { securePlus = rate }
    }
}
if let plain, let secure, wanted("secagg_slowdown_inverse") { report("secagg_slowdown_inverse", secure / plain, "x") }
if let plain, let securePlus, wanted("secagg_plus_slowdown_inverse") {
    report("secagg_plus_slowdown_inverse", securePlus / plain, "x")
}
await cluster.shutdown()
