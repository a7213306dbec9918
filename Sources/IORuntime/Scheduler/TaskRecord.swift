/// A task the owner is tracking, from submission until its result is sealed.
struct TaskRecord {
    enum Phase {
        case waitingForInputs
        case waitingForResources
        case running(worker: Int)
        /// Sent to `worker`, which starts it once task `after` has ended (see `TaskChain`).
        case queued(worker: Int, after: UInt64)

        /// The worker the task was sent to, if it was.
        var worker: Int? {
            switch self {
            case .running(let worker), .queued(let worker, _): worker
            case .waitingForInputs, .waitingForResources: nil
            }
        }
    }

    enum Slot {
        case value(Payload)
        case object(ObjectID)
        /// Several objects delivered as one value built by `assemble`.
        case gathered([ObjectID], assemble: @Sendable ([Payload]) throws -> any WireSerializable)

        /// The objects this argument waits for.
        var objectIDs: [ObjectID] {
            switch self {
            case .value: []
            case .object(let id): [id]
            case .gathered(let ids, _): ids
            }
        }
    }

    let id: UInt64
    let function: ErasedFunction
    var arguments: [Slot]
    var unresolved: Int
    let result: ObjectID
    /// As submitted, except that a task with a pinned input is placed on that input's worker.
    var options: TaskOptions
    /// Why the task cannot run where its pinned inputs are; it fails when it is dequeued.
    var pinRefusal: ClusterError?
    /// Whether the resources of this running attempt went back to the pool while it waits for an
    /// input being made again (see `CoreState.lendResources(ofReadersOf:)`); they are not given
    /// back a second time when it ends.
    var lentResources = false
    var attempt = 0
    var phase = Phase.waitingForInputs
    var cancelRequested = false
    /// Keeps the inputs alive until the task no longer needs them.
    var heldInputs: [ObjectHandle]
    var startedAt: ContinuousClock.Instant?
}

/// The ready tasks that share resource needs and placement, in submission order.
struct ReadyQueueKey: Hashable {
    let resources: ResourceSet
    let placement: Placement
}

extension ResourceSet: Hashable {
    public func hash(into hasher: inout Hasher) {
        for (name, amount) in amounts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            hasher.combine(name)
            hasher.combine(amount)
        }
    }
}

/// A worker's capacity and load, as the scheduler sees it.
struct WorkerSlot {
    let id: Int
    let total: ResourceSet
    var available: ResourceSet
    var running = 0
    /// False once the worker's process is lost; nothing is placed on it again.
    var isAlive = true
    /// The tasks running here, each with those queued behind it (only when pipelining is on).
    var chains: [TaskChain] = []
}
