// Matrix products: kernels tiled in local memory for GPUs (64² or 128² tiles by the product's
// size), the register-blocked rows kernel for CPU devices.
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
        let kernel = Self.resolved(
            matrixProductKernel, m: product.m, n: product.n, batch: product.batch, elementBytes: dtype.byteCount,
            computeUnits: context.device.computeUnits, localMemory: context.device.localMemory)
        switch kernel {
        case .tiled, .tiledWide, .tiledBySize:
            let tiling: MatrixProductSource.Tiling = kernel == .tiled ? .standard : .wide
            let side = tiling.side
            guard context.device.maximumWorkGroupSize >= side * side else {
                throw OpenCLError(code: CL_INVALID_WORK_GROUP_SIZE, call: "gemm needs work groups of \(side * side)")
            }
            let program = try self.program("gemm \(tiling.tile)", dtype) { MatrixProductSource.program(for: dtype, tiling: tiling) }
            let columns = (product.n + tiling.tile - 1) / tiling.tile * side
            let rows = (product.m + tiling.tile - 1) / tiling.tile * side
            try launch(program, "gemm", global: [columns, rows, product.batch], local: [side, side, 1], arguments)
        case .rows where product.m >= 64 && product.n >= 64 && product.k >= 64 && product.m * product.n * product.k >= packingThreshold:
            try packedProduct(product, dtype: dtype, m: m, n: n, k: k)
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

    /// `product` with both operands packed into panels first (``PackedMatrixProductSource``).
    private func packedProduct(_ product: MatrixProduct, dtype: DType, m: Int32, n: Int32, k: Int32) throws {
        let program = try self.program("gemm packed", dtype) { PackedMatrixProductSource.program(for: dtype) }
        let (rowsPerItem, width) = (PackedMatrixProductSource.rowsPerItem, PackedMatrixProductSource.vectorWidth)
        let rowBlocks = (product.m + rowsPerItem - 1) / rowsPerItem
        let columnBlocks = (product.n + width - 1) / width
        let aSize = rowBlocks * product.k * rowsPerItem
        let bSize = columnBlocks * product.k * width
        let packedA = try context.buffer(byteCount: product.batch * aSize * dtype.byteCount)
        let packedB = try context.buffer(byteCount: product.batch * bSize * dtype.byteCount)
        let (a, b, c) = (product.a, product.b, product.c)
        try launch(
            program, "pack_a", global: [(aSize + 255) / 256 * 256, product.batch], local: nil,
            [
                .value(m), .value(k), .buffer(try buffer(a.storage)), .value(Int64(a.offset)), .value(Int64(a.rowStride)),
                .value(Int64(a.columnStride)), .value(Int64(a.batchStride)), .buffer(packedA),
            ])
        try launch(
            program, "pack_b", global: [(bSize + 255) / 256 * 256, product.batch], local: nil,
            [
                .value(k), .value(n), .buffer(try buffer(b.storage)), .value(Int64(b.offset)), .value(Int64(b.rowStride)),
                .value(Int64(b.columnStride)), .value(Int64(b.batchStride)), .buffer(packedB),
            ])
        // Eight column blocks per group share their panel of A while it is in cache.
        try launch(
            program, "gemm_packed", global: [(columnBlocks + 7) / 8 * 8, rowBlocks, product.batch], local: [8, 1, 1],
            [
                .value(m), .value(n), .value(k), .buffer(packedA), .buffer(packedB), .buffer(try buffer(c.storage)),
                .value(Int64(c.offset)), .value(Int64(c.rowStride)), .value(Int64(c.batchStride)),
                .value(Int32(product.accumulate ? 1 : 0)),
            ])
    }

    /// The matrix-product kernels: tiled in local memory (GPUs), or rows per work item (CPU devices).
    public enum MatrixProductKernel: Sendable {
        /// 64² tiles, 4² elements of C per work item.
        case tiled
        /// 128² tiles, 8² elements per work item: more arithmetic per load, for large products on
        /// GPUs.
        case tiledWide
        /// GPUs' default: ``tiledWide`` when the product gives every compute unit at least one
        /// 128² tile, ``tiled`` when it is smaller. On an H200 (132 compute units) the wide
        /// tiles ran 2048² products at 24.5 TFLOP/s against 18.6 and 8192² at 26.6 against 20.5,
        /// but 1024² at 8.8 against 15.4: 64 tiles leave half the device idle.
        case tiledBySize
        /// Rows of C per work item in vector registers, no local memory (CPU devices).
        case rows
    }

    /// The kernel `choice` launches for an `m`×`n` product of `elementBytes`-byte elements,
    /// `batch` times, on a device of `computeUnits` and `localMemory` bytes of local memory:
    /// ``MatrixProductKernel/tiledBySize`` becomes the tiling that fits the product's size (the
    /// wide one only where its staged slices fit in local memory).
    static func resolved(
        _ choice: MatrixProductKernel, m: Int, n: Int, batch: Int, elementBytes: Int, computeUnits: Int, localMemory: Int
    ) -> MatrixProductKernel {
        guard choice == .tiledBySize else { return choice }
        let wide = MatrixProductSource.Tiling.wide
        guard wide.localBytes(elementBytes: elementBytes) <= localMemory else { return .tiled }
        let wideTiles = (m + wide.tile - 1) / wide.tile * ((n + wide.tile - 1) / wide.tile) * max(batch, 1)
        return wideTiles >= computeUnits ? .tiledWide : .tiled
    }

    /// On CPU devices, products of at least this many multiply-adds (M·N·K) pack their operands
    /// first; smaller ones go straight to the rows kernel. Settable for tests and benchmarks.
    public var packingThreshold: Int {
        get { packingChoice.withLock { $0 } }
        set { packingChoice.withLock { $0 = newValue } }
    }

    /// The matrix-product kernel this backend launches: `.rows` on CPU devices, `.tiledBySize`
    /// elsewhere. Settable so that tests and benchmarks can run each on one device.
    public var matrixProductKernel: MatrixProductKernel {
        get { kernelChoice.withLock { $0 } ?? (context.device.kind == .cpu ? .rows : .tiledBySize) }
        set { kernelChoice.withLock { $0 = newValue } }
    }
}
