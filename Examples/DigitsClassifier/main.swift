// Trains two classifiers of handwritten digits (8×8 images, Examples/Data/digits.csv.gz) with
// IONN: an MLP and a small CNN, on a fixed 80/20 split. Prints the loss and the held-out
// accuracy per epoch and saves each model as safetensors.
//
//     swift run -c release DigitsClassifier [path/to/digits.csv.gz]
import Foundation
import IOCompute

let path = CommandLine.arguments.dropFirst().first ?? "Examples/Data/digits.csv.gz"
guard FileManager.default.fileExists(atPath: path) else {
    print("no digits data at \(path); run from the repository root or pass the path")
    exit(1)
}
// Pixels 0–16 scaled to 0–1; the label is the last column.
let digits = try LabeledData(table: try CSV.read(contentsOf: path, as: Float.self), labelColumn: 64, featureScale: 1.0 / 16)
let (train, test) = try digits.shuffledSplit(trainFraction: 0.8, seed: 2026)
print("digits: \(train.count) training and \(test.count) held-out images, \(digits.classCount) classes")

/// Trains `model` for `epochs`, printing each epoch, and saves it to `file`.
func fit(_ name: String, _ model: Sequential<Float>, epochs: Int, learningRate: Double, imageShape: [Int]?, file: String) throws {
    let optimizer = Adam(model.parameters, learningRate: learningRate)
    let schedule = LearningRateSchedule.cosine(base: learningRate, totalSteps: epochs)
    let start = Date()
    for epoch in 0..<epochs {
        optimizer.learningRate = schedule.rate(atStep: epoch)
        let loss = try Classification.trainEpoch(
            model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch), reshapingFeaturesTo: imageShape)
        let accuracy = try Classification.accuracy(model, data: test, reshapingFeaturesTo: imageShape)
        print(String(format: "%@ epoch %2d  loss %.4f  held-out accuracy %.2f %%", name, epoch + 1, loss, accuracy * 100))
    }
    try model.save(to: file, metadata: ["model": name])
    print(String(format: "%@: %.1f s, saved to %@\n", name, Date().timeIntervalSince(start), file))
}

let mlp = Sequential<Float>([
    try Linear(64, 128, seed: 1), ReLU(), try Linear(128, 64, seed: 3), ReLU(), try Linear(64, 10, seed: 5),
])
try fit("MLP", mlp, epochs: 20, learningRate: 0.003, imageShape: nil, file: "digits-mlp.safetensors")

let cnn = Sequential<Float>([
    try Conv2d(1, 16, kernel: (3, 3), padding: 1, seed: 11), ReLU(), MaxPool2d(kernel: (2, 2)),  // 16×4×4
    try Conv2d(16, 32, kernel: (3, 3), padding: 1, seed: 13), ReLU(), MaxPool2d(kernel: (2, 2)),  // 32×2×2
    Flatten(), try Linear(128, 64, seed: 15), ReLU(), try Linear(64, 10, seed: 17),
])
try fit("CNN", cnn, epochs: 20, learningRate: 0.003, imageShape: [1, 8, 8], file: "digits-cnn.safetensors")
