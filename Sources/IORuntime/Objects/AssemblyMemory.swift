import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Large regions that pulled objects were assembled in, kept after the object is gone for the
/// next pull of the same size.
///
/// A region above glibc's mmap threshold (32 MiB at most) comes fresh from the kernel and goes
/// back to it on `free`, so every pull of a large object faulted in every page of its buffer
/// again. On a VM that reports freed pages to its host, those faults are the most expensive part
/// of a transfer: a 100 MiB pull between two nodes spent 51 % of its CPU time zeroing fresh pages
/// (`clear_page_erms`), and took 420–1,170 ms instead of 130 ms when the host was slow to back
/// them. Ray's object store avoids the same cost by mapping its memory once and reusing it.
///
/// Regions are 2 MiB aligned, advised onto huge pages, and sized in whole 2 MiB pages; one is
/// reused only for an object of the same rounded size. Up to ``limitBytes`` are kept, the
/// oldest freed first. Their old contents never reach a reader: a pull seals its buffer only
/// once every chunk has been written into it (see `ObjectPuller`).
enum AssemblyMemory {
    /// Regions from this size up are kept; smaller ones go to malloc and free, which recycle them.
    static let minimumBytes = 2 << 20
    /// The most freed memory kept: a sixteenth of physical memory, at most 512 MiB.
    static let limitBytes = min(ObjectTransfer.maximumObjectBytes / 16, 512 << 20)

    private struct Region: Sendable {
        let capacity: Int
        let address: UInt
    }

    private struct State: ~Copyable {
        /// Oldest first.
        var regions: [Region] = []
        var keptBytes = 0
    }

    private static let state = Mutex(State())

    /// The capacity a region for `count` bytes has: whole 2 MiB pages from ``minimumBytes`` up.
    static func capacity(for count: Int) -> Int {
        guard count >= minimumBytes else { return max(count, 1) }
        let page = 2 << 20
        return (count + page - 1) / page * page
    }

    /// Memory for `count` bytes, of ``capacity(for:)`` bytes: a kept region when one fits,
    /// otherwise a fresh one; `nil` when it cannot be had.
    static func take(_ count: Int) -> UnsafeMutableRawPointer? {
        guard count >= 0 else { return nil }
        let capacity = capacity(for: count)
        if count >= minimumBytes {
            let kept = state.withLock { state -> Region? in
                guard let index = state.regions.lastIndex(where: { $0.capacity == capacity }) else { return nil }
                state.keptBytes -= capacity
                return state.regions.remove(at: index)
            }
            if let kept { return UnsafeMutableRawPointer(bitPattern: kept.address) }
        }
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, count >= minimumBytes ? 2 << 20 : 64, capacity) == 0, let pointer else { return nil }
        if count >= minimumBytes { _ = madvise(pointer, capacity, MADV_HUGEPAGE) }
        return pointer
    }

    /// Gives back memory that ``take(_:)`` returned for `count` bytes: kept for reuse when large
    /// enough and there is room (the oldest kept regions are freed to make it), freed otherwise.
    static func give(_ pointer: UnsafeMutableRawPointer, count: Int) {
        let capacity = capacity(for: count)
        guard count >= minimumBytes, capacity <= limitBytes else {
            free(pointer)
            return
        }
        let evicted = state.withLock { state -> [Region] in
            state.regions.append(Region(capacity: capacity, address: UInt(bitPattern: pointer)))
            state.keptBytes += capacity
            var evicted: [Region] = []
            while state.keptBytes > limitBytes {
                let oldest = state.regions.removeFirst()
                state.keptBytes -= oldest.capacity
                evicted.append(oldest)
            }
            return evicted
        }
        for region in evicted { free(UnsafeMutableRawPointer(bitPattern: region.address)) }
    }

    /// `value` encoded into memory from here, when it is large enough to be worth it (its
    /// ``WireSerializable/wireByteCount`` from ``minimumBytes`` up) and the estimate held; `nil`
    /// otherwise (the caller encodes into an array). The memory comes back here when the last
    /// user of the bytes is gone.
    static func encode(_ value: any WireSerializable) -> SharedBytes? {
        let estimate = value.wireByteCount + 256
        guard estimate >= minimumBytes, let base = take(estimate) else { return nil }
        let writer = RegionWriter(base: base, capacity: estimate)
        var encoder = WireEncoder(sink: writer)
        value.encode(to: &encoder)
        encoder.finish()
        guard !writer.overflowed else {
            give(base, count: estimate)
            return nil
        }
        let address = Int(bitPattern: base)
        return SharedBytes(bytes: UnsafeRawBufferPointer(start: base, count: writer.length)) {
            give(UnsafeMutableRawPointer(bitPattern: address)!, count: estimate)
        }
    }

    /// How many bytes are kept now (tests).
    static var keptBytes: Int { state.withLock { $0.keptBytes } }
}

/// Writes an encoding into a region of fixed capacity; one that does not fit is marked
/// overflowed and stops writing.
private final class RegionWriter: WireSink, @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    private(set) var length = 0
    private(set) var overflowed = false

    init(base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    override func append(_ raw: UnsafeRawBufferPointer) {
        guard !overflowed, let source = raw.baseAddress, !raw.isEmpty else { return }
        guard raw.count <= capacity - length else {
            overflowed = true
            return
        }
        (base + length).copyMemory(from: source, byteCount: raw.count)
        length += raw.count
    }
}
