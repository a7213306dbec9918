import Foundation
import IONN
import IORuntime
import IOTensor
import IOTrain

/// The training loops of the IOTrain tests, registered in the in-process and the multi-process
/// tests' registries alike.
public enum TrainingFixtures {
    /// The digits data (8×8 images, pixels scaled to 0–1) split 80/20 as the IONN tests do.
    public static func digits() throws -> TrainingData<Float> {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples/Data/digits.csv.gz")
        let table = try CSV.read(contentsOf: file.path, as: Float.self)
        let all = try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16)
        let (train, test) = try all.shuffledSplit(trainFraction: 0.8, seed: 2026)
        return TrainingData(train: train, validation: test)
    }

    /// A small MLP on the digits with SGD and momentum.
    public static let digitsTrainer = DataParallelTrainer<Float>(
        DataParallelRecipe(
            name: "digits-mlp",
            makeModel: { Sequential<Float>([try Linear(64, 32, seed: 1), ReLU(), try Linear(32, 10, seed: 3)]) },
            makeOptimizer: { SGD($0, learningRate: 0.1, momentum: 0.9) },
            loadData: { try digits() }))

    /// The model of the pipeline tests: five layers to cut into two or three stages.
    public static func pipelineModel() throws -> Sequential<Float> {
        Sequential<Float>([
            try Linear(64, 48, seed: 11), ReLU(), try Linear(48, 32, seed: 13), ReLU(), try Linear(32, 10, seed: 15),
        ])
    }

    /// The pipeline model on the digits with SGD and momentum, cut by parameter count.
    public static let digitsPipeline = PipelineTrainer<Float>(
        PipelineRecipe(
            name: "digits-pipeline", makeModel: { try pipelineModel() }, makeOptimizer: { SGD($0, learningRate: 0.1, momentum: 0.9) },
            loadData: { try digits() }))

    /// Each rank's `rank × config`, averaged over the group, with the rank and world size it saw.
    public static let averages = TrainingLoop("averages") { (context, config: Int) async throws -> [Double] in
        let mine = Tensor<Double>([Double(context.rank * config)])
        let average = try await context.group.allreduce(mine, .average).scalars[0]
        return [Double(context.rank), Double(context.worldSize), average]
    }
}
