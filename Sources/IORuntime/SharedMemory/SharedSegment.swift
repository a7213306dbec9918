import CSharedMemory

#if canImport(Glibc)
    import Glibc
#endif

/// A memory file of this process (`memfd`) mapped read-write, into which objects are encoded
/// so that processes on the same host can map them instead of receiving them over a socket.
/// Segments are reused (see ``SharedMemoryPool``), so that their pages are already faulted in.
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
