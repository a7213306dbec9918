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
    let kernelChoice = Mutex<MatrixProductKernel?>(nil)
    let transposeChoice = Mutex<TransposeKernel?>(nil)
    let reductionChoice = Mutex<ReductionKernel?>(nil)
    let vectorChoice = Mutex<Bool?>(nil)
    let packingChoice = Mutex<Int>(1 << 28)

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

    func program(_ family: String, _ dtype: DType, _ source: () -> String) throws(OpenCLError) -> OpenCLProgram {
        // The program cache keys by source; the family name keeps kernels of one dtype together in logs.
        try context.program(source: "// \(family) \(dtype)\n" + source())
    }

    func launch(_ program: OpenCLProgram, _ name: String, global: [Int], local: [Int]? = nil, _ arguments: [OpenCLArgument])
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
        if elementwiseVectors, dtype == .float32 || dtype == .float64, access == .direct(contiguous: [true, true, true]),
            let vectorName = VectorElementwiseSource.name(of: kernel)
        {
            // CPU devices: 16 contiguous elements per item, transcendental functions as vector code.
            let program = try self.program("vector elementwise", dtype) { VectorElementwiseSource.program(for: dtype) }
            let (first, second) = (operands[0], operands[min(1, operands.count - 1)])
            let width = VectorElementwiseSource.width
            try launch(
                program, vectorName, global: [((count + width - 1) / width + 63) / 64 * 64],
                [
                    .buffer(try buffer(output)), .value(Int64(count)), .buffer(try buffer(first.storage)), .value(Int64(first.offset)),
                    .buffer(try buffer(second.storage)), .value(Int64(second.offset)),
                ])
            return
        }
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

    /// Whether contiguous floating-point elementwise operations take the 16-wide vector kernels
    /// (16 elements per work item): on CPU devices, unless a test turns them off.
    public var elementwiseVectors: Bool {
        get { vectorChoice.withLock { $0 } ?? (context.device.kind == .cpu) }
        set { vectorChoice.withLock { $0 = newValue } }
    }

    func buffer(_ storage: any DeviceStorage) throws(OpenCLError) -> OpenCLBuffer {
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
