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
final class TensorBuffer: @unchecked Sendable {
    /// The start of the allocation.
    let base: UnsafeMutableRawPointer
    /// The size of the allocation in bytes.
    let byteCount: Int
    /// For memory this buffer only borrows (a shared-memory mapping, say): whoever owns it,
    /// kept alive as long as the buffer. Nil for memory the buffer allocated and frees.
    let owner: (any AnyObject & Sendable)?

    /// Whether the memory is borrowed, and so never written: a tensor over it copies before its
    /// first write, however uniquely it holds the buffer.
    var isBorrowed: Bool { owner != nil }

    /// Buffers at least this large ask the kernel for transparent huge pages, which cuts the cost
    /// of first touching fresh memory (the same choice NumPy makes for large arrays).
    static let hugePageThreshold = 4 << 20

    /// Allocates `byteCount` bytes, uninitialized.
    init(byteCount: Int) {
        self.byteCount = byteCount
        owner = nil
        let size = max(byteCount, 1)
        if let cached = BufferCache.take(byteCount: size) {
            base = cached
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
                base = pointer
                return
            }
        }
        var pointer: UnsafeMutableRawPointer?
        if posix_memalign(&pointer, 64, size) == 0, let pointer {
            base = pointer
        } else {
            // Allocation failure is not recoverable for the caller; say so plainly.
            fatalError("IOTensor: could not allocate \(size) bytes for a tensor")
        }
    }

    /// Borrows `byteCount` bytes at `base`, which `owner` keeps valid while it lives.
    init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, owner: any AnyObject & Sendable) {
        self.base = base
        self.byteCount = byteCount
        self.owner = owner
    }

    deinit {
        if owner == nil { BufferCache.give(base, byteCount: max(byteCount, 1)) }
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
