import IOTensor

/// The training loop of a classifier, for examples and for code that does not need its own.
public enum Classification {
    /// One pass over `data` in shuffled batches: forward, cross-entropy, backward, step. Returns
    /// the mean loss over the samples. Puts the model in training mode.
    public static func trainEpoch<Scalar, Model: Layer<Scalar>>(
        _ model: Model, optimizer: some Optimizer<Scalar>, data: LabeledData<Scalar>, batchSize: Int, shuffleSeed: UInt64,
        reshapingFeaturesTo shape: [Int]? = nil
    ) throws -> Double {
        model.train()
        var total = 0.0
        for batch in try data.batches(size: batchSize, shuffleSeed: shuffleSeed) {
            optimizer.zeroGradients()
            let inputs = try input(batch.features, shape)
            let loss = try Loss.crossEntropy(logits: model(Variable(inputs)), labels: batch.labels)
            try loss.backward()
            try optimizer.step()
            total += Double(loss.value.scalar) * Double(batch.count)
        }
        return total / Double(Swift.max(data.count, 1))
    }

    /// The fraction of `data` the model labels correctly (evaluation mode, no gradients).
    public static func accuracy<Scalar, Model: Layer<Scalar>>(
        _ model: Model, data: LabeledData<Scalar>, reshapingFeaturesTo shape: [Int]? = nil
    ) throws -> Double {
        model.eval()
        let predictions = try withoutGradients {
            try model(Variable(try input(data.features, shape))).value.argmax(alongAxis: 1).scalars
        }
        let correct = zip(predictions, data.labels).filter { $0 == $1 }.count
        return Double(correct) / Double(Swift.max(data.count, 1))
    }

    /// Features reshaped to [batch] + `shape` (flat rows to images, say).
    private static func input<Scalar>(_ features: Tensor<Scalar>, _ shape: [Int]?) throws -> Tensor<Scalar> {
        guard let shape else { return features }
        return try features.reshaped([features.shape[0]] + shape)
    }
}
