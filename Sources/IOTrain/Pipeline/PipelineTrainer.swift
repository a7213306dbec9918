import IONN
import IORuntime
import IORuntimeTensor
import IOTensor

/// How every stage of a pipeline-parallel run builds its part: the whole `Sequential` model (each
/// stage keeps its own slice of the layers), the optimizer over that slice, the data and the loss.
public struct PipelineRecipe<Scalar: LinearAlgebraScalar & CollectiveScalar>: Sendable {
    /// The recipe's name, unique among a registry's training loops.
    public let name: String
    /// Builds the whole model; every call must give the same initial weights (use fixed seeds).
    public var makeModel: @Sendable () throws -> Sequential<Scalar>
    /// Where each stage after the first begins, as layer indices (`[3]`: layers 0–2 on stage 0,
    /// the rest on stage 1). Nil: the layers are cut so that the stages hold about equal numbers
    /// of parameters.
    public var stageStarts: [Int]?
    /// Builds the optimizer over a stage's parameters.
    public var makeOptimizer: @Sendable ([Variable<Scalar>]) throws -> any Optimizer<Scalar>
    /// Loads the data (the first stage reads the features, the last the labels).
    public var loadData: @Sendable () throws -> TrainingData<Scalar>
    /// Each sample's shape as the model takes it, or nil to feed the features as stored.
    public var inputShape: [Int]?
    /// The loss of a batch's logits and labels, a mean over the batch (cross-entropy by default).
    public var loss: @Sendable (Variable<Scalar>, [Int]) throws -> Variable<Scalar>

    public init(
        name: String, makeModel: @escaping @Sendable () throws -> Sequential<Scalar>, stageStarts: [Int]? = nil,
        makeOptimizer: @escaping @Sendable ([Variable<Scalar>]) throws -> any Optimizer<Scalar>,
        loadData: @escaping @Sendable () throws -> TrainingData<Scalar>, inputShape: [Int]? = nil,
        loss: @escaping @Sendable (Variable<Scalar>, [Int]) throws -> Variable<Scalar> = { try Loss.crossEntropy(logits: $0, labels: $1) }
    ) {
        self.name = name
        self.makeModel = makeModel
        self.stageStarts = stageStarts
        self.makeOptimizer = makeOptimizer
        self.loadData = loadData
        self.inputShape = inputShape
        self.loss = loss
    }

    /// The layer range of each of `stages` stages of `model`.
    func stageRanges(of model: Sequential<Scalar>, stages: Int) throws -> [Range<Int>] {
        let layers = model.layers.count
        guard stages >= 1, stages <= layers else {
            throw PipelineError.invalidStages("\(stages) stages for a model of \(layers) layers")
        }
        let starts: [Int]
        if let stageStarts {
            guard stageStarts.count == stages - 1, zip([0] + stageStarts, stageStarts + [layers]).allSatisfy({ $0 < $1 }) else {
                throw PipelineError.invalidStages("stage starts \(stageStarts) for \(stages) stages of \(layers) layers")
            }
            starts = stageStarts
        } else {
            // Balance parameters: cut where the running count passes each stage's share, keeping
            // at least one layer per stage.
            let weights = model.layers.map { max(1, $0.parameters.reduce(0) { $0 + $1.value.count }) }
            let total = weights.reduce(0, +)
            var cuts: [Int] = []
            var running = 0
            for (index, weight) in weights.enumerated().dropLast() {
                running += weight
                let stage = cuts.count + 1
                let remainingLayers = layers - index - 1
                let remainingStages = stages - stage
                if stage < stages, running * stages >= total * stage || remainingLayers == remainingStages {
                    cuts.append(index + 1)
                }
            }
            starts = cuts
        }
        let bounds = [0] + starts + [layers]
        return (0..<stages).map { bounds[$0]..<bounds[$0 + 1] }
    }
}

/// The settings of a pipeline-parallel run. They travel to every stage.
public struct PipelineConfig: WireCodable, Equatable {
    /// Passes over the training data.
    public var epochs: Int
    /// Samples per optimizer step.
    public var batchSize: Int
    /// How many micro-batches each batch is cut into: while one stage works on micro-batch m,
    /// the one before it already works on m + 1.
    public var microBatches: Int
    /// Seeds each epoch's shuffle (epoch e uses `shuffleSeed + e`).
    public var shuffleSeed: UInt64
    /// Whether the last stage draws a progress bar (only when standard error is a terminal).
    public var showsProgress: Bool

    public init(epochs: Int, batchSize: Int, microBatches: Int = 4, shuffleSeed: UInt64 = 0, showsProgress: Bool = true) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.microBatches = microBatches
        self.shuffleSeed = shuffleSeed
        self.showsProgress = showsProgress
    }
}

/// What a stage reports: the history and metrics (from the last stage) and its trained weights.
public struct PipelineReport<Scalar: LinearAlgebraScalar & CollectiveScalar>: WireSerializable {
    /// Every step (empty on stages other than the last).
    public var history: [TrainingStep]
    /// Measurements after the last step (the last stage's).
    public var metrics: [String: Double]
    /// This stage's parameters and buffers, named as in the whole model (`3.weight`).
    public var weights: [String: Tensor<Scalar>]

    public func encode(to encoder: inout WireEncoder) {
        encoder.writeLength(history.count)
        for step in history {
            encoder.writeLength(step.step)
            encoder.writeLength(step.epoch)
            encoder.write(step.loss)
            encoder.write(step.samplesPerSecond)
            encoder.writeLength(step.workers)
        }
        metrics.encode(to: &encoder)
        weights.encode(to: &encoder)
    }

    public init(history: [TrainingStep], metrics: [String: Double], weights: [String: Tensor<Scalar>]) {
        self.history = history
        self.metrics = metrics
        self.weights = weights
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        let count = try decoder.readLength()
        var history: [TrainingStep] = []
        for _ in 0..<count {
            history.append(
                TrainingStep(
                    step: try decoder.readLength(), epoch: try decoder.readLength(), loss: try decoder.read(Double.self),
                    samplesPerSecond: try decoder.read(Double.self), workers: try decoder.readLength()))
        }
        self.history = history
        metrics = try [String: Double](from: &decoder)
        weights = try [String: Tensor<Scalar>](from: &decoder)
    }

    public static var wireTypeName: String { "IOTrain.PipelineReport<\(Scalar.self)>" }
}

/// The outcome of ``PipelineTrainer/fit(_:stages:on:)``.
public struct PipelineResult<Scalar: LinearAlgebraScalar & CollectiveScalar>: Sendable {
    /// Every step of the run.
    public let history: TrainingHistory
    /// The final measurements (`validationAccuracy`, `validationLoss`, `loss`).
    public let metrics: [String: Double]
    /// The whole trained model's state, gathered from the stages (load it with
    /// `Layer.loadStateDictionary`).
    public let stateDictionary: [String: Tensor<Scalar>]
}

/// Errors of a pipeline-parallel run.
public enum PipelineError: Error, Sendable, CustomStringConvertible {
    /// The model cannot be cut into the stages asked for.
    case invalidStages(String)
    /// The configuration cannot run.
    case invalidConfig(String)

    public var description: String {
        switch self {
        case .invalidStages(let reason): "pipeline: \(reason)"
        case .invalidConfig(let reason): "pipeline: \(reason)"
        }
    }
}

/// Trains one `Sequential` model cut into stages on different workers (model parallelism), with
/// GPipe's schedule: each batch is cut into micro-batches that flow forward through the stages
/// one after another — stage s works on micro-batch m while stage s + 1 works on m − 1 — then
/// their gradients flow back in reverse order; each stage accumulates its parameters' gradients
/// over the micro-batches and takes one optimizer step per batch. The result is the
/// single-worker training of the whole model on the whole batch, within float32 rounding.
///
/// Activations go forward and gradients back between neighbouring stages with
/// ``CollectiveGroup/send(_:to:)`` and ``CollectiveGroup/receive(_:from:)``: in memory between
/// stages in one process, over the stages' own TCP connections between processes.
///
/// ```swift
/// let trainer = PipelineTrainer<Float>(PipelineRecipe(name: "digits", makeModel: { … },
///                                                     makeOptimizer: { SGD($0, learningRate: 0.1) },
///                                                     loadData: { … }))
/// let cluster = try await Cluster.start(.localProcesses(workers: 2), registry: Registry().pipeline(trainer))
/// let result = try await trainer.fit(PipelineConfig(epochs: 10, batchSize: 64, microBatches: 4), stages: 2, on: cluster)
/// ```
public struct PipelineTrainer<Scalar: LinearAlgebraScalar & CollectiveScalar>: Sendable {
    public let recipe: PipelineRecipe<Scalar>
    /// The per-stage loop, registered by `Registry.pipeline(_:)`.
    public let loop: TrainingLoop<PipelineConfig, PipelineReport<Scalar>>

    public init(_ recipe: PipelineRecipe<Scalar>) {
        self.recipe = recipe
        loop = TrainingLoop("pipeline." + recipe.name) { context, config in
            try await PipelineStage(recipe: recipe, config: config, context: context).run()
        }
    }

    /// Trains `config` with the model cut into `stages` stages, one per worker of `cluster`.
    ///
    /// - Throws: ``PipelineError`` for a model that cannot be cut so or a configuration that
    ///   cannot run, and the first error of a stage (a lost worker's included).
    public func fit(_ config: PipelineConfig, stages: Int, on cluster: Cluster) async throws -> PipelineResult<Scalar> {
        guard config.epochs > 0, config.batchSize > 0, config.microBatches > 0, config.microBatches <= config.batchSize else {
            throw PipelineError.invalidConfig(
                "epochs \(config.epochs), batch \(config.batchSize), micro-batches \(config.microBatches)")
        }
        _ = try recipe.stageRanges(of: try recipe.makeModel(), stages: stages)
        let reports = try await loop.run(config, workers: stages, on: cluster)
        let last = reports[stages - 1]
        let state = reports.reduce(into: [String: Tensor<Scalar>]()) { $0.merge($1.weights) { first, _ in first } }
        return PipelineResult(history: TrainingHistory(steps: last.history), metrics: last.metrics, stateDictionary: state)
    }
}

extension Registry {
    /// This registry with `trainer`'s per-stage loop, so that worker processes can run its stages.
    public func pipeline<Scalar>(_ trainer: PipelineTrainer<Scalar>) -> Registry {
        trainingLoop(trainer.loop)
    }
}
