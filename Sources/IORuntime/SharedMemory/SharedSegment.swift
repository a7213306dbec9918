import CSharedMemory

#if canImport(Glibc)
    import Glibc
#endif

/// A memory file of this process (`memfd`) into which one object is encoded, so that processes
/// on the same host can map it instead of receiving it over a socket.
///
/// A segment is written once, then sealed (``seal()``): the kernel then refuses every write and
/// every change of size, from this process or any other, so a reader that checked the seals
/// can trust that the bytes it maps stay what the lender encoded. Sealed segments are never
/// written again; the pool makes a fresh one for the next object.
///
/// Safety of `@unchecked Sendable`: the mapping is written only by the single encoder that holds
/// the segment before it is sealed (`SegmentWriter`), and only read afterwards.
final class SharedSegment: @unchecked Sendable {
    /// The name every segment's memory file has, which readers check before mapping one.
    static let namePrefix = "iocompute-object"
    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    let id: UInt64
    let descriptor: Int32
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    /// The bytes of the object now encoded in it.
    var length = 0
    /// Whether the segment is sealed read-only (mapped read-only here too).
    private(set) var isSealed = false

    init(id: UInt64, capacity requested: Int) throws(SharedMemoryError) {
        let capacity = Self.rounded(requested)
        let descriptor = iocompute_memfd(Self.namePrefix, capacity)
        guard descriptor >= 0 else { throw .cannotCreate(byteCount: capacity, errno: errno) }
        guard let base = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), base != MAP_FAILED else {
            let code = errno
            close(descriptor)
            throw .cannotMap(byteCount: capacity, errno: code)
        }
        self.id = id
        self.descriptor = descriptor
        self.base = base
        self.capacity = capacity
    }

    deinit {
        munmap(base, capacity)
        close(descriptor)
    }

    /// Grows the segment to hold at least `needed` bytes (only while nobody maps it).
    func reserve(_ needed: Int) throws(SharedMemoryError) {
        guard needed > capacity else { return }
        let grown = Self.rounded(max(needed, capacity + capacity / 2))
        guard ftruncate(descriptor, off_t(grown)) == 0 else { throw .cannotCreate(byteCount: grown, errno: errno) }
        guard let moved = iocompute_remap(base, capacity, grown) else { throw .cannotMap(byteCount: grown, errno: errno) }
        base = moved
        capacity = grown
    }

    /// The encoded object.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: length) }

    /// Seals the segment read-only for good (no writes, no resizing, no further seals) and maps
    /// it read-only here. The writable mapping must go first: the kernel refuses the write seal
    /// while one exists.
    func seal() throws(SharedMemoryError) {
        guard !isSealed else { return }
        munmap(base, capacity)
        guard iocompute_seal_readonly(descriptor) == 0 else {
            let code = errno
            base = Self.remapAfterFailure(descriptor, capacity)
            throw .cannotSeal(errno: code)
        }
        guard let readOnly = mmap(nil, capacity, PROT_READ, MAP_SHARED, descriptor, 0), readOnly != MAP_FAILED else {
            let code = errno
            base = Self.remapAfterFailure(descriptor, capacity)
            throw .cannotMap(byteCount: capacity, errno: code)
        }
        base = readOnly
        isSealed = true
    }

    /// Maps the segment again after a failed seal, so that `deinit` has something to unmap;
    /// an anonymous page stands in when even that fails.
    private static func remapAfterFailure(_ descriptor: Int32, _ capacity: Int) -> UnsafeMutableRawPointer {
        if let base = mmap(nil, capacity, PROT_READ, MAP_SHARED, descriptor, 0), base != MAP_FAILED { return base }
        return mmap(nil, capacity, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    }

    private static func rounded(_ count: Int) -> Int {
        max(pageSize, (count + pageSize - 1) / pageSize * pageSize)
    }
}

/// Encodes into a segment: the ``WireSink`` behind an encoder that writes shared memory.
final class SegmentWriter: WireSink, @unchecked Sendable {
    let segment: SharedSegment
    /// The first failure to grow the segment; later writes are dropped and the caller throws.
    private(set) var failure: SharedMemoryError?

    init(_ segment: SharedSegment) {
        self.segment = segment
        segment.length = 0
    }

    override func append(_ raw: UnsafeRawBufferPointer) {
        guard failure == nil, let source = raw.baseAddress, !raw.isEmpty else { return }
        do {
            try segment.reserve(segment.length + raw.count)
        } catch {
            failure = error
            return
        }
        (segment.base + segment.length).copyMemory(from: source, byteCount: raw.count)
        segment.length += raw.count
    }
}
