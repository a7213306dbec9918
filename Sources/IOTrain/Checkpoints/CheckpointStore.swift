import Foundation
import IONN
import IOTensor

/// One saved state of a training run: a folder `step-NNNNNNNN` with the model's and the
/// optimizer's state as safetensors and the run's progress as JSON.
public struct Checkpoint: Sendable, Equatable {
    /// The number of optimizer steps taken when it was saved.
    public let step: Int
    /// The folder that holds it.
    public let directory: String
    /// The metrics measured when it was saved (`loss`, `validationAccuracy`, …).
    public let metrics: [String: Double]

    /// The model's parameters and buffers (loadable with `Layer.load(from:)`).
    public var modelPath: String { directory + "/model.safetensors" }
    /// The optimizer's state (loadable with `Optimizer.load(from:)`).
    public var optimizerPath: String { directory + "/optimizer.safetensors" }
    var progressPath: String { directory + "/progress.json" }
}

/// What a checkpoint records besides the tensors.
struct CheckpointProgress: Codable {
    var step: Int
    var metrics: [String: Double]
    var history: [TrainingStep]
}

/// Checkpoints of one run in one folder: saved atomically (a checkpoint either is complete or is
/// not there), and pruned to the latest plus the best ``keepBest`` by ``metric``.
///
/// Every rank of a run must reach the folder (one host, or a shared file system), as with Ray
/// Train's storage path: ranks that restart read the checkpoint from it.
public struct CheckpointStore: Sendable {
    /// The folder; created when missing.
    public let directory: String
    /// How many checkpoints to keep besides the latest, ranked by ``metric``.
    public let keepBest: Int
    /// The metric that ranks checkpoints; without one, the newest are the best.
    public let metric: String?
    /// Whether a larger ``metric`` is better (accuracy) or a smaller one (loss).
    public let higherIsBetter: Bool

    public init(directory: String, keepBest: Int = 2, metric: String? = nil, higherIsBetter: Bool = false) {
        self.directory = directory
        self.keepBest = max(0, keepBest)
        self.metric = metric
        self.higherIsBetter = higherIsBetter
    }

    /// Every complete checkpoint, oldest first.
    public func checkpoints() throws -> [Checkpoint] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return try names.filter { $0.hasPrefix("step-") }.compactMap { name -> Checkpoint? in
            let folder = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: folder + "/progress.json") else { return nil }
            let progress = try JSONDecoder().decode(CheckpointProgress.self, from: data)
            return Checkpoint(step: progress.step, directory: folder, metrics: progress.metrics)
        }.sorted { $0.step < $1.step }
    }

    /// The checkpoint saved at `step`.
    ///
    /// - Throws: `CocoaError(.fileReadNoSuchFile)` naming the folder when there is none (never
    ///   saved, or pruned since).
    public func checkpoint(step: Int) throws -> Checkpoint {
        guard let found = try checkpoints().first(where: { $0.step == step }) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: folder(of: step)])
        }
        return found
    }

    /// The newest checkpoint, the one a resumed run continues from.
    public func latest() throws -> Checkpoint? { try checkpoints().last }

    /// The best checkpoint by ``metric`` (the newest without one, or when none has the metric).
    public func best() throws -> Checkpoint? { try ranked().first }

    /// Checkpoints best first.
    private func ranked() throws -> [Checkpoint] {
        let all = try checkpoints()
        guard let metric else { return all.reversed() }
        let scored = all.filter { $0.metrics[metric] != nil }
        guard !scored.isEmpty else { return all.reversed() }
        return scored.sorted { a, b in
            let (x, y) = (a.metrics[metric]!, b.metrics[metric]!)
            return x == y ? a.step > b.step : (higherIsBetter ? x > y : x < y)
        }
    }

    /// The run's steps up to `checkpoint`.
    public func history(of checkpoint: Checkpoint) throws -> TrainingHistory {
        TrainingHistory(steps: try progress(of: checkpoint).history)
    }

    /// What `checkpoint` recorded besides the tensors.
    func progress(of checkpoint: Checkpoint) throws -> CheckpointProgress {
        guard let data = FileManager.default.contents(atPath: checkpoint.progressPath) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: checkpoint.progressPath])
        }
        return try JSONDecoder().decode(CheckpointProgress.self, from: data)
    }

    /// Saves a checkpoint (written to a temporary folder, then renamed into place) and prunes the
    /// others. A checkpoint of the same step already there is renamed aside first and deleted
    /// afterwards, so a reader sees the old one or the new one, never a half-deleted folder;
    /// when two savers race for one step, the first to rename wins and the other's copy goes.
    @discardableResult
    func save<Scalar>(
        step: Int, model: some Layer<Scalar>, optimizer: some Optimizer<Scalar>, metrics: [String: Double], history: [TrainingStep]
    ) throws -> Checkpoint {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let final = folder(of: step)
        let temporary = directory + "/.incomplete-" + UUID().uuidString
        try manager.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        do {
            try model.save(to: temporary + "/model.safetensors", metadata: ["step": "\(step)"])
            try optimizer.save(to: temporary + "/optimizer.safetensors")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let progress = CheckpointProgress(step: step, metrics: metrics, history: history)
            try encoder.encode(progress).write(to: URL(fileURLWithPath: temporary + "/progress.json"))
            if manager.fileExists(atPath: final) { discard(final) }
            if rename(temporary, final) != 0 {
                // Another saver put this step in place after the check above: keep theirs.
                guard errno == EEXIST || errno == ENOTEMPTY, manager.fileExists(atPath: final + "/progress.json") else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: final])
                }
                try? manager.removeItem(atPath: temporary)
            }
        } catch {
            try? manager.removeItem(atPath: temporary)
            throw error
        }
        try prune()
        return Checkpoint(step: step, directory: final, metrics: metrics)
    }

    /// Deletes every checkpoint but the latest and the best ``keepBest``.
    func prune() throws {
        let all = try checkpoints()
        guard let latest = all.last else { return }
        let kept = Set(try ranked().prefix(keepBest).map(\.step)).union([latest.step])
        for checkpoint in all where !kept.contains(checkpoint.step) { discard(checkpoint.directory) }
    }

    /// The folder of the checkpoint of `step`.
    private func folder(of step: Int) -> String { directory + "/" + String(format: "step-%08d", step) }

    /// Takes a checkpoint folder out of view in one rename, then deletes it. Another process
    /// pruning at the same time may have taken it already: that is not an error.
    private func discard(_ folder: String) {
        let trash = directory + "/.discarded-" + UUID().uuidString
        guard rename(folder, trash) == 0 else { return }
        try? FileManager.default.removeItem(atPath: trash)
    }
}
