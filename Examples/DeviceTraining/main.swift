// Trains the digits CNN (Examples/Data/digits.csv.gz) on an OpenCL device and on the CPU, and
// compares them: the same seeded model and batches, so the same losses and held-out accuracy.
// Lists the OpenCL devices first; picks the best one (a GPU where a driver provides one, PoCL's
// CPU device otherwise), or the one numbered on the command line.
//
//     swift run -c release DeviceTraining [device number]
import Foundation
import IOCompute

let path = "Examples/Data/digits.csv.gz"
guard FileManager.default.fileExists(atPath: path) else {
    print("no digits data at \(path); run from the repository root")
    exit(1)
}
let devices: [OpenCLDevice]
do {
    devices = try OpenCL.devices()
} catch {
    print("no OpenCL device: \(error)")
    exit(1)
}
for device in devices { print("OpenCL \(device)") }
let chosen = try CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? OpenCL.bestDevice().index
let device = Device.opencl(chosen)
print("training on \(device) and on the CPU\n")

let digits = try LabeledData(table: try CSV.read(contentsOf: path, as: Float.self), labelColumn: 64, featureScale: 1.0 / 16)
let (train, test) = try digits.shuffledSplit(trainFraction: 0.8, seed: 2026)

/// Trains the seeded CNN on `target` for `epochs`; returns the held-out accuracy.
func run(on target: Device, epochs: Int) throws -> Double {
    let model = Sequential<Float>([
        try Conv2d(1, 16, kernel: (3, 3), padding: 1, seed: 11), ReLU(), MaxPool2d(kernel: (2, 2)),
        try Conv2d(16, 32, kernel: (3, 3), padding: 1, seed: 13), ReLU(), MaxPool2d(kernel: (2, 2)),
        Flatten(), try Linear(128, 64, seed: 15), ReLU(), try Linear(64, 10, seed: 17),
    ])
    try model.to(target)  // the parameters move; the optimizer made next keeps them there
    let optimizer = Adam(model.parameters, learningRate: 0.003)
    let start = Date()
    var reads = 0
    for epoch in 0..<epochs {
        // Batches come from host memory; everything after the upload runs where the model lives.
        let (loss, epochReads) = try DeviceTransfers.counting {
            try Classification.trainEpoch(
                model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch), reshapingFeaturesTo: [1, 8, 8])
        }
        reads += epochReads
        print(String(format: "%@ epoch %2d  loss %.4f", "\(target)", epoch + 1, loss))
    }
    let accuracy = try Classification.accuracy(model, data: test, reshapingFeaturesTo: [1, 8, 8])
    let steps = epochs * ((train.count + 31) / 32)
    print(
        String(
            format: "%@: held-out accuracy %.2f %% in %.1f s, %.1f device reads per step\n", "\(target)", accuracy * 100,
            Date().timeIntervalSince(start), Double(reads) / Double(steps)))
    return accuracy
}

let onDevice = try run(on: device, epochs: 12)
let onCPU = try run(on: .cpu, epochs: 12)
print(String(format: "accuracy on %@ %.2f %%, on the CPU %.2f %%", "\(device)", onDevice * 100, onCPU * 100))
