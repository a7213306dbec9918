import COpenCL
import Synchronization

/// A device's OpenCL context with one in-order command queue, the programs built for it (each
/// source compiled once and cached), and a pool of freed buffers for reuse.
///
/// Commands on the queue run in the order they are enqueued, so a kernel sees the writes of the
/// transfers and kernels before it without host synchronisation; the host waits only where it
/// reads a value back (``OpenCLBuffer/read(into:)``).
public final class OpenCLContext: @unchecked Sendable {
    public let device: OpenCLDevice
    let context: cl_context
    let queue: cl_command_queue
    private let programs = Mutex<[String: OpenCLProgram]>([:])
    /// Freed buffers by size (their handles' bit patterns, so that the pool is `Sendable`).
    private let pool = Mutex<[Int: [UInt]]>([:])
    /// Bytes of freed buffers kept for reuse, at most.
    static let poolLimit = 256 << 20
    private let pooledBytes = Atomic<Int>(0)
    // Sound: OpenCL contexts and queues may be used from any thread; every enqueue on the one
    // queue goes through `enqueueLock` so commands keep the order their callers saw.
    let enqueueLock = Mutex(())

    /// A context on `device`.
    public init(device: OpenCLDevice) throws(OpenCLError) {
        self.device = device
        var status: cl_int = 0
        var id: cl_device_id? = device.deviceID
        guard let context = clCreateContext(nil, 1, &id, nil, nil, &status) else {
            throw OpenCLError(code: status == 0 ? CL_OUT_OF_HOST_MEMORY : status, call: "clCreateContext")
        }
        guard let queue = clCreateCommandQueueWithProperties(context, device.deviceID, nil, &status), status == CL_SUCCESS else {
            clReleaseContext(context)
            throw OpenCLError(code: status, call: "clCreateCommandQueueWithProperties")
        }
        self.context = context
        self.queue = queue
    }

    deinit {
        clFinish(queue)
        for buffers in pool.withLock({ Array($0.values) }) { for buffer in buffers { clReleaseMemObject(cl_mem(bitPattern: buffer)) } }
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// A buffer of `byteCount` bytes on the device, uninitialized (a pooled one when a freed
    /// buffer of that size is available).
    public func buffer(byteCount: Int) throws(OpenCLError) -> OpenCLBuffer {
        let size = max(byteCount, 4)
        if let reused = pool.withLock({ pool -> UInt? in pool[size]?.popLast() }), let memory = cl_mem(bitPattern: reused) {
            pooledBytes.subtract(size, ordering: .relaxed)
            return OpenCLBuffer(memory: memory, byteCount: byteCount, allocatedBytes: size, context: self)
        }
        guard size <= device.maximumAllocation else {
            throw OpenCLError(
                code: CL_INVALID_BUFFER_SIZE, call: "clCreateBuffer (\(size) bytes, device limit \(device.maximumAllocation))")
        }
        var status: cl_int = 0
        guard let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &status), status == CL_SUCCESS else {
            throw OpenCLError(code: status, call: "clCreateBuffer")
        }
        return OpenCLBuffer(memory: memory, byteCount: byteCount, allocatedBytes: size, context: self)
    }

    /// Takes a freed buffer back into the pool, or releases it when the pool is full.
    func recycle(_ memory: cl_mem, allocatedBytes: Int) {
        if pooledBytes.add(allocatedBytes, ordering: .relaxed).newValue <= Self.poolLimit {
            let handle = UInt(bitPattern: memory)
            pool.withLock { $0[allocatedBytes, default: []].append(handle) }
        } else {
            pooledBytes.subtract(allocatedBytes, ordering: .relaxed)
            clReleaseMemObject(memory)
        }
    }

    /// Sets every byte of every pooled buffer to `pattern`, so that a kernel that leaves part of a
    /// reused output unwritten shows it (0xFF is NaN for floats). For tests.
    public func poisonPool(byte pattern: UInt8) throws(OpenCLError) {
        // Under the pool's lock, so that no buffer leaves the pool while its fill is enqueued.
        try pool.withLock { pool throws(OpenCLError) in
            var value = pattern
            try enqueueLock.withLock { _ throws(OpenCLError) in
                for (size, handles) in pool {
                    for handle in handles {
                        try check(
                            clEnqueueFillBuffer(queue, cl_mem(bitPattern: handle), &value, 1, 0, size, 0, nil, nil), "clEnqueueFillBuffer")
                    }
                }
            }
        }
    }

    /// The program built from `source` with `options`, compiled on first use and cached.
    ///
    /// - Throws: ``OpenCLError`` with the compiler's log when the source does not build.
    public func program(source: String, options: String = "") throws(OpenCLError) -> OpenCLProgram {
        let key = options + "\u{0}" + source
        if let cached = programs.withLock({ $0[key] }) { return cached }
        let built = try OpenCLProgram(source: source, options: options, context: self)
        return programs.withLock { programs in
            if let raced = programs[key] { return raced }
            programs[key] = built
            return built
        }
    }

    /// Waits until every command enqueued so far has finished.
    public func finish() throws(OpenCLError) {
        try check(clFinish(queue), "clFinish")
    }
}
