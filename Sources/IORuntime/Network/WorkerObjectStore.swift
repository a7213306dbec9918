import Synchronization

/// The objects a worker process holds: the large results of its tasks (kept until the driver
/// frees them, and served to whoever pulls them), and copies of objects it pulled over the
/// connection (kept while they fit under a cap, so that tasks using the same large input pull it
/// once). Objects lent in shared memory are not cached: mapping one again costs next to nothing.
package final class WorkerObjectStore: Sendable {
    /// How an object is held.
    enum Stored: Sendable {
        case bytes([UInt8])
        /// Encoded into a shared-memory segment, ready to lend.
        case segment(SharedSegment)
        /// Pulled over the connection and assembled.
        case pulled(SharedBytes)

        var byteCount: Int {
            switch self {
            case .bytes(let bytes): bytes.count
            case .segment(let segment): segment.length
            case .pulled(let bytes): bytes.bytes.count
            }
        }
    }

    private struct Entry {
        let typeName: String
        let stored: Stored
        /// A result of this worker's own task (only the driver's word frees it).
        let isOwned: Bool
        /// Pinned to this worker: given to its tasks and actors, never served to another process.
        var isPinned = false
        var lastUse: UInt64
    }

    private struct State {
        var entries: [ObjectID: Entry] = [:]
        var cachedBytes = 0
        var clock: UInt64 = 0
        /// Objects the driver freed while this store did not hold them (a pull of one may still
        /// be under way, whose copy must not be cached), newest last, at most `freedMemory`.
        var freedUnheld: Set<ObjectID> = []
        var freedOrder: [ObjectID] = []
        var freedNext = 0

        /// Remembers that `id` was freed while not held here, forgetting the oldest such beyond
        /// ``WorkerObjectStore/freedMemory``.
        mutating func rememberFreed(_ id: ObjectID) {
            guard freedUnheld.insert(id).inserted else { return }
            if freedOrder.count < WorkerObjectStore.freedMemory {
                freedOrder.append(id)
                return
            }
            freedUnheld.remove(freedOrder[freedNext])
            freedOrder[freedNext] = id
            freedNext = (freedNext + 1) % WorkerObjectStore.freedMemory
        }
    }

    /// How many freed objects the store remembers not holding. IDs are never reused, so one
    /// remembered too long costs nothing but the memory.
    static let freedMemory = 4096

    private let state = Mutex(State())
    /// Pulled copies beyond this many bytes are dropped, least recently used first.
    let cacheCapacity: Int
    /// Where segments go back when their objects are freed.
    let segments: SharedMemoryPool

    init(cacheCapacity: Int = 1 << 30, segments: SharedMemoryPool = SharedMemoryPool()) {
        self.cacheCapacity = cacheCapacity
        self.segments = segments
    }

    /// Keeps a result of this worker's task; a `pinned` one is never served to another process.
    func keep(_ id: ObjectID, typeName: String, _ stored: Stored, pinned: Bool = false) {
        let replaced = state.withLock { state in
            state.clock &+= 1
            let old = state.entries[id]
            state.entries[id] = Entry(typeName: typeName, stored: stored, isOwned: true, isPinned: pinned, lastUse: state.clock)
            return old
        }
        if let replaced { release(replaced) }
    }

    /// Keeps a copy pulled over the connection while it fits, until the driver frees the
    /// object (it tells every worker, see `ClusterCore.drainReleases`) or newer copies push it out.
    /// A copy of an object the driver already freed (while the pull was under way) is not kept.
    func cache(_ id: ObjectID, typeName: String, bytes: SharedBytes) {
        let change = state.withLock { state -> Int in
            guard bytes.bytes.count <= cacheCapacity, state.entries[id] == nil, !state.freedUnheld.contains(id) else { return 0 }
            state.clock &+= 1
            state.entries[id] = Entry(typeName: typeName, stored: .pulled(bytes), isOwned: false, lastUse: state.clock)
            state.cachedBytes += bytes.bytes.count
            var change = 1
            while state.cachedBytes > cacheCapacity {
                guard let oldest = state.entries.filter({ !$0.value.isOwned }).min(by: { $0.value.lastUse < $1.value.lastUse }) else {
                    break
                }
                state.entries[oldest.key] = nil
                state.cachedBytes -= oldest.value.stored.byteCount
                change -= 1
            }
            return change
        }
        Self.pulledCopies.add(change, ordering: .relaxed)
    }

    /// How many pulled copies the stores of this process keep (for tests, from a task).
    package static var pulledCopiesInProcess: Int { pulledCopies.load(ordering: .relaxed) }
    private static let pulledCopies = Atomic<Int>(0)

    /// Whether `id` is held here and pinned to this worker.
    func isPinned(_ id: ObjectID) -> Bool { state.withLock { $0.entries[id]?.isPinned == true } }

    /// How `id` is held here, if it is.
    func stored(_ id: ObjectID) -> (typeName: String, stored: Stored)? {
        state.withLock { state in
            guard state.entries[id] != nil else { return nil }
            state.clock &+= 1
            state.entries[id]!.lastUse = state.clock
            let entry = state.entries[id]!
            return (entry.typeName, entry.stored)
        }
    }

    /// `id` as the input of a task here, if this worker holds it.
    func payload(of id: ObjectID) -> Payload? {
        guard let (typeName, stored) = stored(id) else { return nil }
        switch stored {
        case .bytes(let bytes): return .bytes(typeName: typeName, bytes)
        case .segment(let segment): return .shared(typeName: typeName, segments.view(segment))
        case .pulled(let bytes): return .shared(typeName: typeName, bytes)
        }
    }

    /// Drops `id` (the driver has no ref to it left).
    func free(_ id: ObjectID) {
        let entry = state.withLock { state -> Entry? in
            guard let entry = state.entries.removeValue(forKey: id) else {
                state.rememberFreed(id)
                return nil
            }
            if !entry.isOwned { state.cachedBytes -= entry.stored.byteCount }
            return entry
        }
        if let entry, !entry.isOwned { Self.pulledCopies.subtract(1, ordering: .relaxed) }
        if let entry { release(entry) }
    }

    private func release(_ entry: Entry) {
        if case .segment(let segment) = entry.stored { segments.drop(segment) }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
