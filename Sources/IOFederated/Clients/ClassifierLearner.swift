import IONN
import IOTensor

/// A federated learner for tabular classification: a multinomial logistic model (no hidden
/// layers) or a ReLU MLP, trained locally with minibatch SGD for a few epochs per round, with
/// FedProx's proximal term when the strategy asks for it.
public struct ClassifierLearner: FederatedLearner {
    public let name: String
    public private(set) var train: LabeledData<Float>
    public private(set) var test: LabeledData<Float>
    public let hiddenSizes: [Int]
    public let classes: Int
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    private let model: Sequential<Float>
    private var seed: UInt64

    /// A learner on `train` (evaluated on `test`), its model of `hiddenSizes` with `classes`
    /// outputs.
    ///
    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` for no training data or settings
    ///   out of range.
    public init(
        name: String, train: LabeledData<Float>, test: LabeledData<Float>, classes: Int, hiddenSizes: [Int] = [], epochs: Int = 1,
        batchSize: Int = 32, learningRate: Double = 0.05, seed: UInt64 = 0
    ) throws {
        guard train.count > 0, classes >= 2, epochs >= 1, batchSize >= 1, learningRate > 0 else {
            throw FederatedError.invalidConfiguration("a classifier learner needs data, 2+ classes, epochs, batches and a learning rate")
        }
        self.name = name
        self.train = train
        self.test = test
        self.classes = classes
        self.hiddenSizes = hiddenSizes
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        model = try Self.model(features: train.features.shape[1], classes: classes, hiddenSizes: hiddenSizes, seed: seed)
    }

    /// The model every client of a federation shares: linear layers with ReLU between them.
    public static func model(features: Int, classes: Int, hiddenSizes: [Int], seed: UInt64) throws -> Sequential<Float> {
        var layers: [any Layer<Float>] = []
        var width = features
        for (index, size) in hiddenSizes.enumerated() {
            layers.append(try Linear(width, size, seed: seed &+ UInt64(index)))
            layers.append(ReLU())
            width = size
        }
        layers.append(try Linear(width, classes, seed: seed &+ 97))
        return Sequential(layers)
    }

    /// The starting global parameters for a federation of such learners.
    public static func initialParameters(features: Int, classes: Int, hiddenSizes: [Int], seed: UInt64) throws -> ModelParameters {
        ModelParameters(try model(features: features, classes: classes, hiddenSizes: hiddenSizes, seed: seed).stateDictionary())
    }

    public mutating func fit(_ parameters: ModelParameters, settings: ClientSettings, round: Int) throws -> (
        parameters: ModelParameters, sampleCount: Int, metrics: [String: Double]
    ) {
        try model.loadStateDictionary(try parameters.stateDictionary())
        let anchors = model.parameters.map(\.value)
        let optimizer = SGD(model.parameters, learningRate: learningRate)
        model.train()
        var total = 0.0
        for epoch in 0..<epochs {
            for batch in try train.batches(size: batchSize, shuffleSeed: seed &+ UInt64(round * 1000 + epoch)) {
                optimizer.zeroGradients()
                var loss = try Loss.crossEntropy(logits: model(Variable(batch.features)), labels: batch.labels)
                total += Double(loss.value.scalar) * Double(batch.count)
                if settings.proximalMu > 0 {
                    loss = try loss + ProximalTerm.loss(model.parameters, global: anchors, mu: settings.proximalMu)
                }
                try loss.backward()
                try optimizer.step()
            }
        }
        return (ModelParameters(model.stateDictionary()), train.count, ["loss": total / Double(train.count * epochs)])
    }

    public func featureStatistics() throws -> FeatureStatistics? {
        FeatureStatistics(rows: train.count, width: train.features.shape[1], values: train.features.scalars)
    }

    /// Standardizes the training and test features with the federation's means and deviations.
    public mutating func standardize(with statistics: FeatureStatistics) throws {
        let width = train.features.shape[1]
        guard statistics.sums.count == width else {
            throw FederatedError.shapeMismatch("statistics of \(statistics.sums.count) features for data of \(width)")
        }
        let means = statistics.means.map { Float($0) }
        let deviations = statistics.standardDeviations.map { Float($0) }
        func scaled(_ data: LabeledData<Float>) throws -> LabeledData<Float> {
            let raw = data.features.scalars
            let values = raw.indices.map { (raw[$0] - means[$0 % width]) / deviations[$0 % width] }
            return try LabeledData(features: try Tensor(shape: data.features.shape, scalars: values), labels: data.labels)
        }
        train = try scaled(train)
        test = try scaled(test)
    }

    public func evaluate(_ parameters: ModelParameters) throws -> ClientEvaluation {
        guard test.count > 0 else { return ClientEvaluation(client: name, loss: 0, sampleCount: 0) }
        try model.loadStateDictionary(try parameters.stateDictionary())
        model.eval()
        let logits = try withoutGradients { try model(Variable(test.features)) }
        let loss = try withoutGradients { try Loss.crossEntropy(logits: logits, labels: test.labels) }.value.scalar
        let predictions = try logits.value.argmax(alongAxis: 1).scalars
        let accuracy = Double(zip(predictions, test.labels).filter { $0 == $1 }.count) / Double(test.count)
        return ClientEvaluation(client: name, loss: Double(loss), sampleCount: test.count, metrics: ["accuracy": accuracy])
    }
}
