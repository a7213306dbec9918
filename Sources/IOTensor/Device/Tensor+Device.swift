// Moving tensors between devices, and the glue that runs an operation on its operands' device.

extension Tensor {
    /// The device that holds the elements.
    public var device: Device { buffer.deviceMemory?.backend.device ?? .cpu }

    /// This tensor on `target`: `self` when it is already there, otherwise a contiguous copy.
    ///
    /// ```swift
    /// let onDevice = try weights.to(.opencl())   // the best OpenCL device
    /// let back = try onDevice.to(.cpu)
    /// ```
    ///
    /// - Throws: ``TensorError/device(operation:device:reason:)`` when no backend provides the
    ///   device (no OpenCL platform, a device number out of range), the device does not hold this
    ///   dtype, or it has no room for the tensor.
    public func to(_ target: Device) throws(TensorError) -> Tensor {
        if target == device { return self }
        if target == .cpu { return hostCopy() }
        return try uploaded(to: target.backend())
    }

    /// A contiguous copy of this tensor on `backend`'s device.
    func uploaded(to backend: any DeviceBackend) throws(TensorError) -> Tensor {
        guard backend.supports(Scalar.dtype) else {
            throw .device(operation: "to", device: backend.device.description, reason: "the device does not hold \(Scalar.dtype) tensors")
        }
        let host = device == .cpu ? contiguous() : hostCopy()
        let result = try Tensor.allocated(on: backend, shape: shape, operation: "to")
        do {
            try host.withUnsafeBytes { bytes in try result.buffer.deviceMemory!.storage.write(from: bytes) }
        } catch {
            throw .device(operation: "to", device: backend.device.description, reason: "\(error)")
        }
        return result
    }

    /// A contiguous copy in host memory of a tensor on any device.
    private func hostCopy() -> Tensor {
        var result = Tensor(uninitializedShape: shape)
        StridedCopy.copy(from: self, into: &result)
        return result
    }

    /// A new contiguous tensor on `backend`'s device whose elements a kernel will write.
    static func allocated(on backend: any DeviceBackend, shape: [Int], operation: String) throws(TensorError) -> Tensor {
        let byteCount = elementCount(shape) * MemoryLayout<Scalar>.stride
        let storage: any DeviceStorage
        do {
            storage = try backend.allocate(byteCount: byteCount)
        } catch {
            throw .device(operation: operation, device: backend.device.description, reason: "\(error)")
        }
        let memory = DeviceMemory(storage: storage, backend: backend, byteCount: byteCount)
        return Tensor(buffer: TensorBuffer(device: memory), shape: shape, strides: contiguousStrides(shape), offset: 0)
    }

    /// The device memory a kernel writes this (freshly allocated) tensor's elements into.
    var outputStorage: any DeviceStorage { buffer.deviceMemory!.storage }

    /// This tensor as a kernel operand on `backend`, broadcast to `target`: its own device memory
    /// when it lives there, otherwise a copy moved there first (a host bias row, a scalar).
    func operand(on backend: any DeviceBackend, broadcastTo target: [Int]) throws -> DeviceOperand {
        let source = buffer.deviceMemory?.backend === backend ? self : try uploaded(to: backend)
        return DeviceOperand(
            storage: try source.buffer.deviceMemory!.deviceStorage(), offset: source.offset,
            strides: source.broadcastStrides(to: target))
    }

    /// The backend of this tensor's device when it lives on one that holds this dtype.
    var backend: (any DeviceBackend)? {
        guard let backend = buffer.deviceMemory?.backend, backend.supports(Scalar.dtype) else { return nil }
        return backend
    }
}

extension DeviceBackend {
    /// `kernel` over `operands` broadcast to `shape`, written into a new tensor on this device.
    func run<Output: TensorScalar>(
        _ kernel: ElementwiseKernel, dtype: DType, shape: [Int], operands: [DeviceOperand], as _: Output.Type
    ) throws -> Tensor<Output> {
        let result = try Tensor<Output>.allocated(on: self, shape: shape, operation: "\(kernel)")
        if result.count > 0 {
            // Collapsed as the CPU loops are: size-1 dimensions dropped, mergeable ones merged.
            let loop = StridedLoop(shape: shape, operandStrides: operands.map(\.strides))
            let collapsed = zip(operands, loop.strides).map { DeviceOperand(storage: $0.storage, offset: $0.offset, strides: $1) }
            try elementwise(kernel, dtype: dtype, shape: loop.shape, operands: collapsed, output: result.outputStorage)
        }
        return result
    }
}

/// A tensor of any element type, as the operand of a device kernel.
protocol DeviceOperandSource {
    func operand(on backend: any DeviceBackend, broadcastTo target: [Int]) throws -> DeviceOperand
}

extension Tensor: DeviceOperandSource {}

/// Runs an operation on a device when one of its operands lives there.
enum DeviceDispatch {
    /// `kernel` over `operands` (of element type `dtype`) broadcast to `shape`, as a new tensor on
    /// `backend`'s device; nil when there is no backend or the kernel failed, and the caller runs
    /// the CPU loop.
    static func elementwise<Output: TensorScalar>(
        _ kernel: ElementwiseKernel, dtype: DType, shape: [Int], on backend: (any DeviceBackend)?,
        _ operands: @autoclosure () -> [any DeviceOperandSource], as _: Output.Type
    ) -> Tensor<Output>? {
        // CPU operands (the common case) return before any operand list is built.
        guard let backend else { return nil }
        return run("\(kernel)", on: backend) { backend in
            try backend.run(
                kernel, dtype: dtype, shape: shape, operands: operands().map { try $0.operand(on: backend, broadcastTo: shape) },
                as: Output.self)
        }
    }

    /// `body`'s result on `backend`, or nil when there is no backend or it failed; a failure is
    /// reported to the backend and the caller computes the operation on the CPU instead.
    ///
    /// The operation's name is built only for a failure: describing an enum goes through
    /// reflection, and doing it for every CPU operation made a 64-element add ten times slower.
    static func run<R>(
        _ operation: @autoclosure () -> String, on backend: (any DeviceBackend)?, _ body: (any DeviceBackend) throws -> R
    ) -> R? {
        guard let backend else { return nil }
        do {
            return try body(backend)
        } catch {
            backend.recordFallback(operation(), error: error)
            return nil
        }
    }
}
