import COpenCL
import IOTensor
import Synchronization

extension Device {
    /// OpenCL device `index` (as ``OpenCL/devices()`` numbers them), or the best one — the GPU
    /// with the most compute, else the CPU device — when `index` is nil.
    ///
    /// Moving a tensor there (`tensor.to(.opencl())`) throws `TensorError.device` when no OpenCL
    /// platform is installed or the number is out of range; the CPU keeps working either way.
    public static func opencl(_ index: Int? = nil) -> Device {
        let resolved = index ?? ((try? OpenCL.bestDevice())?.index ?? 0)
        return Device(kind: "opencl", index: resolved, provider: OpenCLDeviceProvider.shared)
    }
}

extension OpenCL {
    /// The backend of device `index` (created on first use and kept for the process): its context,
    /// and counters of kernel launches and CPU fallbacks.
    public static func backend(_ index: Int) throws -> OpenCLBackend {
        try OpenCLDeviceProvider.shared.openCLBackend(index: index)
    }
}

/// Makes one backend per OpenCL device, on first use, and keeps it for the process (the programs
/// it has built and its buffer pool live as long).
final class OpenCLDeviceProvider: DeviceProvider {
    static let shared = OpenCLDeviceProvider()
    private let backends = Mutex<[Int: OpenCLBackend]>([:])

    func backend(index: Int) throws -> any DeviceBackend { try openCLBackend(index: index) }

    func openCLBackend(index: Int) throws -> OpenCLBackend {
        if let existing = backends.withLock({ $0[index] }) { return existing }
        let devices = try OpenCL.devices()
        guard devices.indices.contains(index) else {
            throw OpenCLError(code: CL_DEVICE_NOT_FOUND, call: "OpenCL device \(index) (there are \(devices.count))")
        }
        let made = OpenCLBackend(context: try OpenCLContext(device: devices[index]))
        return backends.withLock { backends in
            if let raced = backends[index] { return raced }
            backends[index] = made
            return made
        }
    }
}
