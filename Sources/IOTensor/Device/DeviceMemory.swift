import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A tensor buffer's memory on a device, with a host copy made when the CPU needs the elements.
///
/// The device copy is current after a kernel writes the buffer; the host copy is filled (one
/// read, the host waiting for the device) the first time CPU code reads the elements, and stays
/// valid while nothing writes. When CPU code writes (`withUnsafeMutableBufferPointer`, subscript
/// assignment on a uniquely held tensor), the device copy is out of date and is written again
/// before the next kernel reads it. All of that happens under one lock, so that tensors sharing
/// the buffer on several threads see one state.
final class DeviceMemory: @unchecked Sendable {
    // Unchecked: the host pointer is stored as a bit pattern under `state`'s lock.
    let storage: any DeviceStorage
    let backend: any DeviceBackend
    let byteCount: Int

    private struct State {
        var host: UInt = 0
        var hostCurrent = false
        var deviceCurrent = true
    }
    private let state = Mutex(State())

    init(storage: any DeviceStorage, backend: any DeviceBackend, byteCount: Int) {
        self.storage = storage
        self.backend = backend
        self.byteCount = byteCount
    }

    deinit {
        let host = state.withLock { $0.host }
        if host != 0 { BufferCache.give(UnsafeMutableRawPointer(bitPattern: host)!, byteCount: max(byteCount, 1)) }
    }

    /// Host memory holding the current elements (read back from the device if needed).
    func hostMirror() -> UnsafeMutableRawPointer {
        state.withLock { state in
            let pointer = Self.hostPointer(&state, byteCount: byteCount)
            if !state.hostCurrent {
                DeviceTransfers.record(readOf: byteCount)
                do {
                    try storage.read(into: UnsafeMutableRawBufferPointer(start: pointer, count: byteCount))
                } catch {
                    // A failed read leaves no elements to compute with; the device is gone.
                    fatalError("IOTensor: reading a tensor back from \(backend.device) failed: \(error)")
                }
                state.hostCurrent = true
            }
            return pointer
        }
    }

    /// Marks the host copy as the only current one: CPU code is about to write it.
    func hostWillWrite() {
        _ = hostMirror()
        state.withLock { $0.deviceCurrent = false }
    }

    /// The device memory with the current elements, writing the host copy there first if CPU code
    /// changed it.
    func deviceStorage() throws -> any DeviceStorage {
        try state.withLock { state throws in
            if !state.deviceCurrent {
                let host = UnsafeRawPointer(bitPattern: state.host)!
                try storage.write(from: UnsafeRawBufferPointer(start: host, count: byteCount))
                state.deviceCurrent = true
            }
            return storage
        }
    }

    private static func hostPointer(_ state: inout State, byteCount: Int) -> UnsafeMutableRawPointer {
        if state.host != 0 { return UnsafeMutableRawPointer(bitPattern: state.host)! }
        let size = max(byteCount, 1)
        var pointer: UnsafeMutableRawPointer? = BufferCache.take(byteCount: size)
        if pointer == nil, posix_memalign(&pointer, 64, size) != 0 { pointer = nil }
        guard let pointer else { fatalError("IOTensor: could not allocate \(size) bytes for a tensor's host copy") }
        state.host = UInt(bitPattern: pointer)
        return pointer
    }
}

/// Counts the copies of device tensors back to host memory, made when CPU code reads their
/// elements (`scalars`, a subscript, an operation without a device kernel). A training step on a
/// device should read back little more than its loss; these counts show where it does more.
///
/// ```swift
/// let (_, reads) = try DeviceTransfers.counting { try optimizer.step() }
/// print(reads)   // 0: the update ran on the device
/// ```
public enum DeviceTransfers {
    private static let reads = Atomic<Int>(0)
    private static let readBytes = Atomic<Int>(0)

    /// A count that reads made by one task add to.
    private final class Counter: Sendable {
        let reads = Atomic<Int>(0)
    }
    @TaskLocal private static var counter: Counter?

    /// Device tensors read back to the host so far, in this process.
    public static var hostReads: Int { reads.load(ordering: .relaxed) }
    /// The bytes those reads copied.
    public static var hostReadBytes: Int { readBytes.load(ordering: .relaxed) }

    /// Runs `body` and counts the device tensors it (and what it calls on this task) read back,
    /// whatever other threads read meanwhile.
    public static func counting<R>(_ body: () throws -> R) rethrows -> (result: R, hostReads: Int) {
        let counter = Counter()
        let result = try $counter.withValue(counter) { try body() }
        return (result, counter.reads.load(ordering: .relaxed))
    }

    static func record(readOf byteCount: Int) {
        reads.add(1, ordering: .relaxed)
        readBytes.add(byteCount, ordering: .relaxed)
        counter?.reads.add(1, ordering: .relaxed)
    }
}
