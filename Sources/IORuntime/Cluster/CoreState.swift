import DequeModule

/// Work to do once the core's lock is released: deliver messages and resume waiters.
struct Effects {
    var dispatches: [(worker: Int, assignment: TaskAssignment)] = []
    var cancellations: [(worker: Int, taskID: UInt64)] = []
    var resumptions: [(ObjectWaiter, Result<Payload, any Error>)] = []
    var spillCandidates = false
    /// Objects in worker processes the driver must pull before a task can start.
    var fetches: [(id: ObjectID, copy: RemoteCopy)] = []
}

/// The owner's whole view of the cluster, guarded by `ClusterCore`'s lock. Every transition
/// (submit, complete, release, cancel) is a method here that returns the `Effects` to perform
/// outside the lock.
struct CoreState {
    var objects: [ObjectID: ObjectEntry] = [:]
    var tasks: [UInt64: TaskRecord] = [:]
    var readyQueues: [ReadyQueueKey: Deque<UInt64>] = [:]
    var workers: [WorkerSlot]
    var isShutDown = false
    var accessClock: UInt64 = 0
    var bytesInMemory = 0
    var bytesSpilled = 0
    var spilledObjects = 0
    var totalSpills = 0
    var totalRestores = 0
    var submitted = 0
    var finished = 0
    var failed = 0
    var spreadCursor = 0
    var placementGroups: [UInt64: [BundleSlot]] = [:]
    /// Tasks running now.
    var running = 0
    let routesThroughCodec: Bool
    /// Whether workers are processes (large objects then travel by reference and are pulled).
    let isNetwork: Bool

    init(workers: [WorkerSlot], routesThroughCodec: Bool, isNetwork: Bool = false) {
        self.workers = workers
        self.routesThroughCodec = routesThroughCodec
        self.isNetwork = isNetwork
    }

    var storeSnapshot: StoreSnapshot {
        StoreSnapshot(bytesInMemory: bytesInMemory, bytesSpilled: bytesSpilled, totalSpills: totalSpills, totalRestores: totalRestores)
    }

    mutating func tick() -> UInt64 {
        accessClock &+= 1
        return accessClock
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
