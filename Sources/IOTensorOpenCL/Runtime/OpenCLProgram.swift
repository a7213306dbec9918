import COpenCL
import Synchronization

/// A kernel program built for one context's device.
public final class OpenCLProgram: @unchecked Sendable {
    let program: cl_program
    unowned let context: OpenCLContext
    private let kernels = Mutex<[String: UInt]>([:])

    init(source: String, options: String, context: OpenCLContext) throws(OpenCLError) {
        self.context = context
        var status: cl_int = 0
        let made: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = source.utf8.count
            return clCreateProgramWithSource(context.context, 1, &pointer, &length, &status)
        }
        guard let made, status == CL_SUCCESS else { throw OpenCLError(code: status, call: "clCreateProgramWithSource") }
        var device: cl_device_id? = context.device.deviceID
        let built = clBuildProgram(made, 1, &device, options, nil, nil)
        guard built == CL_SUCCESS else {
            let log = Self.buildLog(made, device: context.device.deviceID)
            clReleaseProgram(made)
            throw OpenCLError(code: built, call: "clBuildProgram", buildLog: log)
        }
        program = made
    }

    deinit {
        for kernel in kernels.withLock({ Array($0.values) }) { clReleaseKernel(cl_kernel(bitPattern: kernel)) }
        clReleaseProgram(program)
    }

    /// Runs kernel `name` over a `global` range (one to three dimensions), in `local` work
    /// groups or as the implementation chooses, after `arguments` are set: buffers, or plain
    /// values (`Int32`, `Float`, …) passed by value. The launch is enqueued in order; it does not
    /// wait for the kernel to finish.
    public func run(_ name: String, global: [Int], local: [Int]? = nil, arguments: [OpenCLArgument]) throws(OpenCLError) {
        guard (1...3).contains(global.count), local.map({ $0.count == global.count }) ?? true else {
            throw OpenCLError(code: CL_INVALID_WORK_DIMENSION, call: "run \(name) over \(global) in \(local ?? [])")
        }
        guard global.allSatisfy({ $0 > 0 }) else { return }
        try context.enqueueLock.withLock { _ throws(OpenCLError) in
            let kernel = try self.kernel(name)
            for (index, argument) in arguments.enumerated() {
                let status: cl_int
                switch argument {
                case .buffer(let buffer):
                    var memory: cl_mem? = buffer.memory
                    status = clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem>.size, &memory)
                case .bytes(let bytes):
                    status = bytes.withUnsafeBytes { clSetKernelArg(kernel, cl_uint(index), $0.count, $0.baseAddress) }
                case .local(let byteCount):
                    status = clSetKernelArg(kernel, cl_uint(index), byteCount, nil)
                }
                try check(status, "clSetKernelArg")
            }
            let status: cl_int
            if let local {
                status = clEnqueueNDRangeKernel(context.queue, kernel, cl_uint(global.count), nil, global, local, 0, nil, nil)
            } else {
                status = clEnqueueNDRangeKernel(context.queue, kernel, cl_uint(global.count), nil, global, nil, 0, nil, nil)
            }
            guard status == CL_SUCCESS else { throw OpenCLError(code: status, call: "clEnqueueNDRangeKernel (\(name))") }
        }
    }

    /// Kernel `name`, created on first use (callers hold the context's enqueue lock).
    private func kernel(_ name: String) throws(OpenCLError) -> cl_kernel {
        if let cached = kernels.withLock({ $0[name] }) { return cl_kernel(bitPattern: cached)! }
        var status: cl_int = 0
        guard let made = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
            throw OpenCLError(code: status, call: "clCreateKernel (\(name))")
        }
        kernels.withLock { $0[name] = UInt(bitPattern: made) }
        return made
    }

    private static func buildLog(_ program: cl_program, device: cl_device_id) -> String {
        var length = 0
        guard clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &length) == CL_SUCCESS,
            length > 0
        else { return "" }
        var bytes = [CChar](repeating: 0, count: length + 1)
        guard clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), length, &bytes, nil) == CL_SUCCESS
        else { return "" }
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One argument of a kernel launch.
public enum OpenCLArgument: Sendable {
    /// A device buffer (a `__global` pointer).
    case buffer(OpenCLBuffer)
    /// A value passed by value (its bytes).
    case bytes([UInt8])
    /// `byteCount` bytes of work-group local memory (a `__local` pointer).
    case local(byteCount: Int)

    /// A plain value (`Int32`, `UInt32`, `Float`, …) passed by value.
    public static func value<T: BitwiseCopyable>(_ value: T) -> OpenCLArgument {
        .bytes(withUnsafeBytes(of: value) { Array($0) })
    }
}
