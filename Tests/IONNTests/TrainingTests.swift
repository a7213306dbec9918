import Foundation
import IONN
import IOTensor
import Testing

@Suite("training on real data")
struct TrainingTests {
    /// The digits data set (8×8 images, pixels 0–16, label last), shuffled with a fixed seed and
    /// split 80/20: the same split on every run.
    static func digits() throws -> (train: (Tensor<Float>, [Int]), test: (Tensor<Float>, [Int])) {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples/Data/digits.csv.gz")
        let table = try CSV.read(contentsOf: file.standardized.path, as: Float.self)
        let rows = table.shape[0]
        var order = Array(0..<rows)
        var state: UInt64 = 2026
        for index in stride(from: rows - 1, to: 0, by: -1) {  // Fisher–Yates with SplitMix64.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            order.swapAt(index, Int((z ^ (z >> 31)) % UInt64(index + 1)))
        }
        let shuffled = try table.selecting(order, alongAxis: 0)
        let pixels = try shuffled.slice(alongAxis: 1, 0..<64) / 16
        let labels = try shuffled.select(64, alongAxis: 1).scalars.map { Int($0) }
        let cut = rows * 4 / 5
        return (
            (try pixels.slice(alongAxis: 0, 0..<cut).contiguous(), Array(labels[..<cut])),
            (try pixels.slice(alongAxis: 0, cut..<rows).contiguous(), Array(labels[cut...]))
        )
    }

    @Test("a small MLP trained for a few epochs classifies held-out digits far above chance")
    func digitsMLP() throws {
        let ((trainX, trainY), (testX, testY)) = try Self.digits()
        let model = Sequential<Float>([try Linear(64, 32, seed: 1), ReLU(), try Linear(32, 10, seed: 3)])
        let optimizer = Adam(model.parameters, learningRate: 0.01)
        let batch = 32
        var losses: [Float] = []
        for _ in 0..<5 {
            var epochLoss: Float = 0
            for start in stride(from: 0, to: trainY.count, by: batch) {
                let end = min(start + batch, trainY.count)
                optimizer.zeroGradients()
                let logits = try model(Variable(try trainX.slice(alongAxis: 0, start..<end)))
                let loss = try Loss.crossEntropy(logits: logits, labels: Array(trainY[start..<end]))
                try loss.backward()
                try optimizer.step()
                epochLoss += loss.value.scalar * Float(end - start)
            }
            losses.append(epochLoss / Float(trainY.count))
        }
        #expect(losses.last! < losses.first! / 2, "the loss falls: \(losses)")
        model.eval()
        let predictions = try withoutGradients { try model(Variable(testX)).value.argmax(alongAxis: 1).scalars }
        let accuracy = Double(zip(predictions, testY).filter { $0 == $1 }.count) / Double(testY.count)
        #expect(accuracy > 0.85, "held-out accuracy \(accuracy) (chance is 0.1)")
    }
}
