// Sliding windows, transposing copies, gathers, concatenation pieces and optimizer updates.
import COpenCL
import IOTensor

extension OpenCLBackend {
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
    func transposeTiled(dtype: DType, shape: [Int], operand: DeviceOperand, output: any DeviceStorage) throws -> Bool {
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

    public func scatterAdd(
        dtype: DType, values: DeviceOperand, offsets: DeviceOperand, sources: DeviceOperand, count: Int, output: any DeviceStorage
    ) throws {
        guard dtype != .bool else { throw OpenCLError(code: CL_INVALID_KERNEL_NAME, call: "no scatter-add kernel for \(dtype)") }
        guard count > 0 else { return }
        let program = try self.program("scatter", dtype) { IndexingSource.scatterProgram(for: dtype) }
        try launch(
            program, "scatter_add", global: [(count + 255) / 256 * 256],
            [
                .value(Int64(count)), .buffer(try buffer(values.storage)), .value(Int64(values.offset)),
                .buffer(try buffer(offsets.storage)),
                .value(Int64(offsets.offset)), .buffer(try buffer(sources.storage)), .value(Int64(sources.offset)),
                .buffer(try buffer(output)),
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

    fileprivate func indexingProgram(_ dtype: DType) throws(OpenCLError) -> OpenCLProgram {
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
}
