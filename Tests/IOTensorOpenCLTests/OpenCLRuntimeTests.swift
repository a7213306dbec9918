import IOTensor
import IOTensorOpenCL
import Testing

/// The device the tests run on: the best one found (PoCL's CPU device in CI).
func testContext() throws -> OpenCLContext {
    try OpenCLContext(device: try OpenCL.bestDevice())
}

@Suite("OpenCL runtime", .timeLimit(.minutes(3)))
struct OpenCLRuntimeTests {
    @Test("devices are found with their kind, memory, compute units and limits")
    func discovery() throws {
        let devices = try OpenCL.devices()
        #expect(!devices.isEmpty)
        for (index, device) in devices.enumerated() {
            #expect(device.index == index)
            #expect(!device.name.isEmpty && !device.platformName.isEmpty)
            #expect(device.globalMemory > 0 && device.maximumAllocation > 0 && device.localMemory > 0)
            #expect(device.computeUnits > 0 && device.maximumWorkGroupSize > 0 && !device.maximumWorkItemSizes.isEmpty)
            #expect(device.version.hasPrefix("OpenCL"))
        }
        let best = try OpenCL.bestDevice()
        #expect(devices.contains(best))
        // A GPU is preferred over a CPU device whenever there is one.
        if devices.contains(where: { $0.kind == .gpu }) { #expect(best.kind == .gpu) }
    }

    @Test("a kernel adds two buffers; the output is poisoned first so that an unwritten element shows")
    func kernelRoundTrip() throws {
        let context = try testContext()
        let program = try context.program(
            source: """
                __kernel void add(__global const float *a, __global const float *b, __global float *out, const int count) {
                    int i = get_global_id(0);
                    if (i < count) out[i] = a[i] + b[i];
                }
                """)
        for count in [1, 7, 1031] {
            let a = try Tensor<Float>.randomNormal([count], seed: 1).scalars
            let b = try Tensor<Float>.randomNormal([count], seed: 2).scalars
            let (left, right, out) = (
                try context.buffer(byteCount: count * 4), try context.buffer(byteCount: count * 4), try context.buffer(byteCount: count * 4)
            )
            try a.withUnsafeBytes { try left.write(from: $0) }
            try b.withUnsafeBytes { try right.write(from: $0) }
            try out.fill(byte: 0xFF)  // NaN everywhere
            let groups = (count + 63) / 64 * 64
            try program.run("add", global: [groups], arguments: [.buffer(left), .buffer(right), .buffer(out), .value(Int32(count))])
            var result = [Float](repeating: 0, count: count)
            try result.withUnsafeMutableBytes { try out.read(into: $0) }
            #expect(result == zip(a, b).map { $0 + $1 })
        }
        // The same source is compiled once.
        #expect(
            try context.program(source: "__kernel void k(__global float *x) { x[0] = 1; }")
                === context.program(source: "__kernel void k(__global float *x) { x[0] = 1; }"))
    }

    @Test("a program that does not build reports the compiler's log; bad calls have named errors")
    func errors() throws {
        let context = try testContext()
        do {
            _ = try context.program(source: "__kernel void broken(__global float *x) { x[0] = undefined_name; }")
            Issue.record("a broken program built")
        } catch {
            #expect(error.name == "CL_BUILD_PROGRAM_FAILURE")
            #expect(error.call == "clBuildProgram")
            #expect(error.buildLog?.contains("undefined_name") == true, "\(error)")
        }
        let program = try context.program(source: "__kernel void one(__global float *x) { x[get_global_id(0)] = 1; }")
        #expect(throws: OpenCLError.self) { try program.run("missing", global: [1], arguments: []) }
        do {
            try program.run("missing", global: [1], arguments: [])
        } catch {
            #expect(error.name == "CL_INVALID_KERNEL_NAME")
        }
        #expect(throws: OpenCLError.self) { try program.run("one", global: [1, 1, 1, 1], arguments: []) }
        let small = try context.buffer(byteCount: 8)
        #expect(throws: OpenCLError.self) { try [UInt8](repeating: 0, count: 16).withUnsafeBytes { try small.write(from: $0) } }
        #expect(OpenCLError.name(of: -5) == "CL_OUT_OF_RESOURCES")
        #expect(OpenCLError.name(of: -1001) == "CL_PLATFORM_NOT_FOUND_KHR")
        #expect(OpenCLError(code: -1001, call: "clGetPlatformIDs").description.contains("no OpenCL platform is installed"))
        #expect(OpenCLError.name(of: -9999) == "unknown OpenCL error")
    }
}
