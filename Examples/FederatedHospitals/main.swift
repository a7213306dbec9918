// Five hospitals learn a breast-cancer classifier together without sharing a single row.
//
// Each hospital's label-skewed share of the training rows is loaded by a task on its own worker
// and pinned there: the runtime builds the hospital's FederatedClient actor beside it and refuses
// to move it anywhere else (the server's attempt to read it is shown). Only parameters, counts
// and metrics travel. The program compares, on the same held-out rows:
//   - centralized training (all rows in one place) against FedAvg and FedProx, for a logistic
//     model, and against FedAvg for an MLP;
//   - FedAvg through secure aggregation (the server sees only the sum), on the complete graph
//     and as SecAgg+ on a ring (each hospital masks with its two neighbours only);
//   - FedAvg with central differential privacy, printing ε, and with local differential privacy
//     (each hospital noises its own update), printing the ε each hospital spent;
//   - a sixth, poisoned client: FedAvg against Krum, side by side.
//
//     swift run -c release FederatedHospitals [--rounds R] [--processes N]
import Foundation
import IOCompute

let path = "Examples/Data/breast_cancer.csv"
guard FileManager.default.fileExists(atPath: path) else {
    print("no data at \(path); run from the repository root")
    exit(1)
}
let (rounds, processes) = {
    var (rounds, processes) = (20, 0)
    var arguments = CommandLine.arguments.dropFirst()
    while let argument = arguments.popFirst() {
        switch argument {
        case "--rounds": rounds = arguments.popFirst().flatMap(Int.init) ?? rounds
        case "--processes": processes = arguments.popFirst().flatMap(Int.init) ?? 2
        default:
            print("usage: FederatedHospitals [--rounds R] [--processes N]")
            exit(2)
        }
    }
    return (rounds, processes)
}()

/// The data set with log1p features, split 80/20 (seed 7): what every process reads.
@Sendable func loadData() throws -> (train: LabeledData<Float>, test: LabeledData<Float>) {
    let table = try CSV.read(contentsOf: path, as: Float.self, headerLines: 1)
    let (rows, columns) = (table.shape[0], table.shape[1])
    let scalars = table.scalars
    let features = try Tensor<Float>(
        shape: [rows, columns - 1],
        scalars: (0..<rows).flatMap { row in (0..<(columns - 1)).map { Foundation.log1p(scalars[row * columns + $0]) } })
    let labels = (0..<rows).map { Int(scalars[$0 * columns + columns - 1]) }
    return try LabeledData(features: features, labels: labels).shuffledSplit(trainFraction: 0.8, seed: 7)
}

let hospitals = 5

/// A client that sends large values of scattered signs and claims many samples.
struct PoisonedLearner: FederatedLearner {
    func fit(_ parameters: ModelParameters, settings: ClientSettings, round: Int) async throws -> (
        parameters: ModelParameters, sampleCount: Int, metrics: [String: Double]
    ) {
        let values = parameters.values.indices.map { Float(($0 &* 2_654_435_761) % 7 < 3 ? 100 : -100) }
        return (try parameters.replacingValues(values), 200, [:])
    }

    func evaluate(_ parameters: ModelParameters) async throws -> ClientEvaluation {
        ClientEvaluation(client: "poisoner", loss: 0, sampleCount: 0)
    }
}

/// A hospital's own rows, read on its worker: the training rows of its partition and a fifth of
/// the test rows.
let loadHospital = RemoteFunction("hospital.load") { (configuration: ClientConfiguration) async throws -> ClientData in
    let (train, test) = try loadData()
    let part = Int(configuration.options["part"] ?? "0") ?? 0
    return ClientData(
        configuration: configuration, train: try train.subset(Partitioning.labelSkewed(labels: train.labels, parts: hospitals)[part]),
        test: try test.subset(Partitioning.even(count: test.count, parts: hospitals)[part]))
}

/// Each hospital learns from the rows pinned beside it.
let catalog = LearnerCatalog()
    .addingDataLearner(
        "hospital",
        { data in
            let hidden = data.configuration.options["hidden"].flatMap(Int.init).map { [$0] } ?? []
            return try ClassifierLearner(
                name: data.configuration.name, train: data.train, test: data.test, classes: 2, hiddenSizes: hidden, epochs: 2,
                batchSize: 16, learningRate: 0.05, seed: data.configuration.seed)
        }
    )
    .adding("poisoner") { _ in PoisonedLearner() }
let registry = Registry().federatedClients(catalog).function(loadHospital)
let workers = processes > 0 ? processes : 2
let cluster =
    processes > 0
    ? try await Cluster.start(.localProcesses(workers: processes), registry: registry)
    : try await Cluster.start(.inProcess(workers: workers), registry: registry)

/// The five hospitals (an MLP's when `hidden` is given), each built beside its pinned rows, their
/// features standardized with statistics merged across them.
func spawnHospitals(hidden: Int?) async throws -> [FederatedClient] {
    var clients: [FederatedClient] = []
    for part in 0..<hospitals {
        var options = ["part": "\(part)"]
        if let hidden { options["hidden"] = "\(hidden)" }
        let configuration = ClientConfiguration(name: "hospital-\(part)", learner: "hospital", options: options, seed: 1)
        let rows = try await cluster.loadClientData(loadHospital, configuration, on: part % workers)
        if part == 0 && hidden == nil {
            _ = await cluster.wait([rows])
            do {
                _ = try await rows.get()
                print("the server read hospital-0's rows: the pin failed")
                exit(1)
            } catch {
                print("the server asks for hospital-0's rows: refused (\(error))\n")
            }
        }
        clients.append(try await cluster.spawnClient(on: rows))
    }
    let initial = try ClassifierLearner.initialParameters(features: 30, classes: 2, hiddenSizes: [], seed: 3)
    try await FederatedServer(clients: clients, strategy: FedAvg(), initial: initial).standardizeFeatures()
    return clients
}

/// Held-out accuracy of centralized training: every training row in one place, the same epochs.
func centralized(hidden: [Int]) async throws -> Double {
    let (train, test) = try loadData()
    var learner = try ClassifierLearner(
        name: "central", train: train, test: test, classes: 2, hiddenSizes: hidden, epochs: 2, batchSize: 16, learningRate: 0.05, seed: 1)
    try learner.standardize(with: try learner.featureStatistics()!)
    var parameters = try ClassifierLearner.initialParameters(features: 30, classes: 2, hiddenSizes: hidden, seed: 3)
    for round in 1...rounds { parameters = try await learner.fit(parameters, settings: ClientSettings(), round: round).parameters }
    return try learner.evaluate(parameters).metrics["accuracy"]!
}

/// Runs `rounds` rounds of `strategy` and prints one line.
func federate<S: AggregationStrategy>(
    _ label: String, _ clients: [FederatedClient], _ strategy: S, hidden: [Int], secure: Bool = false, neighbors: Int? = nil,
    epsilon: Bool = false,
    localPrivacy: LocalPrivacy? = nil
) async throws -> Double {
    var configuration = FederatedConfiguration()
    configuration.localPrivacy = localPrivacy
    configuration.evaluateEvery = rounds
    configuration.minimumFitClients = hospitals
    if secure {
        configuration.secureAggregation = SecureAggregationSettings(
            thresholdFraction: 0.6, range: 4, maxSampleCount: 1000, neighbors: neighbors)
    }
    let initial = try ClassifierLearner.initialParameters(features: 30, classes: 2, hiddenSizes: hidden, seed: 3)
    let server = FederatedServer(clients: clients, strategy: strategy, initial: initial, configuration: configuration)
    let start = ContinuousClock.now
    let history = try await server.run(rounds: rounds)
    let accuracy = history.finalAccuracy ?? 0
    let seconds = (ContinuousClock.now - start) / .seconds(1)
    var line = label.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%6.2f %%   %.2f s", accuracy * 100, seconds)
    if epsilon, let spent = history.rounds.last?.epsilon { line += String(format: "   ε = %.2f at δ = 1e-5", spent) }
    if let spent = history.rounds.last?.localEpsilon { line += String(format: "   local ε = %.2f at δ = 1e-5 per hospital", spent) }
    print(line)
    return accuracy
}

let logistic = try await spawnHospitals(hidden: nil)
let mlp = try await spawnHospitals(hidden: 16)
print("\(hospitals) hospitals, label-skewed, \(rounds) rounds of 2 local epochs; held-out accuracy:\n")
let centralLogistic = try await centralized(hidden: [])
print("centralized logistic".padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%6.2f %%", centralLogistic * 100))
let fedLogistic = try await federate("FedAvg logistic", logistic, FedAvg(), hidden: [])
_ = try await federate("FedProx (μ = 0.1) logistic", logistic, try FedProx(proximalMu: 0.1), hidden: [])
let centralMLP = try await centralized(hidden: [16])
print("centralized MLP (16 hidden)".padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%6.2f %%", centralMLP * 100))
let fedMLP = try await federate("FedAvg MLP (16 hidden)", mlp, FedAvg(), hidden: [16])
_ = try await federate("FedAvg logistic + SecAgg", logistic, FedAvg(), hidden: [], secure: true)
_ = try await federate("FedAvg logistic + SecAgg+ (ring)", logistic, FedAvg(), hidden: [], secure: true, neighbors: 2)
_ = try await federate(
    "FedAvg logistic + central DP", logistic,
    try CentralPrivacy(FedAvg(), noiseMultiplier: 1.0, clippingNorm: 2, population: hospitals), hidden: [], epsilon: true)
_ = try await federate(
    "FedAvg logistic + local DP", logistic, FedAvg(), hidden: [],
    localPrivacy: try LocalPrivacy(clippingNorm: 0.1, epsilon: 1, delta: 1e-5))

let poisoner = try await cluster.spawn(FederatedClient.self, with: ClientConfiguration(name: "poisoner", learner: "poisoner"))
print("\nwith a sixth, poisoned client:")
let poisonedFedAvg = try await federate("FedAvg logistic, poisoned", logistic + [poisoner], FedAvg(), hidden: [])
let poisonedKrum = try await federate("Krum (f = 1) logistic, poisoned", logistic + [poisoner], try Krum(byzantine: 1), hidden: [])

await cluster.shutdown()
let withinAPoint = abs(fedLogistic - centralLogistic) <= 0.01 + 1e-9 && abs(fedMLP - centralMLP) <= 0.01 + 1e-9
print(
    "\nfederated within 1 point of centralized: \(withinAPoint ? "yes" : "no"); Krum kept \(String(format: "%.1f", poisonedKrum * 100)) %, FedAvg fell to \(String(format: "%.1f", poisonedFedAvg * 100)) %"
)
exit(withinAPoint && poisonedKrum > poisonedFedAvg ? 0 : 1)
