import IONN
import IOTensor

/// One rank of a data-parallel run: its replica, its optimizer and its share of every batch.
struct DataParallelRank<Scalar: LinearAlgebraScalar & CollectiveScalar> {
    let recipe: DataParallelRecipe<Scalar>
    let config: DataParallelConfig
    let context: TrainingContext

    func run() async throws -> DataParallelReport {
        let model = try recipe.makeModel()
        let optimizer = try recipe.makeOptimizer(model.parameters)
        let data = try recipe.loadData()
        let (rank, size) = (context.rank, context.worldSize)
        let batchSize = config.globalBatchSize
        let stepsPerEpoch = max(1, (data.train.count + batchSize - 1) / batchSize)
        let totalSteps = config.epochs * stepsPerEpoch
        let store = config.checkpointStore

        var step = 0
        var history: [TrainingStep] = []
        if config.resume, let store {
            // Rank 0 picks the checkpoint and every rank resumes from that one: a save still in
            // flight from an earlier attempt could otherwise make the ranks see different latest
            // checkpoints and run different numbers of steps.
            var chosen = rank == 0 ? Int64(try store.latest()?.step ?? 0) : 0
            if size > 1 { chosen = try await context.group.broadcast(Tensor<Int64>([chosen]), from: 0).scalars[0] }
            if chosen > 0 {
                let checkpoint = try store.checkpoint(step: Int(chosen))
                try model.load(from: checkpoint.modelPath)
                try optimizer.load(from: checkpoint.optimizerPath)
                step = checkpoint.step
                history = try store.progress(of: checkpoint).history
            }
        }
        if size > 1 {
            // Replicas start equal whatever the recipe does: rank 0's weights everywhere.
            for parameter in model.parameters { try parameter.assign(try await context.group.broadcast(parameter.value, from: 0)) }
        }

        let buckets = GradientBuckets(parameters: model.parameters, bucketBytes: config.bucketBytes)
        let end = min(totalSteps, config.stopsAtStep ?? totalSteps)
        var progress = rank == 0 && config.showsProgress ? ProgressBar(total: totalSteps, startingAt: step) : nil
        var batches: [LabeledData<Scalar>] = []
        var batchesOfEpoch = -1
        while step < end {
            let epoch = step / stepsPerEpoch
            if epoch != batchesOfEpoch {
                batches = try data.train.batches(size: batchSize, shuffleSeed: config.shuffleSeed &+ UInt64(epoch))
                batchesOfEpoch = epoch
            }
            let started = ContinuousClock.now
            let batch = batches[step % stepsPerEpoch]
            let shard = batch.count * rank / size..<batch.count * (rank + 1) / size
            model.train()
            optimizer.zeroGradients()
            let sums: [Scalar]
            if !shard.isEmpty {
                let part = try batch.subset(Array(shard))
                let loss = try recipe.loss(try model(Variable(try inputs(part.features))), part.labels)
                let lossSum = Scalar(converting: loss.value.scalar.doubleValue * Double(shard.count))
                // Each rank's mean loss weighted by its share: the summed gradients are those of
                // the global batch's mean loss.
                let weighted = loss * Scalar(converting: Double(shard.count) / Double(batch.count))
                if config.overlapsCommunication && batch.count >= size {
                    // Every rank has a shard, so every rank runs the same backward pass: buckets
                    // are summed as their gradients complete.
                    sums = try await buckets.allreduce(model.parameters, in: context.group, extras: [lossSum]) { onGradient in
                        try weighted.backward(onLeafGradient: onGradient)
                    }
                } else {
                    try weighted.backward()
                    sums = try await buckets.allreduce(model.parameters, in: context.group, extras: [lossSum])
                }
            } else {
                sums = try await buckets.allreduce(model.parameters, in: context.group, extras: [0])
            }
            try optimizer.step()
            step += 1
            let seconds = max((ContinuousClock.now - started).seconds, 1e-9)
            let record = TrainingStep(
                step: step, epoch: epoch, loss: sums[0].doubleValue / Double(batch.count),
                samplesPerSecond: Double(batch.count) / seconds, workers: size)
            history.append(record)
            progress?.update(record)
            let every = config.checkpointEvery > 0 ? config.checkpointEvery : stepsPerEpoch
            if rank == 0, let store, step % every == 0 || step == totalSteps {
                try store.save(step: step, model: model, optimizer: optimizer, metrics: try evaluate(model, data, record), history: history)
            }
        }
        let metrics = rank == 0 && step == totalSteps ? try evaluate(model, data, history.last) : [:]
        return DataParallelReport(history: history, metrics: metrics, completedSteps: step, totalSteps: totalSteps)
    }

    /// The last step's loss, and the loss and accuracy on the validation data when there is some.
    private func evaluate(_ model: any Layer<Scalar>, _ data: TrainingData<Scalar>, _ last: TrainingStep?) throws -> [String: Double] {
        var metrics: [String: Double] = [:]
        if let last { metrics["loss"] = last.loss }
        guard let validation = data.validation, validation.count > 0 else { return metrics }
        model.eval()
        defer { model.train() }
        let logits = try withoutGradients { try model(Variable(try inputs(validation.features))) }
        metrics["validationLoss"] = try recipe.loss(logits, validation.labels).value.scalar.doubleValue
        let predictions = try logits.value.argmax(alongAxis: 1).scalars
        metrics["validationAccuracy"] = Double(zip(predictions, validation.labels).filter { $0 == $1 }.count) / Double(validation.count)
        return metrics
    }

    private func inputs(_ features: Tensor<Scalar>) throws -> Tensor<Scalar> {
        guard let shape = recipe.inputShape else { return features }
        return try features.reshaped([features.shape[0]] + shape)
    }
}
