// Classifies the held-out handwritten digits in batches on a pool of model actors, streaming the
// images from CSV files and the predictions to a CSV file, and reports accuracy and rows/s.
//
//     swift run -c release BatchInference [--copies N] [--processes N] [--output FILE] [--data digits.csv.gz]
//
// An MLP is trained on the digits' fixed 80/20 split (seed 2026) in this process; its weights go
// into the object store once, and each member of a pool of two actors builds its model from
// them. The 360 held-out images are written to a CSV file, which the dataset reads N times
// (--copies, 50 by default: 18,000 rows) one file at a time, so memory stays flat whatever N is.
// Batches of 256 go to the least busy member, at most two at a time each; predictions come back
// in order and are written to predictions.csv (label, predicted class, confidence).
//
// With --processes N the actors live in N worker processes (this program again), not threads.
import Distributed
import Foundation
import IOCompute
import Synchronization

/// The command line (worker processes get the same arguments).
struct Options: Sendable {
    var copies = 50
    var processes = 0
    var output = "predictions.csv"
    var dataPath = "Examples/Data/digits.csv.gz"

    static let parsed: Options = {
        var options = Options()
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--copies": options.copies = arguments.popFirst().flatMap(Int.init) ?? options.copies
            case "--processes": options.processes = arguments.popFirst().flatMap(Int.init) ?? 2
            case "--output": options.output = arguments.popFirst() ?? options.output
            case "--data": options.dataPath = arguments.popFirst() ?? options.dataPath
            default:
                print("usage: BatchInference [--copies N] [--processes N] [--output FILE] [--data digits.csv.gz]")
                exit(2)
            }
        }
        return options
    }()
}

/// The classifier: 64 pixels in, 10 classes out.
func makeModel() throws -> Sequential<Float> {
    Sequential<Float>([try Linear(64, 128, seed: 1), ReLU(), try Linear(128, 64, seed: 3), ReLU(), try Linear(64, 10, seed: 5)])
}

/// A model loaded once from the weights it is spawned with, that classifies batches of rows
/// (64 pixels from 0 to 16, then the label).
distributed actor DigitsModel {
    typealias ActorSystem = ClusterActorSystem
    private let model: Sequential<Float>

    init(actorSystem: ClusterActorSystem, weights: [String: Tensor<Float>]) throws {
        self.actorSystem = actorSystem
        model = try makeModel()
        try model.loadStateDictionary(weights)
        model.eval()
    }

    /// The most likely class of each row and its probability.
    distributed func classify(_ rows: [[Double]]) throws -> [Prediction] {
        guard rows.allSatisfy({ $0.count == 65 }) else { throw DataError.shapeMismatch("digit rows have 64 pixels and a label") }
        let pixels = try Tensor<Float>(shape: [rows.count, 64], scalars: rows.flatMap { $0.prefix(64).map { Float($0 / 16) } })
        let probabilities = try withoutGradients { try model(Variable(pixels)).value.softmax(alongAxis: 1) }
        let scalars = probabilities.scalars
        return rows.indices.map { row in
            let scores = scalars[(row * 10)..<((row + 1) * 10)]
            let best = scores.indices.max { scores[$0] < scores[$1] }!
            return Prediction(label: Int(rows[row][64]), predicted: best - row * 10, confidence: Double(scores[best]))
        }
    }
}

/// One classified image.
struct Prediction: Codable, Sendable, WireSerializable {
    let label: Int
    let predicted: Int
    let confidence: Double

    func encode(to encoder: inout WireEncoder) {
        encoder.writeLength(label)
        encoder.writeLength(predicted)
        encoder.write(confidence)
    }

    init(label: Int, predicted: Int, confidence: Double) {
        self.label = label
        self.predicted = predicted
        self.confidence = confidence
    }

    init(from decoder: inout WireDecoder) throws(WireError) {
        label = try decoder.readLength()
        predicted = try decoder.readLength()
        confidence = try decoder.read(Double.self)
    }
}

let options = Options.parsed
let registry = Registry().actor(DigitsModel.self, arguments: [String: Tensor<Float>].self) { system, weights in
    try DigitsModel(actorSystem: system, weights: weights)
}
TensorBackend.setBLASThreads(1)
let cluster =
    options.processes > 0
    ? try await Cluster.start(.localProcesses(workers: options.processes), registry: registry)
    : try await Cluster.start(.inProcess(workers: 2), registry: registry)
guard FileManager.default.fileExists(atPath: options.dataPath) else {
    print("no digits data at \(options.dataPath); run from the repository root or pass --data PATH")
    await cluster.shutdown()
    exit(1)
}

// Train the model here, on the training part of the split.
let digits = try LabeledData(table: try CSV.read(contentsOf: options.dataPath, as: Float.self), labelColumn: 64, featureScale: 1.0 / 16)
let (train, test) = try digits.shuffledSplit(trainFraction: 0.8, seed: 2026)
let model = try makeModel()
let optimizer = Adam(model.parameters, learningRate: 0.003)
for epoch in 0..<15 {
    _ = try Classification.trainEpoch(model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch))
}
print(
    String(
        format: "trained the MLP on %d images; held-out accuracy in this process: %.2f %%", train.count,
        try Classification.accuracy(model, data: test) * 100))

// The held-out images as a CSV file of raw pixels (0-16) and the label, read `copies` times.
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batch-inference-\(getpid())").path
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }
let heldOut = "\(folder)/held-out.csv"
let testRows = (0..<test.count).map { row in
    test.features.scalars[(row * 64)..<((row + 1) * 64)].map { Double($0 * 16) } + [Double(test.labels[row])]
}
try await Dataset(testRows).writeCSV(to: heldOut) { row in row.map { String(Int($0)) } }

// The weights go into the object store once; each pool member builds its model from them.
let weights = try await cluster.put(model.stateDictionary())
let pool = try await ActorPool(cluster: cluster, of: DigitsModel.self, with: weights, size: 2, maxInFlightPerActor: 2)
let images = Dataset.csv(files: Array(repeating: heldOut, count: options.copies), headerLines: 0)
let predictions = images.mapBatches(size: 256, using: pool) { member, batch in try await member.classify(batch) }

let correct = Mutex(0)
let statistics = try await predictions.map { (prediction: Prediction) -> Prediction in
    if prediction.label == prediction.predicted { correct.withLock { $0 += 1 } }
    return prediction
}.writeCSV(
    to: options.output, header: ["label", "predicted", "confidence"],
    progress: DatasetProgress("inference", total: options.copies * test.count)
) { prediction in
    ["\(prediction.label)", "\(prediction.predicted)", String(format: "%.4f", prediction.confidence)]
}
let accuracy = Double(correct.withLock { $0 }) / Double(max(statistics.rows, 1))
print(
    String(
        format: "classified %d images (%d copies of %d) on %d actors in %.2f s: %.0f rows/s, accuracy %.2f %%",
        statistics.rows, options.copies, test.count, pool.members.count, statistics.seconds, statistics.rowsPerSecond, accuracy * 100))
print("peak batches in flight: \(statistics.peakBlocksInFlight), peak resident memory \(statistics.peakResidentBytes >> 20) MiB")
print("predictions written to \(options.output)")
pool.shutdown()
await cluster.shutdown()
