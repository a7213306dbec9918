import IONN
import IOTensor

/// One stage of a pipeline-parallel run: its slice of the model's layers, its optimizer, and its
/// part of GPipe's schedule.
struct PipelineStage<Scalar: LinearAlgebraScalar & CollectiveScalar> {
    let recipe: PipelineRecipe<Scalar>
    let config: PipelineConfig
    let context: TrainingContext

    private var stage: Int { context.rank }
    private var isFirst: Bool { context.rank == 0 }
    private var isLast: Bool { context.rank == context.worldSize - 1 }
    private var group: CollectiveGroup { context.group }

    func run() async throws -> PipelineReport<Scalar> {
        let model = try recipe.makeModel()
        let range = try recipe.stageRanges(of: model, stages: context.worldSize)[stage]
        let part = Sequential<Scalar>(Array(model.layers[range]))
        let optimizer = try recipe.makeOptimizer(part.parameters)
        // Every stage reads the data: the first for the features, the last for the labels, and
        // all of them for the batches' sizes.
        let data = try recipe.loadData()
        let batchSize = config.batchSize
        let stepsPerEpoch = max(1, (data.train.count + batchSize - 1) / batchSize)
        let totalSteps = config.epochs * stepsPerEpoch
        var history: [TrainingStep] = []
        var progress = isLast && config.showsProgress ? ProgressBar(total: totalSteps, startingAt: 0) : nil
        var batches: [LabeledData<Scalar>] = []
        var batchesOfEpoch = -1
        for step in 0..<totalSteps {
            let epoch = step / stepsPerEpoch
            if epoch != batchesOfEpoch {
                batches = try data.train.batches(size: batchSize, shuffleSeed: config.shuffleSeed &+ UInt64(epoch))
                batchesOfEpoch = epoch
            }
            let started = ContinuousClock.now
            let batch = batches[step % stepsPerEpoch]
            let loss = try await train(part, optimizer, on: batch)
            if isLast {
                let seconds = max((ContinuousClock.now - started).seconds, 1e-9)
                let record = TrainingStep(
                    step: step + 1, epoch: epoch, loss: loss, samplesPerSecond: Double(batch.count) / seconds, workers: context.worldSize)
                history.append(record)
                progress?.update(record)
            }
        }
        var metrics = try await evaluate(part, on: data.validation)
        if let last = history.last { metrics["loss"] = last.loss }
        let weights = model.stateDictionary().filter { name, _ in
            name.split(separator: ".").first.flatMap { Int($0) }.map { range.contains($0) } ?? false
        }
        return PipelineReport(history: isLast ? history : [], metrics: isLast ? metrics : [:], weights: weights)
    }

    /// One batch in GPipe's schedule: every micro-batch forward, then every one backward in
    /// reverse order, then one optimizer step. Returns the batch's mean loss on the last stage.
    private func train(_ part: Sequential<Scalar>, _ optimizer: any Optimizer<Scalar>, on batch: LabeledData<Scalar>) async throws -> Double
    {
        let count = batch.count
        let micro = (0..<config.microBatches).map { count * $0 / config.microBatches..<count * ($0 + 1) / config.microBatches }
            .filter { !$0.isEmpty }
        part.train()
        optimizer.zeroGradients()
        var inputs: [Variable<Scalar>] = []
        var outputs: [Variable<Scalar>] = []
        var lossSum = 0.0
        for rows in micro {
            let input: Variable<Scalar>
            if isFirst {
                input = Variable(try features(try batch.features.slice(alongAxis: 0, rows)))
            } else {
                input = Variable(try await group.receive(Scalar.self, from: stage - 1), requiresGradient: true)
            }
            let output = try part(input)
            if isLast {
                let loss = try recipe.loss(output, Array(batch.labels[rows]))
                lossSum += loss.value.scalar.doubleValue * Double(rows.count)
                // Weighted by its share, so that the accumulated gradients are the whole batch's.
                outputs.append(loss * Scalar(converting: Double(rows.count) / Double(count)))
            } else {
                try await group.send(output.value, to: stage + 1)
                outputs.append(output)
            }
            inputs.append(input)
        }
        for index in micro.indices.reversed() {
            let output = outputs[index]
            if isLast {
                try output.backward()
            } else {
                let gradient = try await group.receive(Scalar.self, from: stage + 1)
                if output.requiresGradient { try output.backward(seed: gradient) }
            }
            if !isFirst {
                let input = inputs[index]
                try await group.send(try input.gradient ?? Tensor<Scalar>.zeros(input.shape), to: stage - 1)
            }
        }
        try optimizer.step()
        return lossSum / Double(max(count, 1))
    }

    /// The validation loss and accuracy, the validation set flowing once through the stages.
    private func evaluate(_ part: Sequential<Scalar>, on validation: LabeledData<Scalar>?) async throws -> [String: Double] {
        guard let validation, validation.count > 0 else { return [:] }
        part.eval()
        defer { part.train() }
        let input = isFirst ? try features(validation.features) : try await group.receive(Scalar.self, from: stage - 1)
        let output = try withoutGradients { try part(Variable(input)) }
        guard isLast else {
            try await group.send(output.value, to: stage + 1)
            return [:]
        }
        let predictions = try output.value.argmax(alongAxis: 1).scalars
        return [
            "validationLoss": try recipe.loss(output, validation.labels).value.scalar.doubleValue,
            "validationAccuracy": Double(zip(predictions, validation.labels).filter { $0 == $1 }.count) / Double(validation.count),
        ]
    }

    private func features(_ rows: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard let shape = recipe.inputShape else { return rows }
        return try rows.reshaped([rows.shape[0]] + shape)
    }
}
