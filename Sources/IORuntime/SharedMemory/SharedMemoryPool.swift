import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The shared-memory segments of one process: objects encoded into them are lent to processes
/// on the same host, which map them instead of receiving their bytes (as Ray's plasma store
/// does). A segment is in use while this process holds it (an object of its store, a local
/// view) or a peer has it on loan.
///
/// Whether segments are sealed follows who must trust the lender:
/// - A pool that `sealsSegments` (every worker's) seals each segment read-only as soon as its
///   object is encoded (see ``SharedSegment/seal()``): the driver maps a worker's loan only
///   sealed, so a worker cannot change an object under the driver's decoder, nor shrink it
///   into a SIGBUS. A sealed segment can never take another object, so it is unmapped after use.
/// - The driver's pool does not seal: its loans go to its own workers, which run what the driver
///   tells them and trust it entirely (a driver could hurt them far more simply), and its
///   segments go back to an idle list for the next object, pages already faulted in, up to
///   `idleCapacity` bytes. On a VM fresh pages cost about ten times the copy (100 MiB: ~110 ms
///   to allocate and fault in against ~11 ms into a warm segment), which is what keeps a put
///   above the 2 GiB/s bar.
final class SharedMemoryPool: Sendable {
    private struct Use {
        let segment: SharedSegment
        var holds = 1
        var leases: [PeerID: Int] = [:]
    }

    private struct State {
        var uses: [UInt64: Use] = [:]
        var idle: [SharedSegment] = []
        var idleBytes = 0
        var nextID: UInt64 = 1
    }

    private let state = Mutex(State())
    /// Idle segments beyond this many bytes are unmapped.
    let idleCapacity: Int
    /// Whether each segment is sealed read-only once its object is encoded.
    let sealsSegments: Bool

    init(idleCapacity: Int = 512 << 20, sealsSegments: Bool = true) {
        self.idleCapacity = idleCapacity
        self.sealsSegments = sealsSegments
    }

    /// A segment holding the encoding of `payload`, held once by the caller (give it back with
    /// ``drop(_:)``).
    func store(_ payload: Payload) throws(SharedMemoryError) -> SharedSegment {
        let estimate =
            switch payload {
            case .value(let value): value.wireByteCount + 256
            case .bytes(_, let bytes): bytes.count
            case .shared(_, let shared): shared.bytes.count
            }
        let segment = try take(estimate)
        let writer = SegmentWriter(segment)
        switch payload {
        case .value(let value):
            var encoder = WireEncoder(sink: writer)
            value.encode(to: &encoder)
            encoder.finish()
        case .bytes(_, let bytes): bytes.withUnsafeBytes { writer.append($0) }
        case .shared(_, let shared): writer.append(shared.bytes)
        }
        if let failure = writer.failure {
            drop(segment)
            throw failure
        }
        guard sealsSegments else { return segment }
        do {
            try segment.seal()
        } catch {
            drop(segment)
            throw error
        }
        return segment
    }

    /// Lends `segment` to `peer`: the message that lets it map the object.
    func lend(_ segment: SharedSegment, object id: ObjectID, typeName: String, to peer: PeerID) -> SharedObject {
        state.withLock { $0.uses[segment.id]?.leases[peer, default: 0] += 1 }
        return SharedObject(
            id: id, typeName: typeName, process: getpid(), descriptor: segment.descriptor, segment: segment.id,
            byteCount: segment.length)
    }

    /// The object in `segment` as bytes to decode in this process; the segment is held until
    /// they are gone.
    func view(_ segment: SharedSegment) -> SharedBytes {
        state.withLock { $0.uses[segment.id]?.holds += 1 }
        return SharedBytes(bytes: segment.bytes) { [self] in drop(segment) }
    }

    /// `peer` no longer maps a segment it was lent.
    func release(_ segmentID: UInt64, from peer: PeerID) {
        let retired = state.withLock { state -> SharedSegment? in
            guard var use = state.uses[segmentID], let leases = use.leases[peer] else { return nil }
            use.leases[peer] = leases > 1 ? leases - 1 : nil
            return settle(use, in: &state)
        }
        _ = retired  // Unmapped here, outside the lock.
    }

    /// This process no longer needs `segment`.
    func drop(_ segment: SharedSegment) {
        let retired = state.withLock { state -> SharedSegment? in
            guard var use = state.uses[segment.id] else { return nil }
            use.holds -= 1
            return settle(use, in: &state)
        }
        _ = retired
    }

    /// `peer` is gone, and with it every mapping it had.
    func peerLost(_ peer: PeerID) {
        let retired = state.withLock { state -> [SharedSegment] in
            state.uses.values.filter { $0.leases[peer] != nil }.compactMap { use in
                var use = use
                use.leases[peer] = nil
                return settle(use, in: &state)
            }
        }
        _ = retired
    }

    /// Segments in use and idle, for tests and status.
    var counts: (inUse: Int, idle: Int) { state.withLock { ($0.uses.count, $0.idle.count) } }

    /// Records `use`; a segment nobody uses goes idle, or is returned to be unmapped when the
    /// idle list is full.
    private func settle(_ use: Use, in state: inout State) -> SharedSegment? {
        guard use.holds <= 0, use.leases.isEmpty else {
            state.uses[use.segment.id] = use
            return nil
        }
        state.uses[use.segment.id] = nil
        // A sealed segment cannot take another object.
        guard !use.segment.isSealed, state.idleBytes + use.segment.capacity <= idleCapacity else { return use.segment }
        state.idle.append(use.segment)
        state.idleBytes += use.segment.capacity
        return nil
    }

    /// An idle segment that fits `byteCount` (the smallest), or a new one; held once.
    private func take(_ byteCount: Int) throws(SharedMemoryError) -> SharedSegment {
        let (reused, id) = state.withLock { state -> (SharedSegment?, UInt64) in
            let fitting = state.idle.indices.filter { state.idle[$0].capacity >= byteCount }
            if let best = fitting.min(by: { state.idle[$0].capacity < state.idle[$1].capacity }) {
                let segment = state.idle.remove(at: best)
                state.idleBytes -= segment.capacity
                state.uses[segment.id] = Use(segment: segment)
                return (segment, 0)
            }
            defer { state.nextID += 1 }
            return (nil, state.nextID)
        }
        if let reused { return reused }
        let segment = try SharedSegment(id: id, capacity: byteCount)
        state.withLock { $0.uses[id] = Use(segment: segment) }
        return segment
    }
}
