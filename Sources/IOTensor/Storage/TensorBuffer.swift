#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Raw, 64-byte-aligned memory that holds a tensor's elements.
///
/// Tensors are values: several `Tensor`s (views, copies) may share one buffer, and a tensor writes
/// to its buffer only when it is the sole owner (copy-on-write, checked with
/// `isKnownUniquelyReferenced`). That makes sharing a buffer across threads safe, hence the
/// `@unchecked Sendable`: nothing writes to a buffer that another value can see.
///
/// A buffer on a device (``deviceMemory``) keeps its elements there; ``base`` is then a host
/// copy, read back from the device when CPU code first asks for it.
final class TensorBuffer: @unchecked Sendable {
    /// Host memory: the allocation, or for a buffer on a device, nil.
    private let hostBase: UnsafeMutableRawPointer?
    /// The memory on a device, for a buffer that lives there.
    let deviceMemory: DeviceMemory?
    /// The size of the allocation in bytes.
    let byteCount: Int
    /// For memory this buffer only borrows (a shared-memory mapping, say): whoever owns it,
    /// kept alive as long as the buffer. Nil for memory the buffer allocated and frees.
    let owner: (any AnyObject & Sendable)?

    /// Whether the memory is borrowed, and so never written: a tensor over it copies before its
    /// first write, however uniquely it holds the buffer.
    var isBorrowed: Bool { owner != nil }

    /// The start of the elements in host memory; for a buffer on a device, its host copy, brought
    /// up to date first.
    @inline(__always) var base: UnsafeMutableRawPointer {
        if let hostBase { return hostBase }
        return deviceMemory!.hostMirror()
    }

    /// Buffers at least this large ask the kernel for transparent huge pages, which cuts the cost
    /// of first touching fresh memory (the same choice NumPy makes for large arrays).
    static let hugePageThreshold = 4 << 20

    /// Allocates `byteCount` bytes, uninitialized.
    init(byteCount: Int) {
        self.byteCount = byteCount
        owner = nil
        deviceMemory = nil
        let size = max(byteCount, 1)
        if let cached = BufferCache.take(byteCount: size) {
            hostBase = cached
            return
        }
        if size >= Self.hugePageThreshold {
            let hugePage = 2 << 20
            let rounded = (size + hugePage - 1) / hugePage * hugePage
            var pointer: UnsafeMutableRawPointer?
            if posix_memalign(&pointer, hugePage, rounded) == 0, let pointer {
                #if os(Linux)
                    _ = madvise(pointer, rounded, MADV_HUGEPAGE)
                #endif
                hostBase = pointer
                return
            }
        }
        var pointer: UnsafeMutableRawPointer?
        if posix_memalign(&pointer, 64, size) == 0, let pointer {
            hostBase = pointer
        } else {
            // Allocation failure is not recoverable for the caller; say so plainly.
            fatalError("IOTensor: could not allocate \(size) bytes for a tensor")
        }
    }

    /// Borrows `byteCount` bytes at `base`, which `owner` keeps valid while it lives.
    init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, owner: any AnyObject & Sendable) {
        self.hostBase = base
        self.byteCount = byteCount
        self.owner = owner
        deviceMemory = nil
    }

    /// A buffer whose elements live in `memory` on a device.
    init(device memory: DeviceMemory) {
        hostBase = nil
        byteCount = memory.byteCount
        owner = nil
        deviceMemory = memory
    }

    deinit {
        if owner == nil, let hostBase { BufferCache.give(hostBase, byteCount: max(byteCount, 1)) }
    }
}

/// The machine's physical memory, the ceiling for a single tensor.
enum MemoryLimit {
    static let physicalBytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return Int.max }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? Int.max : bytes
    }()
}
