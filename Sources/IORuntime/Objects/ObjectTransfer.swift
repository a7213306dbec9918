import CChecksum
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How objects move between the processes of a cluster: small ones inline in task messages,
/// large ones pulled by the node that needs them, in checksummed chunks.
enum ObjectTransfer {
    /// Objects up to this size travel inside task assignments and completions (as in Ray).
    static let inlineLimit = 100 * 1024
    /// The size of the pieces a large object is sent in; every chunk but the last is this long.
    static let chunkSize = 256 << 10
    /// The largest object a puller assembles: this machine's physical memory. A holder that
    /// claims more fails the pull instead of making this process reserve what it cannot hold.
    static let maximumObjectBytes: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 40 }
        return pages.multipliedReportingOverflow(by: pageSize).overflow ? Int.max : pages * pageSize
    }()

    /// The CRC-32C of `bytes`.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        iocompute_crc32c(0, bytes.baseAddress, bytes.count)
    }

    /// Sends an object's bytes in chunks from `sender` to `destination`, each once the
    /// connection has room, so that a slow reader holds back the sender rather than memory
    /// filling with queued chunks.
    static func sendChunks(
        of id: ObjectID, typeName: String, bytes: [UInt8], through sender: any MessageSending & ChunkSending, to destination: PeerID
    ) async throws {
        try await sendChunks(of: id, typeName: typeName, count: bytes.count, through: sender, to: destination) { ChunkBytes(bytes[$0]) }
    }

    /// Sends bytes held in memory of their own (a pulled object, a segment, an encoding kept for
    /// reuse) in chunks read in place.
    static func sendChunks(
        of id: ObjectID, typeName: String, bytes: SharedBytes, through sender: any MessageSending & ChunkSending, to destination: PeerID
    ) async throws {
        try await sendChunks(of: id, typeName: typeName, count: bytes.bytes.count, through: sender, to: destination) {
            ChunkBytes(bytes, range: $0)
        }
    }

    /// Sends `payload` in chunks: its bytes as they are held, a value encoded first (a large one
    /// into memory kept for reuse rather than a fresh array; see ``AssemblyMemory``).
    static func sendChunks(
        of id: ObjectID, payload: Payload, through sender: any MessageSending & ChunkSending, to destination: PeerID
    ) async throws {
        switch payload {
        case .bytes(let typeName, let bytes):
            try await sendChunks(of: id, typeName: typeName, bytes: bytes, through: sender, to: destination)
        case .shared(let typeName, let bytes):
            try await sendChunks(of: id, typeName: typeName, bytes: bytes, through: sender, to: destination)
        case .value(let value):
            let typeName = wireTypeName(of: value)
            if let encoded = AssemblyMemory.encode(value) {
                try await sendChunks(of: id, typeName: typeName, bytes: encoded, through: sender, to: destination)
            } else {
                try await sendChunks(of: id, typeName: typeName, bytes: value.wireEncoded(), through: sender, to: destination)
            }
        }
    }

    private static func sendChunks(
        of id: ObjectID, typeName: String, count: Int, through sender: any MessageSending & ChunkSending, to destination: PeerID,
        chunk: (Range<Int>) -> ChunkBytes
    ) async throws {
        var offset = 0
        repeat {
            try await sender.waitUntilWritable(to: destination)
            let end = min(offset + chunkSize, count)
            let bytes = chunk(offset..<end)
            let crc = bytes.withUnsafeBytes { checksum($0) }
            try sender.trySendChunk(
                ObjectChunk(id: id, typeName: typeName, totalCount: count, offset: offset, checksum: crc, bytes: bytes), to: destination)
            offset = end
        } while offset < count
    }
}

/// The memory a pulled object's chunks are assembled in: 64-byte aligned, so that a tensor
/// decoded from it borrows its elements (they start 64-byte aligned in the encoding) rather
/// than copying them again.
final class AssemblyBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int
    /// Set once `sealed()` handed the memory on; a pull that fails before frees it here.
    private var handedOver = false

    /// Room for `count` bytes; `nil` when the memory cannot be had (a size a peer made up is
    /// refused by the caller, never a crash here). Large objects are assembled on huge pages,
    /// in memory kept from earlier pulls where one of the same size was (``AssemblyMemory``).
    init?(count: Int) {
        guard let pointer = AssemblyMemory.take(count) else { return nil }
        self.count = count
        base = pointer
    }

    /// The assembled object, read-only from now on; the memory is given back when the last
    /// user of the bytes is gone.
    func sealed() -> SharedBytes {
        handedOver = true
        let (address, count) = (Int(bitPattern: base), count)
        return SharedBytes(bytes: UnsafeRawBufferPointer(start: base, count: count)) {
            AssemblyMemory.give(UnsafeMutableRawPointer(bitPattern: address)!, count: count)
        }
    }

    deinit {
        if !handedOver { AssemblyMemory.give(base, count: count) }
    }
}

extension ObjectPuller.Transfer {
    /// Copies `chunk` into place, or says why it cannot belong to this object: a size other
    /// than the object's, a type name that changed, an offset off the chunk grid, a length that
    /// is not the chunk's, or a chunk that already arrived. Nothing a holder sends can make the
    /// puller allocate more than the object's size or hand out memory that was never written.
    fileprivate mutating func accept(_ chunk: ObjectChunk) -> String? {
        let size = ObjectTransfer.chunkSize
        if buffer == nil {
            guard chunk.totalCount >= 0, chunk.totalCount <= ObjectTransfer.maximumObjectBytes else {
                return "a holder claimed a size of \(chunk.totalCount) bytes"
            }
            if let expectedBytes, expectedBytes != chunk.totalCount {
                return "its chunks claim \(chunk.totalCount) bytes, the object has \(expectedBytes)"
            }
            guard let memory = AssemblyBuffer(count: chunk.totalCount) else {
                return "\(chunk.totalCount) bytes could not be allocated to assemble it"
            }
            buffer = memory
            typeName = chunk.typeName
            arrived = ChunkBitmap(count: max(1, (chunk.totalCount + size - 1) / size))
        }
        guard let buffer, buffer.count == chunk.totalCount, chunk.typeName == typeName else {
            return "its chunks disagree on its size or type"
        }
        guard chunk.offset >= 0, chunk.offset % size == 0, chunk.offset <= buffer.count,
            chunk.bytes.count == min(size, buffer.count - chunk.offset)
        else {
            return "a chunk of \(chunk.bytes.count) bytes at offset \(chunk.offset) does not fit its \(buffer.count) bytes"
        }
        guard arrived.insert(chunk.offset / size) else { return "the chunk at offset \(chunk.offset) came twice" }
        chunk.bytes.withUnsafeBytes { source in
            guard let base = source.baseAddress, !source.isEmpty else { return }
            (buffer.base + chunk.offset).copyMemory(from: base, byteCount: source.count)
        }
        received += chunk.bytes.count
        return nil
    }
}

/// Which of an object's chunks arrived: one bit each.
struct ChunkBitmap {
    private var words: [UInt64]

    init(count: Int) { words = Array(repeating: 0, count: (count + 63) / 64) }

    /// Marks chunk `index`; false when it was marked already or is out of range.
    mutating func insert(_ index: Int) -> Bool {
        let (word, bit) = index.quotientAndRemainder(dividingBy: 64)
        guard index >= 0, word < words.count else { return false }
        let mask: UInt64 = 1 << UInt64(bit)
        guard words[word] & mask == 0 else { return false }
        words[word] |= mask
        return true
    }
}

/// A sender of object chunks that reports failures (a chunk that cannot go fails the pull).
protocol ChunkSending {
    func trySendChunk(_ chunk: ObjectChunk, to destination: PeerID) throws
}

/// A pull failed because the process holding the object was lost; the driver looks again (the
/// object is being rebuilt, or has failed).
struct HolderLost: Error, CustomStringConvertible {
    let peer: PeerID
    var description: String { "\(peer), which held the object, was lost" }
}

/// Pulls objects from other processes: one transfer per object however many callers want it,
/// mapped from the holder's shared memory when both are on one host, otherwise assembled into
/// a single buffer and checked chunk by chunk.
final class ObjectPuller: Sendable {
    fileprivate struct Transfer {
        var holder: PeerID
        /// The object's size when the puller knows it (the owner records every copy's size).
        var expectedBytes: Int?
        var buffer: AssemblyBuffer?
        var typeName = ""
        /// Which chunks arrived, so that a repeated chunk cannot stand in for a missing one.
        var arrived = ChunkBitmap(count: 0)
        var received = 0
        var waiters: [OneShot<Payload>] = []
    }

    private let transfers = Mutex<[ObjectID: Transfer]>([:])
    /// Asks `holder` for the object, lent in shared memory when the flag is set.
    private let request: @Sendable (ObjectID, PeerID, Bool) throws -> Void
    /// Tells a holder that a segment it lent is no longer mapped.
    private let release: @Sendable (UInt64, PeerID) -> Void
    /// Whether to ask for shared memory: set when the holders are on this host, cleared after
    /// the first loan that cannot be mapped (chunks over the connection from then on).
    private let asksForSharedMemory: Atomic<Bool>
    /// The process ID of a holder on this host, from which alone its loans are mapped (`nil`:
    /// unknown, so its loans are refused and the object comes in chunks).
    private let lenderProcess: @Sendable (PeerID) -> Int32?
    /// Whether loans must be sealed against their lender's writes (the driver's view of its
    /// workers; a worker maps its driver's reusable segments, see ``SharedMemoryPool``).
    private let requiresSealedLoans: Bool
    private let logger = Logger(label: "iocompute.objects")

    init(
        sharedMemory: Bool = false, request: @escaping @Sendable (ObjectID, PeerID, Bool) throws -> Void,
        release: @escaping @Sendable (UInt64, PeerID) -> Void = { _, _ in },
        lenderProcess: @escaping @Sendable (PeerID) -> Int32? = { _ in nil }, requiresSealedLoans: Bool = true
    ) {
        asksForSharedMemory = Atomic(sharedMemory)
        self.lenderProcess = lenderProcess
        self.requiresSealedLoans = requiresSealedLoans
        self.request = request
        self.release = release
    }

    /// The object `id` from `holder`, joining a pull already under way; `expectedBytes` is its
    /// encoded size where the caller knows it (chunks that claim another size fail the pull).
    func pull(_ id: ObjectID, from holder: PeerID, expectedBytes: Int? = nil) async throws -> Payload {
        // A cancelled reader leaves the pull to finish for the others (its resume is then a no-op).
        try await beginPull(id, from: holder, expectedBytes: expectedBytes).value()
    }

    /// Starts (or joins) the pull of `id` and returns the caller's place in it.
    func beginPull(_ id: ObjectID, from holder: PeerID, expectedBytes: Int? = nil) -> OneShot<Payload> {
        let waiter = OneShot<Payload>()
        let first = transfers.withLock { transfers -> Bool in
            if transfers[id] != nil {
                transfers[id]!.waiters.append(waiter)
                return false
            }
            transfers[id] = Transfer(holder: holder, expectedBytes: expectedBytes, waiters: [waiter])
            return true
        }
        if first {
            do {
                try request(id, holder, asksForSharedMemory.load(ordering: .relaxed))
            } catch {
                fail(id, error)
            }
        }
        return waiter
    }

    /// Adds a chunk; the last one completes the pull.
    func receive(_ chunk: ObjectChunk, from source: PeerID) {
        let crc = chunk.bytes.withUnsafeBytes { ObjectTransfer.checksum($0) }
        guard crc == chunk.checksum else {
            fail(chunk.id, ClusterError.transferFailed(object: chunk.id, reason: "chunk at \(chunk.offset) failed its checksum"))
            return
        }
        enum Step {
            case waiting
            case complete(Payload, [OneShot<Payload>])
            case inconsistent(String, [OneShot<Payload>])
        }
        let step = transfers.withLock { transfers -> Step in
            guard var transfer = transfers[chunk.id], transfer.holder == source else { return .waiting }
            transfers[chunk.id] = nil
            if let problem = transfer.accept(chunk) { return .inconsistent(problem, transfer.waiters) }
            if transfer.received == chunk.totalCount, let buffer = transfer.buffer {
                return .complete(.shared(typeName: transfer.typeName, buffer.sealed()), transfer.waiters)
            }
            transfers[chunk.id] = transfer
            return .waiting
        }
        switch step {
        case .waiting: break
        case .complete(let payload, let waiters):
            for waiter in waiters { waiter.resume(returning: payload) }
        case .inconsistent(let problem, let waiters):
            let error = ClusterError.transferFailed(object: chunk.id, reason: problem)
            for waiter in waiters { waiter.resume(throwing: error) }
        }
    }

    /// Maps an object lent in shared memory; if it cannot be mapped, asks for it again in chunks
    /// (and stops asking for shared memory).
    func receive(_ shared: SharedObject, from source: PeerID) {
        let release = release
        let transfer = transfers.withLock { $0[shared.id] }
        guard let transfer, transfer.holder == source else {
            release(shared.segment, source)
            return
        }
        guard let lender = lenderProcess(source), lender == shared.process else {
            release(shared.segment, source)
            logger.warning("\(source) lent \(shared.id) from process \(shared.process), which is not its own; refused")
            fail(shared.id, ClusterError.transferFailed(object: shared.id, reason: "\(source) lent it from a process other than its own"))
            return
        }
        if let expected = transfer.expectedBytes, expected != shared.byteCount {
            release(shared.segment, source)
            fail(
                shared.id,
                ClusterError.transferFailed(object: shared.id, reason: "a loan of \(shared.byteCount) bytes, the object has \(expected)"))
            return
        }
        let bytes: SharedBytes
        do {
            bytes = try SharedBytes.map(shared, requiringSeal: requiresSealedLoans) { release(shared.segment, source) }
        } catch {
            release(shared.segment, source)
            logger.warning("could not map \(shared.id) from \(source)'s shared memory (\(error)); objects will come over the connection")
            asksForSharedMemory.store(false, ordering: .relaxed)
            do {
                try request(shared.id, source, false)
            } catch {
                fail(shared.id, error)
            }
            return
        }
        let waiters = transfers.withLock { transfers -> [OneShot<Payload>] in
            guard transfers[shared.id]?.holder == source else { return [] }
            return transfers.removeValue(forKey: shared.id)?.waiters ?? []
        }
        for waiter in waiters { waiter.resume(returning: .shared(typeName: shared.typeName, bytes)) }
    }

    /// Moves the pull of `id` from `holder` to `newHolder` (the driver said which worker holds
    /// it, or that worker stalled), dropping what arrived from `holder` and checking chunks
    /// against `expectedBytes` from then on. Returns false when no pull of `id` from `holder`
    /// waits. Chunks `holder` still sends are ignored.
    func redirect(_ id: ObjectID, from holder: PeerID, to newHolder: PeerID, expectedBytes: Int?) -> Bool {
        transfers.withLock { transfers in
            guard let transfer = transfers[id], transfer.holder == holder else { return false }
            transfers[id] = Transfer(
                holder: newHolder, expectedBytes: expectedBytes ?? transfer.expectedBytes, waiters: transfer.waiters)
            return true
        }
    }

    /// The holder the pull of `id` waits on and the bytes that arrived, while it is under way.
    func progress(of id: ObjectID) -> (holder: PeerID, received: Int)? {
        transfers.withLock { transfers in transfers[id].map { ($0.holder, $0.received) } }
    }

    /// Fails the pull of `id` if it is a pull from `holder` (who says it cannot send it).
    func fail(_ id: ObjectID, _ error: any Error, from holder: PeerID) {
        let waiters = transfers.withLock { transfers -> [OneShot<Payload>] in
            guard transfers[id]?.holder == holder else { return [] }
            return transfers.removeValue(forKey: id)?.waiters ?? []
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// Whether a pull of `id` is under way.
    func isPulling(_ id: ObjectID) -> Bool { transfers.withLock { $0[id] != nil } }

    /// How many callers wait for the pull of `id` (cancelled ones included until it ends).
    func callers(of id: ObjectID) -> Int { transfers.withLock { $0[id]?.waiters.count ?? 0 } }

    /// Fails the pull of `id`.
    func fail(_ id: ObjectID, _ error: any Error) {
        let waiters = transfers.withLock { $0.removeValue(forKey: id)?.waiters ?? [] }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// Fails every pull from `peer`, which is gone.
    func peerLost(_ peer: PeerID) {
        let failed = transfers.withLock { transfers -> [(ObjectID, [OneShot<Payload>])] in
            let lost = transfers.filter { $0.value.holder == peer }
            for id in lost.keys { transfers[id] = nil }
            return lost.map { ($0.key, $0.value.waiters) }
        }
        for (_, waiters) in failed {
            for waiter in waiters { waiter.resume(throwing: HolderLost(peer: peer)) }
        }
    }

    /// Fails every pull (at shutdown).
    func failAll(_ error: any Error) {
        let all = transfers.withLock { transfers in
            defer { transfers = [:] }
            return transfers.values.flatMap(\.waiters)
        }
        for waiter in all { waiter.resume(throwing: error) }
    }
}
