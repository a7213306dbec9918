import IOTensor
import IOTensorOpenCL
import Testing

/// The fused optimizer updates run as one kernel on the device and give the CPU loops' results.
@Suite("Optimizer updates on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceUpdateTests {
    let check: DeviceCheck

    init() throws { check = try DeviceCheck() }

    static let updates: [ParameterUpdate] = [
        .sgd(rate: 0.1, momentum: 0, nesterov: false, decay: 0.01),
        .sgd(rate: 0.05, momentum: 0.9, nesterov: false, decay: 0),
        .sgd(rate: 0.05, momentum: 0.9, nesterov: true, decay: 0.001),
        .adam(beta1: 0.9, beta2: 0.999, stepSize: 0.01, root2: 0.03, epsilon: 1e-8, decay: 0.01, decoupledDecay: 0),
        .adam(beta1: 0.8, beta2: 0.99, stepSize: 0.003, root2: 0.5, epsilon: 1e-6, decay: 0, decoupledDecay: 1e-4),
        .rmsProp(rate: 0.01, alpha: 0.99, epsilon: 1e-8, decay: 0, momentum: 0),
        .rmsProp(rate: 0.01, alpha: 0.9, epsilon: 1e-8, decay: 0.01, momentum: 0.5),
    ]

    @Test("every update equals the CPU's for the parameter and each state, at awkward sizes")
    func updates() throws {
        for update in Self.updates {
            for shape in [[1], [7], [1031], [13, 17]] {
                let parameter = try Tensor<Float>.randomNormal(shape, seed: 1)
                let gradient = try Tensor<Float>.randomNormal(shape, seed: 2)
                // Positive second moments, as the updates keep them.
                let states = try (0..<update.stateCount).map {
                    try Tensor<Float>.randomUniform(shape, lowerBound: 0.01, upperBound: 1, seed: UInt64(3 + $0))
                }
                for output in 0...update.stateCount {
                    try check.expectSame("\(update) \(shape) output \(output)", [parameter, gradient] + states, tolerance: 1e-5) { inputs in
                        var (updated, updatedStates) = (inputs[0], Array(inputs[2...]))
                        try updated.applyUpdate(update, gradient: inputs[1], states: &updatedStates)
                        return output == 0 ? updated : updatedStates[output - 1]
                    }
                }
            }
        }
    }

    @Test("host states move to the device with the first update; wrong states are typed errors")
    func hostStatesAndErrors() throws {
        var parameter = try Tensor<Float>.randomNormal([33], seed: 1).to(check.device)
        let gradient = try Tensor<Float>.randomNormal([33], seed: 2).to(check.device)
        var states = [try Tensor<Float>.zeros([33]), try Tensor<Float>.zeros([33])]
        let update = ParameterUpdate.adam(
            beta1: 0.9, beta2: 0.999, stepSize: 0.001, root2: 0.0447, epsilon: 1e-8, decay: 0, decoupledDecay: 0)
        try parameter.applyUpdate(update, gradient: gradient, states: &states)
        #expect(parameter.device == check.device && states.allSatisfy { $0.device == check.device })
        var one = [try Tensor<Float>.zeros([33])]
        #expect(throws: TensorError.self) { try parameter.applyUpdate(update, gradient: gradient, states: &one) }
        var misshapen = [try Tensor<Float>.zeros([32]), try Tensor<Float>.zeros([33])]
        #expect(throws: TensorError.self) { try parameter.applyUpdate(update, gradient: gradient, states: &misshapen) }
        #expect(throws: TensorError.self) { try parameter.applyUpdate(update, gradient: gradient.reshaped([3, 11]), states: &states) }
    }
}
