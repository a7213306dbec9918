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
    /// The size of the pieces a large object is sent in.
    static let chunkSize = 256 << 10

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
        var offset = 0
        repeat {
            try await sender.waitUntilWritable(to: destination)
            let end = min(offset + chunkSize, bytes.count)
            let slice = bytes[offset..<end]
            let crc = slice.withUnsafeBytes { checksum($0) }
            try sender.trySend(
                .objectChunk(ObjectChunk(id: id, typeName: typeName, totalCount: bytes.count, offset: offset, checksum: crc, bytes: slice)),
                to: destination)
            offset = end
        } while offset < bytes.count
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

    init(count: Int) {
        self.count = count
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, 64, max(count, 1)) == 0, let pointer else {
            fatalError("IORuntime: could not allocate \(count) bytes for an object being pulled")
        }
        base = pointer
    }

    /// The assembled object, read-only from now on; the memory is freed when the last user of
    /// the bytes is gone.
    func sealed() -> SharedBytes {
        handedOver = true
        let address = Int(bitPattern: base)
        return SharedBytes(bytes: UnsafeRawBufferPointer(start: base, count: count)) {
            free(UnsafeMutableRawPointer(bitPattern: address))
        }
    }

    deinit {
        if !handedOver { free(base) }
    }
}

/// A sender of object chunks that reports failures (a chunk that cannot go fails the pull).
protocol ChunkSending {
    func trySend(_ message: RuntimeMessage, to destination: PeerID) throws
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
    private struct Transfer {
        let holder: PeerID
        var buffer: AssemblyBuffer?
        var typeName = ""
        var received = 0
        var waiters: [CheckedContinuation<Payload, any Error>] = []
    }

    private let transfers = Mutex<[ObjectID: Transfer]>([:])
    /// Asks `holder` for the object, lent in shared memory when the flag is set.
    private let request: @Sendable (ObjectID, PeerID, Bool) throws -> Void
    /// Tells a holder that a segment it lent is no longer mapped.
    private let release: @Sendable (UInt64, PeerID) -> Void
    /// Whether to ask for shared memory: set when the holders are on this host, cleared after
    /// the first loan that cannot be mapped (chunks over the connection from then on).
    private let asksForSharedMemory: Atomic<Bool>
    private let logger = Logger(label: "iocompute.objects")

    init(
        sharedMemory: Bool = false, request: @escaping @Sendable (ObjectID, PeerID, Bool) throws -> Void,
        release: @escaping @Sendable (UInt64, PeerID) -> Void = { _, _ in }
    ) {
        asksForSharedMemory = Atomic(sharedMemory)
        self.request = request
        self.release = release
    }

    /// The object `id` from `holder`, joining a pull already under way.
    func pull(_ id: ObjectID, from holder: PeerID) async throws -> Payload {
        try await withCheckedThrowingContinuation { continuation in
            let first = transfers.withLock { transfers -> Bool in
                if transfers[id] != nil {
                    transfers[id]!.waiters.append(continuation)
                    return false
                }
                transfers[id] = Transfer(holder: holder, waiters: [continuation])
                return true
            }
            guard first else { return }
            do {
                try request(id, holder, asksForSharedMemory.load(ordering: .relaxed))
            } catch {
                fail(id, error)
            }
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
            case complete(Payload, [CheckedContinuation<Payload, any Error>])
            case inconsistent([CheckedContinuation<Payload, any Error>])
        }
        let step = transfers.withLock { transfers -> Step in
            guard var transfer = transfers[chunk.id], transfer.holder == source else { return .waiting }
            transfers[chunk.id] = nil
            if transfer.buffer == nil {
                transfer.buffer = AssemblyBuffer(count: chunk.totalCount)
                transfer.typeName = chunk.typeName
            }
            let buffer = transfer.buffer!
            guard buffer.count == chunk.totalCount, chunk.offset + chunk.bytes.count <= chunk.totalCount else {
                return .inconsistent(transfer.waiters)
            }
            chunk.bytes.withUnsafeBytes { source in
                guard let base = source.baseAddress, !source.isEmpty else { return }
                (buffer.base + chunk.offset).copyMemory(from: base, byteCount: source.count)
            }
            transfer.received += chunk.bytes.count
            if transfer.received >= chunk.totalCount {
                return .complete(.shared(typeName: transfer.typeName, buffer.sealed()), transfer.waiters)
            }
            transfers[chunk.id] = transfer
            return .waiting
        }
        switch step {
        case .waiting: break
        case .complete(let payload, let waiters):
            for waiter in waiters { waiter.resume(returning: payload) }
        case .inconsistent(let waiters):
            let error = ClusterError.transferFailed(object: chunk.id, reason: "its chunks disagree on its size")
            for waiter in waiters { waiter.resume(throwing: error) }
        }
    }

    /// Maps an object lent in shared memory; if it cannot be mapped, asks for it again in chunks
    /// (and stops asking for shared memory).
    func receive(_ shared: SharedObject, from source: PeerID) {
        let release = release
        let wanted = transfers.withLock { $0[shared.id]?.holder == source }
        guard wanted else {
            release(shared.segment, source)
            return
        }
        let bytes: SharedBytes
        do {
            bytes = try SharedBytes.map(shared) { release(shared.segment, source) }
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
        let waiters = transfers.withLock { transfers -> [CheckedContinuation<Payload, any Error>] in
            guard transfers[shared.id]?.holder == source else { return [] }
            return transfers.removeValue(forKey: shared.id)?.waiters ?? []
        }
        for waiter in waiters { waiter.resume(returning: .shared(typeName: shared.typeName, bytes)) }
    }

    /// Fails the pull of `id`.
    func fail(_ id: ObjectID, _ error: any Error) {
        let waiters = transfers.withLock { $0.removeValue(forKey: id)?.waiters ?? [] }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// Fails every pull from `peer`, which is gone.
    func peerLost(_ peer: PeerID) {
        let failed = transfers.withLock { transfers -> [(ObjectID, [CheckedContinuation<Payload, any Error>])] in
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
