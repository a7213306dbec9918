import COpenCL
import IOTensor
import Synchronization

/// Runs the tensor layer's kernels on one OpenCL device: tensors moved there with
/// `tensor.to(.opencl(i))` keep their elements in device buffers, and operations on them enqueue
/// kernels on the device's in-order queue.
public final class OpenCLBackend: DeviceBackend, @unchecked Sendable {
    // Unchecked: the context is thread-safe (one lock orders every enqueue) and the counters are atomics.
    /// The context whose queue runs the kernels.
    public let context: OpenCLContext
    public let device: Device
    private let launches = Atomic<Int>(0)
    private let fallbacks = Atomic<Int>(0)
    private let lastFallback = Mutex<String?>(nil)
    private let kernelChoice = Mutex<MatrixProductKernel?>(nil)
    private let transposeChoice = Mutex<TransposeKernel?>(nil)

    init(context: OpenCLContext) {
        self.context = context
        device = Device(kind: "opencl", index: context.device.index, provider: OpenCLDeviceProvider.shared)
    }

    /// Kernels launched so far.
    public var launchCount: Int { launches.load(ordering: .relaxed) }
    /// Operations that ran on the CPU instead of the device because a kernel failed or was missing.
    public var fallbackCount: Int { fallbacks.load(ordering: .relaxed) }
    /// The operation and error of the latest fallback.
    public var lastFallbackReason: String? { lastFallback.withLock { $0 } }

    public func supports(_ dtype: DType) -> Bool {
        switch dtype {
        case .float64: context.device.supportsDouble
        case .bool, .uint8, .int32, .int64, .float32: true
        }
    }

    public func allocate(byteCount: Int) throws -> any DeviceStorage {
        try context.buffer(byteCount: byteCount)
    }

    public func recordFallback(_ operation: String, error: any Error) {
        fallbacks.add(1, ordering: .relaxed)
        lastFallback.withLock { $0 = "\(operation): \(error)" }
    }

    // MARK: - Programs

    private func program(_ family: String, _ dtype: DType, _ source: () -> String) throws(OpenCLError) -> OpenCLProgram {
        // The program cache keys by source; the family name keeps kernels of one dtype together in logs.
        try context.program(source: "// \(family) \(dtype)\n" + source())
    }

    private func launch(_ program: OpenCLProgram, _ name: String, global: [Int], local: [Int]? = nil, _ arguments: [OpenCLArgument])
        throws(OpenCLError)
    {
        try program.run(name, global: global, local: local, arguments: arguments)
        launches.add(1, ordering: .relaxed)
    }

    // MARK: - Elementwise

    public func elementwise(_ kernel: ElementwiseKernel, dtype: DType, shape: [Int], operands: [DeviceOperand], output: any DeviceStorage)
        throws
    {
        guard let name = ElementwiseSource.name(of: kernel, dtype: dtype) else {
            throw OpenCLError(code: CL_INVALID_KERNEL_NAME, call: "no \(kernel) kernel for \(dtype)")
        }
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        guard shape.count <= ElementwiseSource.maximumRank, !operands.isEmpty else {
            throw OpenCLError(code: CL_INVALID_VALUE, call: "\(kernel) over \(shape.count) strided dimensions")
        }
        let strides = operands.map(\.strides)
        if kernel == .copy, transposeKernel == .tiled, try transposeTiled(dtype: dtype, shape: shape, operand: operands[0], output: output)
        {
            return
        }
        let access = ElementwiseSource.OperandAccess(shape: shape, strides: strides)
        let program = try self.program("elementwise \(access)", dtype) { ElementwiseSource.program(for: dtype, access: access) }
        var arguments: [OpenCLArgument] = [
            .buffer(try buffer(output)), .value(Int64(count)), .value(Int32(shape.count)),
            .bytes(PackedLayout.bytes(shape: shape, strides: strides)),
        ]
        for index in 0..<3 {
            let operand = operands[min(index, operands.count - 1)]
            arguments.append(.buffer(try buffer(operand.storage)))
            arguments.append(.value(Int64(operand.offset)))
        }
        try launch(program, name, global: [(count + 255) / 256 * 256], arguments)
    }

    // MARK: - Reductions and softmax

    public func reduce(
        _ operation: ReductionOperation, dtype: DType, input: any DeviceStorage, inputOffset: Int, outer: Int, length: Int, inner: Int,
        output: any DeviceStorage
    ) throws {
        let program = try self.program("reduction", dtype) { ReductionSource.program(for: dtype) }
        let code: Int32 =
            switch operation {
            case .sum: 0
            case .maximum: 1
            case .minimum: 2
            case .argmax: 3
            case .argmin: 4
            }
        let isArg = code >= 3
        let out = try buffer(output)
        if inner > 1 || length < 4096 && outer >= 64 {
            // Columns (or many short rows): one item per output.
            try launch(
                program, "reduce_columns", global: [inner, outer],
                [
                    .buffer(try buffer(input)), .value(Int64(inputOffset)), .value(Int64(outer)), .value(Int64(length)),
                    .value(Int64(inner)), .value(code), .buffer(out), .buffer(out), .value(Int32(isArg ? 0 : 1)),
                ])
            return
        }
        // Rows: cut each row into parts of at least 16 elements per item, at most 64 parts.
        let group = ReductionSource.groupSize
        let parts = max(1, min(64, length / (group * 16)))
        let chunk = (length + parts - 1) / parts
        let input = try buffer(input)
        if parts == 1 {
            try launch(
                program, "reduce_rows", global: [group, outer], local: [group, 1],
                [
                    .buffer(input), .value(Int64(inputOffset)), .value(Int64(length)), .value(Int64(chunk)), .value(Int32(1)), .value(code),
                    .buffer(input), .value(Int32(0)), .buffer(out), .buffer(out), .value(Int32(isArg ? 0 : 1)),
                    .value(Int32(isArg ? 1 : 0)),
                ])
            return
        }
        let elementSize = dtype.byteCount
        let partialValues = try context.buffer(byteCount: outer * parts * elementSize)
        let partialIndices = try context.buffer(byteCount: outer * parts * 8)
        try launch(
            program, "reduce_rows", global: [group * parts, outer], local: [group, 1],
            [
                .buffer(input), .value(Int64(inputOffset)), .value(Int64(length)), .value(Int64(chunk)), .value(Int32(parts)), .value(code),
                .buffer(input), .value(Int32(0)), .buffer(partialValues), .buffer(partialIndices), .value(Int32(1)),
                .value(Int32(isArg ? 1 : 0)),
            ])
        try launch(
            program, "reduce_rows", global: [group, outer], local: [group, 1],
            [
                .buffer(partialValues), .value(Int64(0)), .value(Int64(parts)), .value(Int64(parts)), .value(Int32(1)), .value(code),
                .buffer(partialIndices), .value(Int32(isArg ? 1 : 0)), .buffer(out), .buffer(out), .value(Int32(isArg ? 0 : 1)),
                .value(Int32(isArg ? 1 : 0)),
            ])
    }

    public func softmax(
        dtype: DType, input: any DeviceStorage, inputOffset: Int, rows: Int, length: Int, logarithm: Bool, output: any DeviceStorage
    ) throws {
        guard dtype == .float32 || dtype == .float64 else {
            throw OpenCLError(code: CL_INVALID_KERNEL_NAME, call: "no softmax kernel for \(dtype)")
        }
        let program = try self.program("reduction", dtype) { ReductionSource.program(for: dtype) }
        let flag = Int32(logarithm ? 1 : 0)
        if length <= 128 {
            try launch(
                program, "softmax_rows_item", global: [rows],
                [
                    .buffer(try buffer(input)), .value(Int64(inputOffset)), .value(Int64(rows)), .value(Int64(length)), .value(flag),
                    .buffer(try buffer(output)),
                ])
        } else {
            let group = ReductionSource.groupSize
            try launch(
                program, "softmax_rows_group", global: [group * rows], local: [group],
                [.buffer(try buffer(input)), .value(Int64(inputOffset)), .value(Int64(length)), .value(flag), .buffer(try buffer(output))])
        }
    }

    // MARK: - Sliding windows

    public func window(
        _ operation: WindowOperation, dtype: DType, window: Window2D, inputs: [DeviceOperand], outputs: [any DeviceStorage]
    ) throws {
        guard dtype == .float32 || dtype == .float64 else {
            throw OpenCLError(code: CL_INVALID_KERNEL_NAME, call: "no \(operation) kernel for \(dtype)")
        }
        let (name, items) = WindowSource.kernel(operation, window)
        guard items > 0 else { return }
        let geometry = [
            window.batch, window.channels, window.height, window.width, window.kernelHeight, window.kernelWidth, window.stride,
            window.padding, window.outputHeight, window.outputWidth,
        ]
        let values = geometry.compactMap { Int32(exactly: $0) }
        guard values.count == geometry.count else {
            throw OpenCLError(code: CL_INVALID_VALUE, call: "\(operation) over \(window)")
        }
        let program = try self.program("window", dtype) { WindowSource.program(for: dtype) }
        var arguments: [OpenCLArgument] = values.map { .value($0) }
        for input in inputs {
            arguments.append(.buffer(try buffer(input.storage)))
            arguments.append(.value(Int64(input.offset)))
        }
        for output in outputs { arguments.append(.buffer(try buffer(output))) }
        try launch(program, name, global: [(items + 255) / 256 * 256], arguments)
    }

    // MARK: - Transposes

    /// How `contiguous()` copies a transposed view: through local-memory tiles (GPUs) or with the
    /// strided elementwise copy (CPU devices, which run barriers as loops over the work items).
    public enum TransposeKernel: Sendable {
        case tiled
        case strided
    }

    /// The transposing copy this backend launches: `.strided` on CPU devices, `.tiled` elsewhere.
    /// Settable so that tests and benchmarks can run both on one device.
    public var transposeKernel: TransposeKernel {
        get { transposeChoice.withLock { $0 } ?? (context.device.kind == .cpu ? .strided : .tiled) }
        set { transposeChoice.withLock { $0 = newValue } }
    }

    /// Copies a (collapsed) layout whose two innermost dimensions are transposed — stride 1 along
    /// the second-to-last, another along the last — at most one batch dimension before them;
    /// false, launching nothing, for other layouts.
    private func transposeTiled(dtype: DType, shape: [Int], operand: DeviceOperand, output: any DeviceStorage) throws -> Bool {
        let rank = shape.count
        guard rank == 2 || rank == 3, operand.strides[rank - 2] == 1, operand.strides[rank - 1] > 1 else { return false }
        let (rows, columns) = (shape[rank - 2], shape[rank - 1])
        let (batch, batchStride) = rank == 3 ? (shape[0], operand.strides[0]) : (1, 0)
        let tile = IndexingSource.transposeTile
        guard context.device.maximumWorkGroupSize >= tile * tile else { return false }
        try launch(
            try indexingProgram(dtype), "transpose_tiled",
            global: [(rows + tile - 1) / tile * tile, (columns + tile - 1) / tile * tile, batch], local: [tile, tile, 1],
            [
                .value(Int64(rows)), .value(Int64(columns)), .buffer(try buffer(operand.storage)), .value(Int64(operand.offset)),
                .value(Int64(batchStride)), .value(Int64(operand.strides[rank - 1])), .buffer(try buffer(output)),
            ])
        return true
    }

    // MARK: - Indexing

    public func gather(dtype: DType, input: DeviceOperand, indices: DeviceOperand, indexShape: [Int], axis: Int, output: any DeviceStorage)
        throws
    {
        let count = indexShape.reduce(1, *)
        guard count > 0 else { return }
        guard indexShape.count <= IndexingSource.maximumRank, input.strides.count == indexShape.count else {
            throw OpenCLError(code: CL_INVALID_VALUE, call: "gather over \(indexShape.count) dimensions")
        }
        let rank = IndexingSource.maximumRank
        var words = [Int64](repeating: 0, count: 2 * rank)
        for (dimension, size) in indexShape.enumerated() {
            words[dimension] = Int64(size)
            words[rank + dimension] = Int64(input.strides[dimension])
        }
        let program = try indexingProgram(dtype)
        try launch(
            program, "gather", global: [(count + 255) / 256 * 256],
            [
                .value(Int64(count)), .value(Int32(indexShape.count)), .value(Int32(axis)), .bytes(words.withUnsafeBytes { Array($0) }),
                .buffer(try buffer(input.storage)), .value(Int64(input.offset)), .buffer(try buffer(indices.storage)),
                .value(Int64(indices.offset)), .buffer(try buffer(output)),
            ])
    }

    public func copyRows(
        dtype: DType, input: DeviceOperand, rows: Int, length: Int, output: any DeviceStorage, outputOffset: Int, outputStride: Int
    ) throws {
        let count = rows * length
        guard count > 0 else { return }
        let program = try indexingProgram(dtype)
        try launch(
            program, "copy_rows", global: [(count + 255) / 256 * 256],
            [
                .value(Int64(rows)), .value(Int64(length)), .buffer(try buffer(input.storage)), .value(Int64(input.offset)),
                .buffer(try buffer(output)), .value(Int64(outputOffset)), .value(Int64(outputStride)),
            ])
    }

    private func indexingProgram(_ dtype: DType) throws(OpenCLError) -> OpenCLProgram {
        try context.program(source: "// indexing \(dtype.byteCount)-byte elements\n" + IndexingSource.program(elementSize: dtype.byteCount))
    }

    // MARK: - Optimizer updates

    public func update(_ update: ParameterUpdate, dtype: DType, count: Int, inputs: [DeviceOperand], outputs: [any DeviceStorage])
        throws
    {
        guard dtype == .float32 || dtype == .float64 else {
            throw OpenCLError(code: CL_INVALID_KERNEL_NAME, call: "no \(update) kernel for \(dtype)")
        }
        guard count > 0 else { return }
        let program = try self.program("update", dtype) { UpdateSource.program(for: dtype) }
        let (name, hyperparameters) = UpdateSource.kernel(update)
        let scalar: (Double) -> OpenCLArgument = { dtype == .float64 ? .value($0) : .value(Float($0)) }
        var arguments: [OpenCLArgument] = [.value(Int64(count))]
        // Parameter, gradient, then up to two states; a missing state repeats the parameter and is not read.
        for index in 0..<4 {
            let operand = inputs[index < inputs.count ? index : 0]
            arguments.append(.buffer(try buffer(operand.storage)))
            arguments.append(.value(Int64(operand.offset)))
        }
        for index in 0..<3 { arguments.append(.buffer(try buffer(outputs[index < outputs.count ? index : 0]))) }
        arguments += hyperparameters.map(scalar)
        try launch(program, name, global: [(count + 255) / 256 * 256], arguments)
    }

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

    private func buffer(_ storage: any DeviceStorage) throws(OpenCLError) -> OpenCLBuffer {
        guard let buffer = storage as? OpenCLBuffer, buffer.context === context else {
            throw OpenCLError(code: CL_INVALID_MEM_OBJECT, call: "a tensor buffer from another device")
        }
        return buffer
    }
}

/// The kernels' `layout_t`: `long shape[MAXR]; long stride[3][MAXR];`, unused entries 0. The
/// tensor layer hands over layouts already collapsed (size-1 dimensions dropped, neighbouring
/// dimensions merged where every operand allows).
enum PackedLayout {
    static func bytes(shape: [Int], strides: [[Int]]) -> [UInt8] {
        let rank = ElementwiseSource.maximumRank
        var words = [Int64](repeating: 0, count: rank * 4)
        for (axis, size) in shape.enumerated() { words[axis] = Int64(size) }
        for operand in 0..<3 {
            let source = strides[min(operand, strides.count - 1)]
            for (axis, stride) in source.enumerated() { words[rank * (operand + 1) + axis] = Int64(stride) }
        }
        return words.withUnsafeBytes { Array($0) }
    }
}
