import IOTensor
import IOTensorOpenCL
import Testing

/// Runs an operation on the CPU and on the OpenCL device and compares, so that every device
/// kernel is checked against the CPU backend on the same inputs.
///
/// The device run happens twice: once to fill the buffer pool with buffers of the sizes involved,
/// and again after every pooled buffer was set to 0xFF bytes (NaN for floats, -1 for integers), so
/// that an output element a kernel forgot to write shows as a difference.
struct DeviceCheck {
    let device: Device
    let backend: OpenCLBackend

    init() throws {
        device = .opencl()
        backend = try OpenCL.backend(device.index)
    }

    /// `operation` on device copies of `inputs` equals it on the CPU: floats within `tolerance`
    /// relative to the largest magnitude of the CPU result, everything else exactly; the result
    /// lives on the device and no operation fell back to the CPU.
    func expectSame<Input: TensorScalar, Output: TensorScalar>(
        _ label: String, _ inputs: [Tensor<Input>], tolerance: Double = 1e-5,
        sourceLocation: SourceLocation = #_sourceLocation, _ operation: ([Tensor<Input>]) throws -> Tensor<Output>
    ) throws {
        let expected = try operation(inputs)
        let onDevice = try inputs.map { try $0.to(device) }
        let fallbacksBefore = backend.fallbackCount
        _ = try operation(onDevice)
        try backend.context.poisonPool(byte: 0xFF)
        let result = try operation(onDevice)
        #expect(result.device == device, "\(label): the result is on \(result.device)", sourceLocation: sourceLocation)
        #expect(
            backend.fallbackCount == fallbacksBefore, "\(label): fell back to the CPU: \(backend.lastFallbackReason ?? "")",
            sourceLocation: sourceLocation)
        let actual = try result.to(.cpu)
        #expect(
            actual.shape == expected.shape, "\(label): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
        guard actual.shape == expected.shape else { return }
        let (a, e) = (actual.scalars, expected.scalars)
        if let a = a as? [Float], let e = e as? [Float] {
            expectClose(label, a.map(Double.init), e.map(Double.init), tolerance, sourceLocation)
        } else if let a = a as? [Double], let e = e as? [Double] {
            expectClose(label, a, e, tolerance, sourceLocation)
        } else {
            let mismatch = zip(a, e).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(
                mismatch == nil,
                "\(label): element \(mismatch?.offset ?? 0) is \(String(describing: mismatch?.element.0)), expected \(String(describing: mismatch?.element.1))",
                sourceLocation: sourceLocation)
        }
    }

    private func expectClose(_ label: String, _ actual: [Double], _ expected: [Double], _ tolerance: Double, _ location: SourceLocation) {
        let scale = max(1, expected.lazy.filter(\.isFinite).map(Swift.abs).max() ?? 1)
        for (index, (a, e)) in zip(actual, expected).enumerated() {
            let same = (a.isNaN && e.isNaN) || a == e || Swift.abs(a - e) <= tolerance * scale
            if !same {
                Issue.record("\(label): element \(index) is \(a), expected \(e)", sourceLocation: location)
                return
            }
        }
    }
}
