import Foundation
import IOCompute

/// The IOTune part of the demo: a short search over the digits MLP's learning rate and width,
/// TPE after four random trials and ASHA stopping the trials that fall behind, on the embedded
/// cluster.
enum TuneDemo {
    /// Runs 10 trials of up to 6 epochs; returns the `hyperparameter search:` line.
    static func run(path: String, seed: UInt64) async throws -> String {
        let table = try CSV.read(contentsOf: path, as: Float.self)
        let (rest, _) = try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16).shuffledSplit(trainFraction: 0.8, seed: seed)
        let (train, validation) = try rest.shuffledSplit(trainFraction: 0.8, seed: seed &+ 1)
        let epochs = 6
        let trainable = Trainable("demo-digits") { trial in
            let width = try trial.int("width")
            let model = Sequential<Float>([try Linear(64, width, seed: seed), ReLU(), try Linear(width, 10, seed: seed &+ 2)])
            let optimizer = Adam(model.parameters, learningRate: try trial.float("lr"))
            while trial.step < epochs {
                _ = try Classification.trainEpoch(
                    model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(trial.step))
                try await trial.report(["accuracy": try Classification.accuracy(model, data: validation)])
            }
        }
        let cluster = try await Cluster.start(.inProcess(workers: 2), registry: Registry().trainable(trainable))
        print("IOTune: 10 trials of the digits MLP, TPE over the learning rate and width, ASHA stopping laggards (2 at a time)")
        let tuner = Tuner(
            cluster: cluster, trainable: trainable, space: ["lr": .logUniform(1e-4, 1e-1), "width": .integer(8...128, log: true)],
            searcher: TPESearcher(seed: seed, startupTrials: 4),
            scheduler: try ASHAScheduler(objective: .maximize, maxSteps: epochs, gracePeriod: 1, reductionFactor: 2),
            options: TuneOptions(metric: "accuracy", objective: .maximize, trials: 10, progress: .silent))
        let start = Date()
        let results = try await tuner.run()
        let seconds = Date().timeIntervalSince(start)
        await cluster.shutdown()
        print(results.table.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        guard let best = results.best, let accuracy = best.last("accuracy") else { return "hyperparameter search: no trial reported" }
        let stopped = results.trials.count { $0.status == .pruned }
        return "hyperparameter search: best \(String(format: "%.1f%%", accuracy * 100)) validation accuracy (trial \(best.trial): "
            + "\(best.configuration)), \(stopped) of 10 trials stopped early by ASHA (\(String(format: "%.1f", seconds)) s)"
    }
}
