import CChecksum
import Logging
import Synchronization

extension ObjectPuller.Transfer {
    /// Copies `chunk` into place, or says why it cannot belong to this object (see `admit`).
    fileprivate mutating func accept(_ chunk: ObjectChunk) -> String? {
        if let problem = admit(totalCount: chunk.totalCount, typeName: chunk.typeName, offset: chunk.offset, count: chunk.bytes.count) {
            return problem
        }
        chunk.bytes.withUnsafeBytes { source in
            guard let base = source.baseAddress, !source.isEmpty, let buffer else { return }
            (buffer.base + chunk.offset).copyMemory(from: base, byteCount: source.count)
        }
        received += chunk.bytes.count
        return nil
    }

    /// Makes room for the chunk of `count` bytes at `offset` and marks it arrived, or says why it
    /// cannot belong to this object: a size other than the object's, a type name that changed,
    /// an offset off the chunk grid, a length that is not the chunk's, or a chunk that already
    /// arrived. Nothing a holder sends can make the puller allocate more than the object's size
    /// or hand out memory that was never written.
    fileprivate mutating func admit(totalCount: Int, typeName chunkType: String, offset: Int, count: Int) -> String? {
        let size = ObjectTransfer.chunkSize
        if buffer == nil {
            guard totalCount >= 0, totalCount <= ObjectTransfer.maximumObjectBytes else {
                return "a holder claimed a size of \(totalCount) bytes"
            }
            if let expectedBytes, expectedBytes != totalCount {
                return "its chunks claim \(totalCount) bytes, the object has \(expectedBytes)"
            }
            guard let memory = AssemblyBuffer(count: totalCount) else {
                return "\(totalCount) bytes could not be allocated to assemble it"
            }
            buffer = memory
            typeName = chunkType
            arrived = ChunkBitmap(count: max(1, (totalCount + size - 1) / size))
        }
        guard let buffer, buffer.count == totalCount, chunkType == typeName else {
            return "its chunks disagree on its size or type"
        }
        guard offset >= 0, offset % size == 0, offset <= buffer.count, count == min(size, buffer.count - offset) else {
            return "a chunk of \(count) bytes at offset \(offset) does not fit its \(buffer.count) bytes"
        }
        guard arrived.insert(offset / size) else { return "the chunk at offset \(offset) came twice" }
        return nil
    }
}

/// One chunk written straight into the buffer its object is assembled in, piece by piece as
/// the connection reads it, each piece checksummed in the same pass as its copy. The pull made
/// room for the chunk and marked it arrived before the first piece, so no other chunk writes
/// here; the placement holds the buffer, so the memory stays this pull's even when the pull
/// fails or moves to another holder meanwhile.
final class ChunkPlacement: PayloadPlacement {
    private let puller: ObjectPuller
    let header: ObjectChunk.Header
    let source: PeerID
    let buffer: AssemblyBuffer
    /// Bytes of the chunk's header still to pass over before its bytes begin.
    private var headerLeft: Int
    private var written = 0
    private var overran = false
    private(set) var checksum: UInt32 = 0

    init(puller: ObjectPuller, header: ObjectChunk.Header, source: PeerID, buffer: AssemblyBuffer) {
        self.puller = puller
        self.header = header
        self.source = source
        self.buffer = buffer
        headerLeft = header.encodedLength
    }

    /// Whether exactly the chunk's bytes were written.
    var isWhole: Bool { !overran && written == header.count }

    func write(_ piece: UnsafeRawBufferPointer) {
        let skipped = min(headerLeft, piece.count)
        headerLeft -= skipped
        let bytes = UnsafeRawBufferPointer(rebasing: piece[skipped...])
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        guard bytes.count <= header.count - written else {
            overran = true
            return
        }
        let destination = buffer.base + header.offset + written
        checksum = iocompute_crc32c_copy(checksum, destination, base, bytes.count)
        written += bytes.count
    }

    func finish() { puller.placed(self) }
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

    /// A placement for the chunk whose frame from `source` began with `head`, when a pull from
    /// `source` waits for it and it fits; `nil` for any other frame, which then arrives whole
    /// (and is dropped or judged by `receive` as before). A chunk that
    /// cannot belong to the object fails the pull here, as it does there.
    func placement(for head: IncomingFrameHead, from source: PeerID) -> (any PayloadPlacement)? {
        guard head.kind == RuntimeMessage.Kind.objectChunk.rawValue, let header = ObjectChunk.header(from: head.payloadPrefix),
            // Subtracted, not added: a count a peer made up near Int.max would overflow a sum.
            header.count >= 0, head.payloadLength >= header.encodedLength, header.count == head.payloadLength - header.encodedLength
        else { return nil }
        enum Admission {
            case none
            case admitted(AssemblyBuffer)
            case inconsistent(String, [OneShot<Payload>])
        }
        let admission = transfers.withLock { transfers -> Admission in
            guard var transfer = transfers[header.id], transfer.holder == source else { return .none }
            if let problem = transfer.admit(
                totalCount: header.totalCount, typeName: header.typeName, offset: header.offset, count: header.count)
            {
                transfers[header.id] = nil
                return .inconsistent(problem, transfer.waiters)
            }
            transfers[header.id] = transfer
            return transfer.buffer.map { .admitted($0) } ?? .none
        }
        switch admission {
        case .none:
            return nil
        case .admitted(let buffer):
            return ChunkPlacement(puller: self, header: header, source: source, buffer: buffer)
        case .inconsistent(let problem, let waiters):
            let error = ClusterError.transferFailed(object: header.id, reason: problem)
            for waiter in waiters { waiter.resume(throwing: error) }
            return nil
        }
    }

    /// Counts a placed chunk, once its last byte is in: the last one completes the pull. A chunk
    /// for a pull that has since failed or moved to another holder is dropped with its buffer.
    fileprivate func placed(_ placement: ChunkPlacement) {
        let header = placement.header
        enum Step {
            case waiting
            case complete(Payload, [OneShot<Payload>])
            case failed(String, [OneShot<Payload>])
        }
        let step = transfers.withLock { transfers -> Step in
            guard var transfer = transfers[header.id], transfer.holder == placement.source, transfer.buffer === placement.buffer else {
                return .waiting
            }
            guard placement.isWhole, placement.checksum == header.checksum else {
                transfers[header.id] = nil
                return .failed("chunk at \(header.offset) failed its checksum", transfer.waiters)
            }
            transfer.received += header.count
            guard transfer.received == header.totalCount else {
                transfers[header.id] = transfer
                return .waiting
            }
            transfers[header.id] = nil
            return .complete(.shared(typeName: transfer.typeName, placement.buffer.sealed()), transfer.waiters)
        }
        switch step {
        case .waiting: break
        case .complete(let payload, let waiters):
            for waiter in waiters { waiter.resume(returning: payload) }
        case .failed(let problem, let waiters):
            let error = ClusterError.transferFailed(object: header.id, reason: problem)
            for waiter in waiters { waiter.resume(throwing: error) }
        }
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
