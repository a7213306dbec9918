import IOTensor
import IOTensorOpenCL
import Testing

@Suite("Reductions, softmax and matrix products on an OpenCL device", .serialized)
struct DeviceKernelTests {
    let check: DeviceCheck

    init() throws { check = try DeviceCheck() }

    @Test("sums, maxima, minima, argmax and argmin along every axis equal the CPU")
    func reductions() throws {
        for shape in [[1], [7], [1031], [5, 7, 3], [2, 4099], [1 << 20 | 3]] {
            var x = try Tensor<Float>.randomNormal(shape, seed: 20)
            try check.expectSame("sum all \(shape)", [x]) { $0[0].sum() }
            for axis in 0..<shape.count {
                try check.expectSame("sum axis \(axis) \(shape)", [x]) { try $0[0].sum(alongAxis: axis) }
                try check.expectSame("max axis \(axis) \(shape)", [x]) { try $0[0].max(alongAxis: axis, keepingDimensions: true) }
                try check.expectSame("min axis \(axis) \(shape)", [x]) { try $0[0].min(alongAxis: axis) }
                try check.expectSame("argmax axis \(axis) \(shape)", [x]) { try $0[0].argmax(alongAxis: axis) }
                try check.expectSame("argmin axis \(axis) \(shape)", [x]) { try $0[0].argmin(alongAxis: axis) }
            }
            try check.expectSame("argmax all \(shape)", [x]) { try $0[0].argmax() }
            if x.count > 5 {
                // NaN wins maxima and minima; argmax finds the first NaN.
                x.withUnsafeMutableBufferPointer { $0[4] = .nan }
                try check.expectSame("max with NaN \(shape)", [x]) { try $0[0].max() }
                try check.expectSame("argmax with NaN \(shape)", [x]) { try $0[0].argmax() }
            }
        }
        let x = try Tensor<Float>.randomNormal([6, 9, 4], seed: 21)
        try check.expectSame("mean", [x]) { try $0[0].mean(alongAxes: [0, 2]) }
        try check.expectSame("variance", [x]) { try $0[0].variance(alongAxis: 1, correction: 1) }
        try check.expectSame("logSumExp", [x]) { try $0[0].logSumExp(alongAxis: -1) }
        // Ties: the first best index wins.
        let ties = try Tensor<Int32>(shape: [2, 5], scalars: [3, 9, 9, 1, 9, 4, 4, 0, 4, 0])
        try check.expectSame("argmax ties", [ties]) { try $0[0].argmax(alongAxis: 1) }
        try check.expectSame("argmin ties", [ties]) { try $0[0].argmin(alongAxis: 1) }
        try check.expectSame("int32 sum", [ties]) { try $0[0].sum(alongAxis: 0) }
    }

    @Test("softmax and log-softmax of short and long rows, along any axis, equal the CPU")
    func softmax() throws {
        for shape in [[1, 1], [3, 10], [5, 1031], [7, 3, 5]] {
            let x = try Tensor<Float>.randomNormal(shape, standardDeviation: 20, seed: 22)
            try check.expectSame("softmax \(shape)", [x]) { try $0[0].softmax() }
            try check.expectSame("logSoftmax \(shape)", [x]) { try $0[0].logSoftmax() }
            try check.expectSame("softmax axis 0 \(shape)", [x]) { try $0[0].softmax(alongAxis: 0) }
        }
        let extremes = try Tensor<Float>(shape: [3, 3], scalars: [1e30, -1e30, 0, -.infinity, -.infinity, -.infinity, .nan, 1, 2])
        try check.expectSame("softmax extremes", [extremes]) { try $0[0].softmax() }
    }

    @Test("matrix products of awkward sizes, transposed and batched operands, and with a bias equal BLAS, with both kernels")
    func matrixProducts() throws {
        let chosen = check.backend.matrixProductKernel
        defer { check.backend.matrixProductKernel = chosen }
        for kernel in [OpenCLBackend.MatrixProductKernel.rows, .tiled] {
            check.backend.matrixProductKernel = kernel
            try matrixProducts(kernel)
        }
    }

    private func matrixProducts(_ kernel: OpenCLBackend.MatrixProductKernel) throws {
        for (m, k, n) in [(1, 1, 1), (7, 5, 3), (65, 67, 63), (128, 128, 128), (1, 300, 17), (200, 3, 1)] {
            let a = try Tensor<Float>.randomNormal([m, k], seed: 23)
            let b = try Tensor<Float>.randomNormal([k, n], seed: 24)
            try check.expectSame("\(kernel) matmul \(m)×\(k)·\(k)×\(n)", [a, b], tolerance: 1e-5) { try $0[0].matmul($0[1]) }
            let bias = try Tensor<Float>.randomNormal([n], seed: 25)
            try check.expectSame("\(kernel) matmul + bias \(m)×\(n)", [a, b, bias]) { try $0[0].matmul($0[1], adding: $0[2]) }
            // Aᵀ and Bᵀ as views: the kernel reads them through their strides.
            try check.expectSame("Aᵀ·B", [a.transposed().contiguous(), b]) { try $0[0].transposed().matmul($0[1]) }
            try check.expectSame("A·Bᵀ", [a, b.transposed().contiguous()]) { try $0[0].matmul($0[1].transposed()) }
        }
        let batchA = try Tensor<Float>.randomNormal([3, 5, 7], seed: 26)
        let batchB = try Tensor<Float>.randomNormal([3, 7, 2], seed: 27)
        try check.expectSame("\(kernel) batched", [batchA, batchB]) { try $0[0].matmul($0[1]) }
        let broadcastA = try Tensor<Float>.randomNormal([2, 1, 5, 7], seed: 28)
        try check.expectSame("broadcast batch", [broadcastA, batchB]) { try $0[0].matmul($0[1]) }
        try check.expectSame("shared right matrix", [batchA, try Tensor<Float>.randomNormal([7, 4], seed: 29)]) { try $0[0].matmul($0[1]) }
        let vector = try Tensor<Float>.randomNormal([7], seed: 30)
        try check.expectSame("matrix·vector", [try Tensor<Float>.randomNormal([5, 7], seed: 31), vector]) { try $0[0].matmul($0[1]) }
        try check.expectSame("vector·matrix", [vector, try Tensor<Float>.randomNormal([7, 3], seed: 32)]) { try $0[0].matmul($0[1]) }
        try check.expectSame("empty inner dimension", [Tensor<Float>.zeros([4, 0]), Tensor<Float>.zeros([0, 3])]) {
            try $0[0].matmul($0[1])
        }
        if check.backend.supports(.float64) {
            let a = try Tensor<Double>.randomNormal([33, 65], seed: 33)
            let b = try Tensor<Double>.randomNormal([65, 17], seed: 34)
            try check.expectSame("float64", [a, b], tolerance: 1e-12) { try $0[0].matmul($0[1]) }
        }
        // Mismatched shapes are the same typed error as on the CPU.
        let a = try Tensor<Float>.zeros([2, 3]).to(check.device)
        #expect(throws: TensorError.self) { try a.matmul(a) }
    }
}
