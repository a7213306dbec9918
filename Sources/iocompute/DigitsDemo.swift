import Foundation
import IOCompute

/// The IONN part of the demo: an MLP trained on the handwritten digits with autograd and Adam.
struct DigitsDemo {
    let path: String
    let seed: UInt64

    /// Trains, printing each epoch; returns the `digits:` line with the held-out accuracy.
    func run() throws -> String {
        let table = try CSV.read(contentsOf: path, as: Float.self)
        let (train, test) = try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16)
            .shuffledSplit(trainFraction: 0.8, seed: seed)
        print("IONN: a 64→64→10 MLP learns \(train.count) handwritten digits (autograd, Adam)")
        let model = Sequential<Float>([try Linear(64, 64, seed: seed), ReLU(), try Linear(64, 10, seed: seed &+ 2)])
        let optimizer = Adam(model.parameters, learningRate: 0.005)
        let start = Date()
        var accuracy = 0.0
        for epoch in 0..<10 {
            let loss = try Classification.trainEpoch(
                model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: seed &+ UInt64(epoch))
            accuracy = try Classification.accuracy(model, data: test)
            print(String(format: "  epoch %2d  loss %.4f  held-out accuracy %.1f%%", epoch + 1, loss, accuracy * 100))
        }
        return String(
            format: "digits: %.1f%% held-out accuracy on %d images after 10 epochs (%.1f s)", accuracy * 100, test.count,
            Date().timeIntervalSince(start))
    }
}
