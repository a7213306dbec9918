import IONN
import IOTensor
import IOTensorOpenCL
import Testing

/// Every loss on device tensors gives the CPU's value and gradient, and keeps the gradient there.
@Suite("Losses on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceLossTests {
    /// The loss and the gradient of its input, computed where `input` lives.
    static func lossAndGradient(
        _ input: Tensor<Float>, _ loss: (Variable<Float>) throws -> Variable<Float>
    ) throws -> (loss: Float, gradient: Tensor<Float>, reads: Int) {
        let variable = Variable(input, requiresGradient: true)
        let (value, reads) = try DeviceTransfers.counting {
            let result = try loss(variable)
            try result.backward()
            return result.value.scalar
        }
        return (value, variable.gradient!, reads)
    }

    @Test("mean squared error, Huber, binary and multi-class cross-entropy equal the CPU")
    func losses() throws {
        let check = try DeviceCheck()
        let logits = try Tensor<Float>.randomNormal([37, 11], seed: 1) * 3
        let targets = try Tensor<Float>.randomUniform([37, 11], lowerBound: 0, upperBound: 1, seed: 2)
        let labels = (0..<37).map { ($0 * 5) % 11 }
        let deviceTargets = try targets.to(check.device)
        let cases: [(String, (Variable<Float>, Tensor<Float>) throws -> Variable<Float>)] = [
            ("mean squared error", { try Loss.meanSquaredError($0, $1) }),
            ("Huber", { try Loss.huber($0, $1, delta: 0.7) }),
            ("binary cross-entropy", { try Loss.binaryCrossEntropy(logits: $0, targets: $1) }),
            ("cross-entropy", { x, _ in try Loss.crossEntropy(logits: x, labels: labels) }),
        ]
        for (name, loss) in cases {
            let cpu = try Self.lossAndGradient(logits) { try loss($0, targets) }
            let device = try Self.lossAndGradient(try logits.to(check.device)) { try loss($0, deviceTargets) }
            #expect(
                Swift.abs(device.loss - cpu.loss) <= 1e-5 * Swift.max(1, Swift.abs(cpu.loss)), "\(name): \(device.loss) against \(cpu.loss)"
            )
            #expect(device.gradient.device == check.device, "\(name): the gradient stays on the device")
            #expect(device.reads <= 2, "\(name): \(device.reads) host reads")
            let (a, e) = (try device.gradient.to(.cpu).scalars, cpu.gradient.scalars)
            let worst = zip(a, e).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6, "\(name): gradients differ by \(worst)")
        }
    }

    @Test("GELU on the device gives the CPU's values and gradient, and keeps them there")
    func gelu() throws {
        let check = try DeviceCheck()
        let x = try Tensor<Float>.randomNormal([23, 17], standardDeviation: 3, seed: 3)
        let cpu = try Self.lossAndGradient(x) { try $0.gelu().sum() }
        let device = try Self.lossAndGradient(try x.to(check.device)) { try $0.gelu().sum() }
        #expect(Swift.abs(device.loss - cpu.loss) <= 1e-5 * Swift.max(1, Swift.abs(cpu.loss)), "\(device.loss) against \(cpu.loss)")
        #expect(device.gradient.device == check.device)
        let worst = zip(try device.gradient.to(.cpu).scalars, cpu.gradient.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5, "gradients differ by \(worst)")
    }
}

@Suite("Indexing gradients on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceIndexingGradientTests {
    @Test("the gradients of slices, steps, selections and splits equal the CPU's and stay on the device")
    func indexingGradients() throws {
        let check = try DeviceCheck()
        let x = try Tensor<Float>.randomNormal([6, 7, 5], seed: 4)
        let cases: [(String, (Variable<Float>) throws -> Variable<Float>)] = [
            ("slice", { try $0.slice(alongAxis: 1, 2..<5) }),
            ("slice from the start", { try $0.slice(alongAxis: 0, 0..<4) }),
            ("slice with a step", { try $0.slice(alongAxis: 2, 0..<5, step: 2) }),
            ("select", { try $0.select(3, alongAxis: 1) }),
            ("selecting with repeats", { try $0.selecting([4, 0, 4, 2], alongAxis: 0) }),
            ("split", { v in try Variable.concatenate(try v.split(sizes: [2, 5], alongAxis: 1).reversed(), alongAxis: 1) }),
        ]
        for (name, operation) in cases {
            // A weighted sum, so that every position's gradient differs.
            func loss(_ v: Variable<Float>) throws -> Variable<Float> {
                let picked = try operation(v)
                let w = try Tensor<Float>.randomNormal(picked.shape, seed: 5).to(v.value.device)
                return try (picked * Variable(w)).sum()
            }
            let cpu = Variable(x, requiresGradient: true)
            try loss(cpu).backward()
            let onDevice = Variable(try x.to(check.device), requiresGradient: true)
            try loss(onDevice).backward()
            let gradient = try #require(onDevice.gradient)
            #expect(gradient.device == check.device, "\(name): the gradient stays on the device")
            let worst = zip(try gradient.to(.cpu).scalars, cpu.gradient!.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6, "\(name): gradients differ by \(worst)")
        }
    }
}
