import IOTensor
import IOTensorOpenCL
import Testing

/// The sliding-window kernels of convolutions and poolings on the device equal the CPU loops,
/// with every output poisoned first (``DeviceCheck``).
@Suite("Sliding windows on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceWindowTests {
    let check: DeviceCheck

    init() throws { check = try DeviceCheck() }

    /// (input shape, kernel, stride, padding): sizes that are not multiples of a work group,
    /// overlapping and disjoint windows, padding wider than one.
    static let geometries: [([Int], (Int, Int), Int, Int)] = [
        ([2, 1, 8, 8], (3, 3), 1, 1), ([3, 5, 7, 6], (2, 3), 2, 0), ([1, 2, 11, 13], (3, 3), 2, 2), ([5, 3, 4, 4], (2, 2), 2, 0),
        ([1, 1, 1, 1], (1, 1), 1, 0),
    ]

    @Test("im2col and col2im equal the CPU")
    func patches() throws {
        for (shape, kernel, stride, padding) in Self.geometries {
            let window = try Window2D(shape, kernel: kernel, stride: stride, padding: padding)
            let label = "\(shape) kernel \(kernel) stride \(stride) padding \(padding)"
            try check.expectSame("im2col \(label)", [try Tensor<Float>.randomNormal(shape, seed: 1)]) { try $0[0].im2col(window) }
            let columns = try Tensor<Float>.randomNormal([shape[0], window.positions, window.patch], seed: 2)
            try check.expectSame("col2im \(label)", [columns]) { try $0[0].col2im(window) }
        }
    }

    @Test("max and average pooling and their gradients equal the CPU, winners exactly")
    func pooling() throws {
        for (shape, kernel, stride, padding) in Self.geometries {
            let label = "\(shape) kernel \(kernel) stride \(stride) padding \(padding)"
            let x = try Tensor<Float>.randomNormal(shape, seed: 3)
            try check.expectSame("maxPool2d \(label)", [x]) { try $0[0].maxPool2d(kernel: kernel, stride: stride, padding: padding).values }
            try check.expectSame("maxPool2d winners \(label)", [x]) {
                try $0[0].maxPool2d(kernel: kernel, stride: stride, padding: padding).winners
            }
            try check.expectSame("avgPool2d \(label)", [x]) { try $0[0].avgPool2d(kernel: kernel, stride: stride, padding: padding) }
            let (values, winners) = try x.maxPool2d(kernel: kernel, stride: stride, padding: padding)
            let upstream = try Tensor<Float>.randomNormal(values.shape, seed: 4)
            let deviceWinners = try winners.to(check.device)
            try check.expectSame("maxPool2dGradient \(label)", [upstream]) { inputs in
                let onDevice = inputs[0].device == .cpu ? winners : deviceWinners
                return try Tensor.maxPool2dGradient(
                    inputs[0], winners: onDevice, inputShape: shape, kernel: kernel, stride: stride, padding: padding)
            }
            try check.expectSame("avgPool2dGradient \(label)", [upstream]) {
                try Tensor.avgPool2dGradient($0[0], inputShape: shape, kernel: kernel, stride: stride, padding: padding)
            }
        }
    }

    @Test("a convolution followed by max and average pooling runs on the device as on the CPU")
    func convolutionStep() throws {
        // One step of conv → max pool → average pool on the device gives the CPU's gradients.
        let x = try Tensor<Float>.randomNormal([4, 2, 9, 9], seed: 5)
        let window = try Window2D(x.shape, kernel: (3, 3), padding: 1)
        let weight = try Tensor<Float>.randomNormal([3, window.patch], seed: 6)
        func forward(_ input: Tensor<Float>, _ w: Tensor<Float>) throws -> Tensor<Float> {
            let columns = try input.im2col(window).reshaped([4 * window.positions, window.patch])
            let product = try columns.matmul(w.transposed()).reshaped([4, 9, 9, 3]).permuted([0, 3, 1, 2]).contiguous()
            return try product.maxPool2d(kernel: (2, 2)).values.avgPool2d(kernel: (2, 2))
        }
        try check.expectSame("conv, max pool, average pool", [x, weight], tolerance: 1e-4) { try forward($0[0], $0[1]) }
    }
}
