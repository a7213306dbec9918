import COpenCL
import IOTensor

/// Memory on an OpenCL device. Freed buffers go back to their context's pool.
public final class OpenCLBuffer: @unchecked Sendable {
    let memory: cl_mem
    /// The bytes the buffer holds.
    public let byteCount: Int
    let allocatedBytes: Int
    let context: OpenCLContext

    init(memory: cl_mem, byteCount: Int, allocatedBytes: Int, context: OpenCLContext) {
        self.memory = memory
        self.byteCount = byteCount
        self.allocatedBytes = allocatedBytes
        self.context = context
    }

    deinit { context.recycle(memory, allocatedBytes: allocatedBytes) }

    /// Copies `source` (at most ``byteCount`` bytes) into the buffer; the copy is enqueued in
    /// order and the host memory may be reused when this returns.
    public func write(from source: UnsafeRawBufferPointer) throws(OpenCLError) {
        guard source.count <= byteCount else {
            throw OpenCLError(code: CL_INVALID_VALUE, call: "write of \(source.count) bytes into \(byteCount)")
        }
        guard let base = source.baseAddress, source.count > 0 else { return }
        try context.enqueueLock.withLock { _ throws(OpenCLError) in
            try check(
                clEnqueueWriteBuffer(context.queue, memory, cl_bool(CL_TRUE), 0, source.count, base, 0, nil, nil), "clEnqueueWriteBuffer")
        }
    }

    /// Copies the buffer's first `target.count` bytes to `target`, after every command enqueued
    /// before (the host waits here).
    public func read(into target: UnsafeMutableRawBufferPointer) throws(OpenCLError) {
        guard target.count <= byteCount else {
            throw OpenCLError(code: CL_INVALID_VALUE, call: "read of \(target.count) bytes from \(byteCount)")
        }
        guard let base = target.baseAddress, target.count > 0 else { return }
        try context.enqueueLock.withLock { _ throws(OpenCLError) in
            try check(
                clEnqueueReadBuffer(context.queue, memory, cl_bool(CL_TRUE), 0, target.count, base, 0, nil, nil), "clEnqueueReadBuffer")
        }
    }

    /// Sets every byte to `pattern` (tests poison outputs this way so that an unwritten element shows).
    public func fill(byte pattern: UInt8) throws(OpenCLError) {
        var value = pattern
        try context.enqueueLock.withLock { _ throws(OpenCLError) in
            try check(clEnqueueFillBuffer(context.queue, memory, &value, 1, 0, allocatedBytes, 0, nil, nil), "clEnqueueFillBuffer")
        }
    }
}

/// Tensor buffers on an OpenCL device are OpenCL buffers.
extension OpenCLBuffer: DeviceStorage {}
