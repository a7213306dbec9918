import Foundation
import IORuntime
import IOTune

/// A hyperparameter search whose every result depends only on its trials' values and
/// checkpoints, so that a run interrupted and resumed ends with the table of one that was not.
public enum TuneFixtures {
    /// A learning curve: accuracy rises towards a ceiling set by the width at a pace set by the
    /// rate, with a penalty for rates far from 0.05 and a define-by-run momentum. Each step takes
    /// 20 ms and saves the accuracy reached and the process that reached it.
    public static let curve = Trainable("curve") { trial in
        let rate = try trial.float("lr")
        let width = try trial.int("width")
        let momentum = try await trial.choice("momentum", ["none", "heavy"])
        var accuracy = 0.0
        if let bytes = trial.checkpoint?["accuracy"] { accuracy = bytes.withUnsafeBytes { $0.load(as: Double.self) } }
        let ceiling = 0.99 - 2 / Double(width) - 0.05 * abs(log10(rate / 0.05))
        let pace = min(rate * 10, 0.9) * (momentum == "heavy" ? 1.3 : 1)
        while trial.step < 9 {
            try await Task.sleep(for: .milliseconds(20))
            accuracy += (ceiling - accuracy) * min(pace, 0.95)
            let state = withUnsafeBytes(of: accuracy) { [UInt8]($0) }
            try await trial.report(
                ["accuracy": accuracy, "pid": Double(getpid())], checkpoint: TrialCheckpoint(files: ["accuracy": state]))
        }
    }

    /// Reports step 1 with its process in a checkpoint, then, on its first attempt only, waits a
    /// minute (a test kills its worker then); started again from that checkpoint it goes on to
    /// step 4.
    public static let waitsOnce = Trainable("waitsOnce") { trial in
        let attempt = trial.checkpoint == nil ? 1 : 2
        if trial.step == 0 {
            try await trial.report(["pid": Double(getpid()), "attempt": 1], checkpoint: TrialCheckpoint([1]))
        }
        if attempt == 1 { try await Task.sleep(for: .seconds(60)) }
        while trial.step < 4 { try await trial.report(["pid": Double(getpid()), "attempt": Double(attempt)]) }
    }

    public static let space: SearchSpace = ["lr": .logUniform(1e-3, 1), "width": .integer(4...64, log: true)]

    /// The experiment: TPE after 4 random trials, ASHA over 9 steps, one trial at a time.
    public static func tuner(cluster: Cluster, directory: String) throws -> Tuner {
        Tuner(
            cluster: cluster, trainable: curve, space: space, searcher: TPESearcher(seed: 7, startupTrials: 4),
            scheduler: try ASHAScheduler(objective: .maximize, maxSteps: 9, gracePeriod: 1, reductionFactor: 3),
            options: TuneOptions(
                metric: "accuracy", objective: .maximize, trials: 12, maxConcurrentTrials: 1, resourcesPerTrial: [.cpu: 0.5],
                maxFailures: 2, checkpointsToKeep: 1, directory: directory, progress: .lines))
    }
}
