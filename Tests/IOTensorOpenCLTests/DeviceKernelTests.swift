import IOTensor
import IOTensorOpenCL
import Testing

@Suite("Reductions, softmax and matrix products on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceKernelTests {
    let check: DeviceCheck

    init() throws { check = try DeviceCheck() }

    /// Runs `body` with each reduction kernel.
    private func withEachReductionKernel(_ body: (OpenCLBackend.ReductionKernel) throws -> Void) rethrows {
        let chosen = check.backend.reductionKernel
        defer { check.backend.reductionKernel = chosen }
        for kernel in [OpenCLBackend.ReductionKernel.tree, .vector] {
            check.backend.reductionKernel = kernel
            try body(kernel)
        }
    }

    @Test("sums, maxima, minima, argmax and argmin along every axis equal the CPU, with both kernels")
    func reductions() throws {
        try withEachReductionKernel { _ in try reductions(floats: ()) }
        try withEachReductionKernel { kernel in
            // Integers, exactly; columns wider than one vector and narrower than one.
            let integers = try Tensor<Int32>(shape: [37, 41], scalars: (0..<(37 * 41)).map { Int32(($0 * 7919) % 1009) - 500 })
            for axis in 0..<2 {
                try check.expectSame("\(kernel) int32 sum axis \(axis)", [integers]) { try $0[0].sum(alongAxis: axis) }
                try check.expectSame("\(kernel) int32 max axis \(axis)", [integers]) { try $0[0].max(alongAxis: axis) }
                try check.expectSame("\(kernel) int32 min axis \(axis)", [integers]) { try $0[0].min(alongAxis: axis) }
            }
            let doubles = try Tensor<Double>.randomNormal([3, 70_001], seed: 26)
            try check.expectSame("\(kernel) double sum rows", [doubles], tolerance: 1e-12) { try $0[0].sum(alongAxis: 1) }
            try check.expectSame("\(kernel) double max columns", [doubles]) { try $0[0].max(alongAxis: 0) }
            var columnsWithNaN = try Tensor<Float>.randomNormal([9, 35], seed: 27)
            columnsWithNaN.withUnsafeMutableBufferPointer {
                $0[3 * 35 + 2] = .nan; $0[5 * 35 + 33] = .nan
            }
            try check.expectSame("\(kernel) column maxima with NaN", [columnsWithNaN]) { try $0[0].max(alongAxis: 0) }
            try check.expectSame("\(kernel) column sums with NaN", [columnsWithNaN]) { try $0[0].sum(alongAxis: 0) }
        }
    }

    private func reductions(floats: Void) throws {
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

    @Test("softmax and log-softmax of short and long rows, along any axis, equal the CPU, with both kernels")
    func softmax() throws {
        try withEachReductionKernel { _ in try softmaxes() }
    }

    private func softmaxes() throws {
        for shape in [[1, 1], [3, 10], [5, 1031], [7, 3, 5], [2, 16], [4, 33]] {
            let x = try Tensor<Float>.randomNormal(shape, standardDeviation: 20, seed: 22)
            try check.expectSame("softmax \(shape)", [x]) { try $0[0].softmax() }
            try check.expectSame("logSoftmax \(shape)", [x]) { try $0[0].logSoftmax() }
            try check.expectSame("softmax axis 0 \(shape)", [x]) { try $0[0].softmax(alongAxis: 0) }
        }
        let extremes = try Tensor<Float>(shape: [3, 3], scalars: [1e30, -1e30, 0, -.infinity, -.infinity, -.infinity, .nan, 1, 2])
        try check.expectSame("softmax extremes", [extremes]) { try $0[0].softmax() }
    }

    @Test("matrix products of awkward sizes, transposed and batched operands, and with a bias equal BLAS, with every kernel")
    func matrixProducts() throws {
        let chosen = check.backend.matrixProductKernel
        defer { check.backend.matrixProductKernel = chosen }
        for kernel in [OpenCLBackend.MatrixProductKernel.rows, .tiled, .tiledWide, .tiledBySize] {
            check.backend.matrixProductKernel = kernel
            try matrixProducts(kernel)
        }
    }

    @Test("packed matrix products (large ones on CPU devices) equal BLAS at awkward sizes, batched and transposed")
    func packedMatrixProducts() throws {
        let (chosen, threshold) = (check.backend.matrixProductKernel, check.backend.packingThreshold)
        defer { (check.backend.matrixProductKernel, check.backend.packingThreshold) = (chosen, threshold) }
        (check.backend.matrixProductKernel, check.backend.packingThreshold) = (.rows, 0)
        for (m, k, n) in [(64, 64, 64), (65, 67, 63), (97, 200, 131), (301, 64, 77)] {
            let a = try Tensor<Float>.randomNormal([m, k], seed: 35)
            let b = try Tensor<Float>.randomNormal([k, n], seed: 36)
            try check.expectSame("packed \(m)×\(k)·\(k)×\(n)", [a, b]) { try $0[0].matmul($0[1]) }
            let bias = try Tensor<Float>.randomNormal([n], seed: 37)
            try check.expectSame("packed + bias \(m)×\(n)", [a, b, bias]) { try $0[0].matmul($0[1], adding: $0[2]) }
            try check.expectSame("packed Aᵀ·Bᵀ", [a.transposed().contiguous(), b.transposed().contiguous()]) {
                try $0[0].transposed().matmul($0[1].transposed())
            }
        }
        let batchA = try Tensor<Float>.randomNormal([3, 70, 65], seed: 38)
        try check.expectSame("packed batched, shared right matrix", [batchA, try Tensor<Float>.randomNormal([65, 66], seed: 39)]) {
            try $0[0].matmul($0[1])
        }
        if check.backend.supports(.float64) {
            let a = try Tensor<Double>.randomNormal([65, 99], seed: 40)
            try check.expectSame("packed float64", [a, a.transposed().contiguous()], tolerance: 1e-12) { try $0[0].matmul($0[1]) }
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
