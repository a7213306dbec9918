// Tunes the digits MLP (learning rate, width, weight decay, batch size) with TPE and ASHA on the
// local cluster, then measures the best trial's model on held-out images no trial saw.
//
//     swift run -c release HyperparameterSearch [--trials N] [--processes N] [--directory DIR] [--resume]
//
// The digits' fixed 80/20 split (seed 2026) keeps 360 images out for the end; trials train on
// 80 % of the other 1,437 and report their accuracy on the remaining 20 % after every epoch.
// TPE draws the values (10 random trials first), ASHA stops the trials that fall behind (rungs
// at 1, 3 and 9 epochs up to 20), and as many trials run at once as the workers have cores.
// The experiment is kept in the directory (hyperparameter-search/ by default): run again with
// --resume after an interruption and it goes on where it stopped. The table of trials is saved
// as CSV, the curves and the best configurations as SVG.
//
// With --processes N the trials run in N worker processes (this program again), not threads.
import Foundation
import IOCompute

/// The command line (worker processes get the same arguments).
struct Options: Sendable {
    var trials = 32
    var processes = 0
    var directory = "hyperparameter-search"
    var resume = false
    var dataPath = "Examples/Data/digits.csv.gz"
    static let epochs = 20

    static let parsed: Options = {
        var options = Options()
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--trials": options.trials = arguments.popFirst().flatMap(Int.init) ?? options.trials
            case "--processes": options.processes = arguments.popFirst().flatMap(Int.init) ?? 2
            case "--directory": options.directory = arguments.popFirst() ?? options.directory
            case "--resume": options.resume = true
            case "--data": options.dataPath = arguments.popFirst() ?? options.dataPath
            default:
                print("usage: HyperparameterSearch [--trials N] [--processes N] [--directory DIR] [--resume] [--data digits.csv.gz]")
                exit(2)
            }
        }
        return options
    }()
}
let (trials, processes, directory, dataPath) = (
    Options.parsed.trials, Options.parsed.processes, Options.parsed.directory, Options.parsed.dataPath
)
/// Every trial's budget, in epochs.
let epochs = Options.epochs

/// The digits, split once per process: training and validation for the trials, both together
/// to train the chosen configuration again, test for the end.
struct DigitsSplits: Sendable {
    let train: LabeledData<Float>
    let validation: LabeledData<Float>
    let trainAndValidation: LabeledData<Float>
    let test: LabeledData<Float>

    static let shared = Result { () throws -> DigitsSplits in
        let path = Options.parsed.dataPath
        let digits = try LabeledData(table: try CSV.read(contentsOf: path, as: Float.self), labelColumn: 64, featureScale: 1.0 / 16)
        let (rest, test) = try digits.shuffledSplit(trainFraction: 0.8, seed: 2026)
        let (train, validation) = try rest.shuffledSplit(trainFraction: 0.8, seed: 7)
        return DigitsSplits(train: train, validation: validation, trainAndValidation: rest, test: test)
    }
}

/// A two-hidden-layer MLP of `width` (then width / 2) units, with dropout after each.
func makeModel(_ configuration: Configuration) throws -> Sequential<Float> {
    let (width, dropout) = (try configuration.int("width"), try configuration.float("dropout"))
    return Sequential<Float>([
        try Linear(64, width, seed: 1), ReLU(), Dropout(probability: dropout, seed: 2),
        try Linear(width, width / 2, seed: 3), ReLU(), Dropout(probability: dropout, seed: 4), try Linear(width / 2, 10, seed: 5),
    ])
}

/// The model's and the optimizer's state as safetensors files.
func checkpoint(_ model: Sequential<Float>, _ optimizer: Adam<Float>) throws -> TrialCheckpoint {
    TrialCheckpoint(files: [
        "model.safetensors": try Safetensors.encode(model.stateDictionary().mapValues { AnyTensor($0) }),
        "optimizer.safetensors": try Safetensors.encode(optimizer.stateDictionary().mapValues { AnyTensor($0) }),
    ])
}

func restore(_ model: Sequential<Float>, _ optimizer: Adam<Float>?, from checkpoint: TrialCheckpoint) throws {
    func state(_ file: String) throws -> [String: Tensor<Float>] {
        guard let bytes = checkpoint[file] else { return [:] }
        return try Safetensors.decode(bytes).tensors.mapValues { try Tensor<Float>($0) }
    }
    try model.loadStateDictionary(try state("model.safetensors"))
    try optimizer?.loadStateDictionary(try state("optimizer.safetensors"))
}

/// Trains a model of `configuration` on `data` from `checkpoint` (if any) for the epochs left of
/// ``Options/epochs``, calling `epochEnded` after each with the epoch's mean loss.
func train(
    _ configuration: Configuration, on data: LabeledData<Float>, from saved: TrialCheckpoint?, startingAt firstEpoch: Int,
    epochEnded: (Sequential<Float>, Adam<Float>, Double) async throws -> Void
) async throws -> Sequential<Float> {
    let rate = try configuration.float("lr")
    let model = try makeModel(configuration)
    let optimizer = Adam.adamW(model.parameters, learningRate: rate, weightDecay: try configuration.float("weightDecay"))
    if let saved { try restore(model, optimizer, from: saved) }
    let schedule = LearningRateSchedule.cosine(base: rate, totalSteps: Options.epochs)
    for epoch in firstEpoch..<Options.epochs {
        optimizer.learningRate = schedule.rate(atStep: epoch)
        let loss = try Classification.trainEpoch(
            model, optimizer: optimizer, data: data, batchSize: try configuration.int("batchSize"), shuffleSeed: UInt64(epoch))
        try await epochEnded(model, optimizer, loss)
    }
    return model
}

let digitsMLP = Trainable("digits-mlp") { trial in
    let data = try DigitsSplits.shared.get()
    _ = try await train(trial.configuration, on: data.train, from: trial.checkpoint, startingAt: trial.step) { model, optimizer, loss in
        let accuracy = try Classification.accuracy(model, data: data.validation)
        try await trial.report(["accuracy": accuracy, "loss": loss], checkpoint: try checkpoint(model, optimizer))
    }
}

let registry = Registry().trainable(digitsMLP)
// Each worker trains one trial at a time with one BLAS thread: a thread per core for every call
// of every worker would spin the workers' threads against each other.
TensorBackend.setBLASThreads(1)
let cluster =
    processes > 0
    ? try await Cluster.start(.localProcesses(workers: processes), registry: registry)
    : try await Cluster.start(.inProcess(workers: ProcessInfo.processInfo.activeProcessorCount), registry: registry)
guard FileManager.default.fileExists(atPath: dataPath) else {
    print("no digits data at \(dataPath); run from the repository root or pass --data PATH")
    await cluster.shutdown()
    exit(1)
}

let space: SearchSpace = [
    "lr": .logUniform(3e-4, 3e-2),
    "width": .integer(32...256, log: true),
    "weightDecay": .logUniform(1e-5, 1e-1),
    "batchSize": .choice([16, 32, 64]),
    "dropout": .uniform(0, 0.5, step: 0.05),
]
let tuner = Tuner(
    cluster: cluster, trainable: digitsMLP, space: space, searcher: TPESearcher(seed: 2026),
    scheduler: try ASHAScheduler(objective: .maximize, maxSteps: epochs, gracePeriod: 1, reductionFactor: 3),
    options: TuneOptions(
        metric: "accuracy", objective: .maximize, trials: trials, checkpointsToKeep: 1, directory: directory, name: "digits-mlp"))
let where_ = processes > 0 ? "\(processes) worker processes" : "the embedded cluster"
print("tuning the digits MLP on \(where_): \(trials) trials, TPE + ASHA, up to \(epochs) epochs each, kept in \(directory)/")
let start = Date()
let results = Options.parsed.resume ? try await tuner.resume() : try await tuner.run()
let seconds = Date().timeIntervalSince(start)
await cluster.shutdown()

try results.csv().write(toFile: directory + "/trials.csv", atomically: true, encoding: .utf8)
try results.writeCurves(to: directory + "/curves.svg", title: "digits MLP: validation accuracy per epoch")
try results.writeParallelCoordinates(to: directory + "/best-configurations.svg", title: "digits MLP: the best configurations")

guard let best = results.best, let saved = try results.bestCheckpoint() else {
    print("no trial reported an accuracy")
    exit(1)
}
// The best trial's own model, and the best configuration trained again on the training and
// validation images together, each measured once on the held-out images.
let data = try DigitsSplits.shared.get()
let model = try makeModel(best.configuration)
try restore(model, nil, from: saved)
let trialAccuracy = try Classification.accuracy(model, data: data.test)
let refit = try await train(best.configuration, on: data.trainAndValidation, from: nil, startingAt: 0) { _, _, _ in }
let heldOut = try Classification.accuracy(refit, data: data.test)
let stopped = results.trials.count { $0.status == .pruned }
let epochsRun = results.trials.reduce(0) { $0 + $1.steps }
func percent(_ fraction: Double) -> String { String(format: "%.2f %%", fraction * 100) }
print(
    "best: trial \(best.trial) (\(best.configuration)): validation \(percent(best.last("accuracy") ?? 0)), held-out \(percent(trialAccuracy))"
)
print("its configuration trained on training and validation images together: held-out accuracy \(percent(heldOut))")
print(
    "\(results.trials.count) trials in \(String(format: "%.1f", seconds)) s: \(stopped) stopped early by ASHA, \(epochsRun) epochs run of "
        + "\(results.trials.count * epochs) without it; saved \(directory)/trials.csv, curves.svg, best-configurations.svg")
