import Foundation
import IONN
import IORuntime
import IOTensor
import Logging

/// The samples a data-parallel run trains on, and those it measures held-out accuracy on.
public struct TrainingData<Scalar: LinearAlgebraScalar>: Sendable {
    public let train: LabeledData<Scalar>
    public let validation: LabeledData<Scalar>?

    public init(train: LabeledData<Scalar>, validation: LabeledData<Scalar>? = nil) {
        self.train = train
        self.validation = validation
    }
}

/// How to build everything a rank of a data-parallel run needs, in whichever process it runs:
/// the model, its optimizer, the data and the loss. Every rank calls these itself, so data stays
/// where it is read and only gradients travel.
public struct DataParallelRecipe<Scalar: LinearAlgebraScalar & CollectiveScalar>: Sendable {
    /// The recipe's name, unique among a registry's training loops.
    public let name: String
    /// Builds the model; every call must give the same initial weights (use fixed seeds).
    public var makeModel: @Sendable () throws -> any Layer<Scalar>
    /// Builds the optimizer over the model's parameters.
    public var makeOptimizer: @Sendable ([Variable<Scalar>]) throws -> any Optimizer<Scalar>
    /// Loads the data (each rank takes its shard of every global batch).
    public var loadData: @Sendable () throws -> TrainingData<Scalar>
    /// Each sample's shape as the model takes it (`[1, 8, 8]` for images stored as rows of 64),
    /// or nil to feed the features as stored.
    public var inputShape: [Int]?
    /// The loss of a batch's logits and labels, a mean over the batch (cross-entropy by default).
    public var loss: @Sendable (Variable<Scalar>, [Int]) throws -> Variable<Scalar>

    public init(
        name: String, makeModel: @escaping @Sendable () throws -> any Layer<Scalar>,
        makeOptimizer: @escaping @Sendable ([Variable<Scalar>]) throws -> any Optimizer<Scalar>,
        loadData: @escaping @Sendable () throws -> TrainingData<Scalar>, inputShape: [Int]? = nil,
        loss: @escaping @Sendable (Variable<Scalar>, [Int]) throws -> Variable<Scalar> = { try Loss.crossEntropy(logits: $0, labels: $1) }
    ) {
        self.name = name
        self.makeModel = makeModel
        self.makeOptimizer = makeOptimizer
        self.loadData = loadData
        self.inputShape = inputShape
        self.loss = loss
    }
}

/// The settings of a data-parallel run. They travel to every rank.
public struct DataParallelConfig: WireCodable, Equatable {
    /// Passes over the training data.
    public var epochs: Int
    /// Samples per optimizer step, over all ranks together: each rank takes an equal share, so
    /// the run follows the same loss curve whatever the number of ranks.
    public var globalBatchSize: Int
    /// Seeds each epoch's shuffle (epoch e uses `shuffleSeed + e`).
    public var shuffleSeed: UInt64
    /// About how many bytes of gradients go into one allreduce.
    public var bucketBytes: Int
    /// Where checkpoints go; none are written without one, and a restart then begins again.
    public var checkpointDirectory: String?
    /// Checkpoint every this many steps; 0 for the end of every epoch. The last step always
    /// checkpoints.
    public var checkpointEvery: Int
    /// Checkpoints kept besides the latest, the best by ``checkpointMetric``.
    public var keepBest: Int
    /// The metric that ranks checkpoints: `validationAccuracy`, `validationLoss` or `loss`.
    public var checkpointMetric: String
    /// Whether to continue from the latest checkpoint in ``checkpointDirectory``.
    public var resume: Bool
    /// Whether rank 0 draws a progress bar (only when standard error is a terminal).
    public var showsProgress: Bool
    /// Whether each bucket's allreduce starts as soon as its gradients are complete, while the
    /// backward pass goes on (as DDP does), rather than after the pass.
    public var overlapsCommunication: Bool = true
    /// Where a run restarted with fewer ranks stops to look for more (a checkpoint step).
    var stopsAtStep: Int?

    public init(
        epochs: Int, globalBatchSize: Int, shuffleSeed: UInt64 = 0, bucketBytes: Int = 4 << 20, checkpointDirectory: String? = nil,
        checkpointEvery: Int = 0, keepBest: Int = 2, checkpointMetric: String = "validationAccuracy", resume: Bool = false,
        showsProgress: Bool = true
    ) {
        self.epochs = epochs
        self.globalBatchSize = globalBatchSize
        self.shuffleSeed = shuffleSeed
        self.bucketBytes = bucketBytes
        self.checkpointDirectory = checkpointDirectory
        self.checkpointEvery = checkpointEvery
        self.keepBest = keepBest
        self.checkpointMetric = checkpointMetric
        self.resume = resume
        self.showsProgress = showsProgress
    }

    var checkpointStore: CheckpointStore? {
        checkpointDirectory.map {
            CheckpointStore(
                directory: $0, keepBest: keepBest, metric: checkpointMetric, higherIsBetter: checkpointMetric.hasSuffix("Accuracy"))
        }
    }
}

/// What a rank reports at the end of its part of a run.
public struct DataParallelReport: WireCodable, Equatable {
    /// Every step so far (a resumed run's includes the steps before the checkpoint).
    public var history: [TrainingStep]
    /// Rank 0's measurements after the last step (empty on other ranks and in unfinished parts).
    public var metrics: [String: Double]
    /// The steps taken, and those the whole run takes.
    public var completedSteps: Int
    public var totalSteps: Int
}

/// The outcome of ``DataParallelTrainer/fit(_:workers:on:minimumWorkers:maxRestarts:)``.
public struct DataParallelResult: Sendable {
    /// Every step of the run, across restarts.
    public let history: TrainingHistory
    /// The final measurements (`validationAccuracy`, `validationLoss`, `loss`).
    public let metrics: [String: Double]
    /// Why the run restarted, in order (empty when it never did).
    public let restarts: [String]
    /// The best checkpoint, when the run wrote checkpoints.
    public let bestCheckpoint: Checkpoint?
}

/// Errors of a data-parallel run as a whole.
public enum DataParallelError: Error, Sendable, CustomStringConvertible {
    /// Fewer workers are alive than the run's minimum.
    case notEnoughWorkers(alive: Int, minimum: Int)
    /// The run failed more times than it may restart.
    case tooManyRestarts(restarts: Int, lastError: String)
    /// The configuration cannot run.
    case invalidConfig(String)

    public var description: String {
        switch self {
        case .notEnoughWorkers(let alive, let minimum): "data-parallel run: \(alive) workers alive, fewer than the minimum of \(minimum)"
        case .tooManyRestarts(let restarts, let lastError): "data-parallel run: failed after \(restarts) restarts; last error: \(lastError)"
        case .invalidConfig(let reason): "data-parallel run: \(reason)"
        }
    }
}

/// Trains one model on several workers at once: every rank holds a replica, takes its share of
/// each global batch, runs forward and backward, sums the gradients with the others in buckets
/// (ring allreduce), and takes the same optimizer step — PyTorch's DistributedDataParallel. The
/// loss curve is the single-worker one (within float32 rounding) for any number of ranks.
///
/// Checkpoints (model and optimizer as safetensors) are written by rank 0 every
/// ``DataParallelConfig/checkpointEvery`` steps; when a worker dies, ``fit(_:workers:on:minimumWorkers:maxRestarts:)``
/// restarts from the last one with the workers still alive and grows back to the requested
/// number at a later checkpoint once workers are available again.
///
/// ```swift
/// let trainer = DataParallelTrainer(recipe)          // the same in every process
/// let registry = Registry().dataParallel(trainer)
/// let cluster = try await Cluster.start(.inProcess(workers: 2), registry: registry)
/// let result = try await trainer.fit(DataParallelConfig(epochs: 10, globalBatchSize: 64), workers: 2, on: cluster)
/// ```
public struct DataParallelTrainer<Scalar: LinearAlgebraScalar & CollectiveScalar>: Sendable {
    public let recipe: DataParallelRecipe<Scalar>
    /// The per-rank loop, registered by `Registry.dataParallel(_:)`.
    public let loop: TrainingLoop<DataParallelConfig, DataParallelReport>

    public init(_ recipe: DataParallelRecipe<Scalar>) {
        self.recipe = recipe
        loop = TrainingLoop("dataParallel." + recipe.name) { context, config in
            try await DataParallelRank(recipe: recipe, config: config, context: context).run()
        }
    }

    private static var logger: Logger { Logger(label: "iocompute.train") }

    /// Runs `config` on `workers` ranks of `cluster` and returns the history and final metrics.
    ///
    /// When a rank's worker dies (or the run fails otherwise), the run starts again from the last
    /// checkpoint with as many workers as are alive, no fewer than `minimumWorkers`, at most
    /// `maxRestarts` times. A run with fewer workers than requested stops at each checkpoint to
    /// look for more.
    ///
    /// - Throws: ``DataParallelError`` when too few workers remain or restarts run out.
    public func fit(
        _ config: DataParallelConfig, workers: Int, on cluster: Cluster, minimumWorkers: Int = 1, maxRestarts: Int = 3
    ) async throws -> DataParallelResult {
        guard config.epochs > 0, config.globalBatchSize > 0, workers > 0, minimumWorkers > 0, minimumWorkers <= workers else {
            throw DataParallelError.invalidConfig(
                "epochs \(config.epochs), global batch \(config.globalBatchSize), workers \(workers), minimum \(minimumWorkers)")
        }
        var restarts: [String] = []
        var resume = config.resume
        while true {
            let alive = await cluster.status().workers.filter(\.isAlive).count
            let size = min(workers, alive)
            guard size >= minimumWorkers else { throw DataParallelError.notEnoughWorkers(alive: alive, minimum: minimumWorkers) }
            var segment = config
            segment.resume = resume
            if size < workers, config.checkpointDirectory != nil {
                // Fewer workers than asked for: run to the next checkpoint, then look again.
                let done = try config.checkpointStore?.latest()?.step ?? 0
                segment.stopsAtStep = try nextCheckpointStep(after: done, config)
            }
            do {
                let reports = try await loop.run(segment, workers: size, on: cluster)
                let report = reports[0]
                resume = true
                if report.completedSteps >= report.totalSteps {
                    return DataParallelResult(
                        history: TrainingHistory(steps: report.history), metrics: report.metrics, restarts: restarts,
                        bestCheckpoint: try config.checkpointStore?.best())
                }
            } catch {
                if case ClusterError.unschedulable = error { throw error }  // Trying again cannot help.
                guard restarts.count < maxRestarts else {
                    throw DataParallelError.tooManyRestarts(restarts: restarts.count, lastError: "\(error)")
                }
                restarts.append("\(error)")
                resume = config.checkpointDirectory != nil
                Self.logger.warning("data-parallel run failed (\(error)); restarting from the last checkpoint")
            }
        }
    }

    /// The first checkpoint step after `step`.
    private func nextCheckpointStep(after step: Int, _ config: DataParallelConfig) throws -> Int {
        let stepsPerEpoch = try stepsPerEpoch(config)
        let every = config.checkpointEvery > 0 ? config.checkpointEvery : stepsPerEpoch
        return (step / every + 1) * every
    }

    private func stepsPerEpoch(_ config: DataParallelConfig) throws -> Int {
        let count = try recipe.loadData().train.count
        return max(1, (count + config.globalBatchSize - 1) / config.globalBatchSize)
    }
}

extension Registry {
    /// This registry with `trainer`'s per-rank loop, so that worker processes can run its ranks.
    public func dataParallel<Scalar>(_ trainer: DataParallelTrainer<Scalar>) -> Registry {
        trainingLoop(trainer.loop)
    }
}
