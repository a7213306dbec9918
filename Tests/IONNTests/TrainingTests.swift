import Foundation
import IONN
import IOTensor
import Testing

@Suite("training on real data", .timeLimit(.minutes(3)))
struct TrainingTests {
    /// The digits data set (8×8 images, pixels 0–16 scaled to 0–1, label last) split 80/20 with
    /// a fixed seed.
    static func digits() throws -> (train: LabeledData<Float>, test: LabeledData<Float>) {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples/Data/digits.csv.gz")
        let table = try CSV.read(contentsOf: file.standardized.path, as: Float.self)
        return try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16).shuffledSplit(trainFraction: 0.8, seed: 2026)
    }

    @Test("a small MLP trained for a few epochs classifies held-out digits far above chance")
    func digitsMLP() throws {
        let (train, test) = try Self.digits()
        let model = Sequential<Float>([try Linear(64, 32, seed: 1), ReLU(), try Linear(32, 10, seed: 3)])
        let optimizer = Adam(model.parameters, learningRate: 0.01)
        var losses: [Double] = []
        for epoch in 0..<5 {
            losses.append(
                try Classification.trainEpoch(model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch)))
        }
        #expect(losses.last! < losses.first! / 2, "the loss falls: \(losses)")
        let accuracy = try Classification.accuracy(model, data: test)
        #expect(accuracy > 0.85, "held-out accuracy \(accuracy) (chance is 0.1)")
    }

    @Test("a small CNN learns the digits as 8×8 images")
    func digitsCNN() throws {
        let (train, test) = try Self.digits()
        let model = Sequential<Float>([
            try Conv2d(1, 8, kernel: (3, 3), padding: 1, seed: 5), ReLU(), MaxPool2d(kernel: (2, 2)), Flatten(),
            try Linear(128, 10, seed: 7),
        ])
        let optimizer = Adam(model.parameters, learningRate: 0.01)
        for epoch in 0..<2 {
            _ = try Classification.trainEpoch(
                model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch), reshapingFeaturesTo: [1, 8, 8])
        }
        let accuracy = try Classification.accuracy(model, data: test, reshapingFeaturesTo: [1, 8, 8])
        #expect(accuracy > 0.8, "held-out accuracy \(accuracy) (chance is 0.1)")
    }

    @Test("labeled data: fixed splits, shuffled batches that cover every sample once, typed errors")
    func labeledData() throws {
        var rows: [Float] = []
        for index in 0..<10 { rows += [Float(index), Float(index * 2), Float(index % 3)] }
        let table = try Tensor<Float>(shape: [10, 3], scalars: rows)
        let data = try LabeledData<Float>(table: table, labelColumn: 2)
        #expect(data.count == 10 && data.classCount == 3 && data.features.shape == [10, 2])
        let (train, test) = try data.shuffledSplit(trainFraction: 0.7, seed: 1)
        let (again, _) = try data.shuffledSplit(trainFraction: 0.7, seed: 1)
        #expect(train.count == 7 && test.count == 3 && train.features == again.features)
        let seen = Set(train.features.scalars + test.features.scalars)
        let all = Set(try table.slice(alongAxis: 1, 0..<2).contiguous().scalars)
        #expect(seen == all, "a split loses and repeats nothing")
        let batches = try data.batches(size: 4, shuffleSeed: 3)
        #expect(batches.map { $0.count } == [4, 4, 2])
        var firstColumn: [Float] = []
        for batch in batches { firstColumn += try batch.features.select(0, alongAxis: 1).scalars }
        #expect(firstColumn.sorted() == (0..<10).map { Float($0) })
        let repeated = try data.batches(size: 4, shuffleSeed: 3)
        #expect(repeated.map { $0.labels } == batches.map { $0.labels })
        #expect(throws: TensorError.self) { try data.batches(size: 0) }
        #expect(throws: TensorError.self) { try LabeledData<Float>(features: Tensor<Float>.zeros([3, 2]), labels: [1]) }
        let fractional = try Tensor<Float>(shape: [1, 2], scalars: [0.5, 1.5])
        #expect(throws: TensorError.self) { try LabeledData<Float>(table: fractional, labelColumn: 1) }
    }
}
