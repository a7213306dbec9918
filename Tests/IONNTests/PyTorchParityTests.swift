import Foundation
import IONN
import IOTensor
import Testing

@Suite("parity with PyTorch", .timeLimit(.minutes(3)))
struct PyTorchParityTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The model of `Fixtures/make_pytorch_fixture.py`, layer for layer.
    static func model() throws -> Sequential<Double> {
        Sequential<Double>([
            try Conv2d(1, 4, kernel: (3, 3), padding: 1, seed: 0), ReLU(), MaxPool2d(kernel: (2, 2)),
            try Conv2d(4, 6, kernel: (3, 3), stride: 2, padding: 1, seed: 0), GELU(), AvgPool2d(kernel: (2, 2)),
            Flatten(), try Linear(6, 16, seed: 0), try BatchNorm1d(16), try LayerNorm(16), Tanh(), try Linear(16, 10, seed: 0),
            Sigmoid(),
        ])
    }

    @Test("weights exported from PyTorch give PyTorch's outputs and gradients")
    func exportedModel() throws {
        let model = try Self.model()
        try model.load(from: Self.fixtures.appendingPathComponent("pytorch_model.safetensors").path)
        model.eval()
        let io = try Safetensors.read(contentsOf: Self.fixtures.appendingPathComponent("pytorch_io.safetensors").path)
        let input = Variable(try io.tensor("input", as: Double.self), requiresGradient: true)
        let output = try model(input)
        let expected = try io.tensor("output", as: Double.self)
        #expect(output.shape == expected.shape)
        #expect(try (output.value - expected).abs().max().scalar < 1e-12)
        try output.sum().backward()
        #expect(try (input.gradient! - io.tensor("input_gradient", as: Double.self)).abs().max().scalar < 1e-12)
        let firstWeight = model.namedParameters[0].parameter
        #expect(try (firstWeight.gradient! - io.tensor("weight0_gradient", as: Double.self)).abs().max().scalar < 1e-12)
    }

    @Test("a PyTorch state dict with a tensor missing or mis-shaped is refused, naming it")
    func refusals() throws {
        let archive = try Safetensors.read(contentsOf: Self.fixtures.appendingPathComponent("pytorch_model.safetensors").path)
        var state: [String: Tensor<Double>] = [:]
        for name in archive.tensors.keys { state[name] = try archive.tensor(name, as: Double.self) }
        let model = try Self.model()
        var missing = state
        missing["8.running_var"] = nil
        #expect(throws: StateDictionaryError.missing(name: "8.running_var")) { try model.loadStateDictionary(missing) }
        var misshaped = state
        misshaped["7.weight"] = try Tensor<Double>.zeros([16, 7])
        #expect(throws: StateDictionaryError.shapeMismatch(name: "7.weight", expected: [16, 6], actual: [16, 7])) {
            try model.loadStateDictionary(misshaped)
        }
        let floats = Sequential<Float>([try Linear(6, 16, seed: 0)])
        #expect(throws: StateDictionaryError.self) {
            try floats.load(from: Self.fixtures.appendingPathComponent("pytorch_model.safetensors").path, strict: false)
        }
    }
}
