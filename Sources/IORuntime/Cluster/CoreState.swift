import DequeModule

/// Work to do once the core's lock is released: deliver messages and resume waiters.
struct Effects {
    /// Whether messages were posted to `CoreState.outbox`.
    var postedMessages = false
    var resumptions: [(ObjectWaiter, Result<Payload, any Error>)] = []
    var spillCandidates = false
    /// Objects in worker processes the driver must pull before a task can start.
    var fetches: [(id: ObjectID, copy: RemoteCopy)] = []
    /// Spilled objects to read back from disk, outside the lock, for a reader or a task.
    var restores: [(id: ObjectID, spilled: SpilledObject)] = []
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
    /// Objects chosen to spill whose files are being written, outside the lock; they stay
    /// readable in memory until their writes are settled.
    var spillsInFlight: Set<ObjectID> = []
    /// Their bytes, still counted in `bytesInMemory`.
    var bytesBeingSpilled = 0
    /// Spilled objects being read back from disk, outside the lock; they stay spilled (and
    /// gather readers and tasks waiting for them) until the read is settled.
    var restoresInFlight: Set<ObjectID> = []
    var submitted = 0
    var finished = 0
    var failed = 0
    var spreadCursor = 0
    var placementGroups: [UInt64: [BundleSlot]] = [:]
    /// Tasks running now.
    var running = 0
    /// Messages for workers in the order the core decided them, sent by one thread at a time
    /// (see `ClusterCore.sendOutbox`): a worker must receive a task before one queued behind it.
    var outbox: Deque<WorkerMessage> = []
    /// Whether a thread is sending the outbox now.
    var isSendingOutbox = false
    let routesThroughCodec: Bool
    /// Whether workers are processes (large objects then travel by reference and are pulled).
    let isNetwork: Bool
    /// How many tasks may queue behind each running one on its worker (0: none).
    let pipelineDepth: Int
    /// Functions averaging less than this many seconds may have tasks queued.
    let pipelinedTaskLimit: Double
    /// The mean running time of each function's recent tasks in seconds, which decides whether
    /// its tasks may be queued behind others.
    var meanDurations: [String: Double] = [:]
    /// Tasks queued behind others so far.
    var pipelined = 0

    init(
        workers: [WorkerSlot], routesThroughCodec: Bool, isNetwork: Bool = false, pipelineDepth: Int = 0,
        pipelinedTaskLimit: Double = 0.002
    ) {
        self.pipelinedTaskLimit = pipelinedTaskLimit
        self.workers = workers
        self.routesThroughCodec = routesThroughCodec
        self.isNetwork = isNetwork
        self.pipelineDepth = pipelineDepth
    }

    var storeSnapshot: StoreSnapshot {
        StoreSnapshot(bytesInMemory: bytesInMemory, bytesSpilled: bytesSpilled, totalSpills: totalSpills, totalRestores: totalRestores)
    }

    /// Queues `message` for its worker; `ClusterCore.perform` sends it.
    mutating func post(_ message: WorkerMessage, effects: inout Effects) {
        outbox.append(message)
        effects.postedMessages = true
    }

    mutating func tick() -> UInt64 {
        accessClock &+= 1
        return accessClock
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// A message from the driver's core to one worker.
enum WorkerMessage {
    case execute(worker: Int, TaskAssignment)
    case cancel(worker: Int, taskID: UInt64)
}
