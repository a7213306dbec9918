import IONN
import IOTensor
import Testing

@Suite("layers", .timeLimit(.minutes(3)))
struct LayerTests {
    @Test("Linear: PyTorch's shapes and names, seeded initialization with the documented spread")
    func linear() throws {
        let layer = try Linear<Double>(300, 200, seed: 7)
        #expect(layer.weight.shape == [200, 300] && layer.bias?.shape == [200])
        #expect(layer.namedParameters.map(\.name) == ["weight", "bias"])
        let bound = 1 / 300.0.squareRoot()
        #expect(layer.weight.value.scalars.allSatisfy { abs($0) <= bound })
        #expect(try Linear<Double>(300, 200, seed: 7).weight.value == layer.weight.value, "same seed, same weights")
        #expect(try Linear<Double>(300, 200, seed: 8).weight.value != layer.weight.value)
        // Kaiming normal: variance 2/fanIn; Xavier uniform: variance 2/(fanIn + fanOut).
        let kaiming = try Linear<Double>(300, 200, initialization: .kaimingNormal, seed: 1).weight.value.scalars
        let xavier = try Linear<Double>(300, 200, initialization: .xavierUniform, seed: 1).weight.value.scalars
        func variance(_ values: [Double]) -> Double { values.map { $0 * $0 }.reduce(0, +) / Double(values.count) }
        #expect(abs(variance(kaiming) / (2.0 / 300) - 1) < 0.03)
        #expect(abs(variance(xavier) / (2.0 / 500) - 1) < 0.03)
        // y = x·Wᵀ + b over any leading axes, and its gradients.
        let small = try Linear<Double>(4, 3, seed: 2)
        let x = try GradientCheck.inputs([[2, 5, 4]], seed: 3)
        let y = try small(Variable(x[0]))
        let reference = try x[0].matmul(small.weight.value.transposed()) + small.bias!.value
        #expect(y.value == reference)
        #expect(throws: AutogradError.self) { try small(Variable(Tensor<Double>.zeros([2, 5]))) }
        try GradientCheck.check(x + [small.weight.value, small.bias!.value]) { v in
            try v[0].matmul(v[1].transposed()) + v[2]
        }
    }

    @Test("Sequential names parameters by position and passes the mode to its layers")
    func sequential() throws {
        let dropout = Dropout<Double>(probability: 0.5, seed: 3)
        let model = Sequential<Double>([try Linear(4, 8, seed: 1), ReLU(), dropout, try Linear(8, 2, seed: 2), Softmax()])
        #expect(model.namedParameters.map(\.name) == ["0.weight", "0.bias", "3.weight", "3.bias"])
        let x = Variable(try Tensor<Double>.randomNormal([5, 4], seed: 4))
        model.eval()
        let first = try model(x).value
        #expect(try model(x).value == first, "no dropout in evaluation")
        let rows = try first.sum(alongAxis: 1).scalars
        #expect(rows.allSatisfy { abs($0 - 1) < 1e-12 })
        model.train()
        #expect(try model(x).value != first)
    }

    @Test("Dropout zeroes about p of the elements, scales the rest, and repeats with its seed")
    func dropout() throws {
        let ones = Variable(try Tensor<Double>(repeating: 1, shape: [100, 100]))
        let first = try Dropout<Double>(probability: 0.3, seed: 9)(ones).value.scalars
        let again = try Dropout<Double>(probability: 0.3, seed: 9)(ones).value.scalars
        #expect(first == again)
        let dropped = Double(first.filter { $0 == 0 }.count) / 10_000
        #expect(abs(dropped - 0.3) < 0.02)
        #expect(first.filter { $0 != 0 }.allSatisfy { abs($0 - 1 / 0.7) < 1e-12 })
    }

    @Test("activations as layers match their functions; Flatten keeps the batch axis")
    func activations() throws {
        let x = Variable(try Tensor<Double>.randomNormal([2, 3, 4], seed: 5))
        #expect(try ReLU<Double>()(x).value == x.relu().value)
        #expect(try Tanh<Double>()(x).value == x.tanh().value)
        #expect(try Sigmoid<Double>()(x).value == x.sigmoid().value)
        #expect(try GELU<Double>()(x).value == x.gelu().value)
        #expect(try Flatten<Double>()(x).shape == [2, 12])
        // GELU(1) = Φ(1) ≈ 0.841344746.
        let one = Variable(try Tensor<Double>(shape: [1], scalars: [1]))
        #expect(abs(try one.gelu().value.scalars[0] - 0.841_344_746_068_543) < 1e-12)
    }
}
