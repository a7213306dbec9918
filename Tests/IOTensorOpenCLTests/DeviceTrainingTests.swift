import Foundation
import IONN
import IOTensor
import IOTensorOpenCL
import Testing

@Suite("IONN training on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceTrainingTests {
    /// The digits data set split 80/20 with a fixed seed, as the IONN tests use it.
    static func digits() throws -> (train: LabeledData<Float>, test: LabeledData<Float>) {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Examples/Data/digits.csv.gz")
        let table = try CSV.read(contentsOf: file.standardized.path, as: Float.self)
        return try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16).shuffledSplit(trainFraction: 0.8, seed: 2026)
    }

    /// Trains the same seeded MLP with the same batches; returns the loss per epoch and the
    /// held-out accuracy.
    static func train(on device: Device, epochs: Int) throws -> (losses: [Double], accuracy: Double, model: Sequential<Float>) {
        let (train, test) = try digits()
        let model = Sequential<Float>([try Linear(64, 64, seed: 1), ReLU(), try Linear(64, 10, seed: 3)])
        try model.to(device)
        let optimizer = Adam(model.parameters, learningRate: 0.01)
        var losses: [Double] = []
        for epoch in 0..<epochs {
            losses.append(
                try Classification.trainEpoch(model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch)))
        }
        return (losses, try Classification.accuracy(model, data: test), model)
    }

    @Test("the digits MLP trained on the device follows the CPU's loss curve and reaches the same held-out accuracy")
    func digitsMLP() throws {
        let check = try DeviceCheck()
        let cpu = try Self.train(on: .cpu, epochs: 4)
        let launchesBefore = check.backend.launchCount
        let device = try Self.train(on: check.device, epochs: 4)
        #expect(check.backend.launchCount > launchesBefore + 1000, "the training ran its kernels on the device")
        for parameter in device.model.parameters { #expect(parameter.value.device == check.device) }
        for (epoch, (a, b)) in zip(device.losses, cpu.losses).enumerated() {
            #expect(Swift.abs(a - b) <= 1e-3 * Swift.max(1, Swift.abs(b)), "epoch \(epoch): loss \(a) on the device, \(b) on the CPU")
        }
        #expect(Swift.abs(device.accuracy - cpu.accuracy) <= 0.01, "accuracy \(device.accuracy) on the device, \(cpu.accuracy) on the CPU")
        #expect(device.accuracy > 0.9)
    }

    @Test("a small CNN trained on the device follows the CPU's loss curve, its windows computed there")
    func digitsCNN() throws {
        let check = try DeviceCheck()
        let (train, test) = try Self.digits()
        func run(on device: Device) throws -> (losses: [Double], accuracy: Double) {
            let model = Sequential<Float>([
                try Conv2d(1, 8, kernel: (3, 3), padding: 1, seed: 5), ReLU(), MaxPool2d(kernel: (2, 2)), Flatten(),
                try Linear(128, 10, seed: 7),
            ])
            try model.to(device)
            let optimizer = Adam(model.parameters, learningRate: 0.01)
            var losses: [Double] = []
            for epoch in 0..<2 {
                losses.append(
                    try Classification.trainEpoch(
                        model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch), reshapingFeaturesTo: [1, 8, 8])
                )
            }
            return (losses, try Classification.accuracy(model, data: test, reshapingFeaturesTo: [1, 8, 8]))
        }
        let cpu = try run(on: .cpu)
        let fallbacksBefore = check.backend.fallbackCount
        let device = try run(on: check.device)
        #expect(check.backend.fallbackCount == fallbacksBefore, "fell back: \(check.backend.lastFallbackReason ?? "")")
        for (epoch, (a, b)) in zip(device.losses, cpu.losses).enumerated() {
            #expect(Swift.abs(a - b) <= 1e-3 * Swift.max(1, Swift.abs(b)), "epoch \(epoch): loss \(a) on the device, \(b) on the CPU")
        }
        #expect(Swift.abs(device.accuracy - cpu.accuracy) <= 0.01, "accuracy \(device.accuracy) on the device, \(cpu.accuracy) on the CPU")
        #expect(device.accuracy > 0.8)
    }
}

@Suite("Host traffic of training on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceTrafficTests {
    @Test("a training step on the device reads back only its loss")
    func trainingStepReads() throws {
        let check = try DeviceCheck()
        let (train, _) = try DeviceTrainingTests.digits()
        let model = Sequential<Float>([
            try Conv2d(1, 4, kernel: (3, 3), padding: 1, seed: 5), ReLU(), MaxPool2d(kernel: (2, 2)), Flatten(),
            try Linear(64, 32, seed: 6), ReLU(), try Linear(32, 10, seed: 7),
        ])
        try model.to(check.device)
        for optimizer in [
            Adam(model.parameters, learningRate: 0.01) as any Optimizer<Float>, SGD(model.parameters, learningRate: 0.01, momentum: 0.9),
            RMSProp(model.parameters, learningRate: 0.001, momentum: 0.5),
        ] {
            let batches = try train.batches(size: 32, shuffleSeed: 1).prefix(4)
            var readsPerStep: [Int] = []
            for batch in batches {
                let inputs = try batch.features.reshaped([batch.count, 1, 8, 8]).to(check.device)
                let (_, reads) = try DeviceTransfers.counting {
                    optimizer.zeroGradients()
                    let loss = try Loss.crossEntropy(logits: model(Variable(inputs)), labels: batch.labels)
                    try loss.backward()
                    try optimizer.step()
                    return loss.value.scalar
                }
                readsPerStep.append(reads)
            }
            #expect(readsPerStep.allSatisfy { $0 <= 1 }, "\(type(of: optimizer)): host reads per step \(readsPerStep)")
        }
        for parameter in model.parameters { #expect(parameter.value.device == check.device) }
    }
}
