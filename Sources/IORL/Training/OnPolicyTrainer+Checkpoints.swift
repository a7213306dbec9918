import Foundation
import IONN
import IOTensor

/// What a checkpoint folder holds besides the weights: where training was.
struct TrainerState: Codable {
    var version: Int
    var environmentSteps: Int
    var episodes: Int
    var recentReturns: [Double]
    var history: LearningHistory
    var observationStatistics: RunningStatistics?
}

extension OnPolicyTrainer {
    /// Saves the policy (`policy.safetensors`), the optimiser's state (`optimizer.safetensors`)
    /// and the training state, observation-normalisation statistics and history (`trainer.json`) to `folder`, written beside it and
    /// renamed into place so that a crash never leaves half a checkpoint.
    public func saveCheckpoint(to folder: String) throws {
        let manager = FileManager.default
        let staging = folder + ".partial"
        try? manager.removeItem(atPath: staging)
        try manager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try Safetensors.write(
            learner.network.stateDictionary(), metadata: ["format": "IORL actor-critic"], to: staging + "/policy.safetensors")
        try learner.optimizer.save(to: staging + "/optimizer.safetensors")
        let state = TrainerState(
            version: learner.version, environmentSteps: tally.environmentSteps, episodes: tally.episodes,
            recentReturns: tally.recentReturns, history: tally.history,
            observationStatistics: observationStatistics)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state).write(to: URL(fileURLWithPath: staging + "/trainer.json"))
        try? manager.removeItem(atPath: folder)
        try manager.moveItem(atPath: staging, toPath: folder)
    }

    /// Restores a checkpoint written by ``saveCheckpoint(to:)``: the next iteration starts where
    /// that run stopped, with the same policy, optimiser moments and learning-rate step.
    ///
    /// - Throws: a file error for a missing or unreadable checkpoint, `StateDictionaryError` for
    ///   one of another network's shape.
    public func loadCheckpoint(from folder: String) throws {
        let archive = try Safetensors.read(contentsOf: folder + "/policy.safetensors")
        var weights: [String: Tensor<Float>] = [:]
        for (name, tensor) in archive.tensors { weights[name] = try tensor.tensor(as: Float.self) }
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/trainer.json")))
        if runners.normalizesObservations != (state.observationStatistics != nil) {
            throw ReinforcementLearningError.invalidConfiguration("the checkpoint and this trainer disagree on observation normalisation")
        }
        try learner.network.load(weights)
        try learner.optimizer.load(from: folder + "/optimizer.safetensors")
        learner.restore(version: state.version)
        tally = TrainingTally(
            environmentSteps: state.environmentSteps, episodes: state.episodes, recentReturns: state.recentReturns, history: state.history)
        observationStatistics = state.observationStatistics
    }
}
