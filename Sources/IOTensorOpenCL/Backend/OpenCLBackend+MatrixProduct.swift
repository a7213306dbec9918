// Matrix products: the tiled kernel for GPUs, the register-blocked rows kernel for CPU devices.
import COpenCL
import IOTensor

extension OpenCLBackend {
    // MARK: - Matrix products

    public func matrixProduct(_ product: MatrixProduct, dtype: DType) throws {
        guard dtype == .float32 || dtype == .float64 else {
            throw OpenCLError(code: CL_INVALID_KERNEL_NAME, call: "no matrix product kernel for \(dtype)")
        }
        guard let m = Int32(exactly: product.m), let n = Int32(exactly: product.n), let k = Int32(exactly: product.k) else {
            throw OpenCLError(code: CL_INVALID_VALUE, call: "matrix product of \(product.m)×\(product.k) by \(product.k)×\(product.n)")
        }
        func matrix(_ matrix: DeviceMatrix) throws -> [OpenCLArgument] {
            [
                .buffer(try buffer(matrix.storage)), .value(Int64(matrix.offset)), .value(Int64(matrix.rowStride)),
                .value(Int64(matrix.columnStride)), .value(Int64(matrix.batchStride)),
            ]
        }
        let c = product.c
        let arguments: [OpenCLArgument] =
            [.value(m), .value(n), .value(k)] + (try matrix(product.a)) + (try matrix(product.b)) + [
                .buffer(try buffer(c.storage)), .value(Int64(c.offset)), .value(Int64(c.rowStride)), .value(Int64(c.batchStride)),
                .value(Int32(product.accumulate ? 1 : 0)),
            ]
        switch matrixProductKernel {
        case .tiled:
            let side = MatrixProductSource.groupSide
            guard context.device.maximumWorkGroupSize >= side * side else {
                throw OpenCLError(code: CL_INVALID_WORK_GROUP_SIZE, call: "gemm needs work groups of \(side * side)")
            }
            let program = try self.program("gemm", dtype) { MatrixProductSource.program(for: dtype) }
            let columns = (product.n + MatrixProductSource.tileN - 1) / MatrixProductSource.tileN * side
            let rows = (product.m + MatrixProductSource.tileM - 1) / MatrixProductSource.tileM * side
            try launch(program, "gemm", global: [columns, rows, product.batch], local: [side, side, 1], arguments)
        case .rows:
            let (aRowMajor, bRowMajor) = (product.a.columnStride == 1, product.b.columnStride == 1)
            let program = try self.program("gemm rows \(aRowMajor) \(bRowMajor)", dtype) {
                MatrixProductSource.rowsProgram(for: dtype, aRowMajor: aRowMajor, bRowMajor: bRowMajor)
            }
            let blocks = (product.n + MatrixProductSource.rowsVectorWidth - 1) / MatrixProductSource.rowsVectorWidth
            let rows = (product.m + MatrixProductSource.rowsPerItem - 1) / MatrixProductSource.rowsPerItem
            // Eight column blocks per group: they share their rows of A while those are in cache.
            try launch(program, "gemm_rows", global: [(blocks + 7) / 8 * 8, rows, product.batch], local: [8, 1, 1], arguments)
        }
    }

    /// The two matrix-product kernels: tiled in local memory (GPUs), or rows per work item (CPU devices).
    public enum MatrixProductKernel: Sendable {
        case tiled
        case rows
    }

    /// The matrix-product kernel this backend launches: `.rows` on CPU devices, `.tiled` elsewhere.
    /// Settable so that tests and benchmarks can run both on one device.
    public var matrixProductKernel: MatrixProductKernel {
        get { kernelChoice.withLock { $0 } ?? (context.device.kind == .cpu ? .rows : .tiled) }
        set { kernelChoice.withLock { $0 = newValue } }
    }
}
