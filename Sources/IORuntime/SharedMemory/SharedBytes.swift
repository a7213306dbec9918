import CSharedMemory

#if canImport(Glibc)
    import Glibc
#endif

/// An object's encoding in shared memory, as its readers see it: mapped from another process's
/// segment, or a view of a segment of this one. Nobody writes to the bytes while this lives;
/// values decoded from it may borrow them (a large tensor does). `onRelease` runs once, when
/// the last user is gone: it unmaps and tells the lender, or gives the segment back.
final class SharedBytes: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    /// Whether the bytes are another process's segment, mapped: held, they keep its memory from
    /// going back to its pool.
    let isLoan: Bool
    private let onRelease: @Sendable () -> Void

    init(bytes: UnsafeRawBufferPointer, isLoan: Bool = false, onRelease: @escaping @Sendable () -> Void) {
        self.bytes = bytes
        self.isLoan = isLoan
        self.onRelease = onRelease
    }

    deinit { onRelease() }

    /// A copy of the bytes, for the paths that need an array (spilling to disk, chunks over TCP).
    var array: [UInt8] { Array(bytes) }

    /// Maps the object that another process lent, read-only; `release` runs after it is unmapped.
    /// With `requiringSeal` (the default) only a segment sealed against writes and resizing is
    /// mapped.
    static func map(
        _ shared: SharedObject, requiringSeal: Bool = true, release: @escaping @Sendable () -> Void
    ) throws(SharedMemoryError) -> SharedBytes {
        let path = "/proc/\(shared.process)/fd/\(shared.descriptor)"
        guard shared.byteCount > 0 else { throw .invalidLoan(path: path, reason: "it is empty") }
        // Only memory files made by `SharedSegment` are mapped: a confused or hostile peer cannot
        // point this process at an arbitrary file.
        var target = [CChar](repeating: 0, count: 256)
        let length = readlink(path, &target, target.count - 1)
        guard length > 0 else { throw .cannotOpen(path: path, errno: errno) }
        let name = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard name.hasPrefix("/memfd:\(SharedSegment.namePrefix)") else {
            throw .invalidLoan(path: path, reason: "it is \(name), not an IOCompute segment")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        defer { close(descriptor) }
        // Only a sealed segment is mapped: the lender cannot write to it or shrink it while it is
        // read (a shrink would turn reads into SIGBUS), whatever it intends.
        guard !requiringSeal || iocompute_is_sealed_readonly(descriptor) == 1 else {
            throw .invalidLoan(path: path, reason: "it is not sealed against writes and resizing")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .cannotOpen(path: path, errno: errno) }
        guard Int(status.st_size) >= shared.byteCount else {
            throw .invalidLoan(path: path, reason: "it holds \(status.st_size) bytes, fewer than the \(shared.byteCount) lent")
        }
        guard let base = mmap(nil, shared.byteCount, PROT_READ, MAP_SHARED, descriptor, 0), base != MAP_FAILED else {
            throw .cannotMap(byteCount: shared.byteCount, errno: errno)
        }
        let count = shared.byteCount
        let address = Int(bitPattern: base)
        return SharedBytes(bytes: UnsafeRawBufferPointer(start: base, count: count), isLoan: true) {
            munmap(UnsafeMutableRawPointer(bitPattern: address), count)
            release()
        }
    }
}

/// Why an object could not be shared through memory; the puller falls back to chunks over the
/// connection.
enum SharedMemoryError: Error, CustomStringConvertible {
    case cannotCreate(byteCount: Int, errno: Int32)
    case cannotMap(byteCount: Int, errno: Int32)
    case cannotOpen(path: String, errno: Int32)
    case invalidLoan(path: String, reason: String)
    case cannotSeal(errno: Int32)

    var description: String {
        switch self {
        case .cannotCreate(let count, let code):
            "could not create a shared memory segment of \(count) bytes: \(String(cString: strerror(code)))"
        case .cannotMap(let count, let code): "could not map \(count) bytes of shared memory: \(String(cString: strerror(code)))"
        case .cannotOpen(let path, let code): "could not open \(path): \(String(cString: strerror(code)))"
        case .invalidLoan(let path, let reason): "refused to map \(path): \(reason)"
        case .cannotSeal(let code): "could not seal a shared memory segment: \(String(cString: strerror(code)))"
        }
    }
}
