import Synchronization

/// The objects a worker process holds: the large results of its tasks (kept until the driver
/// frees them, and served to whoever pulls them), and copies of objects it pulled (kept while
/// they fit under a cap, so that tasks using the same large input pull it once).
final class WorkerObjectStore: Sendable {
    private struct Entry {
        let typeName: String
        let bytes: [UInt8]
        /// A result of this worker's own task (only the driver's word frees it).
        let isOwned: Bool
        var lastUse: UInt64
    }

    private struct State {
        var entries: [ObjectID: Entry] = [:]
        var cachedBytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Pulled copies beyond this many bytes are dropped, least recently used first.
    let cacheCapacity: Int

    init(cacheCapacity: Int = 1 << 30) { self.cacheCapacity = cacheCapacity }

    /// Keeps a result of this worker's task.
    func keep(_ id: ObjectID, typeName: String, bytes: [UInt8]) {
        state.withLock { state in
            state.clock &+= 1
            state.entries[id] = Entry(typeName: typeName, bytes: bytes, isOwned: true, lastUse: state.clock)
        }
    }

    /// Keeps a pulled copy while it fits.
    func cache(_ id: ObjectID, typeName: String, bytes: [UInt8]) {
        state.withLock { state in
            guard bytes.count <= cacheCapacity, state.entries[id] == nil else { return }
            state.clock &+= 1
            state.entries[id] = Entry(typeName: typeName, bytes: bytes, isOwned: false, lastUse: state.clock)
            state.cachedBytes += bytes.count
            while state.cachedBytes > cacheCapacity {
                guard let oldest = state.entries.filter({ !$0.value.isOwned }).min(by: { $0.value.lastUse < $1.value.lastUse }) else {
                    break
                }
                state.entries[oldest.key] = nil
                state.cachedBytes -= oldest.value.bytes.count
            }
        }
    }

    /// The bytes of `id`, if this worker has them.
    func bytes(of id: ObjectID) -> (typeName: String, bytes: [UInt8])? {
        state.withLock { state in
            guard state.entries[id] != nil else { return nil }
            state.clock &+= 1
            state.entries[id]!.lastUse = state.clock
            let entry = state.entries[id]!
            return (entry.typeName, entry.bytes)
        }
    }

    /// Drops `id` (the driver has no ref to it left).
    func free(_ id: ObjectID) {
        state.withLock { state in
            guard let entry = state.entries.removeValue(forKey: id) else { return }
            if !entry.isOwned { state.cachedBytes -= entry.bytes.count }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
