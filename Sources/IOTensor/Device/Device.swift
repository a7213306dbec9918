/// Where a tensor's elements live: host memory (``cpu``) or an accelerator that a backend module
/// provides (`Device.opencl(0)` from `IOTensorOpenCL`).
///
/// Operations run where their operands are: an operation with an operand on a device runs there
/// and returns a tensor on that device, bringing its host operands along (a bias row, a scalar).
/// Operations without a device kernel read the device tensor back and run on the CPU, so every
/// operation works on every device. ``Tensor/to(_:)`` moves a tensor between devices.
///
/// ```swift
/// import IOTensorOpenCL
/// let a = try Tensor<Float>.randomNormal([512, 512], seed: 1).to(.opencl())
/// let b = try a.matmul(a).relu()          // both run on the OpenCL device
/// let back = try b.to(.cpu)
/// ```
public struct Device: Hashable, Sendable, CustomStringConvertible {
    /// The backend's name: `"cpu"`, `"opencl"`.
    public let kind: String
    /// The device's number among its backend's devices.
    public let index: Int
    let provider: (any DeviceProvider)?

    /// Host memory and the CPU kernels (BLAS, LAPACK, vectorized loops).
    public static let cpu = Device(kind: "cpu", index: 0, provider: nil)

    /// A device that `provider` resolves to a backend when a tensor first moves there. Backend
    /// modules make these (`Device.opencl(_:)`); applications use those.
    public init(kind: String, index: Int, provider: (any DeviceProvider)?) {
        self.kind = kind
        self.index = index
        self.provider = provider
    }

    public var description: String { kind == "cpu" ? "cpu" : "\(kind):\(index)" }

    public static func == (lhs: Device, rhs: Device) -> Bool { lhs.kind == rhs.kind && lhs.index == rhs.index }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(index)
    }

    /// The backend that runs this device's kernels.
    func backend() throws(TensorError) -> any DeviceBackend {
        guard let provider else {
            throw .device(operation: "to", device: description, reason: "no backend provides this device")
        }
        do {
            return try provider.backend(index: index)
        } catch {
            throw .device(operation: "to", device: description, reason: "\(error)")
        }
    }
}

/// Resolves a backend module's device numbers to backends (implemented by `IOTensorOpenCL`).
public protocol DeviceProvider: Sendable {
    /// The backend for device `index`, created on first use and shared afterwards.
    func backend(index: Int) throws -> any DeviceBackend
}

/// Memory on a device that holds one tensor buffer's bytes.
public protocol DeviceStorage: AnyObject, Sendable {
    /// The bytes it holds.
    var byteCount: Int { get }
    /// Copies `target.count` bytes from the device into `target` after every command enqueued
    /// before (the host waits).
    func read(into target: UnsafeMutableRawBufferPointer) throws
    /// Copies `source` onto the device, in order with the commands enqueued before and after.
    func write(from source: UnsafeRawBufferPointer) throws
}
