// Reductions and softmax: work-group trees for GPUs, vector loads per work item for CPU devices.
import COpenCL
import IOTensor

extension OpenCLBackend {
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
        if reductionKernel == .vector && !isArg {
            try reduceWithVectors(
                code, dtype: dtype, input: try buffer(input), inputOffset: inputOffset, outer: outer, length: length, inner: inner,
                output: out)
            return
        }
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
        let flag = Int32(logarithm ? 1 : 0)
        if reductionKernel == .vector {
            let program = try self.program("vector reduction", dtype) { VectorReductionSource.program(for: dtype) }
            try launch(
                program, "softmax_rows_vector", global: [rows],
                [
                    .buffer(try buffer(input)), .value(Int64(inputOffset)), .value(Int64(rows)), .value(Int64(length)), .value(flag),
                    .buffer(try buffer(output)),
                ])
            return
        }
        let program = try self.program("reduction", dtype) { ReductionSource.program(for: dtype) }
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

    /// How reductions and softmax run: as work-group trees in local memory (GPUs), or with
    /// 16-wide vector loads per work item and no barriers (CPU devices; argmax and argmin keep the
    /// trees). Settable so that tests and benchmarks can run both on one device.
    public enum ReductionKernel: Sendable {
        case tree
        case vector
    }

    /// The reduction kernels this backend launches: `.vector` on CPU devices, `.tree` elsewhere.
    public var reductionKernel: ReductionKernel {
        get { reductionChoice.withLock { $0 } ?? (context.device.kind == .cpu ? .vector : .tree) }
        set { reductionChoice.withLock { $0 = newValue } }
    }

    /// Sum, maximum or minimum (`code` 0, 1, 2) with ``VectorReductionSource``: columns 16 at a
    /// time; rows cut into parts of at least 64 Ki elements (at most 64), whose partial results a
    /// second pass combines.
    fileprivate func reduceWithVectors(
        _ code: Int32, dtype: DType, input: OpenCLBuffer, inputOffset: Int, outer: Int, length: Int, inner: Int, output: OpenCLBuffer
    ) throws {
        let program = try self.program("vector reduction", dtype) { VectorReductionSource.program(for: dtype) }
        let width = VectorReductionSource.width
        if inner > 1 {
            try launch(
                program, "reduce_columns_vector", global: [(inner + width - 1) / width, outer],
                [
                    .buffer(input), .value(Int64(inputOffset)), .value(Int64(outer)), .value(Int64(length)), .value(Int64(inner)),
                    .value(code), .buffer(output),
                ])
            return
        }
        let parts = max(1, min(64, length / (64 << 10)))
        let chunk = (length + parts - 1) / parts
        func rows(_ source: OpenCLBuffer, _ offset: Int, _ length: Int, _ chunk: Int, _ parts: Int, _ target: OpenCLBuffer) throws {
            try launch(
                program, "reduce_rows_vector", global: [parts, outer],
                [
                    .buffer(source), .value(Int64(offset)), .value(Int64(length)), .value(Int64(chunk)), .value(Int64(parts)),
                    .value(code), .buffer(target),
                ])
        }
        if parts == 1 {
            try rows(input, inputOffset, length, length, 1, output)
            return
        }
        let partials = try context.buffer(byteCount: outer * parts * dtype.byteCount)
        try rows(input, inputOffset, length, chunk, parts, partials)
        try rows(partials, 0, parts, parts, 1, output)
    }
}
