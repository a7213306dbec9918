import COpenCL
import Foundation

/// What an OpenCL device is.
public enum OpenCLDeviceKind: String, Sendable, Equatable {
    case gpu, cpu, accelerator, other
}

/// An OpenCL device found on this machine, with the facts that matter for placing work on it.
public struct OpenCLDevice: Sendable, Equatable, CustomStringConvertible {
    /// Its place in ``OpenCL/devices()``: what `.opencl(index)` names.
    public let index: Int
    public let name: String
    public let vendor: String
    public let kind: OpenCLDeviceKind
    /// The platform (driver) that provides it.
    public let platformName: String
    /// `OpenCL <major>.<minor> …` as the device reports it.
    public let version: String
    public let driverVersion: String
    /// Global memory, bytes.
    public let globalMemory: Int
    /// The largest single buffer, bytes.
    public let maximumAllocation: Int
    /// Local (work-group shared) memory, bytes.
    public let localMemory: Int
    public let computeUnits: Int
    /// MHz.
    public let clockFrequency: Int
    public let maximumWorkGroupSize: Int
    public let maximumWorkItemSizes: [Int]
    /// Whether it computes in double precision (`cl_khr_fp64`).
    public let supportsDouble: Bool

    let id: UInt

    var deviceID: cl_device_id { cl_device_id(bitPattern: id)! }

    public var description: String {
        "\(index): \(name) (\(kind.rawValue), \(platformName)), \(computeUnits) compute units at \(clockFrequency) MHz, "
            + "\(globalMemory >> 20) MiB global, \(localMemory >> 10) KiB local, work groups up to \(maximumWorkGroupSize)"
    }
}

/// Discovery of the OpenCL platforms and devices of this machine.
public enum OpenCL {
    /// Every device of every platform, numbered in that order.
    ///
    /// - Throws: ``OpenCLError`` with ``OpenCLError/meansNoPlatform`` set when there is no
    ///   platform (no ICD installed); the CPU tensor backend keeps working either way.
    public static func devices() throws(OpenCLError) -> [OpenCLDevice] {
        try discovered.get()
    }

    /// Discovery runs once per process: OpenCL drivers (PoCL among them) do not all enumerate
    /// their devices safely from several threads at once, and the answer does not change.
    private static let discovered: Result<[OpenCLDevice], OpenCLError> = Result { () throws(OpenCLError) in try discover() }

    private static func discover() throws(OpenCLError) -> [OpenCLDevice] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        if status == -1001 || (status == CL_SUCCESS && count == 0) {
            throw OpenCLError(code: -1001, call: "clGetPlatformIDs")
        }
        try check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")
        var devices: [OpenCLDevice] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            var deviceCount: cl_uint = 0
            let found = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if found == CL_DEVICE_NOT_FOUND { continue }
            try check(found, "clGetDeviceIDs")
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil), "clGetDeviceIDs")
            for case let id? in ids {
                devices.append(try describe(id, index: devices.count, platformName: platformName))
            }
        }
        guard !devices.isEmpty else { throw OpenCLError(code: CL_DEVICE_NOT_FOUND, call: "clGetDeviceIDs") }
        return devices
    }

    /// The device to use by default: the GPU with the most compute throughput (units × clock),
    /// else an accelerator, else the CPU device.
    public static func bestDevice() throws(OpenCLError) -> OpenCLDevice {
        let all = try devices()
        let rank: (OpenCLDevice) -> (Int, Int) = { device in
            let kind = [.gpu: 3, .accelerator: 2, .cpu: 1][device.kind] ?? 0
            return (kind, device.computeUnits * max(device.clockFrequency, 1))
        }
        return all.max { rank($0) < rank($1) }!
    }

    private static func describe(_ id: cl_device_id, index: Int, platformName: String) throws(OpenCLError) -> OpenCLDevice {
        let type: cl_device_type = try deviceValue(id, CL_DEVICE_TYPE)
        let kind: OpenCLDeviceKind =
            type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0
            ? .gpu
            : type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0
                ? .cpu : type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 ? .accelerator : .other
        let dimensions: cl_uint = try deviceValue(id, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS)
        var sizes = [Int](repeating: 0, count: Int(dimensions))
        try check(
            clGetDeviceInfo(id, cl_device_info(CL_DEVICE_MAX_WORK_ITEM_SIZES), MemoryLayout<Int>.stride * sizes.count, &sizes, nil),
            "clGetDeviceInfo")
        let extensions = try deviceString(id, CL_DEVICE_EXTENSIONS)
        let globalMemory: cl_ulong = try deviceValue(id, CL_DEVICE_GLOBAL_MEM_SIZE)
        let maximumAllocation: cl_ulong = try deviceValue(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        let localMemory: cl_ulong = try deviceValue(id, CL_DEVICE_LOCAL_MEM_SIZE)
        let computeUnits: cl_uint = try deviceValue(id, CL_DEVICE_MAX_COMPUTE_UNITS)
        let clock: cl_uint = try deviceValue(id, CL_DEVICE_MAX_CLOCK_FREQUENCY)
        let workGroup: Int = try deviceValue(id, CL_DEVICE_MAX_WORK_GROUP_SIZE)
        return OpenCLDevice(
            index: index, name: try deviceString(id, CL_DEVICE_NAME), vendor: try deviceString(id, CL_DEVICE_VENDOR), kind: kind,
            platformName: platformName, version: try deviceString(id, CL_DEVICE_VERSION),
            driverVersion: try deviceString(id, CL_DRIVER_VERSION), globalMemory: Int(globalMemory),
            maximumAllocation: Int(maximumAllocation), localMemory: Int(localMemory), computeUnits: Int(computeUnits),
            clockFrequency: Int(clock), maximumWorkGroupSize: workGroup, maximumWorkItemSizes: sizes,
            supportsDouble: extensions.contains("cl_khr_fp64"), id: UInt(bitPattern: id))
    }

    private static func deviceValue<T>(_ id: cl_device_id, _ info: Int32) throws(OpenCLError) -> T {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { pointer.deallocate() }
        try check(clGetDeviceInfo(id, cl_device_info(info), MemoryLayout<T>.size, pointer, nil), "clGetDeviceInfo")
        return pointer.pointee
    }

    private static func deviceString(_ id: cl_device_id, _ info: Int32) throws(OpenCLError) -> String {
        var length = 0
        try check(clGetDeviceInfo(id, cl_device_info(info), 0, nil, &length), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: length + 1)
        try check(clGetDeviceInfo(id, cl_device_info(info), length, &bytes, nil), "clGetDeviceInfo")
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
    }

    private static func platformString(_ platform: cl_platform_id, _ info: cl_platform_info) throws(OpenCLError) -> String {
        var length = 0
        try check(clGetPlatformInfo(platform, info, 0, nil, &length), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: length + 1)
        try check(clGetPlatformInfo(platform, info, length, &bytes, nil), "clGetPlatformInfo")
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
